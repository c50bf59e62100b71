"""The designed order experiment: does the tracker recover an order known by construction?

    python benchmarks/curriculum_order.py [--seeds 0 1 2] [--root DIR]
    python benchmarks/curriculum_order.py --seeds 3 4 5

Fine-tunes the default model with three curricula (benchmarks/curricula/), each with every
seed, reading the property battery every tenth of the run (`organism train --track`):

- base-goal-first: base-goal understanding (steps 1-60), then long-horizon and
  goal-directed preference (61-120);
- goals-first: the same phases reversed;
- neutral: factual question answering for 120 steps (the null).

A run *recovers* its designed order when both pairs (base-goal against goal-directedness,
base-goal against long-horizon) are in the designed order with bootstrap probability >= 0.9;
it *reverses* it when either pair is in the opposite order with probability >= 0.9. For the
null, every (property, seed) with an onset counts against it. Runs already finished under
ROOT are read again, not retrained. Results: benchmarks/results/curriculum_order.json and
each run's track record in benchmarks/results/curriculum_order/.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from machine import cpu_model  # benchmarks/machine.py

from ulterior.stats import proportion_ci
from ulterior.training import earlier, emergence, load_battery, read_track

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "curriculum_order.json"
TRACKS = HERE / "results" / "curriculum_order"
DESIGNED = {"base-goal-first": "base-goal", "goals-first": "goals"}  # what comes first
GOALS = ("goal-directedness", "long-horizon")
THRESHOLD = 0.9
# The onset rules judged: the one fixed before the experiment, the one revised after its first
# run, and the scale-free one fixed after seeds 0-2 for seeds 3-5 (docs/research-log.md).
RULES: dict[str, dict[str, Any]] = {
    "change-point": {"method": "change-point"},
    "threshold": {"method": "threshold"},
    "threshold-effect-0.4": {"method": "threshold", "min_effect": 0.4},
}


def run(curriculum: str, seed: int, root: Path) -> tuple[Path, float | None]:
    out = root / f"{curriculum}-s{seed}"
    if (out / "curriculum.json").is_file() and (out / "track.json").is_file():
        return out, None
    command = [str(Path(sys.executable).parent / "ulterior"), "organism", "train",
               str(HERE / "curricula" / f"{curriculum}.yaml"), "--seed", str(seed),
               "--out", str(out), "--track"]
    if (out / "checkpoints").is_dir():
        shutil.rmtree(out)  # the tracker reads from step 0: an interrupted run starts again
    began = time.perf_counter()
    subprocess.run(command, check=True)
    return out, time.perf_counter() - began


def judge(curriculum: str, track: Any, rule: dict[str, Any]) -> dict[str, Any]:
    """The run's onsets and order under one onset rule, from its saved readings."""
    battery = load_battery().select("tracked")
    assert tuple(f"{i.property}/{i.id}" for i in battery.items) == track.item_ids
    analysis = emergence(track.steps, np.array(track.scores), battery, **rule,
                         rng=np.random.default_rng(0))
    onsets = {t.property: t.onset for t in analysis.trajectories}
    out: dict[str, Any] = {"onsets": onsets, "order": list(analysis.order),
                           "warnings": list(analysis.warnings)}
    if curriculum in DESIGNED:
        base_first = {g: earlier(analysis.pairs, "base-goal", g) for g in GOALS}
        goal_first = {g: earlier(analysis.pairs, g, "base-goal") for g in GOALS}
        designed, opposite = ((base_first, goal_first) if DESIGNED[curriculum] == "base-goal"
                              else (goal_first, base_first))
        out |= {
            "p_designed": designed, "p_opposite": opposite,
            "recovered": all((p or 0) >= THRESHOLD for p in designed.values()),
            "reversed": any((p or 0) >= THRESHOLD for p in opposite.values()),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--root", type=Path, default=Path("/tmp/curriculum-runs"))
    parser.add_argument("--no-train", action="store_true",
                        help="judge the finished runs only; train none")
    args = parser.parse_args()
    TRACKS.mkdir(parents=True, exist_ok=True)
    args.root.mkdir(parents=True, exist_ok=True)
    previous = json.loads(RESULTS.read_text()).get("runs", {}) if RESULTS.exists() else {}
    # runs of other seeds stay in the record, once judged under every rule
    runs: dict[str, Any] = {k: r for k, r in previous.items() if all(n in r for n in RULES)}
    for seed in args.seeds:  # seed by seed, so a partial record holds every curriculum
        for curriculum in ("base-goal-first", "goals-first", "neutral"):
            name = f"{curriculum}-s{seed}"
            finished = (args.root / name / "track.json").is_file() and (
                args.root / name / "curriculum.json").is_file()
            if args.no_train and not finished:
                continue
            out, seconds = run(curriculum, seed, args.root)
            shutil.copyfile(out / "track.json", TRACKS / f"{name}.json")
            record = json.loads((out / "curriculum.json").read_text())
            track = read_track(out / "track.json")
            runs[name] = {
                "curriculum": curriculum, "seed": seed, "steps": list(track.steps),
                "wall_seconds": seconds if seconds is not None
                else previous.get(name, {}).get("wall_seconds"),
                "training_seconds": record["training"]["seconds"],
                "final_loss": record["training"]["final_loss"],
                **{name: judge(curriculum, track, rule) for name, rule in RULES.items()},
            }
            print(name, json.dumps(runs[name]), flush=True)
            write(runs)


def verdict(runs: dict[str, Any], method: str) -> dict[str, Any]:
    """The floors under one onset rule."""
    designed = [r[method] for r in runs.values() if r["curriculum"] in DESIGNED]
    null = [r[method] for r in runs.values() if r["curriculum"] == "neutral"]
    onsets = sum(v is not None for r in null for v in r["onsets"].values())
    pairs = sum(len(r["onsets"]) for r in null)
    low, high = proportion_ci(pairs - onsets, pairs) if pairs else (None, None)
    return {
        "designed_runs": len(designed),
        "recovered": sum(r["recovered"] for r in designed),
        "reversed": sum(r["reversed"] for r in designed),
        "null_pairs": pairs, "null_pairs_without_onset": pairs - onsets,
        "null_share_without_onset": (pairs - onsets) / pairs if pairs else None,
        "null_share_wilson_95": [low, high],
    }


def write(runs: dict[str, Any]) -> None:
    walls = [r["wall_seconds"] for r in runs.values() if r["wall_seconds"] is not None]
    summary = {
        "command": "python benchmarks/curriculum_order.py",
        "cpu": cpu_model(),
        "floor_recovered": "at least 5 of 6, none reversed",
        "floor_null": "no onset in at least 95% of (property, seed) pairs",
        "floor_run_seconds": 900,
        "longest_run_seconds": max(walls) if walls else None,
        **{name: verdict(runs, name) for name in RULES},
        "confirmatory": {name: verdict({k: r for k, r in runs.items() if r["seed"] >= 3}, name)
                         for name in RULES},
        "runs": runs,
    }
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
