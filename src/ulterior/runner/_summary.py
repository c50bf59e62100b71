"""From choice observations to the numbers a user reads."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ulterior.records import Observation
from ulterior.stats import Estimate, mean_with_ci, normalized_probabilities


@dataclass(frozen=True)
class ChoiceSummary:
    """P(answer matching the behaviour), with position bias reported beside it.

    Attributes:
        matching: Mean over items of P(matching answer), each item's probability averaged
            over its presentations (both option orders when counterbalanced); bootstrap CI
            over items.
        first_label: Mean P(answer labelled (A)) over items: 1/k for a subject with no
            position preference on k options.
        chance_first_label: That no-preference level (mean of 1/k over items).
        argmax_matching: Share of items whose matching answer is the most probable one.
        per_condition: ``matching`` within each presentation condition (order=AB, ...).
        prompt_format: How prompts were rendered (chat or plain): it moves these numbers.
    """

    matching: Estimate
    first_label: Estimate
    chance_first_label: float
    argmax_matching: Estimate
    per_condition: dict[str, Estimate]
    prompt_format: str

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {
            "matching": self.matching.to_dict(),
            "first_label": self.first_label.to_dict(),
            "chance_first_label": self.chance_first_label,
            "argmax_matching": self.argmax_matching.to_dict(),
            "per_condition": {k: v.to_dict() for k, v in self.per_condition.items()},
            "prompt_format": self.prompt_format,
        }


def choice_probabilities(observation: Observation) -> np.ndarray:
    """P(each presented answer), from the sampled shares or the log-probabilities.

    NaN when no sampled answer named one.
    """
    counts = observation.counts
    if counts is not None:
        total = sum(counts)
        return (np.asarray(counts, dtype=float) / total if total
                else np.full(len(counts), np.nan))
    return normalized_probabilities(observation.logprobs or ())


def summarize_choices(
    observations: Sequence[Observation], *, rng: np.random.Generator, n_resamples: int = 10_000
) -> ChoiceSummary:
    """Summarize choice observations; items are the independent units of every CI."""
    by_item: dict[str, list[Observation]] = defaultdict(list)
    for obs in observations:
        if obs.logprobs is not None and not np.isnan(choice_probabilities(obs)).any():
            by_item[f"{obs.item_source}/{obs.item_id}"].append(obs)
    matching, first, argmax, chance = [], [], [], []
    by_condition: dict[str, list[float]] = defaultdict(list)
    for group in by_item.values():
        probs = [choice_probabilities(o) for o in group]
        p_match = [float(p[o.matching]) for p, o in zip(probs, group, strict=True)]
        matching.append(np.mean(p_match))
        first.append(np.mean([p[0] for p in probs]))
        chance.append(1.0 / len(probs[0]))
        argmax.append(np.mean([float(np.argmax(p) == o.matching) for p, o in zip(probs, group,
                                                                                  strict=True)]))
        for o, value in zip(group, p_match, strict=True):
            by_condition[o.condition].append(value)
    formats = sorted({o.prompt_format for o in observations}) or ["none"]
    return ChoiceSummary(
        matching=mean_with_ci(matching, rng=rng, n_resamples=n_resamples),
        first_label=mean_with_ci(first, rng=rng, n_resamples=n_resamples),
        chance_first_label=float(np.mean(chance)) if chance else float("nan"),
        argmax_matching=mean_with_ci(argmax, rng=rng, n_resamples=n_resamples),
        per_condition={
            k: mean_with_ci(v, rng=rng, n_resamples=n_resamples)
            for k, v in sorted(by_condition.items())
        },
        prompt_format="+".join(formats),
    )
