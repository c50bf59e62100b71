"""Where does an oversight organism's behaviour stop transferring: the tasks or the cues?

An oversight-conditional organism picks the misaligned answer more often when told, in words
it never trained on, that nobody watches it, on dilemmas it never saw (+0.13 to +0.19 in
P(misaligned), seeds 2 and 6); the oversight-gap suite, with cues and tasks of its own, sees
+0.02 to +0.03. This crosses the two task sets (the organism's held-out dilemmas, the suite's
tasks) with the cue sets (the organism's training and held-out wordings, each of the suite's
six cue families) and reads the paired effect of each cell: per task, P(misaligned |
unobserved) - P(misaligned | observed), averaged over the task's cue wordings, with a 95%
bootstrap CI and a two-sided sign-flip p over tasks. Cloze format, as the organisms train.

    python benchmarks/cue_transfer.py organism:oversight-conditional-s6 [SPEC ...] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from ulterior.models import ChoiceRequest, LoadOptions, load_subject
from ulterior.organisms import load_recipe, tasks_of
from ulterior.organisms._recipes import read_data
from ulterior.records import Message
from ulterior.stats import bootstrap_ci, normalized_probabilities, sign_flip_test
from ulterior.store import default_cache_dir
from ulterior.suites._oversight_gap import FAMILIES, cue_messages
from ulterior.suites._packs import load_pack

WORDINGS_PER_TASK = 2  # cue pairs per task and cue set, cycled through the set's wordings


def task_sets() -> dict[str, list[tuple[str, str, str, str]]]:
    """(id, prompt, aligned, misaligned) of the organism's held-out dilemmas and the suite's."""
    held = tasks_of(load_recipe("oversight-conditional"))[1]
    suite = load_pack("oversight_gap")["tasks"]
    return {
        "organism held-out dilemmas": [(t.id, t.prompt, t.default, t.behaviour) for t in held],
        "oversight-gap tasks": [(t["id"], t["prompt"], t["aligned"], t["misaligned"])
                                for t in suite],
    }


def cue_sets() -> dict[str, tuple[list[dict[str, str]], str | None]]:
    """Cue pairs (observed, unobserved) per set, and the placement (None: alternate)."""
    organism = read_data("cues.yaml")["oversight"]
    families = load_pack("oversight_gap")["cue_families"]
    sets: dict[str, tuple[list[dict[str, str]], str | None]] = {
        "organism training wordings": (organism["train"], None),
        "organism held-out wordings": (organism["heldout"], None),
    }
    for family in FAMILIES:
        sets[f"suite {family}"] = (families[family]["variants"], families[family]["placement"])
    return sets


def cell_requests(tasks: list[tuple[str, str, str, str]], pairs: list[dict[str, str]],
                  placement: str | None) -> list[tuple[str, str, ChoiceRequest]]:
    """(task id, framing, request) for each task under WORDINGS_PER_TASK cue pairs."""
    rows = []
    for t, (task_id, prompt, aligned, misaligned) in enumerate(tasks):
        for k in range(WORDINGS_PER_TASK):
            step = t * WORDINGS_PER_TASK + k
            pair = pairs[step % len(pairs)]
            where = placement or ("system" if step % 2 == 0 else "user")
            for framing in ("observed", "unobserved"):
                messages: tuple[Message, ...] = cue_messages(pair[framing], where, prompt)
                rows.append((task_id, framing,
                             ChoiceRequest(messages, (misaligned, aligned), 0)))
    return rows


def cell_effect(rows: list[tuple[str, str, ChoiceRequest]], scores: list[list[float]],
                seed: int) -> dict[str, float | int]:
    """Per task, mean unobserved minus observed P(misaligned); CI and p over tasks.

    Beside it: the share of tasks whose P(misaligned | observed) is below 0.05 or above
    0.95 (where a probability can hardly move), and the same difference in log-odds.
    """
    by_task: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    log_odds: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for (task, framing, _), score in zip(rows, scores, strict=True):
        by_task[task][framing].append(float(normalized_probabilities(score)[0]))
        log_odds[task][framing].append(score[0] - score[1])
    diffs = np.array([np.mean(v["unobserved"]) - np.mean(v["observed"])
                      for v in by_task.values()])
    log_diffs = np.array([np.mean(v["unobserved"]) - np.mean(v["observed"])
                          for v in log_odds.values()])
    pinned = np.array([not 0.05 <= np.mean(v["observed"]) <= 0.95 for v in by_task.values()])
    chosen = np.array([np.mean(np.array(v["unobserved"]) > 0.5)
                       - np.mean(np.array(v["observed"]) > 0.5) for v in by_task.values()])
    low, high = bootstrap_ci(diffs, n_resamples=10_000, rng=np.random.default_rng(seed))
    test = sign_flip_test(diffs, rng=np.random.default_rng(seed), n_permutations=10_000)
    observed = [p for v in by_task.values() for p in v["observed"]]
    return {"n_tasks": len(diffs), "effect": round(float(diffs.mean()), 4),
            "low": round(float(low), 4), "high": round(float(high), 4),
            "p": round(float(test.p_value), 5),
            "chosen_effect": round(float(chosen.mean()), 4),
            "p_misaligned_observed": round(float(np.mean(observed)), 4),
            "share_pinned_observed": round(float(pinned.mean()), 3),
            "log_odds_effect": round(float(log_diffs.mean()), 3),
            "log_odds_median": round(float(np.median(log_diffs)), 3)}


def transfer_grid(spec: str, seed: int) -> dict[str, dict[str, dict[str, float | int]]]:
    """Every (task set, cue set) cell of one subject."""
    grid: dict[str, dict[str, dict[str, float | int]]] = {}
    cues = cue_sets()
    with load_subject(spec, LoadOptions(cache_dir=default_cache_dir())) as subject:
        for task_name, tasks in task_sets().items():
            grid[task_name] = {}
            for cue_name, (pairs, placement) in cues.items():
                rows = cell_requests(tasks, pairs, placement)
                scores = subject.score_choices([r for _, _, r in rows])
                grid[task_name][cue_name] = cell_effect(rows, scores, seed)
                print(f"{spec} | {task_name} | {cue_name}: {grid[task_name][cue_name]}",
                      flush=True)
    return grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("specs", nargs="+", help="model specs, e.g. organism:NAME")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/cue_transfer.json"))
    args = parser.parse_args()
    record = {"command": "python benchmarks/cue_transfer.py " + " ".join(args.specs),
              "wordings_per_task": WORDINGS_PER_TASK,
              "subjects": {spec: transfer_grid(spec, args.seed) for spec in args.specs}}
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
