"""Statistics as pure functions with explicit randomness (pass a seeded Generator)."""

from ulterior.stats._bootstrap import (
    Estimate,
    bootstrap_ci,
    cluster_resamples,
    mean_with_ci,
    normalized_probabilities,
)
from ulterior.stats._power import mde_of, minimum_detectable_effect
from ulterior.stats._proportions import clustered_proportion_ci, proportion_ci
from ulterior.stats._tests import PermutationTest, benjamini_hochberg, sign_flip_test

__all__ = [
    "Estimate",
    "PermutationTest",
    "benjamini_hochberg",
    "bootstrap_ci",
    "cluster_resamples",
    "clustered_proportion_ci",
    "mde_of",
    "mean_with_ci",
    "minimum_detectable_effect",
    "normalized_probabilities",
    "proportion_ci",
    "sign_flip_test",
]
