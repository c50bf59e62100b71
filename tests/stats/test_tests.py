from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats as st

from ulterior.stats import benjamini_hochberg, sign_flip_test


def brute_force_p(d: np.ndarray) -> float:
    observed = abs(d.mean())
    means = [abs((np.array(s) * d).mean()) for s in itertools.product([1, -1], repeat=d.size)]
    return float(np.mean([m >= observed - 1e-12 for m in means]))


def test_exact_test_matches_brute_force_enumeration() -> None:
    rng = np.random.default_rng(1)
    for n in (1, 3, 7, 10):
        d = rng.normal(0.2, 1.0, size=n)
        result = sign_flip_test(d, rng=rng)
        assert result.exact and result.n_permutations == 2**n
        assert result.p_value == pytest.approx(brute_force_p(d))


def test_all_positive_differences_reach_the_smallest_exact_p() -> None:
    result = sign_flip_test(np.full(8, 0.85), rng=np.random.default_rng(0))
    assert result.p_value == pytest.approx(2 / 256)
    one_sided = sign_flip_test(np.full(8, 0.85), rng=np.random.default_rng(0),
                               alternative="greater")
    assert one_sided.p_value == pytest.approx(1 / 256)


def test_zero_differences_give_p_one_and_empty_gives_nan() -> None:
    assert sign_flip_test(np.zeros(30), rng=np.random.default_rng(0)).p_value == 1.0
    assert np.isnan(sign_flip_test([], rng=np.random.default_rng(0)).p_value)


def test_monte_carlo_agrees_with_exact_and_is_seeded() -> None:
    d = np.random.default_rng(3).normal(0.3, 1.0, size=16)
    exact = sign_flip_test(d, rng=np.random.default_rng(0)).p_value
    mc = sign_flip_test(d, rng=np.random.default_rng(0), exact_max_n=0, n_permutations=20_000)
    assert not mc.exact
    assert mc.p_value == pytest.approx(exact, abs=0.01)
    again = sign_flip_test(d, rng=np.random.default_rng(0), exact_max_n=0, n_permutations=20_000)
    assert again.p_value == mc.p_value


def test_monte_carlo_p_is_never_zero() -> None:
    result = sign_flip_test(np.full(40, 1.0), rng=np.random.default_rng(0), n_permutations=999)
    assert result.p_value == pytest.approx(1 / 1000)


def test_level_under_the_null_is_at_most_alpha() -> None:
    rng = np.random.default_rng(11)
    draws = rng.standard_t(3, size=(400, 12))  # heavy-tailed but symmetric differences
    rejections = [sign_flip_test(d, rng=rng).p_value < 0.05 for d in draws]
    assert np.mean(rejections) <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / 400)


def test_benjamini_hochberg_matches_scipy() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.5, 0.002, 0.2, 0.04])
    assert np.allclose(benjamini_hochberg(p), st.false_discovery_control(p, method="bh"))


def test_benjamini_hochberg_keeps_nan_out_of_the_family() -> None:
    adjusted = benjamini_hochberg([0.01, np.nan, 0.02])
    assert np.isnan(adjusted[1])
    assert np.allclose(adjusted[[0, 2]], [0.02, 0.02])
