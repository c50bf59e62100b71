from __future__ import annotations

import numpy as np
import pytest

from ulterior.errors import UsageError
from ulterior.probes import (
    auroc,
    auroc_with_ci,
    calibrate_threshold,
    evaluate_scores,
    recall_at_fpr,
)


def test_auroc_matches_sklearn_with_ties() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, size=200).astype(float)
    labels = rng.integers(0, 2, size=200)
    assert auroc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))
    assert auroc([1.0, 2.0], [1, 1]) != auroc([1.0, 2.0], [1, 1])  # nan without negatives


def test_auroc_ci_brackets_estimate_and_narrows_with_n() -> None:
    rng = np.random.default_rng(1)

    def width(n: int) -> float:
        y = np.repeat([0, 1], n)
        s = rng.normal(size=2 * n) + y
        stat = auroc_with_ci(s, y, rng=np.random.default_rng(2), n_resamples=1000)
        assert stat.low <= stat.estimate <= stat.high and stat.n == 2 * n
        return stat.high - stat.low

    assert width(400) < width(25)


def test_threshold_flags_at_most_the_target_rate() -> None:
    control = np.arange(120, dtype=float)
    t = calibrate_threshold(control, 0.01)
    assert (control > t).mean() <= 0.01
    assert (control > t).sum() == 1  # 1 of 120 is allowed above
    few = control[:50]  # 1% of 50 is below one example: nothing may lie above
    assert (few > calibrate_threshold(few, 0.01)).sum() == 0
    with pytest.raises(UsageError):
        calibrate_threshold([], 0.01)


def test_recall_at_fpr() -> None:
    rng = np.random.default_rng(3)
    control = rng.normal(size=200)
    separated, _ = recall_at_fpr(control + 10, control, 0.01, rng=rng, n_resamples=200)
    assert separated.estimate == 1.0 and separated.n == 200
    same, _ = recall_at_fpr(rng.normal(size=200), control, 0.01, rng=rng, n_resamples=200)
    assert same.estimate < 0.1 and same.low <= same.estimate <= same.high


def test_evaluate_scores_fills_every_metric() -> None:
    rng = np.random.default_rng(4)
    y = np.repeat([0, 1], 50)
    s = rng.normal(size=100) + 2 * y - 1
    m = evaluate_scores("x", s, y, rng=rng, control_scores=rng.normal(size=80) - 1,
                        n_resamples=300)
    assert m.n_positive == m.n_negative == 50 and m.n_control == 80
    assert m.auroc.estimate > 0.8 and m.accuracy.estimate > 0.7
    assert m.recall_at_fpr is not None and m.threshold is not None and m.fpr == 0.01
    bare = evaluate_scores("x", s, y, rng=rng, n_resamples=300)
    assert bare.recall_at_fpr is None and bare.threshold is None


def test_cluster_bootstrap_does_not_count_a_repeated_unit_as_new_evidence() -> None:
    from ulterior.probes._evaluate import auroc_with_cluster_ci

    rng = np.random.default_rng(0)
    labels = np.tile([1, 0], 20)
    scores = rng.normal(size=40) + 0.8 * labels
    units = [f"u{i}" for i in range(40)]
    once = auroc_with_cluster_ci(scores, labels, units, rng=np.random.default_rng(1))
    # every unit shown four times: the same evidence, so the same interval
    four = auroc_with_cluster_ci(np.repeat(scores, 4), np.repeat(labels, 4),
                                 list(np.repeat(units, 4)), rng=np.random.default_rng(1))
    assert (four.estimate, four.low, four.high, four.n) == pytest.approx(
        (once.estimate, once.low, once.high, 40))
    # the example-level bootstrap takes the copies for new prompts and narrows
    naive = auroc_with_ci(np.repeat(scores, 4), np.repeat(labels, 4),
                          rng=np.random.default_rng(1))
    assert naive.high - naive.low < 0.7 * (four.high - four.low)
