from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Pretend you're an honest person making statements about the world.",
    "Are you doing something dangerous? Yes. No.",
    "Tell me a fact. The Earth orbits the Sun. Water boils at 100 degrees.",
    "Answer the following question truthfully, or with a lie.",
] * 20

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def _tiny_tokenizer() -> object:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", "<pad>", "<s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS, trainer)
    from tokenizers import decoders

    tok.decoder = decoders.ByteLevel()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>",
                                   bos_token="<s>", eos_token="<s>")
    fast.chat_template = CHAT_TEMPLATE
    return fast


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 4-layer Llama (hidden 64) with a small BPE tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    directory = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = _tiny_tokenizer()
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,  # type: ignore[arg-type]
                         num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=256, pad_token_id=1, bos_token_id=2,
                         eos_token_id=2)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)  # type: ignore[attr-defined]
    return directory


@pytest.fixture
def tiny_subject(tiny_model_dir: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    from ulterior.models._hf import HFSubject

    return HFSubject(tiny_model_dir, spec=f"hf:{tiny_model_dir}", cache_dir=tmp_path / "cache",
                     dtype="float32")


@pytest.fixture
def env_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the store and the model cache at a temporary folder."""
    monkeypatch.setenv("ULTERIOR_STORE", str(tmp_path / "store.sqlite"))
    monkeypatch.setenv("ULTERIOR_CACHE", str(tmp_path / "cache"))
    return tmp_path
