"""Statistics as pure functions with explicit randomness (pass a seeded Generator)."""

from ulterior.stats._bootstrap import (
    Estimate,
    bootstrap_ci,
    mean_with_ci,
    normalized_probabilities,
)

__all__ = ["Estimate", "bootstrap_ci", "mean_with_ci", "normalized_probabilities"]
