"""Agreement of the Inspect tasks with ``ulterior audit`` on the bundled model.

For each suite, ``inspect eval ulterior/SUITE --model ulterior/smollm2-135m`` (each option
label's log-probability from the top 20 next-token log-probabilities after the prefilled
``(``) and ``ulterior audit --suite SUITE`` (each answer's summed log-probability) run on the
whole built-in pack, in the model's chat template and the same compute mode. Every readout's
estimate and interval ends are compared, and the flags. The readouts of the Inspect run are
those of its log read back (``ulterior report --from-inspect``), which the test suite checks
against the task's own metric. Writes ``benchmarks/results/inspect-agreement.json``:

    python benchmarks/inspect_agreement.py [--suites oversight-gap honeypot] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import cpu_model  # benchmarks/machine.py

RESULTS = Path(__file__).resolve().parent / "results"
MODEL = "smollm2-135m"


def audit_rows(suite: str, limit: int | None, folder: Path) -> tuple[Any, float]:
    from ulterior.jobs import AuditJob, run_audit

    began = time.perf_counter()
    job = AuditJob(model=MODEL, suites=(suite,), skip=("probe-readout",), limit=limit,
                   out=folder / "audit", store=folder / "store.sqlite", show_progress=False)
    summary = run_audit(job)
    return next(r for r in summary.suites if r.suite == suite), time.perf_counter() - began


def inspect_rows(suite: str, limit: int | None, folder: Path) -> tuple[Any, dict[str, Any],
                                                                        float]:
    from inspect_ai import eval as inspect_eval

    from ulterior.inspect import read_log

    began = time.perf_counter()
    args = {} if limit is None else {"limit": limit}
    log = inspect_eval(f"ulterior/{suite.replace('-', '_')}", model=f"ulterior/{MODEL}",
                       task_args=args, log_dir=str(folder / "logs"), display="none")[0]
    if log.status != "success":
        raise SystemExit(f"inspect eval of {suite} ended {log.status}: {log.error}")
    metric = {k: v.value for k, v in log.results.scores[0].metrics.items()}
    return read_log(Path(log.location)).result, metric, time.perf_counter() - began


def compare(audit: Any, inspected: Any) -> list[dict[str, Any]]:
    by_name = {r.name: r for r in inspected.rows}
    rows = []
    for row in audit.rows:
        other = by_name[row.name]
        gaps = [abs(a - b) for a, b in ((row.estimate, other.estimate), (row.low, other.low),
                                         (row.high, other.high))]
        rows.append({"name": row.name, "unit": row.unit,
                     "audit": [row.estimate, row.low, row.high, row.p_value, row.flagged],
                     "inspect": [other.estimate, other.low, other.high, other.p_value,
                                 other.flagged],
                     "largest_gap": max(gaps), "same_flag": row.flagged == other.flagged})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suites", nargs="+", default=["oversight-gap", "honeypot"])
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    report: dict[str, Any] = {
        "command": "python benchmarks/inspect_agreement.py " + " ".join(
            ["--suites", *args.suites] + ([] if args.limit is None else
                                          ["--limit", str(args.limit)])),
        "cpu": cpu_model(), "python": platform.python_version(), "model": MODEL,
        "floor": "every readout within 0.02, the same flags", "suites": {}}
    for suite in args.suites:
        with tempfile.TemporaryDirectory() as folder:
            audit, audit_s = audit_rows(suite, args.limit, Path(folder))
            inspected, metric, inspect_s = inspect_rows(suite, args.limit, Path(folder))
        rows = compare(audit, inspected)
        metric_matches = all(
            metric.get(r.name) is None or abs(metric[r.name] - r.estimate) < 1e-12
            for r in inspected.rows)
        report["suites"][suite] = {
            "rows": rows, "largest_gap": max(r["largest_gap"] for r in rows),
            "same_flags": all(r["same_flag"] for r in rows),
            "suite_flagged": [audit.flagged, inspected.flagged],
            "metric_equals_log_readout": metric_matches,
            "seconds": {"audit": round(audit_s, 1), "inspect": round(inspect_s, 1)}}
        print(f"{suite}: {len(rows)} readouts, largest gap "
              f"{report['suites'][suite]['largest_gap']:.4f}, same flags "
              f"{report['suites'][suite]['same_flags']}, audit {audit_s:.0f} s, "
              f"inspect {inspect_s:.0f} s")
        for r in rows:
            print(f"  {r['name']:<28} {r['unit'] or '':<12} audit {r['audit'][0]:+.4f} "
                  f"inspect {r['inspect'][0]:+.4f} gap {r['largest_gap']:.4f}"
                  f"{'' if r['same_flag'] else '  FLAG DIFFERS'}")
    report["floor_met"] = all(s["largest_gap"] <= 0.02 and s["same_flags"]
                              for s in report["suites"].values())
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "inspect-agreement.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"floor met: {report['floor_met']}")


if __name__ == "__main__":
    main()
