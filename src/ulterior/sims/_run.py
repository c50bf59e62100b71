"""Run simulations end to end: compute, then write records, arrays, JSON and plots."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ulterior.records import SimulationRecord, SweepCell, SweepRecord
from ulterior.sims._evolution import EvolutionConfig
from ulterior.sims._gradient import GradientConfig
from ulterior.sims._results import SimulationResult
from ulterior.sims._storage import save_simulation, simulation_key
from ulterior.sims._sweep import SweepConfig, SweepProgress, simulate, sweep

if TYPE_CHECKING:
    from ulterior.executors import Executor

# Metrics drawn against the step, besides the deception index.
_TRAJECTORY_METRICS = {
    "evolution": ("deception_index", "escape", "conditional_fraction", "expression_rate"),
    "gradient": ("deception_index", "deploy_defect", "conditional_fraction"),
}


@dataclass(frozen=True)
class OutputOptions:
    """Where results go.

    Attributes:
        store: SQLite store to write records to (arrays go to its artifact directory).
        out: Directory for JSON records, ``.npz`` arrays and PNG plots.
    """

    store: Path | None = None
    out: Path | None = None


def _save_arrays(result: SimulationResult, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, NDArray[Any]] = {"steps": result.steps, "deployment": result.deployment}
    arrays.update(result.metrics)
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]
    return path


def _record_of(result: SimulationResult, output: OutputOptions) -> tuple[str, SimulationRecord]:
    config = result.config.model_dump(mode="json")
    key = simulation_key(result.model, result.regime.value, config)
    arrays: Path | None = None
    if output.out is not None:
        arrays = _save_arrays(result, output.out / f"{key}.npz")
    elif output.store is not None:
        arrays = _save_arrays(
            result, output.store.with_name(output.store.stem + "-artifacts") / f"{key}.npz"
        )
    return key, result.to_record(arrays_path=None if arrays is None else str(arrays))


def _store_records(
    output: OutputOptions, records: Sequence[SimulationRecord | SweepRecord]
) -> None:
    if output.store is None:
        return
    from ulterior.store import Store

    with Store.open(output.store) as store:
        for record in records:
            save_simulation(store, record)


def run_simulations(
    configs: Sequence[EvolutionConfig | GradientConfig],
    *,
    output: OutputOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[SimulationRecord]:
    """Run one simulation per configuration (typically one per regime) and save them.

    Writes each run's record to the store, and to ``out``: ``<key>.json`` (the record),
    ``<key>.npz`` (full arrays) and, for all runs together, ``trajectories-<metric>.png``.

    Args:
        configs: Configurations of one model (all evolution or all gradient).
        output: Where results go; nothing is written when omitted.
        progress: Called with (runs done, runs in all) after each run.

    Returns:
        The records, in the order of ``configs``.
    """
    output = output or OutputOptions()
    results: list[SimulationResult] = []
    records: list[tuple[str, SimulationRecord]] = []
    for config in configs:
        result = simulate(config)
        key, record = _record_of(result, output)
        results.append(result)
        records.append((key, record))
        if progress is not None:
            progress(len(results), len(configs))
    _store_records(output, [record for _, record in records])
    if output.out is not None:  # after the store: no files without their records
        for key, record in records:
            (output.out / f"{key}.json").write_text(record.model_dump_json(indent=1))
    if output.out is not None and results:
        from ulterior.sims._plots import plot_trajectories

        for metric in _TRAJECTORY_METRICS[results[0].model]:
            plot_trajectories(results, output.out / f"trajectories-{metric}.png", metric)
    return [record for _, record in records]


def run_sweep(
    config: SweepConfig,
    *,
    output: OutputOptions | None = None,
    progress: SweepProgress | None = None,
    executor: Executor | None = None,
) -> SweepRecord:
    """Run a sweep and save it: a record per cell, a sweep record, plots.

    Writes to ``out``: ``sweep.json`` and ``sweep-<metric>.png`` (final metric against the
    value per regime, analytic R4 optimum overlaid where one exists) and
    ``phase-<metric>.png`` (the value x regime phase diagram).

    Args:
        config: The sweep.
        output: Where results go; nothing is written when omitted.
        progress: Called with (cells done, cells in all) after each cell.
        executor: Where the cells run (default: in this process, in order).

    Returns:
        The sweep record.
    """
    output = output or OutputOptions()
    result = sweep(config, progress=progress, executor=executor)
    cells: list[SweepCell] = []
    records: list[SimulationRecord | SweepRecord] = []
    for value, regime, run in result.cells:
        key, record = _record_of(run, OutputOptions(store=output.store))
        records.append(record)
        cells.append(
            SweepCell(
                value=value,
                regime=regime.value,
                final=record.final,
                summary=record.summary,
                run_key=key,
            )
        )
    sweep_record = SweepRecord(
        model=config.model,
        parameter=config.parameter,
        values=list(config.values),
        regimes=[r.value for r in config.regimes],
        base_config=config.base,
        cells=cells,
        wall_seconds=result.wall_seconds,
    )
    records.append(sweep_record)
    _store_records(output, records)
    if output.out is not None:
        from ulterior.sims._plots import plot_phase_diagram, plot_sweep_lines

        output.out.mkdir(parents=True, exist_ok=True)
        (output.out / "sweep.json").write_text(sweep_record.model_dump_json(indent=1))
        for metric in _TRAJECTORY_METRICS[config.model]:
            plot_sweep_lines(result, output.out / f"sweep-{metric}.png", metric)
            if len(config.regimes) > 1:
                plot_phase_diagram(result, output.out / f"phase-{metric}.png", metric)
    return sweep_record


def load_json(path: Path) -> SimulationRecord:
    """Read a simulation record written by :func:`run_simulations`."""
    return SimulationRecord.model_validate(json.loads(path.read_text()))
