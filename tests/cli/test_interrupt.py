"""Ctrl-C: the run stays resumable, one line says how to resume, exit status 130."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ulterior.cli import main

# The real entry point's function, with a fake subject slowed down so that there is time
# to interrupt it part-way.
SLOW_MAIN = """
import sys, time
from ulterior.models._fake import FakeSubject
score = FakeSubject.score_choices
def slow(self, requests):
    time.sleep(0.2)
    return score(self, requests)
FakeSubject.score_choices = slow
from ulterior.cli import main
sys.argv[0] = "ulterior"
main()
"""


def _stored(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(store, timeout=5) as db:
            return int(db.execute("SELECT count(*) FROM observations").fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0


def test_ctrl_c_exits_130_with_a_resume_line_and_resume_finishes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"Question {i}?",
                                         "options": ["Yes", "No"], "matching": i % 2}) + "\n"
                             for i in range(1500)))
    store = tmp_path / "s.sqlite"
    args = ["score", "-m", "fake:sleeper", "-i", str(items), "--store", str(store)]
    child = subprocess.Popen([sys.executable, "-c", SLOW_MAIN, *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    deadline = time.monotonic() + 60
    while _stored(store) == 0 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("interrupted") and "Traceback" not in err
    assert last.endswith("--resume") and f"--store {store}" in last
    done = _stored(store)
    assert 0 < done < 3000
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT status FROM runs").fetchall() == [("running",)]
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        main([*args, "--resume"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert f"observations computed {3000 - done}, reused from store {done}" in out
    assert "n=1500" in out
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT status FROM runs").fetchall() == [("complete",)]
        assert db.execute("SELECT count(*) FROM run_observations").fetchone()[0] == 3000


def test_interrupt_of_a_command_without_resume_says_to_run_it_again(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    import ulterior.sims as sims

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(sims, "run_simulations", interrupted)
    with pytest.raises(SystemExit) as stop:
        main(["simulate", "gradient", "--store", str(tmp_path / "s.sqlite")])
    assert stop.value.code == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "interrupted before the results were saved; run the same command again"
