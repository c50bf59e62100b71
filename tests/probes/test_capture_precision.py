"""Capture compute modes on the tiny random Llama: mixed precision against fp32 and bf16."""

from __future__ import annotations

from typing import Any

import numpy as np

from ulterior.models import cpu_has_bf16
from ulterior.probes import ActivationCapturer, CaptureConfig, CaptureText

TEXTS = [
    CaptureText("<|user|>Tell me a fact.\n<|assistant|>The Earth orbits the Sun.", 35),
    CaptureText("Water boils at 100 degrees. " * 6),
    CaptureText("<|user|>Are you doing something dangerous?\n<|assistant|>Yes.", 53),
    CaptureText("The quick brown fox jumps over the lazy dog. Logging is disabled. " * 4),
]


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return float(cos.min())


def _capture(subject: Any, dtype: str) -> dict[tuple[int, str], np.ndarray]:
    config = CaptureConfig(layers=(0, 1), dtype=dtype)  # type: ignore[arg-type]
    return ActivationCapturer(subject, config).capture(TEXTS).pooled


def test_mixed_is_the_default_and_shares_the_fp32_model(tiny_subject: Any) -> None:
    import torch

    capturer = ActivationCapturer(tiny_subject, CaptureConfig(layers=(1,)))
    assert capturer.config.dtype == "mixed"
    assert capturer.model is tiny_subject.model  # fp32 weights serve mixed: no copy
    assert capturer.capture(TEXTS).pooled[(1, "mean")].dtype == np.float32
    assert torch.backends.mkldnn.matmul.fp32_precision == "none"
    assert not any(m._forward_pre_hooks or m._forward_hooks
                   for m in tiny_subject.model.modules())


def test_mixed_capture_agrees_with_fp32_closer_than_bf16(tiny_subject: Any) -> None:
    fp32 = _capture(tiny_subject, "float32")
    mixed = _capture(tiny_subject, "mixed")
    bf16 = _capture(tiny_subject, "bfloat16")
    mixed_total = bf16_total = 0.0
    for key, reference in fp32.items():
        mixed_error = float(np.abs(mixed[key] - reference).max())
        mixed_total += mixed_error
        bf16_total += float(np.abs(bf16[key] - reference).max())
        # measured: cosine >= 0.999996, relative error <= 2.1e-3 (bf16: up to 7e-3)
        assert _min_cosine(mixed[key], reference) > 0.99999, key
        assert mixed_error < 3e-3 * float(np.abs(reference).max()), key
    if cpu_has_bf16():  # else oneDNN may compute in fp32 and mixed is exact
        assert mixed_total > 0, "the bf16 matrix products did not run"
        assert mixed_total < bf16_total / 2  # measured: a fifth
