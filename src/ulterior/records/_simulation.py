"""Records of the regime simulations (``ulterior.sims``): single runs and sweeps."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from ulterior.records._core import Record, utc_now


class MetricSummary(Record):
    """A metric's final value across seeds: mean with a Student-t interval over seeds."""

    version: Literal[1] = Field(default=1, description="Schema version of this record.")
    mean: float = Field(description="Mean over seeds of the per-seed final value.")
    ci_low: float = Field(description="Lower end of the confidence interval of the mean.")
    ci_high: float = Field(description="Upper end of the confidence interval of the mean.")
    confidence: float = Field(description="Coverage of the interval, e.g. 0.95.")
    n_seeds: int = Field(description="Number of independent seeds (the sample size).")
    minimum: float = Field(description="Smallest per-seed value.")
    maximum: float = Field(description="Largest per-seed value.")


class SimulationRecord(Record):
    """One simulation run (one model, one regime, a batch of seeds).

    Trajectories are thinned to at most a few hundred steps; the full arrays, when saved,
    live beside the record at ``arrays_path`` (an ``.npz`` file addressed by content hash).
    Final values are per-seed means over the last ``final_window`` fraction of the run.
    """

    version: Literal[1] = Field(default=1, description="Schema version of this record.")
    model: Literal["evolution", "gradient"] = Field(
        description="Which simulation: digital evolution or gradient descent (REINFORCE)."
    )
    regime: str = Field(description="Regime that was run: R1, R2, R3, R4, no-test or null.")
    config: dict[str, Any] = Field(
        description="The full configuration of the run, as JSON (the sims config model)."
    )
    seed: int = Field(description="Base seed of the batch; replicate i is row i of each array.")
    n_seeds: int = Field(description="Number of independent replicates run side by side.")
    steps: list[int] = Field(
        description="Generation (evolution) or update step (gradient) of each kept column."
    )
    deployment: list[bool] = Field(
        description="For each kept step, whether it belongs to the deployment phase."
    )
    trajectories: dict[str, list[list[float]]] = Field(
        description="Metric name to per-seed trajectories (n_seeds rows, one value per step)."
    )
    final: dict[str, list[float]] = Field(
        description="Metric name to per-seed final values (mean over the final window)."
    )
    summary: dict[str, MetricSummary] = Field(
        description="Metric name to the summary of its final values across seeds."
    )
    final_window: float = Field(
        description="Fraction of the run, at its end, averaged into the final values."
    )
    wall_seconds: float = Field(description="Wall-clock duration of the run in seconds.")
    arrays_path: str | None = Field(
        default=None, description="Path of the full per-step arrays (.npz), if saved."
    )
    created: datetime = Field(default_factory=utc_now, description="When the run finished (UTC).")


class SweepCell(Record):
    """One cell of a sweep: one parameter value under one regime."""

    version: Literal[1] = Field(default=1, description="Schema version of this record.")
    value: float = Field(description="Value of the swept parameter in this cell.")
    regime: str = Field(description="Regime of this cell.")
    final: dict[str, list[float]] = Field(
        description="Metric name to per-seed final values in this cell."
    )
    summary: dict[str, MetricSummary] = Field(
        description="Metric name to the summary of its final values across seeds."
    )
    run_key: str = Field(description="Store key of the cell's SimulationRecord.")


class SweepRecord(Record):
    """A sweep of one parameter across values and regimes."""

    version: Literal[1] = Field(default=1, description="Schema version of this record.")
    model: Literal["evolution", "gradient"] = Field(description="Which simulation was swept.")
    parameter: str = Field(description="Name of the swept configuration field.")
    values: list[float] = Field(description="Values the parameter took, in order.")
    regimes: list[str] = Field(description="Regimes run at every value.")
    base_config: dict[str, Any] = Field(
        description="Configuration shared by all cells, before the swept field is set."
    )
    cells: list[SweepCell] = Field(description="One cell per (value, regime), values outer.")
    wall_seconds: float = Field(description="Wall-clock duration of the sweep in seconds.")
    created: datetime = Field(default_factory=utc_now, description="When the sweep finished (UTC).")
