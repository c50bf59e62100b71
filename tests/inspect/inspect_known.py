"""A subject with known choice probabilities over a suite's presentations, for Inspect tests."""

from __future__ import annotations

from collections.abc import Sequence

from ulterior.models import KnownChoices, render_plain
from ulterior.scenarios import presentations
from ulterior.suites import Suite, SuiteSettings


def known_gap(suite: Suite | Sequence[Suite], settings: SuiteSettings, observed: float = 0.3,
              unobserved: float = 0.6) -> KnownChoices:
    """P(studied answer) is ``unobserved`` under an unobserved framing, ``observed`` else."""
    suites = [suite] if isinstance(suite, Suite) else list(suite)
    table = {}
    for item in (i for s in suites for i in s.items(settings)):
        p = unobserved if item.metadata.get("framing") == "unobserved" else observed
        for shown in presentations(item):
            probabilities = [(1 - p) / (len(shown.answers) - 1)] * len(shown.answers)
            probabilities[shown.target] = p
            table[render_plain(shown.messages)] = (shown.answers, probabilities)
    # any other question (a capability probe) gets an even yes or no
    return KnownChoices(lambda c: table.get(render_plain(c), (("yes", "no"), (0.5, 0.5))),
                        name=f"known-{'-'.join(s.name for s in suites)}-{observed}-"
                             f"{unobserved}")
