"""Plots of simulation results (matplotlib is imported lazily, inside each function)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ulterior.errors import MissingDependencyError
from ulterior.sims._analytic import optimal_expression_rate, predicted_deception_index
from ulterior.sims._regimes import Regime
from ulterior.sims._results import SimulationResult
from ulterior.sims._sweep import SweepResult

_LABELS = {
    "deception_index": "deception index (real/deploy minus test)",
    "escape": "escape (real replication above ancestor)",
    "expression_rate": "expression rate in the real environment",
    "conditional_fraction": "fraction conditional (plays dead)",
    "deploy_defect": "P(defect) in deployment",
}


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError("plots need matplotlib: pip install 'ulterior[sims]'") from exc
    return plt


@contextmanager
def _figure(
    path: Path,
    figsize: tuple[float, float],
    *,
    dpi: float | None = None,
    save_dpi: float | None = None,
) -> Iterator[tuple[Any, Any]]:
    """A new figure and its axes, written to ``path`` when the block ends; always closed.

    Args:
        path: Where to write the PNG.
        figsize: Size of the figure in inches.
        dpi: Resolution of the figure; matplotlib's default when omitted.
        save_dpi: Resolution of the file; the figure's own when omitted.

    Yields:
        The figure and its axes.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=figsize, dpi=dpi)
    try:
        yield fig, ax
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=save_dpi)
    finally:
        plt.close(fig)


def plot_trajectories(
    results: Sequence[SimulationResult], path: Path, metric: str = "deception_index"
) -> Path:
    """Plot ``metric`` against step for several runs (typically one per regime).

    Each run is drawn as its mean over seeds with a band from the lowest to the highest seed.

    Args:
        results: Runs to draw, each labelled by its regime.
        path: Where to write the PNG.
        metric: Metric to draw.

    Returns:
        ``path``.
    """
    with _figure(path, (6.4, 3.6), dpi=100) as (_, ax):
        for result in results:
            values = result.metrics[metric]
            line = ax.plot(result.steps, values.mean(axis=0), lw=1.5, label=result.regime.value)
            ax.fill_between(
                result.steps,
                values.min(axis=0),
                values.max(axis=0),
                alpha=0.2,
                lw=0,
                color=line[0].get_color(),
            )
        first = results[0]
        if first.deployment.any():
            ax.axvline(first.steps[np.argmax(first.deployment)], color="grey", ls=":", lw=1)
        unit = "generation" if first.model == "evolution" else "update step"
        cue = getattr(first.config, "cue", None)
        ax.set_xlabel(unit)
        ax.set_ylabel(_LABELS.get(metric, metric))
        ax.set_title(f"{first.model}, cue {cue}, {first.n_seeds} seeds (band: min-max)", fontsize=9)
        ax.legend(fontsize=8, ncol=3)
    return path


def plot_phase_diagram(result: SweepResult, path: Path, metric: str = "deception_index") -> Path:
    """Heat map of the final ``metric`` (mean over seeds): swept values x regimes.

    Args:
        result: A sweep.
        path: Where to write the PNG.
        metric: Metric to show.

    Returns:
        ``path``.
    """
    config = result.config
    grid = np.zeros((len(config.regimes), len(config.values)))
    for value, regime, run in result.cells:
        grid[config.regimes.index(regime), config.values.index(value)] = run.final(metric).mean()
    size = (1.2 + 0.7 * len(config.values), 0.8 + 0.45 * grid.shape[0])
    with _figure(path, size, save_dpi=100) as (fig, ax):
        image = ax.imshow(grid, cmap="magma", vmin=min(0.0, grid.min()), vmax=max(1.0, grid.max()))
        ax.set_xticks(range(len(config.values)), [f"{v:g}" for v in config.values], fontsize=8)
        ax.set_yticks(range(len(config.regimes)), [r.value for r in config.regimes], fontsize=8)
        for (i, j), v in np.ndenumerate(grid):
            ax.text(
                j,
                i,
                f"{v:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="black" if v > 0.5 else "white",
            )
        n = result.cells[0][2].n_seeds
        ax.set_xlabel(config.parameter)
        ax.set_title(f"{config.model}: final {metric} (mean of {n} seeds)", fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.04)
    return path


def plot_sweep_lines(result: SweepResult, path: Path, metric: str = "deception_index") -> Path:
    """Final ``metric`` against the swept value, one line per regime, with 95% t-intervals.

    For the evolution model, the analytic R4 optimum is overlaid where one exists: the
    deception index against ``cue``, and the expression rate against ``mutation_rate`` or
    ``test_rate``.

    Args:
        result: A sweep.
        path: Where to write the PNG.
        metric: Metric to draw.

    Returns:
        ``path``.
    """
    with _figure(path, (5.6, 3.6), dpi=100) as (_, ax):
        config = result.config
        for regime in config.regimes:
            runs = [(v, run) for v, r, run in result.cells if r == regime]
            xs = [v for v, _ in runs]
            summaries = [run.to_record(max_points=2).summary[metric] for _, run in runs]
            means = np.array([s.mean for s in summaries])
            err = np.array(
                [[s.mean - s.ci_low for s in summaries], [s.ci_high - s.mean for s in summaries]]
            )
            ax.errorbar(
                xs, means, yerr=err, marker="o", ms=3, capsize=2, lw=1.2, label=regime.value
            )
        if config.model == "evolution":
            _overlay_analytic(ax, result, metric)
        ax.set_xlabel(config.parameter)
        ax.set_ylabel(_LABELS.get(metric, metric))
        n = result.cells[0][2].n_seeds
        ax.set_title(f"{config.model}: final {metric}, {n} seeds, 95% t-interval", fontsize=9)
        ax.legend(fontsize=8)
    return path


def _overlay_analytic(ax: Any, result: SweepResult, metric: str) -> None:
    config = result.config
    if Regime.R4 not in config.regimes:
        return
    base = config.cell_config(config.values[0], config.regimes[0])
    mu = float(getattr(base, "mutation_rate", 0.0))
    tau = float(getattr(base, "test_rate", 0.0))
    s = float(getattr(base, "advantage", 1.0))
    cue = float(getattr(base, "cue", 0.0))
    xs = np.linspace(min(config.values), max(config.values), 200)
    if config.parameter == "cue" and metric == "deception_index":
        ys = [predicted_deception_index(mu, tau, advantage=s, cue=x) for x in xs]
    elif config.parameter in ("mutation_rate", "test_rate") and metric == "expression_rate":
        ys = [
            optimal_expression_rate(
                x if config.parameter == "mutation_rate" else mu,
                x if config.parameter == "test_rate" else tau,
                advantage=s,
                cue=cue,
            )
            for x in xs
        ]
    else:
        return
    ax.plot(xs, ys, color="black", ls="--", lw=1, label="R4 analytic optimum")
