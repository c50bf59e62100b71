"""Probe metrics as pure functions: AUROC, accuracy, recall at a control-set FPR, with CIs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import rankdata

from ulterior.errors import UsageError
from ulterior.records import ProbeMetrics, Statistic
from ulterior.stats import cluster_resamples


def auroc(scores: ArrayLike, labels: ArrayLike) -> float:
    """Area under the ROC curve: P(score of a label-1 example > a label-0 one), ties half.

    Computed from ranks (the Mann-Whitney U statistic); nan if a label is absent.
    """
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels).astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _auroc_rows(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """AUROC of each row of resampled positive and negative scores (vectorised)."""
    both = np.concatenate([pos, neg], axis=1)
    ranks = rankdata(both, axis=1)
    n_pos, n_neg = pos.shape[1], neg.shape[1]
    result: np.ndarray = (ranks[:, :n_pos].sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return result


def _interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    tail = (1 - confidence) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return float(low), float(high)


def auroc_with_ci(
    scores: ArrayLike, labels: ArrayLike, *, rng: np.random.Generator, n_resamples: int = 2000
) -> Statistic:
    """AUROC with a percentile CI from a stratified bootstrap (each class resampled apart).

    ``n`` is the number of examples.
    """
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels).astype(bool)
    pos, neg = s[y], s[~y]
    if len(pos) == 0 or len(neg) == 0:
        raise UsageError("AUROC needs examples of both labels in the test set")
    chunk = max(1, 4_000_000 // len(s))
    stats = []
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        p = pos[rng.integers(0, len(pos), size=(size, len(pos)))]
        q = neg[rng.integers(0, len(neg), size=(size, len(neg)))]
        stats.append(_auroc_rows(p, q))
    low, high = _interval(np.concatenate(stats))
    return Statistic(estimate=auroc(s, y), low=low, high=high, n=len(s))


def auroc_with_cluster_ci(
    scores: ArrayLike, labels: ArrayLike, clusters: Sequence[str], *,
    rng: np.random.Generator, n_resamples: int = 2000,
) -> Statistic:
    """AUROC with a percentile CI from a bootstrap over clusters (whole units resampled).

    For examples that are not independent, such as the prompts of one task under several
    conditions and wordings: each resample draws clusters with replacement and keeps all of
    their examples. ``n`` is the number of clusters.
    """
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels).astype(bool)
    if y.all() or not y.any():
        raise UsageError("AUROC needs examples of both labels in the test set")
    values = []
    for rows in cluster_resamples(clusters, n_resamples, rng):
        if y[rows].all() or not y[rows].any():
            continue  # a resample with one label has no AUROC
        values.append(auroc(s[rows], y[rows]))
    low, high = _interval(np.asarray(values))
    return Statistic(estimate=auroc(s, y), low=low, high=high, n=len(set(clusters)))


def proportion_with_ci(
    hits: ArrayLike, *, rng: np.random.Generator, n_resamples: int = 2000
) -> Statistic:
    """Mean of 0/1 outcomes with a percentile bootstrap CI."""
    h = np.asarray(hits, dtype=float)
    if h.size == 0:
        return Statistic(estimate=float("nan"), low=float("nan"), high=float("nan"), n=0)
    means = h[rng.integers(0, h.size, size=(n_resamples, h.size))].mean(axis=1)
    low, high = _interval(means)
    return Statistic(estimate=float(h.mean()), low=low, high=high, n=int(h.size))


def calibrate_threshold(control_scores: ArrayLike, fpr: float) -> float:
    """Smallest threshold with at most ``fpr`` of the control scores strictly above it.

    With n control examples the achievable rates are multiples of 1/n: for fpr = 0.01 and
    n = 120 the threshold is the second-highest control score (1 of 120 above it).
    """
    c = np.sort(np.asarray(control_scores, dtype=float))
    if c.size == 0:
        raise UsageError("calibration needs at least one control example")
    if not 0.0 <= fpr < 1.0:
        raise UsageError(f"fpr must be in [0, 1), not {fpr}")
    allowed = int(np.floor(fpr * c.size + 1e-9))  # controls that may lie above
    return float(c[c.size - 1 - allowed])


def recall_at_fpr(
    positive_scores: ArrayLike,
    control_scores: ArrayLike,
    fpr: float,
    *,
    rng: np.random.Generator,
    n_resamples: int = 2000,
) -> tuple[Statistic, float]:
    """Recall of label-1 examples at the threshold that flags ``fpr`` of the control set.

    The CI resamples both the positives and the control set (so the threshold's own
    sampling error is in it). Returns the statistic (n = positives) and the threshold.
    """
    pos = np.asarray(positive_scores, dtype=float)
    ctrl = np.asarray(control_scores, dtype=float)
    if pos.size == 0:
        raise UsageError("recall needs at least one label-1 example")
    threshold = calibrate_threshold(ctrl, fpr)
    recalls = np.empty(n_resamples)
    for i in range(n_resamples):
        t = calibrate_threshold(ctrl[rng.integers(0, ctrl.size, ctrl.size)], fpr)
        recalls[i] = (pos[rng.integers(0, pos.size, pos.size)] > t).mean()
    low, high = _interval(recalls)
    estimate = float((pos > threshold).mean())
    return Statistic(estimate=estimate, low=low, high=high, n=int(pos.size)), threshold


def evaluate_scores(
    dataset: str,
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    rng: np.random.Generator,
    control_scores: ArrayLike | None = None,
    fpr: float = 0.01,
    n_resamples: int = 2000,
) -> ProbeMetrics:
    """All metrics of one probe on one test set (and its control set, if given).

    Args:
        dataset: Name of the test set.
        scores: Probe score of each test example.
        labels: Its label (1 deceptive/false, 0 honest/true).
        rng: Source of bootstrap randomness.
        control_scores: Scores of benign control examples; enables recall at ``fpr``.
        fpr: Target false-positive rate on the control set.
        n_resamples: Bootstrap resamples per CI.
    """
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels).astype(np.int64)
    area = auroc_with_ci(s, y, rng=rng, n_resamples=n_resamples)
    accuracy = proportion_with_ci((s > 0).astype(np.int64) == y, rng=rng,
                                  n_resamples=n_resamples)
    recall = threshold = n_control = None
    if control_scores is not None:
        ctrl = np.asarray(control_scores, dtype=float)
        recall, threshold = recall_at_fpr(s[y == 1], ctrl, fpr, rng=rng, n_resamples=n_resamples)
        n_control = int(ctrl.size)
    return ProbeMetrics(
        dataset=dataset, n_positive=int((y == 1).sum()), n_negative=int((y == 0).sum()),
        auroc=area, accuracy=accuracy, recall_at_fpr=recall,
        fpr=fpr if control_scores is not None else None, threshold=threshold,
        n_control=n_control,
    )
