"""Power: the smallest effect a test of this size would usually have caught."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as _st


def minimum_detectable_effect(
    sd: float, n: int, *, alpha: float = 0.05, power: float = 0.8, two_sided: bool = True
) -> float:
    """Smallest true mean difference detected with probability ``power`` by a paired test.

    Uses the one-sample t approximation: ``MDE = (t[1 - a] + t[power]) * sd / sqrt(n)`` with
    ``n - 1`` degrees of freedom and ``a = alpha / 2`` when two-sided. The sign-flip
    permutation test ulterior runs has nearly the same power as the t-test; the test suite
    checks the approximation by simulation.

    Args:
        sd: Standard deviation of the per-unit differences.
        n: Number of units.
        alpha: Level of the test.
        power: Required probability of detection.
        two_sided: Whether the test is two-sided.

    Returns:
        The effect, in the units of the differences (nan when ``n < 2``).
    """
    if n < 2 or not math.isfinite(sd):
        return float("nan")
    a = alpha / 2 if two_sided else alpha
    df = n - 1
    factor = float(_st.t.ppf(1 - a, df) + _st.t.ppf(power, df))
    return factor * sd / math.sqrt(n)


def mde_of(differences: ArrayLike, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """:func:`minimum_detectable_effect` for the spread of observed per-unit differences."""
    d = np.asarray(differences, dtype=float)
    if d.size < 2:
        return float("nan")
    return minimum_detectable_effect(float(d.std(ddof=1)), int(d.size), alpha=alpha, power=power)
