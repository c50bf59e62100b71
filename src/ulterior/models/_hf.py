"""White-box subjects: local transformers models (safetensors directories or GGUF files)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ulterior.errors import ContextLengthError, UsageError
from ulterior.models._base import (
    Activations,
    Capabilities,
    ChoiceRequest,
    Conversation,
    GenerationSettings,
    Position,
    Subject,
)
from ulterior.models._hf_load import import_torch, load_model_dir, source_fingerprint
from ulterior.models._packing import (
    TokenizedRequest,
    pack,
    plan_batches,
    shared_prefix_length,
)
from ulterior.models._prompt import FormatName, PromptFormat
from ulterior.records import SubjectInfo

DType = Literal["auto", "bfloat16", "float32"]


def resolve_dtype(dtype: DType) -> str:
    """Pick the compute dtype: fp32 on CPU, bf16 on a GPU.

    Measured on the default model with a CPU that has native bf16 (AMX): bf16 scores items
    2.6x as fast, but its normalized choice probabilities differ from fp32 by up to 0.057
    on 500 items (benchmarks/results/scoring.json), more than the 0.02 we accept. So ``auto`` keeps
    fp32 on CPU; pass ``bfloat16`` explicitly to trade agreement for speed.
    """
    if dtype != "auto":
        return dtype
    torch = import_torch()
    return "bfloat16" if torch.cuda.is_available() else "float32"


class HFSubject(Subject):
    """A transformers causal LM loaded from a local safetensors directory.

    Args:
        directory: Model directory (config.json, *.safetensors, tokenizer files).
        spec: The spec string this subject was made from, for records.
        cache_dir: Where weight hashes are remembered.
        dtype: Compute dtype; ``auto`` is fp32 on CPU and bf16 on GPU (see resolve_dtype).
        prompt_format: ``chat`` (the tokenizer's chat template), ``plain`` (Human/Assistant),
            or None to use chat when the tokenizer has a template.
        token_budget: Padded tokens per scoring batch (batch size x longest sequence).
    """

    capabilities = Capabilities(generate=True, score_choices=True, activations=True)

    def __init__(
        self,
        directory: Path,
        *,
        spec: str,
        cache_dir: Path,
        dtype: DType = "auto",
        prompt_format: FormatName | None = None,
        token_budget: int = 1024,
        max_batch: int = 64,
    ) -> None:
        torch = import_torch()
        self._torch = torch
        self.dtype = resolve_dtype(dtype)
        self.model, self.tokenizer = load_model_dir(directory, getattr(torch, self.dtype))
        if prompt_format is None:
            prompt_format = "chat" if self.tokenizer.chat_template else "plain"
        self.format = PromptFormat(prompt_format, self.tokenizer)
        self.token_budget = token_budget
        self.max_batch = max_batch
        self._info = SubjectInfo(
            spec=spec,
            backend="hf",
            fingerprint=source_fingerprint(directory, cache_dir),
            prompt_format=prompt_format,
            dtype=self.dtype,
        )

    @property
    def info(self) -> SubjectInfo:
        """Identity of this subject."""
        return self._info

    @property
    def max_context(self) -> int | None:
        """The model's maximum number of positions."""
        value = getattr(self.model.config, "max_position_embeddings", None)
        return int(value) if value else None

    # -- tokenization -------------------------------------------------------------------

    def _encode(self, text: str, *, special: bool) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=special)["input_ids"])

    def tokenize(self, request: ChoiceRequest) -> TokenizedRequest:
        """Token ids of the rendered prompt and of each answer continuation.

        Each answer's ids are cut from the encoding of prompt + answer, so merges across the
        boundary are those the model would see (the lm-evaluation-harness convention).
        """
        prompt_text = self.format.render(request.conversation)
        special = self.format.name == "plain"  # chat templates write their own BOS
        prompt = self._encode(prompt_text, special=special)
        answers = []
        for choice in request.choices:
            continuation = self.format.continuation(choice)
            whole = self._encode(prompt_text + continuation, special=special)
            if whole[: len(prompt)] == prompt and len(whole) > len(prompt):
                answers.append(tuple(whole[len(prompt) :]))
            else:
                answers.append(tuple(self._encode(continuation, special=False)))
        return TokenizedRequest(tuple(prompt), tuple(answers))

    def count_tokens(self, request: ChoiceRequest) -> int | None:
        """Tokens in the prompt plus its longest answer."""
        return self.tokenize(request).longest

    # -- scoring ------------------------------------------------------------------------

    def score_choices(self, requests: Sequence[ChoiceRequest]) -> list[list[float]]:
        """Summed log-probability of each answer; each prompt is computed once.

        The token prefix shared by every prompt of the call (typically the chat template's
        system turn) is computed once for all of them; each remaining prompt is computed once
        for all its answers (see ``_packing``). Requests that would exceed a sliding attention
        window are scored one answer at a time, the plain way, so results stay exact.
        """
        tokenized = [self.tokenize(r) for r in requests]
        limit = self.max_context
        for index, request in enumerate(tokenized):
            if limit is not None and request.longest > limit:
                raise ContextLengthError(
                    f"request {index} needs {request.longest} tokens, more than the model's "
                    f"{limit}; shorten or drop it"
                )
        window = getattr(self.model.config, "sliding_window", None) or None
        packable = [i for i, r in enumerate(tokenized) if window is None or r.length < window]
        results: list[list[float]] = [[] for _ in tokenized]
        for index in sorted(set(range(len(tokenized))) - set(packable)):
            results[index] = self._score_plain(tokenized[index])
        if not packable:
            return results
        offset = shared_prefix_length([tokenized[i].prompt for i in packable])
        prefix_cache = self._prefix_cache(tokenized[packable[0]].prompt[:offset])
        stripped = {
            i: TokenizedRequest(tokenized[i].prompt[offset:], tokenized[i].answers)
            for i in packable
        }
        lengths = [stripped[i].length for i in packable]
        for batch in plan_batches(lengths, self.token_budget, self.max_batch):
            indices = [packable[j] for j in batch]
            scores = self._score_batch([stripped[i] for i in indices], offset, prefix_cache)
            for index, score in zip(indices, scores, strict=True):
                results[index] = score
        return results

    def _prefix_cache(self, prefix: Sequence[int]) -> list[tuple[Any, Any]]:
        """Keys and values of the shared prefix, per layer (empty when there is none)."""
        if not prefix:
            return []
        torch = self._torch
        with torch.inference_mode():
            out = self.model.get_decoder()(
                input_ids=torch.tensor([list(prefix)]), use_cache=True
            )
        return [(layer.keys, layer.values) for layer in out.past_key_values.layers]

    def _score_batch(
        self,
        requests: Sequence[TokenizedRequest],
        offset: int,
        prefix_cache: list[tuple[Any, Any]],
    ) -> list[list[float]]:
        torch = self._torch
        from transformers import DynamicCache

        packed = pack(requests, pad_id=int(self.tokenizer.pad_token_id), offset=offset)
        size = len(requests)
        cache = None
        if prefix_cache:
            cache = DynamicCache(
                ddp_cache_data=[
                    (k.expand(size, -1, -1, -1), v.expand(size, -1, -1, -1))
                    for k, v in prefix_cache
                ]
            )
        with torch.inference_mode():
            hidden = self.model.get_decoder()(
                input_ids=packed.input_ids,
                position_ids=packed.position_ids,
                attention_mask=packed.attention_mask,
                past_key_values=cache,
                use_cache=cache is not None,
            ).last_hidden_state
            picked = self._answer_logprobs(hidden[packed.rows, packed.cols], packed.targets)
        return [[float(sum(picked[a:b])) for a, b in spans] for spans in packed.segments]

    def _answer_logprobs(self, states: Any, targets: Any) -> list[float]:
        """Log-probability of each target token given the hidden state that predicts it.

        Only these states go through the output layer, the largest matrix of a small model.
        """
        torch = self._torch
        logits = self.model.get_output_embeddings()(states).float()
        cap = getattr(self.model.config, "final_logit_softcapping", None)
        if cap:
            logits = torch.tanh(logits / cap) * cap
        logprobs = torch.log_softmax(logits, dim=-1)
        return [float(x) for x in logprobs.gather(1, targets[:, None])[:, 0].tolist()]

    def _score_plain(self, request: TokenizedRequest) -> list[float]:
        """Score each answer with its own full forward pass (the reference computation)."""
        torch = self._torch
        scores = []
        n_prompt = len(request.prompt)
        for answer in request.answers:
            ids = torch.tensor([list(request.prompt) + list(answer)])
            with torch.inference_mode():
                hidden = self.model.get_decoder()(input_ids=ids, use_cache=False)
                states = hidden.last_hidden_state[0, n_prompt - 1 : n_prompt - 1 + len(answer)]
                picked = self._answer_logprobs(states, torch.tensor(answer))
            scores.append(float(sum(picked)))
        return scores

    # -- generation ---------------------------------------------------------------------

    def generate(
        self, conversations: Sequence[Conversation], settings: GenerationSettings | None = None
    ) -> list[str]:
        """Greedy (or seeded sampled) replies, batched with left padding."""
        torch = self._torch
        settings = settings or GenerationSettings()
        texts = [self.format.render(c) for c in conversations]
        self.tokenizer.padding_side = "left"  # generation appends on the right
        outputs: list[str] = []
        for start in range(0, len(texts), 8):
            chunk = texts[start : start + 8]
            enc = self.tokenizer(
                chunk, return_tensors="pt", padding=True,
                add_special_tokens=self.format.name == "plain",
            )
            sample = settings.temperature > 0
            torch.manual_seed(settings.seed)
            with torch.inference_mode():
                generated = self.model.generate(
                    **enc,
                    max_new_tokens=settings.max_new_tokens,
                    do_sample=sample,
                    temperature=settings.temperature if sample else None,
                    top_p=None,
                    top_k=None,
                    pad_token_id=self.tokenizer.pad_token_id,
                )
            new = generated[:, enc["input_ids"].shape[1] :]
            outputs += self.tokenizer.batch_decode(new, skip_special_tokens=True)
        return [text.strip() for text in outputs]

    # -- activations --------------------------------------------------------------------

    def activations(
        self, texts: Sequence[str], layers: Sequence[int], position: Position = "last"
    ) -> Activations:
        """Residual stream after each block in ``layers`` (0-based), fp32, one text at a time.

        A minimal reference implementation; scoped hooks with early stopping and caching
        belong to ``ulterior.probes``.
        """
        torch = self._torch
        n_layers = int(self.model.config.num_hidden_layers)
        bad = [layer for layer in layers if not 0 <= layer < n_layers]
        if bad:
            raise UsageError(f"layers {bad} out of range 0..{n_layers - 1}")
        result = Activations(tuple(layers), position, {layer: [] for layer in layers})
        for text in texts:
            enc = self.tokenizer(text, return_tensors="pt")
            with torch.inference_mode():
                out = self.model(**enc, output_hidden_states=True, use_cache=False)
            for layer in layers:
                states = out.hidden_states[layer + 1][0].float().numpy()
                if position == "last":
                    value: np.ndarray = states[-1]
                elif position == "mean":
                    value = states.mean(axis=0)
                else:
                    value = states
                result.values[layer].append(value)
        return result

    def close(self) -> None:
        """Drop the model so its memory can be reclaimed."""
        self.model = None


