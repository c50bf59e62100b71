"""`ulterior report`: re-render a report from its record, without running a model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ulterior.cli._common import StoreOption, build


def report(
    target: Annotated[str, typer.Argument(help="An output folder of `ulterior audit`, "
                      "`validate` or `track`; the summary.json or track.json in it; or an "
                      "audit's store key or one of its run ids (the newest audit that used "
                      "it)")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output directory "
                   "(default: the record's folder; required for a store key or run "
                   "id)")] = None,
    store: StoreOption = None,
) -> None:
    """Write report.html (or track.html) again from a record; no model is run."""
    from ulterior.jobs import ReportJob, run_report

    job = build(ReportJob, {"target": target, "out": out, "store": store})
    typer.echo(f"wrote {run_report(job)}")
