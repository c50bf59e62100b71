"""Hypothesis tests for paired designs and multiple-testing control."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

Alternative = Literal["two-sided", "greater", "less"]

# Exact enumeration visits 2**n sign patterns; beyond this n a seeded Monte Carlo is used.
EXACT_MAX_N = 16


@dataclass(frozen=True)
class PermutationTest:
    """The outcome of a sign-flip permutation test.

    Attributes:
        n: Number of paired differences (independent units).
        statistic: Observed mean difference.
        p_value: Probability, under the null, of a mean at least as extreme as observed.
        exact: True when all ``2**n`` sign patterns were enumerated.
        n_permutations: Sign patterns evaluated (``2**n`` when exact).
        alternative: ``two-sided``, ``greater`` or ``less``.
    """

    n: int
    statistic: float
    p_value: float
    exact: bool
    n_permutations: int
    alternative: Alternative

    def describe(self) -> str:
        """One phrase naming the test, for reports."""
        how = (f"exact, all {self.n_permutations} sign patterns" if self.exact
               else f"Monte Carlo, {self.n_permutations} seeded sign patterns")
        return f"sign-flip permutation test, {self.alternative} ({how})"


def _all_signs(n: int) -> np.ndarray:
    """Every vector of n signs (+1/-1), one per row: shape (2**n, n)."""
    codes = np.arange(2**n, dtype=np.int64)[:, None]
    bits = (codes >> np.arange(n, dtype=np.int64)) & 1
    signs: np.ndarray = 1.0 - 2.0 * bits
    return signs


def sign_flip_test(
    differences: ArrayLike,
    *,
    rng: np.random.Generator,
    n_permutations: int = 10_000,
    alternative: Alternative = "two-sided",
    exact_max_n: int = EXACT_MAX_N,
) -> PermutationTest:
    """Sign-flip (paired permutation) test of a zero mean difference.

    Under the null hypothesis each unit's difference is as likely to have either sign (the
    two conditions of a pair are exchangeable), so the observed mean is compared with the
    means obtained by flipping signs. With ``n <= exact_max_n`` every sign pattern is
    enumerated and the p-value is exact; otherwise ``n_permutations`` random patterns are
    drawn from ``rng`` and ``p = (1 + hits) / (1 + n_permutations)``, which is valid (never
    below its nominal level) for any number of draws.

    Args:
        differences: One paired difference per independent unit.
        rng: Source of randomness for the Monte Carlo case.
        n_permutations: Random sign patterns when not exact.
        alternative: Direction of the alternative hypothesis.
        exact_max_n: Largest ``n`` enumerated exactly.

    Returns:
        The test outcome; p = 1 when every difference is zero, nan when there are none.
    """
    d = np.asarray(differences, dtype=float)
    n = int(d.size)
    observed = float(d.mean()) if n else float("nan")
    if n == 0:
        return PermutationTest(0, observed, float("nan"), True, 0, alternative)
    if n <= exact_max_n:
        signs = _all_signs(n)
        exact = True
    else:
        signs = rng.integers(0, 2, size=(n_permutations, n)).astype(float) * 2.0 - 1.0
        exact = False
    means = signs @ d / n
    tol = 1e-12 * max(1.0, float(np.abs(d).max()))
    if alternative == "two-sided":
        hits = int(np.count_nonzero(np.abs(means) >= abs(observed) - tol))
    elif alternative == "greater":
        hits = int(np.count_nonzero(means >= observed - tol))
    else:
        hits = int(np.count_nonzero(means <= observed + tol))
    count = len(means)
    p = hits / count if exact else (hits + 1) / (count + 1)
    return PermutationTest(n, observed, min(1.0, p), exact, count, alternative)


def benjamini_hochberg(p_values: ArrayLike) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (step-up; false discovery rate control).

    Reject the hypotheses whose adjusted p-value is below the target rate. Under the global
    null this also controls the family-wise error rate. NaN entries are left out of the
    family and stay NaN.

    Args:
        p_values: Unadjusted p-values.

    Returns:
        Adjusted p-values, in the input order.
    """
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = valid.size
    if m == 0:
        return adjusted
    order = valid[np.argsort(p[valid], kind="stable")]
    scaled = p[order] * m / np.arange(1, m + 1)
    monotone = np.minimum.accumulate(scaled[::-1])[::-1]
    adjusted[order] = np.minimum(monotone, 1.0)
    return adjusted
