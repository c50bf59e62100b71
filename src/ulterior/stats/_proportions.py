from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import norm


def proportion_ci(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion; ``(0.0, 1.0)`` when ``n`` is 0.

    Wilson rather than the normal approximation because rates here are often 0 or 1 with
    small ``n`` (a detector that flags 3 of 3 organisms), where the normal interval collapses
    to a point.
    """
    if n == 0:
        return 0.0, 1.0
    from scipy.stats import binomtest

    interval = binomtest(successes, n).proportion_ci(confidence_level=confidence,
                                                     method="wilson")
    return float(interval.low), float(interval.high)


def clustered_proportion_ci(successes: Sequence[int], sizes: Sequence[int],
                            confidence: float = 0.95) -> tuple[float, float]:
    """Wilson interval of a proportion whose trials come in clusters (a task's prompts).

    Trials of one cluster are not independent, so the interval uses the effective sample
    size n / design effect (Kish, 1965), the design effect being the ratio of the
    proportion's variance between clusters (the ratio estimator's linearised variance) to
    the variance it would have with independent trials. It is kept between the number of
    clusters (each cluster's trials identical) and the number of trials (independent).
    At a proportion of 0 or 1 the variance says nothing, and clusters are the units.
    """
    k = np.asarray(successes, dtype=float)
    m = np.asarray(sizes, dtype=float)
    n, clusters = float(m.sum()), len(m)
    if n == 0:
        return 0.0, 1.0
    p = k.sum() / n
    if 0.0 < p < 1.0 and clusters > 1:
        between = clusters / (clusters - 1) * float(np.sum((k - p * m) ** 2)) / n**2
        effective = float(np.clip(p * (1 - p) / max(between, 1e-300), clusters, n))
    else:
        effective = float(clusters)
    return _wilson(p, effective, confidence)


def _wilson(p: float, n: float, confidence: float) -> tuple[float, float]:
    """Wilson score interval for a proportion ``p`` out of ``n`` (not necessarily whole)."""
    z = float(norm.ppf(0.5 + confidence / 2))
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, float(centre - half)), min(1.0, float(centre + half))
