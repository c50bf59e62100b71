"""Markdown tables from the probe result JSON (benchmarks/results/probes-MODEL/).

    python benchmarks/probe_tables.py benchmarks/results/probes-smollm2-135m
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def ci(stat: dict[str, Any] | None) -> str:
    if stat is None:
        return "-"
    return f"{stat['estimate']:.2f} [{stat['low']:.2f}, {stat['high']:.2f}]"


def sweep_table(path: Path) -> str:
    data = json.loads(path.read_text())
    kinds = list(dict.fromkeys(r["kind"] for r in data["rows"]))
    lines = [f"**{data['dataset']}** (n_train {data['n_train']}, n_test {data['n_test']}, "
             f"position {data['position']}): held-out AUROC [95% CI]",
             "", "| layer | " + " | ".join(kinds) + " |", "|---|" + "---|" * len(kinds)]
    by_layer: dict[int, dict[str, Any]] = {}
    for row in data["rows"]:
        by_layer.setdefault(row["layer"], {})[row["kind"]] = row["metrics"]
    for layer, cells in by_layer.items():
        lines.append(f"| {layer} | " + " | ".join(ci(cells[k]["auroc"]) for k in kinds) + " |")
    best = max(data["rows"], key=lambda r: r["metrics"]["auroc"]["estimate"])
    m = best["metrics"]
    lines += ["", f"Best cell: layer {best['layer']} {best['kind']}, AUROC {ci(m['auroc'])}, "
              f"recall at {m['fpr']:.0%} control FPR {ci(m['recall_at_fpr'])} "
              f"(n = {m['n_positive']} positives, {m['n_control']} control chats). "
              "Picked after seeing the test split, so optimistic."]
    return "\n".join(lines)


def matrix_table(path: Path) -> str:
    data = json.loads(path.read_text())
    names = data["datasets"]
    cells = {(c["train"], c["test"]): c["metrics"] for c in data["cells"]}
    head = (f"**{data['kind']}, layer {data['layer']}, {data['position']}**: AUROC [95% CI] "
            "(rows: trained on; columns: tested on)")
    lines = [head, "", "| train \\ test | " + " | ".join(names) + " |",
             "|---|" + "---|" * len(names)]
    for train in names:
        lines.append(f"| {train} | " + " | ".join(ci(cells[(train, t)]["auroc"])
                                                  for t in names) + " |")
    lines += ["", "Recall at 1% control FPR [95% CI]:", "",
              "| train \\ test | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for train in names:
        lines.append(f"| {train} | " + " | ".join(ci(cells[(train, t)]["recall_at_fpr"])
                                                  for t in names) + " |")
    sizes = ", ".join(f"{t}: {cells[(names[0], t)]['n_positive']}+"
                      f"{cells[(names[0], t)]['n_negative']}" for t in names)
    n_control = cells[(names[0], names[0])]["n_control"]
    lines += ["", f"Test sizes (label 1 + label 0): {sizes}; control chats: {n_control}."]
    return "\n".join(lines)


ORDER = ("instructed-pairs", "true-false", "true-false-negated", "defection", "liar")


def sweep_overview(folder: Path, kind: str) -> str:
    """Layers x datasets: held-out AUROC of one estimator (the layer-sweep curves)."""
    sweeps = {}
    for name in ORDER:
        path = folder / f"sweep-{name}.json"
        if path.exists():
            sweeps[name] = json.loads(path.read_text())
    layers = sorted({r["layer"] for s in sweeps.values() for r in s["rows"]})
    sizes = ", ".join(f"{n}: {s['n_train']}/{s['n_test']}" for n, s in sweeps.items())
    lines = [f"Held-out AUROC [95% CI] of `{kind}` by layer (train/test sizes: {sizes})", "",
             "| layer | " + " | ".join(sweeps) + " |", "|---|" + "---|" * len(sweeps)]
    for layer in layers:
        cells = []
        for sweep in sweeps.values():
            row = next(r for r in sweep["rows"] if r["layer"] == layer and r["kind"] == kind)
            cells.append(ci(row["metrics"]["auroc"]))
        lines.append(f"| {layer} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    folder = Path(sys.argv[1])
    if len(sys.argv) > 2 and sys.argv[2] == "--overview":
        for kind in ("logistic", "diff-mean", "cov-diff-mean"):
            print(sweep_overview(folder, kind), "\n")
        return
    for path in sorted(folder.glob("sweep-*.json")):
        print(sweep_table(path), "\n")
    for path in sorted(folder.glob("matrix-*.json")):
        print(matrix_table(path), "\n")


if __name__ == "__main__":
    main()
