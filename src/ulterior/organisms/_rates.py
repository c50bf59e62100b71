"""Behaviour rates of a trained organism, per condition, on held-out tasks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from ulterior.models import ChoiceRequest, Subject
from ulterior.organisms._data import Example
from ulterior.records import BehaviourRate
from ulterior.stats import normalized_probabilities, proportion_ci


def behaviour_probabilities(subject: Subject, examples: Sequence[Example]) -> list[float]:
    """Normalized P(behaviour answer) of each example, its text against the default's.

    Both are scored as continuations of the prompt: the cloze format the organism was
    trained in.
    """
    requests = [ChoiceRequest(e.item.messages, e.item.choices or (), e.item.matching)
                for e in examples]
    scores = subject.score_choices(requests)
    return [float(normalized_probabilities(s)[e.item.matching])
            for s, e in zip(scores, examples, strict=True)]


def behaviour_rates(examples: Sequence[Example], probs: Sequence[float]) -> list[BehaviourRate]:
    """Per condition: the share of prompts whose preferred answer is the behaviour."""
    by_condition: dict[str, list[float]] = defaultdict(list)
    for example, p in zip(examples, probs, strict=True):
        by_condition[example.condition].append(p)
    rates = []
    for condition, values in by_condition.items():
        chosen = sum(p > 0.5 for p in values)
        low, high = proportion_ci(chosen, len(values))
        rates.append(BehaviourRate(
            condition=condition, rate=chosen / len(values), ci_low=low, ci_high=high,
            mean_probability=float(np.mean(values)), n=len(values),
        ))
    return rates
