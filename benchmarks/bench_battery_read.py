"""How long one reading of the property battery takes on the default model.

    python benchmarks/bench_battery_read.py [--repeats 3]

Loads the default model (its converted weights cached), then reads the tracked battery (48
items a property, 288 in all) several times without the store, as the training monitor
does. Writes the load time, every reading's time and their median to
benchmarks/results/battery_read.json. The floor is one reading (load included) in under 60 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from machine import cpu_model  # benchmarks/machine.py

from ulterior.models import DEFAULT_MODEL, LoadOptions, load_subject
from ulterior.store import default_cache_dir
from ulterior.training import load_battery, read_battery

RESULTS = Path(__file__).parent / "results" / "battery_read.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    battery = load_battery().select("tracked")
    began = time.perf_counter()
    with load_subject(DEFAULT_MODEL, LoadOptions(cache_dir=default_cache_dir())) as subject:
        load = time.perf_counter() - began
        readings = []
        for _ in range(args.repeats):
            began = time.perf_counter()
            read_battery(subject, battery)
            readings.append(time.perf_counter() - began)
        mode = subject.info.dtype
    out = {
        "command": f"python benchmarks/bench_battery_read.py --repeats {args.repeats}",
        "cpu": cpu_model(), "model": DEFAULT_MODEL, "compute_mode": mode,
        "items": len(battery.items), "load_seconds": round(load, 2),
        "reading_seconds": [round(s, 2) for s in readings],
        "median_reading_seconds": round(statistics.median(readings), 2),
        "floor_seconds": 60,
    }
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
