from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval and sample size."""

    n: int
    estimate: float
    low: float
    high: float
    confidence: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return asdict(self)

    def __str__(self) -> str:
        pct = round(self.confidence * 100)
        return f"{self.estimate:.3f} ({pct}% CI {self.low:.3f} to {self.high:.3f}, n={self.n})"


def bootstrap_ci(
    values: ArrayLike,
    *,
    rng: np.random.Generator,
    n_resamples: int = 10_000,
    confidence: float = 0.95,
    statistic: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of a statistic over independent units.

    Args:
        values: One value per independent unit (e.g. per item). Resampled with replacement.
        rng: Source of randomness; pass a seeded generator for reproducible intervals.
        n_resamples: Bootstrap resamples.
        confidence: Coverage of the interval.
        statistic: Maps a (n_resamples, n) array to n_resamples values; default: row mean.

    Returns:
        The (low, high) interval; (nan, nan) for no values.
    """
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return float("nan"), float("nan")
    stat = statistic or (lambda a: a.mean(axis=1))
    stats = np.empty(n_resamples)
    chunk = max(1, 2_000_000 // data.size)  # bound memory: resample in blocks
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        idx = rng.integers(0, data.size, size=(size, data.size))
        stats[start : start + size] = stat(data[idx])
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(stats, [tail, 1.0 - tail])
    return float(low), float(high)


def mean_with_ci(
    values: ArrayLike,
    *,
    rng: np.random.Generator,
    n_resamples: int = 10_000,
    confidence: float = 0.95,
) -> Estimate:
    """Mean of ``values`` with a percentile bootstrap CI over them."""
    data = np.asarray(values, dtype=float)
    low, high = bootstrap_ci(data, rng=rng, n_resamples=n_resamples, confidence=confidence)
    mean = float(data.mean()) if data.size else float("nan")
    return Estimate(n=int(data.size), estimate=mean, low=low, high=high, confidence=confidence)


def normalized_probabilities(logprobs: ArrayLike) -> np.ndarray:
    """Turn per-answer log-probabilities into probabilities that sum to one over the answers."""
    lp = np.asarray(logprobs, dtype=float)
    shifted = np.exp(lp - lp.max(axis=-1, keepdims=True))
    result: np.ndarray = shifted / shifted.sum(axis=-1, keepdims=True)
    return result


def cluster_resamples(clusters: Sequence[str], n_resamples: int,
                      rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Row indices of bootstrap resamples that draw whole clusters with replacement.

    For examples that are not independent (the prompts of one task under several conditions
    and wordings): each resample keeps every example of each cluster it draws.
    """
    names = sorted(set(clusters))
    members = [np.flatnonzero(np.asarray(clusters) == name) for name in names]
    for _ in range(n_resamples):
        yield np.concatenate([members[i] for i in rng.integers(len(names), size=len(names))])
