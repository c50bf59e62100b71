"""Throughput of the evolution model: organism-generations per second.

Measures the vectorised model (all seeds as rows of one array) at 10 seeds x 5,000
organisms, against two baselines measured in the same run: the same model run seed by seed
(a straightforward per-seed loop, ``seeds=1`` ten times), and the same model with the
straightforward parent sampling (``Generator.choice`` with probabilities, per seed) in
place of the profiled one (sorted uniforms and one binary search over all seeds). Writes
``benchmarks/results/sims.json``.

    python benchmarks/bench_sims.py
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from ulterior.sims import EvolutionConfig, simulate_evolution
from ulterior.sims import _evolution as evolution_module

SEEDS = 10
POPULATION = 5_000
GENERATIONS = 400
REPEATS = 3
FLOOR = 2e6  # organism-generations per second (issue 6)


def _config(seeds: int, seed: int) -> EvolutionConfig:
    # R4 from the first generation: selection, mutation and tests act every generation.
    return EvolutionConfig(
        regime="R4",
        cue=1.0,
        seeds=seeds,
        seed=seed,
        population=POPULATION,
        generations=GENERATIONS,
        train_generations=0,
    )


def _vectorised() -> float:
    start = time.perf_counter()
    simulate_evolution(_config(SEEDS, 0))
    return time.perf_counter() - start


def _per_seed_loop() -> float:
    start = time.perf_counter()
    for seed in range(SEEDS):
        simulate_evolution(_config(1, seed))
    return time.perf_counter() - start


def _choice_parents(w, s, n, rng):  # type: ignore[no-untyped-def]
    """Straightforward parent sampling: one weighted ``choice`` per seed."""
    if w is None:
        return (rng.integers(0, n, size=(s, n)) + (np.arange(s) * n)[:, None]).ravel()
    rows = w.reshape(s, n)
    return np.concatenate(
        [i * n + rng.choice(n, size=n, p=row / row.sum()) for i, row in enumerate(rows)]
    )


def _unoptimised_sampling() -> float:
    profiled = evolution_module._select_parents
    evolution_module._select_parents = _choice_parents
    try:
        return _vectorised()
    finally:
        evolution_module._select_parents = profiled


def main() -> None:
    work = SEEDS * POPULATION * GENERATIONS
    simulate_evolution(_config(1, 99).model_copy(update={"generations": 20}))  # warm-up
    vec = [_vectorised() for _ in range(REPEATS)]
    loop = [_per_seed_loop() for _ in range(REPEATS)]
    naive = [_unoptimised_sampling() for _ in range(REPEATS)]
    best_vec, best_loop, best_naive = min(vec), min(loop), min(naive)
    result = {
        "command": "python benchmarks/bench_sims.py",
        "workload": {
            "seeds": SEEDS,
            "population": POPULATION,
            "generations": GENERATIONS,
            "regime": "R4",
            "cue": 1.0,
            "organism_generations": work,
        },
        "repeats": REPEATS,
        "vectorised": {
            "seconds": vec,
            "best_per_second": work / best_vec,
            "median_per_second": work / float(np.median(vec)),
        },
        "baseline_per_seed_loop": {
            "seconds": loop,
            "best_per_second": work / best_loop,
            "median_per_second": work / float(np.median(loop)),
        },
        "baseline_choice_sampling": {
            "seconds": naive,
            "best_per_second": work / best_naive,
            "median_per_second": work / float(np.median(naive)),
        },
        "speedup_vs_per_seed_loop": best_loop / best_vec,
        "speedup_vs_choice_sampling": best_naive / best_vec,
        "floor_per_second": FLOOR,
        "meets_floor": work / best_vec >= FLOOR,
        "machine": {
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpus": os.cpu_count(),
        },
    }
    out = Path(__file__).parent / "results" / "sims.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"vectorised: {work / best_vec / 1e6:.2f} M organism-generations/s (best of {REPEATS})")
    print(f"per-seed loop: {work / best_loop / 1e6:.2f} M/s; speed-up {best_loop / best_vec:.2f}x")
    print(
        f"choice sampling: {work / best_naive / 1e6:.2f} M/s; speed-up {best_naive / best_vec:.2f}x"
    )
    print(f"floor {FLOOR / 1e6:.1f} M/s: {'met' if result['meets_floor'] else 'NOT met'}")


if __name__ == "__main__":
    main()
