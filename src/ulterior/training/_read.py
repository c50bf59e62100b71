"""Reading the battery on one model: every item's log-odds of its two replies."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ulterior.models import ChoiceRequest, Subject
from ulterior.records import Item, Message
from ulterior.runner import RunContext, ScoreConfig, score_items
from ulterior.training._battery import Battery

SOURCE = "ulterior:battery"


def battery_items(battery: Battery) -> list[Item]:
    """The battery as cloze items: the replies are scored as the assistant's answer."""
    return [
        Item(id=f"battery/{item.property}/{item.id}", source=SOURCE,
             messages=(Message(role="user", content=item.prompt),),
             choices=(item.shows, item.lacks), matching=0,
             metadata={"property": item.property, "held_out": str(item.held_out).lower()})
        for item in battery.items
    ]


def log_odds(logprobs: Sequence[Sequence[float]]) -> np.ndarray:
    """``log P(shows) - log P(lacks)`` of each item from its two summed log-probabilities."""
    return np.array([float(lp[0]) - float(lp[1]) for lp in logprobs])


def read_battery(subject: Subject, battery: Battery, context: RunContext | None = None,
                 *, job: str = "track") -> np.ndarray:
    """Every item's log-odds on ``subject``, in the battery's order.

    With a ``context``, observations are written to (and reused from) its store, keyed by
    the subject's fingerprint, so a crashed track resumes where it stopped. Without one (a
    model being trained, read in memory), nothing is written.
    """
    items = battery_items(battery)
    if context is None:
        requests = [ChoiceRequest(item.messages, item.choices or (), 0) for item in items]
        return log_odds(subject.score_choices(requests))
    outcome = score_items(subject, items, config=ScoreConfig(counterbalance=False),
                          context=context, job=job, items_source=SOURCE)
    by_id = {o.item_id: o.logprobs for o in outcome.observations}
    return log_odds([by_id[item.id] or (np.nan, np.nan) for item in items])
