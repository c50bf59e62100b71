"""`ulterior report`: re-render a report from its record, or read Inspect logs; no model runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ulterior.cli._common import StoreOption, build
from ulterior.errors import UsageError


def report(
    targets: Annotated[list[str], typer.Argument(
        help="An output folder of `ulterior audit`, `validate` or `track`; the summary.json "
             "or track.json in it; or an audit's store key or one of its run ids (the newest "
             "audit that used it). With --from-inspect: Inspect logs of ulterior's tasks "
             "(files or folders), one per suite, all of one model.", metavar="TARGET...")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output directory "
                   "(default: the record's folder; required for a store key or run id, and "
                   "with --from-inspect)")] = None,
    from_inspect: Annotated[bool, typer.Option(
        "--from-inspect", help="Read Inspect eval logs (inspect eval ulterior/SUITE) through "
        "each suite's own readout: writes summary.json and report.html")] = False,
    store: StoreOption = None,
) -> None:
    """Write report.html (or track.html) from a record, or from Inspect logs; no model runs."""
    from ulterior.jobs import InspectReportJob, ReportJob, run_inspect_report, run_report

    if from_inspect:
        if out is None:
            raise UsageError("--from-inspect: give the output folder with --out DIR")
        if store is not None:
            raise UsageError("--from-inspect reads no store: leave out --store")
        inspect_job = build(InspectReportJob, {"logs": tuple(Path(t) for t in targets),
                                               "out": out})
        typer.echo(f"wrote {run_inspect_report(inspect_job)}")
        return
    if len(targets) != 1:
        raise UsageError(f"give one TARGET, not {len(targets)} (several are read only with "
                         "--from-inspect)")
    job = build(ReportJob, {"target": targets[0], "out": out, "store": store})
    typer.echo(f"wrote {run_report(job)}")
