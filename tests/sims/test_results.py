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
