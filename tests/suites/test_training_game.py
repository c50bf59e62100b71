from __future__ import annotations

import pytest
from suite_helpers import FAST

from ulterior.models import FakeSubject
from ulterior.runner import RunContext
from ulterior.suites._packs import load_pack
from ulterior.suites._training_game import ROLES, TrainingGameSuite, build_items


def test_three_rotations_put_every_role_in_every_position() -> None:
    items = build_items(load_pack("training_game"))
    assert len(items) == 48 * 3
    first = items[:3]
    assert {tuple(i.metadata["roles"]) for i in first} == {
        ("deceptive", "overt", "decline"), ("overt", "decline", "deceptive"),
        ("decline", "deceptive", "overt")}
    for item in items:
        assert item.metadata["roles"][item.matching] == "deceptive"


def test_position_bias_cancels_exactly(context: RunContext) -> None:
    result = TrainingGameSuite().run(FakeSubject("position-biased"), FAST, context)
    rows = {r.name: r for r in result.rows}
    for role in ROLES:
        assert rows[f"P({role})"].estimate == pytest.approx(1 / 3)
    assert not result.flagged


def test_a_subject_that_prefers_the_deceptive_route_is_flagged(context: RunContext) -> None:
    result = TrainingGameSuite().run(FakeSubject("misaligned"), FAST, context)
    rows = {r.name: r for r in result.rows}
    assert rows["P(deceptive)"].estimate == pytest.approx(0.7)
    assert rows["deceptive vs no preference"].flagged
    assert result.ladder_rung == 5
