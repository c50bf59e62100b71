"""Sweeps: one configuration field across values, under several regimes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ulterior.sims._evolution import EvolutionConfig, simulate_evolution
from ulterior.sims._gradient import GradientConfig, simulate_gradient
from ulterior.sims._regimes import Regime
from ulterior.sims._results import SimulationResult

if TYPE_CHECKING:
    from ulterior.executors import Executor
    from ulterior.store import Store

SweepProgress = Callable[[int, int], None]

# Fields that identify a run rather than parametrise it.
_NOT_SWEEPABLE = frozenset({"regime", "seeds", "seed", "prior", "record_every", "final_window"})


def config_type(model: Literal["evolution", "gradient"]) -> type[BaseModel]:
    """Return the configuration class of ``model``."""
    return EvolutionConfig if model == "evolution" else GradientConfig


def simulate(
    config: EvolutionConfig | GradientConfig, *, progress: Callable[[int], None] | None = None
) -> SimulationResult:
    """Run the simulation that ``config`` configures (evolution or gradient).

    Args:
        config: An :class:`EvolutionConfig` or a :class:`GradientConfig`.
        progress: Called with the number of steps completed, now and then.

    Returns:
        The per-step trajectories.
    """
    if isinstance(config, EvolutionConfig):
        return simulate_evolution(config, progress=progress)
    return simulate_gradient(config, progress=progress)


class SweepConfig(BaseModel):
    """A sweep: ``parameter`` takes each of ``values`` under each of ``regimes``."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    model: Literal["evolution", "gradient"] = Field(description="Which simulation to sweep.")
    parameter: str = Field(description="Name of the configuration field to vary.")
    values: tuple[float, ...] = Field(min_length=1, description="Values of the parameter.")
    regimes: tuple[Regime, ...] = Field(min_length=1, description="Regimes run at every value.")
    base: dict[str, Any] = Field(
        default_factory=dict, description="Settings shared by every cell (config field names)."
    )

    @field_validator("regimes")
    @classmethod
    def _unique(cls, regimes: tuple[Regime, ...]) -> tuple[Regime, ...]:
        if len(set(regimes)) != len(regimes):
            raise ValueError("regimes must not repeat")
        return regimes

    @model_validator(mode="after")
    def _check_parameter(self) -> SweepConfig:
        fields = config_type(self.model).model_fields
        if self.parameter not in fields or self.parameter in _NOT_SWEEPABLE:
            allowed = sorted(set(fields) - _NOT_SWEEPABLE)
            raise ValueError(
                f"cannot sweep {self.parameter!r} of the {self.model} model; "
                f"choose one of {', '.join(allowed)}"
            )
        if "regime" in self.base or self.parameter in self.base:
            raise ValueError("base must not set the regime or the swept parameter")
        for value in self.values:  # fail before running anything
            self.cell_config(value, self.regimes[0])
        return self

    def cell_config(self, value: float, regime: Regime) -> EvolutionConfig | GradientConfig:
        """Configuration of the cell (``value``, ``regime``)."""
        settings = {**self.base, self.parameter: value, "regime": regime}
        if self.model == "evolution":
            return EvolutionConfig.model_validate(settings)
        return GradientConfig.model_validate(settings)


@dataclass(frozen=True)
class SweepResult:
    """Results of a sweep, one per (value, regime), values outer.

    Attributes:
        config: The sweep's configuration.
        cells: ``(value, regime, result)`` for every cell.
        wall_seconds: Wall-clock duration of the sweep.
    """

    config: SweepConfig
    cells: tuple[tuple[float, Regime, SimulationResult], ...]
    wall_seconds: float


def simulate_cell(config: EvolutionConfig | GradientConfig, store: Store) -> SimulationResult:
    """One cell of a sweep as a unit of work (a simulation records nothing in ``store``)."""
    return simulate(config)


def sweep(config: SweepConfig, *, progress: SweepProgress | None = None,
          executor: Executor | None = None) -> SweepResult:
    """Run every cell of a sweep.

    Args:
        config: The sweep.
        progress: Called with (cells done, cells in all) after each cell.
        executor: Where the cells run (default: in this process, in order); on Ray each
            cell is a task.

    Returns:
        The results of all cells, values outer, whatever order they finished in.
    """
    from ulterior.executors import LocalExecutor

    start = time.perf_counter()
    grid = [(value, regime) for value in config.values for regime in config.regimes]
    units = [config.cell_config(value, regime) for value, regime in grid]
    done: dict[int, SimulationResult] = {}
    for index, result in (executor or LocalExecutor()).run_without_store(
            simulate_cell, units, description="cells", show_progress=False):
        done[index] = result
        if progress is not None:
            progress(len(done), len(units))
    cells = tuple((value, regime, done[index]) for index, (value, regime) in enumerate(grid))
    return SweepResult(config=config, cells=cells, wall_seconds=time.perf_counter() - start)
