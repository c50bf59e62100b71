"""Calibration of the sampled estimator on a subject whose choice probabilities are known.

The subject (``ulterior.models.KnownChoices``) answers the oversight-gap suite's
presentations by drawing a label: per task, P(misaligned | observed) runs evenly from 0.2
to 0.6 over the tasks and P(misaligned | unobserved) is that plus ``--delta``, so the true
pooled contrast is ``--delta`` on every task. Each run draws ``--samples`` answers per
presentation with its own seed and reads the suite's pooled readout; the coverage is the
share of runs whose 95% interval holds the true contrast, with its Wilson interval. The
log-probability estimator on the same subject reads the contrast exactly (a check of the
set-up). Writes ``benchmarks/results/sampled_calibration_tasksN.json``:

    python benchmarks/calibrate_sampled.py [--runs 200] [--samples 20] [--tasks 24]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import cpu_model  # benchmarks/machine.py

RESULTS = Path(__file__).resolve().parent / "results"


def known_subject(tasks: int, delta: float) -> Any:
    from ulterior.models import KnownChoices, render_plain
    from ulterior.scenarios import presentations
    from ulterior.suites import OversightGapSuite, SuiteSettings

    items = OversightGapSuite().items(SuiteSettings(limit=tasks))
    order = list(dict.fromkeys(item.metadata["task"] for item in items))
    table: dict[str, tuple[tuple[str, ...], list[float]]] = {}
    for item in items:
        base = 0.2 + 0.4 * order.index(item.metadata["task"]) / max(len(order) - 1, 1)
        p = base + (delta if item.metadata["framing"] == "unobserved" else 0.0)
        for shown in presentations(item):
            probabilities = [1 - p] * len(shown.answers)
            probabilities[shown.target] = p
            table[render_plain(shown.messages)] = (shown.answers, probabilities)
    return KnownChoices(lambda conversation: table[render_plain(conversation)],
                        name=f"known-oversight-{tasks}-{delta}")


def pooled(subject: Any, tasks: int, samples: int | None, seed: int) -> Any:
    from ulterior.runner import RunContext
    from ulterior.store import Store
    from ulterior.suites import OversightGapSuite, SuiteSettings

    settings = SuiteSettings(limit=tasks, samples=samples, n_resamples=2000,
                             n_permutations=2000)
    with tempfile.TemporaryDirectory() as folder, \
            Store.open(Path(folder) / "s.sqlite") as store:
        result = OversightGapSuite().run(subject, settings,
                                         RunContext(store, seed=seed, show_progress=False))
    return next(row for row in result.rows if row.name == "pooled")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="seeded runs")
    parser.add_argument("--samples", type=int, default=20, help="answers per presentation")
    parser.add_argument("--tasks", type=int, default=24, help="oversight-gap tasks (units)")
    parser.add_argument("--delta", type=float, default=0.1, help="true pooled contrast")
    args = parser.parse_args()

    from ulterior.runner import progress
    from ulterior.stats import proportion_ci

    subject = known_subject(args.tasks, args.delta)
    exact = pooled(subject, args.tasks, None, 0).estimate
    start = time.perf_counter()
    rows = []
    with progress(args.runs, "calibration runs") as advance:
        for run in range(args.runs):
            row = pooled(subject, args.tasks, args.samples, seed=run)
            rows.append((row.estimate, row.low, row.high))
            advance(1)
    covered = sum(low <= args.delta <= high for _, low, high in rows)
    low, high = proportion_ci(covered, len(rows))
    result = {
        "benchmark": "sampled estimator: coverage of the oversight-gap pooled contrast's 95% "
                     "interval on a subject with known choice probabilities",
        "command": f"python benchmarks/calibrate_sampled.py --runs {args.runs} --samples "
                   f"{args.samples} --tasks {args.tasks} --delta {args.delta}",
        "true_contrast": args.delta,
        "log_prob_estimate": exact,
        "runs": len(rows),
        "samples_per_presentation": args.samples,
        "tasks": args.tasks,
        "covered": covered,
        "coverage": covered / len(rows),
        "coverage_wilson_95": [low, high],
        "mean_estimate": sum(e for e, _, _ in rows) / len(rows),
        "mean_interval_width": sum(h - lo for _, lo, h in rows) / len(rows),
        "below": sum(args.delta > h for _, _, h in rows),
        "above": sum(args.delta < lo for _, lo, _ in rows),
        "wall_s": round(time.perf_counter() - start, 1),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(),
                    "platform": platform.platform()},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"sampled_calibration_tasks{args.tasks}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
