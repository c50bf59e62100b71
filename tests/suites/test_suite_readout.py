from __future__ import annotations

import numpy as np
import pytest

from ulterior.models import FakeSubject
from ulterior.records import Item, Message
from ulterior.runner import RunContext
from ulterior.suites import SuiteSettings
from ulterior.suites._readout import (
    Readout,
    log_odds_min_effect,
    option_log_odds,
    option_probabilities,
    score_suite,
)


def _items(n_options: int, matching: int) -> list[Item]:
    options = tuple(f"option {k}" for k in range(n_options))
    return [Item(id=f"q{i}", source="test", messages=(Message(role="user", content=f"Q{i}?"),),
                 options=options, matching=matching) for i in range(3)]


@pytest.mark.parametrize(("n_options", "matching"), [(2, 0), (2, 1), (3, 2)])
@pytest.mark.parametrize("answer_format", ["labelled", "cloze"])
def test_log_odds_of_the_matching_option_against_the_rest(
    n_options: int, matching: int, answer_format: str, context: RunContext
) -> None:
    # fake:misaligned gives the matching answer 0.7 wherever it is shown, so its log-odds
    # against all other options together is logit(0.7) in every order
    items = _items(n_options, matching)
    settings = SuiteSettings(answer_format=answer_format)  # type: ignore[arg-type]
    outcome = score_suite(FakeSubject("misaligned"), items, "test", context, settings)
    log_odds = option_log_odds(outcome)
    probs = option_probabilities(outcome)
    for item in items:
        assert log_odds[item.id] == pytest.approx(np.log(0.7 / 0.3))
        p = probs[item.id][item.matching]
        assert log_odds[item.id] == pytest.approx(np.log(p / (1 - p)))


def test_the_log_odds_threshold_moves_an_indifferent_choice_by_min_effect() -> None:
    assert log_odds_min_effect(0.05) == pytest.approx(0.2007, abs=1e-4)
    for min_effect in (0.01, 0.05, 0.2):
        shift = log_odds_min_effect(min_effect)
        assert 1 / (1 + np.exp(-shift)) - 0.5 == pytest.approx(min_effect)


def test_readout_flags_a_log_odds_row_from_its_own_minimum(context: RunContext) -> None:
    readout = Readout("test", SuiteSettings(), context)
    differences = [0.15] * 48  # certain, but a 0.15-nat shift moves a 50/50 choice by 0.037
    rows = [readout.contrast(0, "in probability", "", differences),
            readout.log_odds_contrast(1, "in nats", "per task", differences)]
    flagged = readout.flag(rows)  # the log-odds row is in nats, by its unit
    assert [r.flagged for r in flagged] == [True, False]
    assert "flagged from 0.20 nats" in rows[1].description
