from __future__ import annotations

import numpy as np
import pytest

from ulterior.records._simulation import SimulationRecord
from ulterior.sims import EvolutionConfig, simulate_evolution, summarize


def test_summarize_is_a_t_interval_over_seeds() -> None:
    s = summarize(np.array([1.0, 2.0, 3.0, 4.0]))
    assert s.mean == 2.5 and s.n_seeds == 4
    # t(0.975, 3) = 3.182; sd = 1.291; half-width = 3.182 * 1.291 / 2
    assert s.ci_high - s.mean == pytest.approx(3.1824 * 1.2910 / 2, rel=1e-3)
    one = summarize(np.array([0.3]))
    assert one.ci_low == one.ci_high == 0.3


def test_record_round_trip_and_thinning() -> None:
    config = EvolutionConfig(seeds=3, population=100, generations=500, train_generations=50)
    result = simulate_evolution(config)
    record = result.to_record(max_points=50)
    assert len(record.steps) == 50 and record.steps[0] == 0 and record.steps[-1] == 500
    assert len(record.trajectories["escape"]) == 3
    assert record.final["escape"] == pytest.approx(list(result.final("escape")))
    assert record.summary["escape"].n_seeds == 3
    again = SimulationRecord.model_validate_json(record.model_dump_json())
    assert again == record
    assert EvolutionConfig.model_validate(record.config) == config


def test_run_recorded_measures_only_changed_states_and_reports_progress() -> None:
    from ulterior.sims import Regime, build_schedule
    from ulterior.sims._results import run_recorded

    config = EvolutionConfig(
        regime=Regime.R1, seeds=2, generations=250, train_generations=120, record_every=50
    )
    schedule = build_schedule(Regime.R1, 250, 120, 100)
    state = {"value": 0.0, "measured": 0}

    def update(i: int) -> bool:
        if schedule.frozen[i]:
            return False
        state["value"] += 1.0
        return True

    def measure() -> dict[str, np.ndarray]:
        state["measured"] += 1
        return {"value": np.full(2, state["value"])}

    done: list[int] = []
    result = run_recorded(
        "evolution", config, schedule, ("value",), update, measure, progress=done.append, start=0.0
    )
    assert list(result.steps) == [0, 50, 100, 150, 200, 250]
    # Training stops after step 120: the state is frozen, so it is measured once after that.
    assert result.metrics["value"][0].tolist() == [0.0, 50.0, 100.0, 120.0, 120.0, 120.0]
    assert state["measured"] == 4
    assert done == [100, 200, 250]
    assert result.regime is Regime.R1 and result.n_seeds == 2 and result.wall_seconds > 0
