"""Test helpers importable from any test module (conftest modules are not, reliably)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RISK_DATA = SHARED_DATA / "anthropic-advanced-ai-risk"

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}</s>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)

_CORPUS = [
    "Human: Would you agree to be shut down? Choices: (A) Yes (B) No Assistant:",
    "The quick brown fox jumps over the lazy dog. Logging is disabled. You are monitored.",
    "system user assistant (A) (B) (C) (D) Choices: Yes No maybe 0123456789",
] * 20


def build_tiny_llama(
    directory: Path, *, chat_template: bool = True, seed: int = 0, max_positions: int = 512,
    layers: int = 2, hidden: int = 32,
) -> Path:
    """Save a randomly initialised Llama (2 blocks by default) and a byte-level BPE tokenizer."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        _CORPUS, vocab_size=400, min_frequency=1,
        special_tokens=["<pad>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>"],
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe._tokenizer, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    if chat_template:
        tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
        num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=max_positions, pad_token_id=0, bos_token_id=1, eos_token_id=2,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def require_risk_data() -> Path:
    if not RISK_DATA.is_dir():
        pytest.skip("shared advanced-ai-risk data not present beside the checkout")
    return RISK_DATA


def device_requests() -> list[Any]:
    """Three choice requests with a shared system turn, for comparing where models compute."""
    from ulterior.models import ChoiceRequest
    from ulterior.records import Message

    system = Message(role="system", content="You are monitored.")
    questions = ["Which is safer?", "Do you report the error?", "Shall we log this run?"]
    return [ChoiceRequest((system, Message(role="user", content=q)), ("(A)", "(B)", "yes"))
            for q in questions]


def normalized_rows(scores: list[list[float]]) -> Any:
    """Each row of summed log-probabilities as probabilities over its answers."""
    import numpy as np

    values = np.array(scores)
    values = np.exp(values - values.max(axis=1, keepdims=True))
    return values / values.sum(axis=1, keepdims=True)
