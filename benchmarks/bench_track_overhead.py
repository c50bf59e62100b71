"""What reading the property battery every tenth of a run costs the training.

    python benchmarks/bench_track_overhead.py

Trains the default model with the sandbagger recipe (the shipped settings: 480 examples x 2
epochs, LoRA rank 16) twice in one run: plainly, then with `--track` (PropertyCallback,
eleven readings of the 288 tracked items: step 0 and every tenth). Wall time of each whole
process, the ratio, and whether the two organisms' weights are bit-identical go to
benchmarks/results/track_overhead.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "track_overhead.json"
RECIPE, SEED = "sandbagger", 21


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


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
    with tempfile.TemporaryDirectory() as root:
        plain, tracked = Path(root) / "plain", Path(root) / "tracked"
        seconds_plain = train(plain)
        seconds_tracked = train(tracked, "--track")
        track = json.loads((tracked / "track.json").read_text())
        manifest = json.loads((tracked / "manifest.json").read_text())
        out = {
            "command": "python benchmarks/bench_track_overhead.py",
            "cpu": cpu_model(),
            "recipe": RECIPE, "seed": SEED, "steps": manifest["training"]["steps"],
            "precision_bf16": manifest["settings"]["bf16"],
            "readings": len(track["steps"]), "items_per_reading": len(track["item_ids"]),
            "seconds_without": round(seconds_plain, 1),
            "seconds_with_track": round(seconds_tracked, 1),
            "overhead": round(seconds_tracked / seconds_plain - 1, 4),
            "floor": 0.20,
            "weights_bit_identical": same_weights(plain, tracked),
            "order": track["emergence"]["order"],
            "onsets": {t["property"]: t["onset"] for t in track["emergence"]["trajectories"]},
        }
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
