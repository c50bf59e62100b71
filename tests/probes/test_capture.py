from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ulterior.errors import UsageError
from ulterior.models import plan_batches
from ulterior.probes import (
    ActivationCapturer,
    CaptureConfig,
    CaptureText,
    forward_to_layer,
    residual_hooks,
)
from ulterior.probes._capture import decoder_blocks

TEXTS = [
    CaptureText("<|user|>Tell me a fact.\n<|assistant|>The Earth orbits the Sun.", 35),
    CaptureText("Water boils at 100 degrees."),
    CaptureText("<|user|>Are you doing something dangerous?\n<|assistant|>Yes.", 53),
]


def _hook_count(model: Any) -> int:
    return sum(len(block._forward_hooks) for block in decoder_blocks(model))


def test_hooks_removed_after_exception(tiny_subject: Any) -> None:
    model = tiny_subject.model
    with pytest.raises(RuntimeError, match="boom"), residual_hooks(model, [0, 1]):
        assert _hook_count(model) == 2
        raise RuntimeError("boom")
    assert _hook_count(model) == 0


def test_hooks_removed_after_failing_forward(tiny_subject: Any) -> None:
    import torch

    model = tiny_subject.model
    bad = {"input_ids": torch.tensor([[10_000]])}  # out of the embedding's range
    with pytest.raises(IndexError):
        forward_to_layer(model, [1], bad)
    assert _hook_count(model) == 0


def test_forward_stops_after_deepest_layer(tiny_subject: Any) -> None:
    import torch

    model = tiny_subject.model
    ran: list[int] = []
    handles = [block.register_forward_hook(lambda m, a, o, i=i: ran.append(i))
               for i, block in enumerate(decoder_blocks(model))]
    try:
        forward_to_layer(model, [0], {"input_ids": torch.tensor([[5, 6, 7]])})
        assert ran == [0]
        ran.clear()
        forward_to_layer(model, [0], {"input_ids": torch.tensor([[5, 6, 7]])}, stop_early=False)
        assert ran == [0, 1]
    finally:
        for handle in handles:
            handle.remove()


def test_capture_matches_hidden_states(tiny_subject: Any) -> None:
    import torch

    capturer = ActivationCapturer(
        tiny_subject, CaptureConfig(layers=(0, 1), positions=("last", "mean", "all"),
                                    dtype="float32")
    )
    batch = capturer.capture(TEXTS)
    encoded = capturer.tokenize(TEXTS)
    for i, (ids, first) in enumerate(encoded):
        with torch.inference_mode():
            out = tiny_subject.model(input_ids=torch.tensor([ids]), output_hidden_states=True)
        states = out.hidden_states[1][0].numpy()  # after block 0
        np.testing.assert_allclose(batch.pooled[(0, "last")][i], states[-1], atol=1e-4)
        np.testing.assert_allclose(batch.pooled[(0, "mean")][i], states[first:].mean(axis=0),
                                   atol=1e-4)
        tokens = batch.tokens[0][batch.offsets[i] : batch.offsets[i + 1]]
        np.testing.assert_allclose(tokens, states[first:], atol=1e-4)
        # transformers reports the last block (1) after the final norm; capture keeps it before
        last = batch.tokens[1][batch.offsets[i] : batch.offsets[i + 1]]
        with torch.inference_mode():
            normed = tiny_subject.model.model.norm(torch.from_numpy(last)).numpy()
        np.testing.assert_allclose(normed, out.hidden_states[2][0][first:].numpy(), atol=1e-4)
        np.testing.assert_allclose(batch.pooled[(1, "last")][i], last[-1], atol=1e-6)
        np.testing.assert_allclose(batch.pooled[(1, "mean")][i], last.mean(axis=0), atol=1e-5)
    # the response of the first text starts after the prompt, the second text is all response
    assert encoded[0][1] > 0 and encoded[1][1] == 0


def test_batching_does_not_change_values(tiny_subject: Any) -> None:
    wide = ActivationCapturer(tiny_subject, CaptureConfig(layers=(1,), dtype="float32"))
    narrow = ActivationCapturer(tiny_subject, CaptureConfig(layers=(1,), dtype="float32",
                                                            token_budget=8, max_batch=1))
    a, b = wide.capture(TEXTS), narrow.capture(TEXTS)
    for key in a.pooled:
        np.testing.assert_allclose(a.pooled[key], b.pooled[key], atol=1e-4)


def test_bf16_capture_keeps_subject_in_fp32(tiny_subject: Any) -> None:
    import torch

    capturer = ActivationCapturer(tiny_subject, CaptureConfig(layers=(1,), dtype="bfloat16"))
    assert capturer.model.dtype == torch.bfloat16
    assert tiny_subject.model.dtype == torch.float32
    assert capturer.capture(TEXTS).pooled[(1, "mean")].dtype == np.float32


def test_bad_layers_and_positions_are_usage_errors(tiny_subject: Any) -> None:
    with pytest.raises(UsageError, match="out of range"), residual_hooks(tiny_subject.model, [2]):
        pass
    with pytest.raises(UsageError):
        CaptureConfig(layers=(0,), positions=("first",))  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        CaptureConfig(layers=())


def test_capture_batches_respect_the_budget() -> None:  # the planner scoring uses too
    lengths = [5, 50, 7, 30, 8, 9]
    batches = plan_batches(lengths, token_budget=60, max_batch=3)
    assert sorted(i for b in batches for i in b) == list(range(6))
    for batch in batches:
        assert len(batch) <= 3
        assert max(lengths[i] for i in batch) * len(batch) <= 60 or len(batch) == 1
