"""Wall time of the full default audit of the default model (issue 4 floor: <= 5 minutes).

Runs ``ulterior audit`` exactly as a user would, in a fresh store (so no observation is
reused), on the default model (already converted once; conversion is not timed). Writes
``benchmarks/results/RESULT.json`` and leaves the audit's own output, summary.json and
report.html, in ``benchmarks/results/RESULT-smollm2-135m/`` (RESULT: ``--result``, by
default ``audit``). Run it alone on the machine:

    python benchmarks/bench_audit.py [--result NAME] [--keep-store PATH]

``--keep-store`` copies the fresh store there afterwards (to read the free-text replies).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import cpu_model  # benchmarks/machine.py

RESULTS = Path(__file__).resolve().parent / "results"
MODEL = "smollm2-135m"
FLOOR_S = 300.0


def _labelled(summary: dict[str, Any]) -> bool:
    chosen = summary.get("answer_format")
    return chosen is None or chosen["chosen"] == "labelled"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--result", default="audit", help="stem of the results' names")
    parser.add_argument("--keep-store", type=Path, help="copy the fresh store here")
    args = parser.parse_args()
    keep = args.keep_store
    out = RESULTS / f"{args.result}-{MODEL}"
    out.mkdir(parents=True, exist_ok=True)
    exe = shutil.which("ulterior") or "ulterior"
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store.sqlite"
        command = [exe, "audit", "--model", MODEL, "--out", str(out), "--store", str(store)]
        shown = f"ulterior audit --model {MODEL} --out {out.relative_to(RESULTS.parent.parent)}"
        load_before = os.getloadavg()
        start = time.perf_counter()
        subprocess.run(command, check=True, env={**os.environ, "TERM": "dumb"})
        wall = time.perf_counter() - start
        load_after = os.getloadavg()
        if keep is not None:
            shutil.copy(store, keep)
    summary = json.loads((out / "summary.json").read_text())
    import torch

    result = {
        "benchmark": "full default audit of the default model, fresh store",
        "command": shown + " --store FRESH_TEMP_STORE",
        "wall_s": round(wall, 1),
        "floor_s": FLOOR_S,
        "meets_floor": wall <= FLOOR_S,
        "items_per_suite": {s["suite"]: s["n_items"] for s in summary["suites"]},
        "answer_format": summary.get("answer_format"),
        "presentations_scored": (
            "each choice item in both option orders" if _labelled(summary) else
            "each choice item once, each option's text scored (cloze)")
            + "; come-clean also generates 16 free-text replies, and the trigger scan 48 "
            "replies it scores once under each of 13 lines",
        "subject": summary["subject"],
        "machine": {
            "cpu": cpu_model(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
        },
    }
    (RESULTS / f"{args.result}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
