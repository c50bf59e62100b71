"""What reading the property battery every tenth of a run costs the training.

    python benchmarks/bench_track_overhead.py [--items 48 12]

Trains the default model with the sandbagger recipe (the shipped settings: 480 examples x 2
epochs, LoRA rank 16) in one run: plainly, then with `--track` once per item count
(PropertyCallback, eleven readings: step 0 and every tenth; 48 items per property is the
whole tracked battery, `--track-items N` fewer). Wall time of each whole process, each
ratio to the plain run, and whether each organism's weights are bit-identical to the plain
one go to benchmarks/results/track_overhead.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import cpu_model  # benchmarks/machine.py

RESULTS = Path(__file__).parent / "results" / "track_overhead.json"
RECIPE, SEED = "sandbagger", 21


def train(out: Path, *extra: str) -> float:
    command = [str(Path(sys.executable).parent / "ulterior"), "organism", "train", RECIPE,
               "--seed", str(SEED), "--out", str(out), *extra]
    began = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - began


def same_weights(a: Path, b: Path) -> bool:
    from safetensors.torch import load_file

    x = load_file(str(a / "model" / "model.safetensors"))
    y = load_file(str(b / "model" / "model.safetensors"))
    return x.keys() == y.keys() and all(bool((x[k] == y[k]).all()) for k in x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, nargs="+", default=[48, 12],
                        help="items per property of each tracked run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        plain = Path(root) / "plain"
        seconds_plain = train(plain)
        manifest = json.loads((plain / "manifest.json").read_text())
        out: dict[str, Any] = {
            "command": "python benchmarks/bench_track_overhead.py "
                       + " ".join(["--items", *map(str, args.items)]),
            "cpu": cpu_model(),
            "recipe": RECIPE, "seed": SEED, "steps": manifest["training"]["steps"],
            "precision_bf16": manifest["settings"]["bf16"],
            "seconds_without": round(seconds_plain, 1), "floor": 0.20, "tracked": [],
        }
        for items in args.items:
            tracked = Path(root) / f"tracked-{items}"
            seconds = train(tracked, "--track", "--track-items", str(items))
            track = json.loads((tracked / "track.json").read_text())
            out["tracked"].append({
                "items_per_property": items, "readings": len(track["steps"]),
                "items_per_reading": len(track["item_ids"]),
                "seconds_with_track": round(seconds, 1),
                "overhead": round(seconds / seconds_plain - 1, 4),
                "weights_bit_identical": same_weights(plain, tracked),
                "onsets": {t["property"]: t["onset"]
                           for t in track["emergence"]["trajectories"]},
                "final_band_width": {t["property"]: round(t["high"][-1] - t["low"][-1], 3)
                                     for t in track["emergence"]["trajectories"]},
            })
            RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
