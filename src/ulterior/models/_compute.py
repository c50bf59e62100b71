"""Compute modes of local models: which arithmetic a forward runs in, on which device."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Literal

from ulterior.errors import UsageError
from ulterior.models._hf_load import import_torch

DType = Literal["auto", "bfloat16", "float16", "float32", "mixed"]
DTYPES: tuple[str, ...] = ("auto", "float32", "mixed", "bfloat16", "float16")


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AVX512-BF16 or AMX), as oneDNN sees it."""
    torch = import_torch()
    try:
        return bool(torch.backends.mkldnn.is_available()
                    and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without oneDNN
        return False


def resolve_dtype(dtype: DType, device: str = "cpu") -> str:
    """Pick the compute mode for a device (``cpu`` or ``cuda:N``, as resolve_device gives).

    On a GPU ``auto`` is bf16, or fp16 where the GPU has no bf16. In both 16-bit modes the
    output layer and the log-softmax of scoring compute in fp32, on any device (see
    HFSubject). ``mixed`` is a CPU mode (oneDNN's bf16 matmul setting) and is refused on a
    GPU. The modes, on CPU:

    - ``float32``: exact reference.
    - ``mixed``: fp32 weights, fp32 residual stream, norms, attention and output layer; only
      the matrix products of the blocks' linear layers round their inputs to bf16 (oneDNN's
      bf16 math mode: fp32 accumulation and fp32 results), see :func:`bf16_matmuls`.
    - ``bfloat16``: bf16 weights and activations, fp32 logits.

    Measured on the default model and a 2-core CPU with AMX (benchmarks/bench_scoring.py,
    150 human-written advanced-ai-risk items): ``mixed`` scores 2.1x as fast as fp32, and
    its normalized choice probabilities stay within 0.011 of fp32 (0.016 over 500 items),
    inside the 0.02 we accept; ``bfloat16`` is 2.7x as fast but moves them by up to 0.049
    over 500 items (0.057 with 16-bit logits; benchmarks/logit_precision.py). bf16's error
    comes from rounding the logits and the residual stream, both of which ``mixed`` keeps
    in fp32. Activation capture (benchmarks/bench_capture.py, 510 prompts):
    ``mixed`` is 1.9x as fast as fp32 with cosine >= 0.9996 against it, bf16 3.3x as fast
    but down to 0.9988. So ``auto`` is ``mixed`` on a CPU with native bf16 and fp32 on one
    without (oneDNN has no fast bf16 kernels there); pass ``float32`` for exact values.
    """
    gpu = device.startswith("cuda")
    if dtype == "mixed" and gpu:
        raise UsageError("--dtype mixed is a CPU mode; on a GPU use auto, bfloat16, float16 "
                         "or float32")
    if dtype != "auto":
        return dtype
    torch = import_torch()
    if gpu:
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return "mixed" if cpu_has_bf16() else "float32"


def weight_dtype(mode: str) -> Any:
    """The torch dtype weights are held in for a compute mode (``mixed`` keeps fp32)."""
    torch = import_torch()
    return torch.float32 if mode == "mixed" else getattr(torch, mode)


def dtype_name(dtype: Any) -> str:
    """A torch dtype as a compute mode names it: ``torch.bfloat16`` is ``bfloat16``."""
    return str(dtype).removeprefix("torch.")


@contextmanager
def bf16_matmuls(model: Any) -> Iterator[None]:
    """Inside the block, the model's linear layers multiply in bf16; nothing else changes.

    Each ``nn.Linear`` except the output layer switches oneDNN's fp32 matmul precision to
    bf16 for the duration of its own forward (inputs and weights rounded to bf16, products
    accumulated and returned in fp32), through a pre-hook and an always-called post-hook.
    Everything between the linear layers (residual additions, norms, rotary embeddings,
    attention, which is slower and less exact under that setting, and the output layer)
    stays fp32. Hooks are removed and the setting restored on exit, whatever was raised.
    The setting is process-wide: do not run other fp32 matmuls in another thread meanwhile.
    """
    torch = import_torch()
    matmul = torch.backends.mkldnn.matmul
    outer = matmul.fp32_precision
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None

    def before(module: Any, args: Any) -> None:
        matmul.fp32_precision = "bf16"

    def after(module: Any, args: Any, output: Any) -> None:
        matmul.fp32_precision = outer

    handles = []
    try:
        for module in model.modules():
            if isinstance(module, torch.nn.Linear) and module is not head:
                handles.append(module.register_forward_pre_hook(before))
                handles.append(module.register_forward_hook(after, always_call=True))
        yield
    finally:
        for handle in handles:
            handle.remove()
        matmul.fp32_precision = outer


def compute_mode(model: Any, mode: str) -> AbstractContextManager[None]:
    """The context a forward of ``model`` runs in for a compute mode (see resolve_dtype)."""
    return bf16_matmuls(model) if mode == "mixed" else nullcontext()
