from __future__ import annotations

import ulterior.stats as stats


def test_public_names_are_pinned() -> None:
    assert sorted(stats.__all__) == sorted([
        "Estimate", "PermutationTest", "benjamini_hochberg", "bootstrap_ci", "mde_of",
        "mean_with_ci", "minimum_detectable_effect", "normalized_probabilities", "proportion_ci",
        "sign_flip_test",
    ])
