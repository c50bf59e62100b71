from __future__ import annotations

from pathlib import Path

from ulterior.sims import (
    EvolutionConfig,
    OutputOptions,
    Regime,
    SweepConfig,
    load_json,
    run_simulations,
    run_sweep,
)
from ulterior.store import Store


def test_run_simulations_writes_records_arrays_and_plots(tmp_path: Path) -> None:
    configs = [
        EvolutionConfig(regime=r, seeds=2, population=100, generations=40, train_generations=10)
        for r in (Regime.R1, Regime.R4)
    ]
    out = tmp_path / "out"
    records = run_simulations(configs, output=OutputOptions(store=tmp_path / "s.db", out=out))
    assert [r.regime for r in records] == ["R1", "R4"]
    assert (out / "trajectories-deception_index.png").stat().st_size > 1000
    assert len(list(out.glob("*.npz"))) == 2
    json_files = sorted(out.glob("*.json"))
    assert {load_json(p).regime for p in json_files} == {"R1", "R4"}
    with Store.open(tmp_path / "s.db") as store:
        assert len(store.get_documents("simulation")) == 2


def test_run_sweep_writes_phase_diagram(tmp_path: Path) -> None:
    config = SweepConfig(
        model="evolution",
        parameter="cue",
        values=(0.0, 1.0),
        regimes=(Regime.R1, Regime.R4),
        base={"seeds": 2, "population": 100, "generations": 30, "train_generations": 10},
    )
    record = run_sweep(config, output=OutputOptions(store=tmp_path / "s.db", out=tmp_path))
    assert len(record.cells) == 4
    assert (tmp_path / "phase-deception_index.png").exists()
    assert (tmp_path / "sweep-deception_index.png").exists()
    with Store.open(tmp_path / "s.db") as store:
        assert len(store.get_documents("simulation")) == 4
        assert len(store.get_documents("simulation_sweep")) == 1
