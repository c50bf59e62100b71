"""The in-memory result of one simulation run, and its conversion to a record."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, cast

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

from ulterior.records import MetricSummary, SimulationRecord
from ulterior.sims._regimes import Regime, Schedule

ModelKind = Literal["evolution", "gradient"]


class RunSettings(Protocol):
    """What :func:`run_recorded` reads of a model's configuration (both models have it)."""

    @property
    def seeds(self) -> int: ...

    @property
    def record_every(self) -> int: ...

    @property
    def regime(self) -> Regime: ...

    @property
    def seed(self) -> int: ...

    @property
    def final_window(self) -> float: ...


Progress = Callable[[int], None]
Metrics = Mapping[str, NDArray[np.float64]]


class Recorder:
    """Collects per-seed metrics at step 0 (the initial state) and every ``every`` steps.

    Step ``t >= 1`` is the state after the ``t``-th update; the last step is always kept.
    """

    def __init__(self, names: tuple[str, ...], n_seeds: int, total: int, every: int) -> None:
        steps = list(range(0, total + 1, every))
        if steps[-1] != total:
            steps.append(total)
        self.steps = np.asarray(steps, dtype=np.int64)
        self.values = {name: np.empty((n_seeds, len(steps))) for name in names}
        self._col = 0

    def wants(self, step: int) -> bool:
        """Whether metrics at ``step`` are to be recorded."""
        return self._col < self.steps.size and int(self.steps[self._col]) == step

    def put(self, metrics: Metrics) -> None:
        """Record the metrics of the next wanted step."""
        for name, column in self.values.items():
            column[:, self._col] = metrics[name]
        self._col += 1

    def deployment(self, per_update: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """Deployment flag of each recorded step, given the flag of each update."""
        return np.concatenate(([False], per_update))[self.steps]


def summarize(values: NDArray[np.float64], confidence: float = 0.95) -> MetricSummary:
    """Summarise per-seed values: mean and a Student-t confidence interval over seeds.

    Args:
        values: One value per seed (independent replicates).
        confidence: Coverage of the interval.

    Returns:
        The summary; with a single seed the interval is degenerate (equal to the mean).
    """
    from scipy import stats

    x = np.asarray(values, dtype=np.float64)
    n = int(x.size)
    mean = float(x.mean())
    if n < 2 or float(x.std(ddof=1)) == 0.0:
        low = high = mean
    else:
        half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * float(x.std(ddof=1)) / math.sqrt(n)
        low, high = mean - half, mean + half
    return MetricSummary(
        mean=mean,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        n_seeds=n,
        minimum=float(x.min()),
        maximum=float(x.max()),
    )


@dataclass(frozen=True)
class SimulationResult:
    """Per-step metric trajectories of one run, batched over seeds.

    Attributes:
        model: ``"evolution"`` or ``"gradient"``.
        regime: The regime that was run.
        config: The configuration the run was called with.
        seed: Base seed of the batch; replicate ``i`` is row ``i`` of every array.
        steps: ``(T,)`` the step (generation or update) index of each recorded column.
        metrics: Metric name to ``(n_seeds, T)`` array.
        deployment: ``(T,)`` bool, whether the recorded step is in the deployment phase.
        final_window: Fraction of the run, at its end, averaged into the final metrics.
        wall_seconds: Wall-clock time of the run.
    """

    model: ModelKind
    regime: Regime
    config: BaseModel
    seed: int
    steps: NDArray[np.int64]
    metrics: Mapping[str, NDArray[np.float64]]
    deployment: NDArray[np.bool_]
    final_window: float
    wall_seconds: float

    @property
    def n_seeds(self) -> int:
        """Number of independent replicates."""
        return int(next(iter(self.metrics.values())).shape[0])

    def final(self, metric: str) -> NDArray[np.float64]:
        """Return the per-seed mean of ``metric`` over the final window of the run."""
        values = self.metrics[metric]
        width = max(1, math.ceil(self.final_window * values.shape[1]))
        return np.asarray(values[:, -width:].mean(axis=1), dtype=np.float64)

    def to_record(self, max_points: int = 200, arrays_path: str | None = None) -> SimulationRecord:
        """Convert to a :class:`SimulationRecord`, thinning trajectories to ``max_points``.

        Args:
            max_points: Largest number of steps kept per trajectory in the record.
            arrays_path: Where the full arrays were saved, if they were.

        Returns:
            The record.
        """
        keep = np.unique(np.linspace(0, self.steps.size - 1, min(max_points, self.steps.size)))
        keep = keep.astype(np.int64)
        finals = {name: self.final(name) for name in self.metrics}
        return SimulationRecord(
            model=self.model,
            regime=self.regime.value,
            config=self.config.model_dump(mode="json"),
            seed=self.seed,
            n_seeds=self.n_seeds,
            steps=[int(s) for s in self.steps[keep]],
            deployment=[bool(d) for d in self.deployment[keep]],
            trajectories={
                name: [[float(v) for v in row] for row in values[:, keep]]
                for name, values in self.metrics.items()
            },
            final={name: [float(v) for v in values] for name, values in finals.items()},
            summary={name: summarize(values) for name, values in finals.items()},
            final_window=self.final_window,
            wall_seconds=self.wall_seconds,
            arrays_path=arrays_path,
        )


def run_recorded(
    model: ModelKind,
    config: BaseModel,
    schedule: Schedule,
    names: tuple[str, ...],
    update: Callable[[int], bool],
    measure: Callable[[], Metrics],
    *,
    progress: Progress | None,
    start: float,
) -> SimulationResult:
    """Step a model through ``schedule``, recording its metrics, and return the run.

    Metrics are measured at the initial state and again only at recorded steps whose state
    changed since the last measurement.

    Args:
        model: Which model runs.
        config: The run's settings.
        schedule: What acts at each step; one step per entry.
        names: Names of the metrics that ``measure`` returns.
        update: Applies the step of the given index (from 0) to the model's state; returns
            whether the state changed.
        measure: Per-seed metrics of the current state.
        progress: Called with the number of steps completed, now and then.
        start: ``time.perf_counter()`` when the run began.

    Returns:
        The per-step trajectories.
    """
    settings = cast(RunSettings, config)  # an EvolutionConfig or a GradientConfig
    total = int(schedule.deployment.size)
    recorder = Recorder(names, settings.seeds, total, settings.record_every)
    initial = measure()
    recorder.put(initial)
    last: Metrics | None = initial
    for t in range(1, total + 1):
        if update(t - 1):
            last = None
        if recorder.wants(t):
            if last is None:
                last = measure()
            recorder.put(last)
        if progress is not None and t % 100 == 0:
            progress(t)
    if progress is not None:
        progress(total)
    return SimulationResult(
        model=model,
        regime=settings.regime,
        config=config,
        seed=settings.seed,
        steps=recorder.steps,
        metrics=recorder.values,
        deployment=recorder.deployment(schedule.deployment),
        final_window=settings.final_window,
        wall_seconds=time.perf_counter() - start,
    )
