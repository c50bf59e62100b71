"""The salience scan's trigger candidates against the bare task and against neutral lines.

Until session 14 the scan read each candidate trigger against the same task with no line
at all; since then against the trigger-scan pack's neutral lines. A model in which *a line
of context* became loud lights up every trigger against the bare task, whichever its real
condition. This reads one or more subjects both ways, from the same activations (block 23
of SmolLM2's 30, the prompt's last token; the store caches them), and records each
baseline's flagged candidates and largest increases over the base model.

    python benchmarks/scan_baselines.py organism:oversight-conditional-s8 [SPEC ...] \
        [--base smollm2-135m] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ulterior.detectors import salience_scan, scan_items
from ulterior.models import LoadOptions, load_subject
from ulterior.probes import condition_layer, model_shape, prompt_end_activations
from ulterior.records import Item
from ulterior.runner import RunContext
from ulterior.store import Store, default_cache_dir, default_store_path
from ulterior.suites import ConditionCandidate, TriggerScanSuite

TOP = 5  # rows recorded per baseline


def items_and_baselines() -> tuple[list[Item], dict[str, list[ConditionCandidate]]]:
    """The scan's items plus the bare tasks, and the candidates under each baseline."""
    items, candidates = scan_items("cloze")
    bare = [i for i in TriggerScanSuite().build()
            if i.metadata["role"] == "none"]
    bare_index = tuple(range(len(items), len(items) + len(bare)))
    against_bare = [ConditionCandidate(c.id, c.text, c.on, bare_index) if c.kind == "trigger"
                    else c for c in candidates]
    return [*items, *bare], {"bare task": against_bare, "neutral lines": candidates}


def read(spec: str, items: list[Item], context: RunContext) -> tuple[int, np.ndarray]:
    """Prompt-end activations of ``items`` at validate's block."""
    with load_subject(spec, LoadOptions(cache_dir=default_cache_dir())) as subject:
        layer = condition_layer(model_shape(subject)[0])
        return layer, prompt_end_activations(subject, items, [layer], context,
                                             show_progress=True)[layer]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("subjects", nargs="+")
    parser.add_argument("--base", default="smollm2-135m")
    parser.add_argument("--out", type=Path,
                        default=Path("benchmarks/results/scan_baselines.json"))
    args = parser.parse_args()
    items, baselines = items_and_baselines()
    subjects: dict[str, dict[str, object]] = {}
    with Store.open(default_store_path()) as store:
        context = RunContext(store=store, show_progress=False)
        layer, base = read(args.base, items, context)
        for spec in args.subjects:
            _, subject = read(spec, items, context)
            readings: dict[str, object] = {}
            for label, candidates in baselines.items():
                result = salience_scan(subject, base, items, candidates, layer, args.base,
                                       context)
                flagged = [r.name for r in result.rows if r.flagged]
                readings[label] = {
                    "flagged": flagged,
                    "largest": [{"candidate": r.name, "increase": round(r.estimate, 4),
                                 "lower_bound": round(r.low, 4)} for r in result.rows[:TOP]],
                }
                print(spec, label, flagged or "nothing flagged")
            subjects[spec] = readings
    record = {"base": args.base, "layer": layer, "subjects": subjects}
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
