"""Residual-stream capture: scoped hooks, early stop after the deepest layer, batching.

Hooks are not where capture speed is won (a hooked forward costs about what a bare one
does). The work saved here is: the forward stops after the deepest requested block, the
output layer never runs, the matrix products may run in bf16 while everything kept is fp32,
and only the requested positions leave the batch.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ulterior.errors import CapabilityError, UsageError
from ulterior.models import (
    DEVICE_DEFAULTS,
    Subject,
    compute_mode,
    dtype_name,
    input_device,
    plan_batches,
    plan_token_budget,
    weight_dtype,
    white_box,
)

CapturePosition = Literal["last", "mean", "all"]
CaptureDType = Literal["mixed", "bfloat16", "float32"]
POSITIONS: tuple[CapturePosition, ...] = ("last", "mean", "all")


@dataclass(frozen=True)
class CaptureConfig:
    """What to capture and how.

    Attributes:
        layers: 0-based decoder blocks whose output (the residual stream after the block,
            before any final norm) is kept.
        positions: ``last`` (last token), ``mean`` (mean over the response tokens) and/or
            ``all`` (every response token).
        dtype: Compute mode; stored values are always fp32. ``mixed`` (the default): fp32
            weights and residual stream, bf16 matrix products inside the linear layers
            (see ``ulterior.models._compute.bf16_matmuls``); on 510 prompts of the default model
            its worst cosine with fp32 was 0.9996 (last token) and 0.99995 (response mean).
            ``bfloat16``: bf16 weights and activations throughout, faster but down to cosine
            0.9988 on some prompts. ``float32``: exact.
        token_budget: Padded tokens per forward batch (batch size x longest text); None:
            planned from the device's free memory, the model's shape and the layers kept
            (``ulterior.models.plan_token_budget``; 8,192 on a CPU, where the cap binds).
        max_batch: At most this many texts per batch (None: the device's default).
        stop_early: Stop the forward after the deepest requested block.
    """

    layers: tuple[int, ...]
    positions: tuple[CapturePosition, ...] = ("last", "mean")
    dtype: CaptureDType = "mixed"
    token_budget: int | None = None
    max_batch: int | None = None
    stop_early: bool = True

    def __post_init__(self) -> None:
        if not self.layers:
            raise UsageError("capture needs at least one layer")
        bad = [p for p in self.positions if p not in POSITIONS]
        if bad or not self.positions:
            raise UsageError(f"positions must be among {', '.join(POSITIONS)}, not {bad}")
        if (self.token_budget or 1) < 1 or (self.max_batch or 1) < 1:
            raise UsageError("token_budget and max_batch must be positive")


@dataclass(frozen=True)
class CaptureText:
    """One text to capture, and where its response starts.

    Attributes:
        text: The full rendered text (prompt and response).
        start: Character offset where the response begins; ``mean`` and ``all`` cover the
            tokens that end after it. 0 means the whole text.
    """

    text: str
    start: int = 0


@dataclass
class CapturedBatch:
    """Activations of a list of texts, fp32.

    ``pooled[(layer, position)]`` has shape ``(n_texts, d_model)`` for ``last`` and
    ``mean``. ``tokens[layer]`` holds every response token of every text concatenated,
    shape ``(sum(n_tokens), d_model)``, with ``offsets`` (length ``n_texts + 1``) marking
    where each text's tokens start.
    """

    pooled: dict[tuple[int, str], np.ndarray]
    tokens: dict[int, np.ndarray]
    offsets: np.ndarray


class _StopForward(Exception):
    """Raised by the hook of the deepest requested block to end the forward there."""


def decoder_blocks(model: Any) -> Any:
    """The list of decoder blocks of a transformers causal LM."""
    decoder = model.get_decoder() if hasattr(model, "get_decoder") else model
    layers = getattr(decoder, "layers", None)
    if layers is None:
        raise CapabilityError(
            f"cannot find decoder blocks in {type(model).__name__}; capture supports "
            "models whose decoder has a `layers` list (Llama, Gemma, Qwen, Mistral, ...)"
        )
    return layers


def model_shape(subject: Subject) -> tuple[int, int]:
    """(decoder blocks, residual width) of a white-box subject; CapabilityError otherwise."""
    model = white_box(subject).model
    return len(decoder_blocks(model)), int(model.config.hidden_size)


@contextmanager
def residual_hooks(
    model: Any, layers: Sequence[int], *, stop_early: bool = True
) -> Iterator[dict[int, Any]]:
    """Hook the output of each block in ``layers``; remove every hook on exit.

    Inside the ``with`` block, each forward fills the yielded dict with
    ``{layer: hidden_states}`` (the tensors the model computed, not copies). With
    ``stop_early`` the deepest block's hook raises a private exception that
    :func:`forward_to_layer` catches, so later blocks never run. Hooks are removed in
    ``finally``, whatever the forward raised.

    Args:
        model: A transformers causal LM (or its decoder).
        layers: 0-based block indices.
        stop_early: End the forward after the deepest block in ``layers``.

    Yields:
        The dict the hooks write into.
    """
    blocks = decoder_blocks(model)
    n_layers = len(blocks)
    bad = [layer for layer in layers if not 0 <= layer < n_layers]
    if bad:
        raise UsageError(f"layers {bad} out of range 0..{n_layers - 1}")
    deepest = max(layers)
    captured: dict[int, Any] = {}
    handles = []
    try:
        for layer in sorted(set(layers)):

            def hook(module: Any, args: Any, output: Any, layer: int = layer) -> None:
                captured[layer] = output[0] if isinstance(output, tuple) else output
                if stop_early and layer == deepest:
                    raise _StopForward

            handles.append(blocks[layer].register_forward_hook(hook))
        yield captured
    finally:
        for handle in handles:
            handle.remove()


def forward_to_layer(
    model: Any, layers: Sequence[int], inputs: dict[str, Any], *, stop_early: bool = True
) -> dict[int, Any]:
    """Run the decoder on ``inputs`` and return the hidden states after ``layers``.

    The output layer never runs; with ``stop_early`` no block after the deepest requested
    one runs either.
    """
    import torch

    decoder = model.get_decoder() if hasattr(model, "get_decoder") else model
    with residual_hooks(model, layers, stop_early=stop_early) as captured, torch.inference_mode():
        with suppress(_StopForward):
            decoder(**inputs, use_cache=False)
        return dict(captured)


class ActivationCapturer:
    """Captures residual-stream activations of a white-box subject.

    Holds the model in the weight dtype of the compute mode for as long as the capturer
    lives: the subject's own model when it matches (fp32 weights serve ``float32`` and
    ``mixed``), else a converted copy (a bf16 copy of an fp32 subject for ``bfloat16``), so
    the subject's own scoring is untouched.

    Args:
        subject: A white-box subject (``ulterior.models.WhiteBoxSubject``).
        config: What to capture.
    """

    def __init__(self, subject: Subject, config: CaptureConfig) -> None:
        # the converted copy below has the subject's shape
        self.n_layers, self.d_model = model_shape(subject)  # CapabilityError if black-box
        self.config = config
        self.subject = subject
        inside = white_box(subject)
        self.tokenizer: Any = inside.tokenizer
        self.add_special_tokens = inside.format.name == "plain"
        model: Any = inside.model
        on = input_device(model)
        if config.dtype == "mixed" and on.type != "cpu":
            raise UsageError(f"capture dtype mixed is a CPU mode; on {on} capture in the "
                             f"model's own mode ({dtype_name(model.dtype)}) or float32")
        dtype = weight_dtype(config.dtype)
        if model.dtype != dtype and (getattr(model, "hf_device_map", None)
                                     or getattr(model, "is_quantized", False)):
            # a copy of a spread or quantized model would not be that model
            raise UsageError(f"a spread or quantized model captures in its own mode "
                             f"({dtype_name(model.dtype)}), not {config.dtype}")
        self.model = model if model.dtype == dtype else copy.deepcopy(model).to(dtype)
        self.inputs_on = input_device(self.model)

    def batch_limits(self, config: CaptureConfig, longest: int) -> tuple[int, int]:
        """(token budget, most texts) of one capture batch: given, or the device's."""
        defaults = DEVICE_DEFAULTS[self.inputs_on.type]
        budget = config.token_budget or plan_token_budget(
            self.model.config, self.inputs_on, self.model.get_input_embeddings().weight
            .element_size(), longest, cap=defaults.capture_tokens,
            kept_layers=len(config.layers))
        return budget, config.max_batch or defaults.max_batch

    def tokenize(self, texts: Sequence[CaptureText]) -> list[tuple[list[int], int]]:
        """Token ids of each text and the index of its first response token."""
        encoded = []
        for item in texts:
            enc = self.tokenizer(
                item.text, add_special_tokens=self.add_special_tokens,
                return_offsets_mapping=bool(getattr(self.tokenizer, "is_fast", False)),
            )
            ids = list(enc["input_ids"])
            if not ids:
                raise UsageError("cannot capture an empty text")
            first = 0
            if item.start > 0:
                if "offset_mapping" in enc:
                    ends = [int(end) for _, end in enc["offset_mapping"]]
                    after = [i for i, end in enumerate(ends) if end > item.start]
                    first = after[0] if after else len(ids) - 1
                else:
                    prefix = self.tokenizer(
                        item.text[: item.start], add_special_tokens=self.add_special_tokens
                    )["input_ids"]
                    first = min(len(prefix), len(ids) - 1)
            encoded.append((ids, first))
        return encoded

    def capture(
        self, texts: Sequence[CaptureText], config: CaptureConfig | None = None
    ) -> CapturedBatch:
        """Capture the layers and positions of ``texts``, in input order.

        Args:
            texts: What to capture.
            config: Layers and positions for this call (default: the capturer's own; the
                dtype is always the capturer's).
        """
        import torch

        mode = self.config.dtype
        config = config or self.config
        encoded = self.tokenize(texts)
        lengths = [len(ids) for ids, _ in encoded]
        limit = getattr(self.model.config, "max_position_embeddings", None)
        if limit and max(lengths, default=0) > limit:
            raise UsageError(f"a text has {max(lengths)} tokens, more than the model's {limit}")
        pad = int(self.tokenizer.pad_token_id or 0)
        pooled: dict[tuple[int, str], np.ndarray] = {
            (layer, pos): np.zeros((len(texts), self.d_model), dtype=np.float32)
            for layer in config.layers for pos in config.positions if pos != "all"
        }
        per_text: dict[int, list[np.ndarray]] = {layer: [np.empty(0)] * len(texts)
                                                 for layer in config.layers}
        budget, most = self.batch_limits(config, max(lengths, default=1))
        for batch in plan_batches(lengths, budget, most):
            width = max(lengths[i] for i in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            response = torch.zeros((len(batch), width), dtype=torch.bool)
            for row, index in enumerate(batch):
                token_ids, first = encoded[index]
                ids[row, : len(token_ids)] = torch.tensor(token_ids)
                mask[row, : len(token_ids)] = 1
                response[row, first : len(token_ids)] = True
            with compute_mode(self.model, mode):
                hidden = forward_to_layer(
                    self.model, config.layers,
                    {"input_ids": ids.to(self.inputs_on),
                     "attention_mask": mask.to(self.inputs_on)},
                    stop_early=config.stop_early,
                )
            rows = torch.arange(len(batch))
            last = torch.tensor([lengths[i] - 1 for i in batch])
            for layer in config.layers:
                states = hidden[layer]  # on its block's device, which a spread model varies
                on = states.device
                if "last" in config.positions:
                    picked = states[rows.to(on), last.to(on)]
                    pooled[(layer, "last")][batch] = picked.float().cpu().numpy()
                if "mean" in config.positions:
                    inside = response.to(on)
                    summed = (states.float() * inside[..., None]).sum(dim=1)
                    counts = inside.sum(dim=1, keepdim=True).float()
                    pooled[(layer, "mean")][batch] = (summed / counts).cpu().numpy()
                if "all" in config.positions:
                    for row, index in enumerate(batch):
                        kept = states[row][response[row].to(on)]
                        per_text[layer][index] = kept.float().cpu().numpy()
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        tokens: dict[int, np.ndarray] = {}
        if "all" in config.positions and texts:
            counts_all = [len(a) for a in per_text[config.layers[0]]]
            offsets[1:] = np.cumsum(counts_all)
            tokens = {layer: np.concatenate(per_text[layer]).astype(np.float32, copy=False)
                      for layer in config.layers}
        return CapturedBatch(pooled=pooled, tokens=tokens, offsets=offsets)
