"""Simulations of training/deployment regimes: when does optimization produce deception?

Two models answer the same question, under the same regimes (:class:`Regime`): a
vectorised digital-evolution model after Ofria's Avida "playing dead" experiment
(:func:`simulate_evolution`) and a small policy network trained by REINFORCE
(:func:`simulate_gradient`). :func:`sweep` varies one setting across regimes;
:func:`run_simulations` and :func:`run_sweep` also save records, arrays and plots.
"""

from ulterior.sims._analytic import optimal_expression_rate, predicted_deception_index
from ulterior.sims._evolution import EVOLUTION_METRICS, EvolutionConfig, simulate_evolution
from ulterior.sims._gradient import GRADIENT_METRICS, GradientConfig, simulate_gradient
from ulterior.sims._regimes import Regime, Schedule, build_schedule
from ulterior.sims._results import SimulationResult, summarize
from ulterior.sims._run import OutputOptions, load_json, run_simulations, run_sweep
from ulterior.sims._storage import save_simulation
from ulterior.sims._sweep import SweepConfig, SweepResult, simulate, sweep

__all__ = [
    "EVOLUTION_METRICS",
    "GRADIENT_METRICS",
    "EvolutionConfig",
    "GradientConfig",
    "OutputOptions",
    "Regime",
    "Schedule",
    "SimulationResult",
    "SweepConfig",
    "SweepResult",
    "build_schedule",
    "load_json",
    "optimal_expression_rate",
    "predicted_deception_index",
    "run_simulations",
    "run_sweep",
    "save_simulation",
    "simulate",
    "simulate_evolution",
    "simulate_gradient",
    "summarize",
    "sweep",
]
