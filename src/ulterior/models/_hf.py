"""White-box subjects: local transformers models (safetensors directories or GGUF files)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np

from ulterior.errors import ContextLengthError, UsageError
from ulterior.models._base import (
    Activations,
    Capabilities,
    ChoiceRequest,
    GenerationSettings,
    Position,
    Subject,
)
from ulterior.models._budget import DEVICE_DEFAULTS, plan_token_budget
from ulterior.models._compute import (
    DType,
    compute_mode,
    dtype_name,
    resolve_dtype,
    weight_dtype,
)
from ulterior.models._device import (
    Placement,
    describe_map,
    input_device,
    resolve_device,
    spread_map,
)
from ulterior.models._hf_load import import_torch, load_model_dir, source_fingerprint
from ulterior.models._packing import (
    TokenizedRequest,
    pack,
    plan_batches,
    shared_prefix_length,
)
from ulterior.models._prompt import Conversation, FormatName, PromptFormat
from ulterior.records import SubjectInfo


def _cache_argument(decoder: Any) -> str:
    """The name a decoder's forward takes its key-value cache under.

    transformers 5 renamed ``past_key_values`` to ``cache`` (the old name warns, and goes
    in a later 5.x); the range ulterior supports holds both.
    """
    import inspect

    parameters = inspect.signature(decoder.forward).parameters
    return "cache" if "cache" in parameters else "past_key_values"

def _fp32_copy(layer: Any) -> tuple[Any, Any]:
    """fp32 copies of a linear layer's weight and bias, on the device it computes on.

    A layer accelerate offloaded holds meta weights: its hook brings them in for the copy.
    """
    if layer.weight.device.type != "meta":
        return _fp32_tensors(layer)
    from accelerate.utils import align_module_device

    with align_module_device(layer):
        return _fp32_tensors(layer)


def _fp32_tensors(layer: Any) -> tuple[Any, Any]:
    # called for 16-bit layers only, so .float() copies: nothing aliases the layer's weights
    bias = None if layer.bias is None else layer.bias.detach().float()
    return layer.weight.detach().float(), bias


def soft_capped(logits: Any, config: Any) -> Any:
    """``logits`` soft-capped as the model caps them (Gemma 2 and 3), else unchanged."""
    cap = getattr(config, "final_logit_softcapping", None)
    return import_torch().tanh(logits / cap) * cap if cap else logits


class HFSubject(Subject):
    """A transformers causal LM loaded from a local safetensors directory.

    Args:
        directory: Model directory (config.json, *.safetensors, tokenizer files).
        spec: The spec string this subject was made from, for records.
        cache_dir: Where weight hashes are remembered.
        dtype: Compute mode: ``float32``, ``mixed`` (fp32 weights and residual stream, bf16
            matrix products in the linear layers), ``bfloat16``, ``float16``, or ``auto``:
            ``mixed`` on a CPU with native bf16, else fp32; bf16 (or fp16) on a GPU (see
            resolve_dtype).
        prompt_format: ``chat`` (the tokenizer's chat template), ``plain`` (Human/Assistant),
            or None to use chat when the tokenizer has a template.
        placement: The device, or a device map with its memory limits (see Placement).
        token_budget: Padded tokens per scoring batch (batch size x longest sequence); None
            sizes batches from the device's free memory (see plan_token_budget).
        max_batch: Most requests in one batch; None: the device's default.
    """

    capabilities = Capabilities(generate=True, score_choices=True, activations=True,
                                score_text=True)

    def __init__(
        self,
        directory: Path,
        *,
        spec: str,
        cache_dir: Path,
        dtype: DType = "auto",
        prompt_format: FormatName | None = None,
        placement: Placement | None = None,
        token_budget: int | None = None,
        max_batch: int | None = None,
    ) -> None:
        placement = placement or Placement()
        device = resolve_device(placement.device)
        resolved = resolve_dtype(dtype, device)
        if placement.load_in and resolved == "mixed":
            resolved = "float32"  # the layers left unquantized; mixed rounds full linears only
        model, tokenizer = load_model_dir(directory, weight_dtype(resolved), device=device,
                                          placement=placement)
        self._attach(model, tokenizer, spec=spec, fingerprint=source_fingerprint(
            directory, cache_dir), dtype=resolved, prompt_format=prompt_format,
            token_budget=token_budget, max_batch=max_batch, quantization=placement.load_in)

    @classmethod
    def from_model(
        cls, model: Any, tokenizer: Any, *, spec: str, fingerprint: str,
        dtype: DType = "float32", prompt_format: FormatName | None = None,
        token_budget: int | None = None, max_batch: int | None = None,
    ) -> HFSubject:
        """A subject over a model already in memory (one being trained, say).

        ``fingerprint`` names its weights in the store: two subjects with the same one are
        taken to be the same model. The model is used as it is, where it is: not copied,
        not moved.
        """
        subject = cls.__new__(cls)
        resolved = resolve_dtype(dtype, str(input_device(model)))
        held = model.get_input_embeddings().weight.dtype
        if weight_dtype(resolved) != held:  # not converted: the weights it has decide
            resolved = dtype_name(held)
        subject._attach(model, tokenizer, spec=spec, fingerprint=fingerprint,
                        dtype=resolved, prompt_format=prompt_format,
                        token_budget=token_budget, max_batch=max_batch)
        return subject

    def _attach(self, model: Any, tokenizer: Any, *, spec: str, fingerprint: str, dtype: str,
                prompt_format: FormatName | None, token_budget: int | None,
                max_batch: int | None, quantization: str | None = None) -> None:
        self._torch = import_torch()
        self.dtype = dtype
        self.model, self.tokenizer = model, tokenizer
        if prompt_format is None:
            prompt_format = "chat" if self.tokenizer.chat_template else "plain"
        self.format = PromptFormat(prompt_format, self.tokenizer)
        spread = spread_map(model)
        # Inputs start on the input embeddings' device; a spread model's hooks move them on.
        self._inputs_on = input_device(model)
        self.device = describe_map(spread) if spread else str(self._inputs_on)
        defaults = DEVICE_DEFAULTS[self._inputs_on.type]
        self.token_budget = token_budget
        self.max_batch = max_batch or defaults.max_batch
        self._head32: Any = None
        if self._head_is_16bit():  # other logits than a 16-bit head gave: other store keys
            self.choice_scorer = f"{Subject.choice_scorer}+fp32-logits"
        self._info = SubjectInfo(spec=spec, backend="hf", fingerprint=fingerprint,
                                 prompt_format=prompt_format, dtype=self.dtype,
                                 device=self.device, quantization=quantization)

    @property
    def info(self) -> SubjectInfo:
        """Identity of this subject."""
        return self._info

    @property
    def compute_mode(self) -> str:
        """The resolved compute mode its forwards run in (see resolve_dtype)."""
        return self.dtype

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
        with self._compute():
            return self._score_tokenized(tokenized)

    def _compute(self) -> AbstractContextManager[None]:
        """The precision context of every forward pass (see resolve_dtype)."""
        return compute_mode(self.model, self.dtype)

    def _score_tokenized(self, tokenized: list[TokenizedRequest]) -> list[list[float]]:
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
        if packable:
            self._score_packed(tokenized, packable, results)
        self._check_finite(results)
        return results

    def _score_packed(self, tokenized: list[TokenizedRequest], packable: list[int],
                      results: list[list[float]]) -> None:
        """Score the ``packable`` requests in planned batches, into ``results``."""
        offset = shared_prefix_length([tokenized[i].prompt for i in packable])
        prefix_cache = self._prefix_cache(tokenized[packable[0]].prompt[:offset])
        stripped = {
            i: TokenizedRequest(tokenized[i].prompt[offset:], tokenized[i].answers)
            for i in packable
        }
        lengths = [stripped[i].length for i in packable]
        budget = self.token_budget or self.planned_budget(max(lengths) + offset)
        for batch in plan_batches(lengths, budget, self.max_batch):
            indices = [packable[j] for j in batch]
            scores = self._score_batch([stripped[i] for i in indices], offset, prefix_cache)
            for index, score in zip(indices, scores, strict=True):
                results[index] = score

    def _check_finite(self, results: list[list[float]]) -> None:
        """Refuse NaN or infinite scores: fp16's range is the usual cause (about 65,504)."""
        bad = next((i for i, row in enumerate(results) if not np.isfinite(row).all()), None)
        if bad is None:
            return
        cause = ("its activations overflow fp16; use --dtype bfloat16 or float32"
                 if self.dtype == "float16" else "check the model's weights")
        raise UsageError(f"{self.info.spec} gave request {bad} a non-finite log-probability "
                         f"in {self.dtype}: {cause}")

    def _prefix_cache(self, prefix: Sequence[int]) -> list[tuple[Any, Any]]:
        """Keys and values of the shared prefix, per layer (empty when there is none)."""
        if not prefix:
            return []
        torch = self._torch
        with torch.inference_mode():
            out = self.model.get_decoder()(
                input_ids=torch.tensor([list(prefix)], device=self._inputs_on), use_cache=True
            )
        cache = out["cache"] if "cache" in out else out["past_key_values"]  # renamed in 5.x
        return [(layer.keys, layer.values) for layer in cache.layers]

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
        decoder = self.model.get_decoder()
        on = self._inputs_on
        with torch.inference_mode():
            hidden = decoder(
                input_ids=packed.input_ids.to(on),
                position_ids=packed.position_ids.to(on),
                attention_mask=packed.attention_mask.to(on),
                use_cache=cache is not None,
                **{_cache_argument(decoder): cache},
            ).last_hidden_state
            rows, cols = packed.rows.to(hidden.device), packed.cols.to(hidden.device)
            picked = self._answer_logprobs(hidden[rows, cols], packed.targets)
        return [[float(sum(picked[a:b])) for a, b in spans] for spans in packed.segments]

    def _answer_logprobs(self, states: Any, targets: Any) -> list[float]:
        """Log-probability of each target token given the hidden state that predicts it.

        Only these states go through the output layer, the largest matrix of a small model.
        The logits and their log-softmax are fp32 (see _logits).
        """
        torch = self._torch
        logprobs = torch.log_softmax(self._logits(states), dim=-1)
        targets = targets.to(logprobs.device)
        return [float(x) for x in logprobs.gather(1, targets[:, None])[:, 0].tolist()]

    def _logits(self, states: Any) -> Any:
        """fp32 logits of the hidden ``states`` (soft-capped where the model caps them).

        Where the output layer's weights are bf16 or fp16 it multiplies in fp32, from an
        fp32 copy of its weights made once: 16-bit logits over a large vocabulary move the
        choice log-probabilities by more than the rest of the model's rounding. ``float32``
        and ``mixed`` keep the output layer in fp32 already.
        """
        torch = self._torch
        head = self.model.get_output_embeddings()
        if self._head_is_16bit():
            if self._head32 is None:
                self._head32 = _fp32_copy(head)
            weight, bias = self._head32
            logits = torch.nn.functional.linear(states.to(weight.device).float(), weight, bias)
        else:
            logits = head(states).float()
        return soft_capped(logits, self.model.config)

    def _head_is_16bit(self) -> bool:
        weight = getattr(self.model.get_output_embeddings(), "weight", None)
        return weight is not None and weight.dtype in (self._torch.bfloat16, self._torch.float16)

    def _score_plain(self, request: TokenizedRequest) -> list[float]:
        """Score each answer with its own full forward pass (the reference computation)."""
        torch = self._torch
        scores = []
        n_prompt = len(request.prompt)
        for answer in request.answers:
            ids = torch.tensor([list(request.prompt) + list(answer)], device=self._inputs_on)
            with torch.inference_mode():
                hidden = self.model.get_decoder()(input_ids=ids, use_cache=False)
                states = hidden.last_hidden_state[0, n_prompt - 1 : n_prompt - 1 + len(answer)]
                picked = self._answer_logprobs(states, torch.tensor(answer))
            scores.append(float(sum(picked)))
        return scores

    def next_token_logprobs(self, conversation: Conversation, opening: str,
                            k: int) -> list[tuple[str, float]]:
        """The ``k`` likeliest next tokens after the prompt and the reply's ``opening``.

        What a server returns as ``top_logprobs`` when the assistant's reply is prefilled:
        the Inspect model API ``ulterior/SPEC`` answers log-probability requests with it.
        """
        torch = self._torch
        prompt_text = self.format.render(conversation)
        if opening:
            prompt_text += self.format.continuation(opening)
        ids = self._encode(prompt_text, special=self.format.name == "plain")
        limit = self.max_context
        if limit is not None and len(ids) >= limit:
            raise ContextLengthError(f"the prompt needs {len(ids)} tokens, the model takes "
                                     f"{limit}; shorten it")
        with self._compute(), torch.inference_mode():
            states = self.model.get_decoder()(
                input_ids=torch.tensor([ids], device=self._inputs_on), use_cache=False,
            ).last_hidden_state
            logprobs = torch.log_softmax(self._logits(states[0, -1:])[0], dim=-1)
        values, indices = torch.topk(logprobs, k)
        # A token's text as it reads after the prompt's last token: decoders that drop a
        # word's leading space at the start of a text (SentencePiece) keep it there.
        before = self.tokenizer.decode(ids[-1:])
        return [(self.tokenizer.decode([ids[-1], int(i)])[len(before):], float(v))
                for v, i in zip(values, indices, strict=True)]

    # -- generation ---------------------------------------------------------------------

    def generate(
        self, conversations: Sequence[Conversation], settings: GenerationSettings | None = None
    ) -> list[str]:
        """Greedy (or seeded sampled) replies, batched with left padding.

        Generation computes in the weights' dtype, so fp32 for a ``mixed`` subject: each
        decoding step multiplies only a few rows, where bf16 math (which converts the weight
        matrices on every call) gains nothing; measured on the default model, 8 replies of
        32 tokens took the same time (2.3 s) either way, so generation stays exact.
        """
        torch = self._torch
        settings = settings or GenerationSettings()
        texts = [self.format.render(c) for c in conversations]
        self.tokenizer.padding_side = "left"  # generation appends on the right
        outputs: list[str] = []
        chunk_size = self.generation_batch(texts, settings.max_new_tokens)
        for start in range(0, len(texts), chunk_size):
            chunk = texts[start : start + chunk_size]
            enc = self.tokenizer(
                chunk, return_tensors="pt", padding=True,
                add_special_tokens=self.format.name == "plain",
            ).to(self._inputs_on)
            sample = settings.temperature > 0
            torch.manual_seed(settings.seed)
            with torch.inference_mode():  # fp32 in mixed mode too: see the docstring
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
            enc = self.tokenizer(text, return_tensors="pt").to(self._inputs_on)
            with torch.inference_mode(), self._compute():
                out = self.model(**enc, output_hidden_states=True, use_cache=False)
            for layer in layers:
                states = out.hidden_states[layer + 1][0].float().cpu().numpy()
                if position == "last":
                    value: np.ndarray = states[-1]
                elif position == "mean":
                    value = states.mean(axis=0)
                else:
                    value = states
                result.values[layer].append(value)
        return result

    # -- batch sizes ----------------------------------------------------------------------

    def planned_budget(self, longest: int, *, kept_layers: int = 0) -> int:
        """Padded tokens a forward batch may hold here (see plan_token_budget)."""
        return plan_token_budget(self.model.config, self._inputs_on, self._element_size(),
                                 longest, kept_layers=kept_layers)

    def generation_batch(self, texts: Sequence[str], max_new_tokens: int) -> int:
        """How many prompts to generate for at once: the planner's budget over the longest.

        Each row holds its prompt and the reply's tokens, and keeps its key-value cache.
        """
        longest = max((len(self._encode(t, special=False)) for t in texts), default=1)
        width = longest + max_new_tokens
        budget = plan_token_budget(self.model.config, self._inputs_on, self._element_size(),
                                   width, cache=True,
                                   cap=DEVICE_DEFAULTS[self._inputs_on.type].generation_tokens)
        return max(1, min(DEVICE_DEFAULTS[self._inputs_on.type].generation_batch,
                          budget // width))

    def _element_size(self) -> int:
        weight = self.model.get_input_embeddings().weight
        return int(weight.element_size())

    def close(self) -> None:
        """Drop the model so its memory can be reclaimed."""
        self.model = None
        self._head32 = None


