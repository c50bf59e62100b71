"""Intervals of proportions: Wilson, and Wilson on a clustered sample's effective size."""

from __future__ import annotations

import numpy as np
import pytest

from ulterior.stats import clustered_proportion_ci, proportion_ci


def test_clustered_interval_spans_wilson_on_clusters_to_wilson_on_trials() -> None:
    # each task's two prompts agree: two prompts are one observation
    assert clustered_proportion_ci([2] * 5 + [0] * 5, [2] * 10) == pytest.approx(
        proportion_ci(5, 10))
    # each task's two prompts disagree: as variable as independent prompts, or less
    assert clustered_proportion_ci([1] * 10, [2] * 10) == pytest.approx(proportion_ci(10, 20))
    # a rate of 0 or 1 says nothing of the clustering: tasks are the units
    assert clustered_proportion_ci([0] * 14, [2] * 14) == pytest.approx(proportion_ci(0, 14))
    assert clustered_proportion_ci([3] * 8, [3] * 8) == pytest.approx(proportion_ci(8, 8))
    assert clustered_proportion_ci([], []) == (0.0, 1.0)


def test_clustered_interval_covers_about_95_percent_when_prompts_share_their_task() -> None:
    rng = np.random.default_rng(3)
    trials, covered, covered_naive = 400, 0, 0
    for _ in range(trials):
        task_rate = rng.beta(0.5, 1.0, size=40)  # true rate 1/3; tasks differ a lot
        chosen = rng.binomial(4, task_rate)
        low, high = clustered_proportion_ci(chosen, [4] * 40)
        covered += low <= 1 / 3 <= high
        naive_low, naive_high = proportion_ci(int(chosen.sum()), 160)
        covered_naive += naive_low <= 1 / 3 <= naive_high
    assert 0.91 <= covered / trials <= 0.99
    assert covered_naive / trials < 0.9  # prompts counted as independent: too narrow
