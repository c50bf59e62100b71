from __future__ import annotations

import numpy as np
import pytest

from ulterior.stats import mde_of, minimum_detectable_effect, sign_flip_test


def simulated_power(draw, n_sims: int, rng: np.random.Generator) -> float:
    hits = [sign_flip_test(draw(), rng=rng, n_permutations=2000).p_value < 0.05
            for _ in range(n_sims)]
    return float(np.mean(hits))


def test_mde_shrinks_with_n_and_grows_with_spread() -> None:
    assert minimum_detectable_effect(1.0, 100) < minimum_detectable_effect(1.0, 25)
    assert minimum_detectable_effect(2.0, 25) == pytest.approx(
        2 * minimum_detectable_effect(1.0, 25))
    assert np.isnan(minimum_detectable_effect(1.0, 1))


@pytest.mark.parametrize("n", [12, 24, 48])
def test_sign_flip_test_has_about_80_percent_power_at_the_mde(n: int) -> None:
    rng = np.random.default_rng(n)
    mde = minimum_detectable_effect(1.0, n)
    power = simulated_power(lambda: rng.normal(mde, 1.0, size=n), 400, rng)
    # 400 simulations: standard error 0.02; the t approximation is close for the
    # permutation test, which loses a little power to its discreteness at small n.
    assert 0.72 <= power <= 0.88


def test_mde_of_skewed_bounded_differences_checked_by_resampling() -> None:
    # Differences shaped like a small model's paired P(misaligned) differences: mostly
    # tiny, a few large, bounded in [-1, 1].
    rng = np.random.default_rng(5)
    base = np.clip(rng.laplace(0.0, 0.04, size=24), -1, 1)
    base -= base.mean()
    mde = mde_of(base)
    power = simulated_power(lambda: rng.choice(base, size=base.size) + mde, 400, rng)
    # For heavy-tailed differences the permutation test beats the t approximation (measured:
    # about 0.91 here), so the reported MDE errs on the safe side: it is never optimistic.
    assert power >= 0.75
