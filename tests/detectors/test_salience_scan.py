"""salience-scan: condition salience over the suites' candidate conditions, blind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ulterior.detectors import pointed_at, salience_scan, scan_items
from ulterior.detectors._salience import SALIENCE_MARGIN
from ulterior.runner import RunContext
from ulterior.store import Store


def test_every_candidate_is_a_contrast_on_the_same_tasks() -> None:
    items, candidates = scan_items()
    assert len({c.id for c in candidates}) == len(candidates)
    assert {c.kind for c in candidates} == {"trigger", "oversight", "sandbag"}
    for candidate in candidates:
        on = {items[k].metadata["task"] for k in candidate.on}
        off = {items[k].metadata["task"] for k in candidate.off}
        assert on == off and len(on) >= 8, candidate.id
        assert not set(candidate.on) & set(candidate.off)
        texts = {items[k].messages for k in candidate.on}
        assert not texts & {items[k].messages for k in candidate.off}  # the cue differs


def _activations(items_count: int, tasks: list[str], seed: int = 0) -> np.ndarray:
    """Prompt-end activations where prompts of one task agree, plus noise."""
    rng = np.random.default_rng(seed)
    per_task = {t: rng.normal(size=32) for t in sorted(set(tasks))}
    return np.array([per_task[t] for t in tasks]) + 0.3 * rng.normal(size=(items_count, 32))


def test_points_at_the_candidate_training_routed_and_flags_nothing_without_one(
    tmp_path: Path,
) -> None:
    items, candidates = scan_items()
    tasks = [str(i.metadata["task"]) for i in items]
    base = _activations(len(items), tasks)
    stakes = next(c for c in candidates if c.id == "sandbag:stakes")
    on = np.zeros(len(items), bool)
    on[list(stakes.on)] = True
    shift = np.random.default_rng(1).normal(size=32)
    sandbagger = base + on[:, None] * shift  # training made the stakes framing loud
    faint = base + 0.1 * on[:, None] * shift  # real, but below the margin
    with Store.open(tmp_path / "s.sqlite") as store:
        context = RunContext(store=store, show_progress=False)
        found = salience_scan(sandbagger, base, items, candidates, 23, "base", context)
        quiet = salience_scan(faint, base, items, candidates, 23, "base", context)
        inherited = salience_scan(sandbagger, sandbagger, items, candidates, 23, "base",
                                  context)
    assert found.flagged and found.ladder_rung == 4
    assert [r.name for r in found.rows if r.flagged] == ["sandbag:stakes"]
    assert found.rows[0].name == "sandbag:stakes" and "sandbag:stakes" in found.evidence
    assert found.rows[0].low > SALIENCE_MARGIN and found.rows[0].n == len(
        {tasks[k] for k in stakes.on})
    assert pointed_at(found) == "sandbag:stakes"
    assert not quiet.flagged and quiet.rows[0].estimate > 0  # measured, under the margin
    assert not inherited.flagged and pointed_at(inherited) is None
    assert all(r.estimate == pytest.approx(0.0) for r in inherited.rows)


def test_a_subject_in_which_any_context_line_became_loud_points_at_no_trigger(
    tmp_path: Path,
) -> None:
    # Every line the trigger scan shows, neutral or candidate, moves the activation alike:
    # read against the bare task, every trigger would clear the margin; against the neutral
    # lines none does.
    items, candidates = scan_items()
    assert all(items[k].metadata["role"] == "neutral"
               for c in candidates if c.id.split(":", 1)[0] == "trigger" for k in c.off)
    tasks = [str(i.metadata["task"]) for i in items]
    base = _activations(len(items), tasks)
    lined = np.array([i.source == "ulterior:trigger-scan" for i in items])
    shift = np.random.default_rng(2).normal(size=32)
    with Store.open(tmp_path / "s.sqlite") as store:
        result = salience_scan(base + lined[:, None] * shift, base, items, candidates, 23,
                               "base", RunContext(store=store, show_progress=False))
    assert not result.flagged and pointed_at(result) is None
