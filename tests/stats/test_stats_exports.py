from __future__ import annotations

import ulterior.stats as stats


def test_public_names_are_pinned() -> None:
    assert sorted(stats.__all__) == sorted([
        "Estimate", "PermutationTest", "benjamini_hochberg", "bootstrap_ci", "cluster_resamples",
        "clustered_proportion_ci", "mde_of",
        "mean_with_ci", "minimum_detectable_effect", "normalized_probabilities", "proportion_ci",
        "sign_flip_test",
    ])


def test_cluster_resamples_keep_whole_clusters() -> None:
    import numpy as np

    clusters = ["a", "a", "b", "b", "b", "c"]
    draws = list(stats.cluster_resamples(clusters, 50, np.random.default_rng(0)))
    assert len(draws) == 50
    sizes = {"a": 2, "b": 3, "c": 1}
    for rows in draws:
        picked = [clusters[i] for i in rows]
        assert all(picked.count(c) % sizes[c] == 0 for c in sizes)  # never part of a cluster
        assert sum(picked.count(c) // sizes[c] for c in sizes) == 3  # as many as there are
