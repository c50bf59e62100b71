"""The default model end to end on a small slice of true/false statements."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from probe_testing import DATA_ROOT

from ulterior.models import load_subject
from ulterior.probes import (
    ActivationCapturer,
    CaptureConfig,
    SweepConfig,
    render_example,
    true_false_statements,
)
from ulterior.probes._session import open_session
from ulterior.probes._sweep import run_sweep

pytestmark = [
    pytest.mark.real_model,
    pytest.mark.skipif(not (DATA_ROOT / "azaria-mitchell-true-false").is_dir(),
                       reason="evaluation data folder not present"),
]


def test_true_false_slice_end_to_end(tmp_path: Path) -> None:
    config = SweepConfig(model="smollm2-135m", store=tmp_path / "s.sqlite", data_root=DATA_ROOT,
                         dataset="true-false", limit=48, layers=(10, 20),
                         kinds=("logistic", "diff-mean"), n_resamples=200,
                         show_progress=False)
    with open_session(config) as session:
        result = run_sweep(session, config)
        computed = session.stats.computed
        again = run_sweep(session, config)  # every shard now comes from the store
        assert session.stats.computed == computed
    assert result.n_train + result.n_test == 48 and len(result.rows) == 4
    for row, repeat in zip(result.rows, again.rows, strict=True):
        m = row.metrics
        assert m.auroc.low <= m.auroc.estimate <= m.auroc.high
        assert m.recall_at_fpr is not None and m.n_control is not None and m.n_control >= 100
        assert repeat.metrics.auroc == m.auroc  # same seed, same shards, same numbers


def test_bf16_capture_agrees_with_fp32() -> None:
    subject = load_subject("smollm2-135m")
    data = true_false_statements(DATA_ROOT / "azaria-mitchell-true-false", limit=24,
                                 rng=np.random.default_rng(0))
    texts = [render_example(e, subject.format) for e in data.examples]  # type: ignore[attr-defined]
    layers = (0, 14, 29)
    bf16 = ActivationCapturer(subject, CaptureConfig(layers=layers, dtype="bfloat16"))
    fp32 = ActivationCapturer(subject, CaptureConfig(layers=layers, dtype="float32"))
    a, b = bf16.capture(texts), fp32.capture(texts)
    for key in a.pooled:
        x, y = a.pooled[key], b.pooled[key]
        cosine = (x * y).sum(1) / np.linalg.norm(x, axis=1) / np.linalg.norm(y, axis=1)
        assert cosine.min() >= 0.999, key
