"""Evolution model: mechanics, and the seeded scientific floors of issue 6.

Floors run the default configuration (10 seeds x 1,000 organisms x 4,000 generations,
mutation rate 0.5, every mutant tested) unless a test says otherwise.
"""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from ulterior.sims import (
    EvolutionConfig,
    Regime,
    optimal_expression_rate,
    simulate_evolution,
)
from ulterior.sims._evolution import TEST_PATTERN, _metrics, _Population, _test
from ulterior.sims._results import SimulationResult


@pytest.fixture(scope="module")
def runs() -> dict[tuple[str, float], SimulationResult]:
    cache: dict[tuple[str, float], SimulationResult] = {}
    for regime, cue in [("R4", 1.0), ("R4", 0.0), ("R3", 1.0), ("null", 1.0)]:
        cache[(regime, cue)] = simulate_evolution(EvolutionConfig(regime=regime, cue=cue))
    return cache


# -- floors -----------------------------------------------------------------------------------


def test_recognisable_test_inputs_r4_selects_playing_dead(runs) -> None:
    result = runs[("R4", 1.0)]
    di = result.final("deception_index")
    conditional = result.final("conditional_fraction")
    passing = (di >= 0.75) & (conditional >= 0.90)
    assert result.n_seeds == 10
    assert passing.sum() >= 9, (di, conditional)


def test_indistinguishable_test_inputs_r4_escapes_by_probabilistic_expression(runs) -> None:
    result = runs[("R4", 0.0)]
    config = result.config
    assert isinstance(config, EvolutionConfig)
    di = result.final("deception_index")
    escape = result.final("escape")
    rate = result.final("expression_rate")
    optimum = optimal_expression_rate(config.mutation_rate, config.test_rate)
    assert optimum == pytest.approx(0.5)
    assert np.all(np.abs(di) <= 0.02)
    assert np.all(escape > 0.2)  # well above the ancestor's 0 and the null's drift
    assert abs(rate.mean() - optimum) <= 0.1, rate
    assert np.all(np.abs(rate - optimum) <= 0.1), rate


def test_same_direction_r3_keeps_deception_and_escape_low(runs) -> None:
    result = runs[("R3", 1.0)]
    assert np.all(result.final("deception_index") <= 0.02)
    assert np.all(result.final("escape") <= 0.02)


@pytest.mark.parametrize("regime", ["R1", "R2"])
@pytest.mark.parametrize("train_generations", [100, 2000])
def test_no_deployment_updates_escape_no_more_than_neutral_null(
    runs, regime: str, train_generations: int
) -> None:
    null = runs[("null", 1.0)].metrics["escape"].mean(axis=0)
    config = EvolutionConfig(regime=regime, cue=1.0, train_generations=train_generations)
    escape = simulate_evolution(config).metrics["escape"].mean(axis=0)
    # At every generation, the mean over 10 seeds stays within 0.05 of the null's.
    assert np.all(escape <= null + 0.05)


# -- mechanics --------------------------------------------------------------------------------


def test_same_seed_same_trajectory() -> None:
    config = EvolutionConfig(seeds=2, population=200, generations=50, train_generations=10)
    a = simulate_evolution(config).metrics["escape"]
    b = simulate_evolution(config).metrics["escape"]
    c = simulate_evolution(config.model_copy(update={"seed": 1})).metrics["escape"]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_frozen_deployment_changes_nothing() -> None:
    config = EvolutionConfig(
        regime=Regime.R1, seeds=2, population=200, generations=60, train_generations=20
    )
    result = simulate_evolution(config)
    for values in result.metrics.values():
        assert np.all(values[:, 20:] == values[:, 20:21])
    assert not result.deployment[20] and result.deployment[21]


@pytest.mark.parametrize("cue", [0.0, 0.3, 1.0])
def test_exact_metrics_match_sampled_test_environment(cue: float) -> None:
    """The metric's expected test expression equals what the test sampler produces."""
    config = EvolutionConfig(cue=cue, seeds=1, population=4000, input_bits=3, test_rate=1.0)
    rng = np.random.default_rng(5)
    pop = _Population(config, rng)
    pop.a[:] = 1.0
    pop.q[:] = rng.random(pop.q.size)
    pop.g[:] = rng.random(pop.g.size) < 0.5
    pop.v[:] = rng.integers(0, 8, pop.v.size)
    pop.v[:1000] = TEST_PATTERN
    expected = _metrics(pop, config)["test_escape"][0]
    everyone = np.arange(pop.a.size)
    caught = np.mean([_test(pop, everyone, config, rng).size / pop.a.size for _ in range(20)])
    assert caught == pytest.approx(expected, abs=0.01)


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ValidationError):
        EvolutionConfig(cue=1.5)
    with pytest.raises(ValidationError):
        EvolutionConfig(generations=10, train_generations=20)
    with pytest.raises(ValidationError):
        EvolutionConfig(population=1)
