from __future__ import annotations

import pytest
from pydantic import ValidationError

from ulterior.sims import Regime, SweepConfig, sweep


def test_sweep_runs_every_cell_in_order() -> None:
    config = SweepConfig(
        model="evolution",
        parameter="cue",
        values=(0.0, 1.0),
        regimes=(Regime.R1, Regime.R4),
        base={"seeds": 2, "population": 100, "generations": 30, "train_generations": 10},
    )
    calls: list[tuple[int, int]] = []
    result = sweep(config, progress=lambda done, total: calls.append((done, total)))
    assert [(v, r) for v, r, _ in result.cells] == [
        (0.0, Regime.R1),
        (0.0, Regime.R4),
        (1.0, Regime.R1),
        (1.0, Regime.R4),
    ]
    assert calls[-1] == (4, 4)
    assert result.cells[3][2].config.cue == 1.0


def test_integer_parameters_and_gradient_model() -> None:
    config = SweepConfig(
        model="gradient",
        parameter="batch",
        values=(8, 16),
        regimes=(Regime.R4,),
        base={"seeds": 1, "steps": 5, "train_steps": 1},
    )
    result = sweep(config)
    assert [run.config.batch for _, _, run in result.cells] == [8, 16]


@pytest.mark.parametrize(
    "changes",
    [
        {"parameter": "regime"},
        {"parameter": "nonsense"},
        {"model": "gradient", "parameter": "mutation_rate"},
        {"values": (2.0,)},  # cue out of range: caught before anything runs
        {"base": {"population": "many"}},
        {"regimes": (Regime.R1, Regime.R1)},
    ],
)
def test_bad_sweeps_are_rejected(changes: dict[str, object]) -> None:
    settings: dict[str, object] = {
        "model": "evolution",
        "parameter": "cue",
        "values": (0.5,),
        "regimes": (Regime.R1,),
    }
    with pytest.raises(ValidationError):
        SweepConfig.model_validate({**settings, **changes})
