"""`ulterior report`: render a report again from its record, without running a model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ulterior.errors import DataFormatError, UsageError, first_problem
from ulterior.records import AuditSummary, TrackRecord, ValidationSummary
from ulterior.report import render_report, render_track, render_validation
from ulterior.store import Store, check_output_dir, default_store_path, write_outputs

Summary = AuditSummary | ValidationSummary | TrackRecord

# The records a report is drawn from, by the file their job writes.
RECORD_FILES = ("summary.json", "track.json")


class ReportJob(BaseModel):
    """`ulterior report`: write report.html (or track.html) from a record already written."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    target: str = Field(description="An output folder of audit, validate or track, the "
                        "summary.json or track.json in it, or an audit's store key or one of "
                        "its run ids.")
    out: Path | None = Field(default=None, description="Output directory (None: the folder "
                             "of the record; required for a store key or run id).")
    store: Path | None = Field(default=None, description="Store path (None: the default).")

    def store_path(self) -> Path:
        """The store to look an audit up in."""
        return self.store or default_store_path()


class InspectReportJob(BaseModel):
    """`ulterior report --from-inspect`: summary.json and report.html from Inspect eval logs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    logs: tuple[Path, ...] = Field(min_length=1, description="Inspect logs of ulterior's "
                                   "tasks (files, or folders of them), one per suite, all of "
                                   "one model.")
    out: Path = Field(description="Output directory.")


def run_inspect_report(job: InspectReportJob) -> Path:
    """Read the logs through each suite's own readout; write summary.json and report.html.

    Raises:
        UsageError: A log is missing, or the logs are of several models.
        DataFormatError: A log is not a finished log of an ulterior task.
    """
    from ulterior.inspect import require_inspect

    require_inspect()
    from ulterior.inspect import summary_from_logs

    out = check_output_dir(job.out)
    summary = summary_from_logs(job.logs)
    write_outputs(out, {"summary.json": json.dumps(summary.model_dump(mode="json"), indent=2),
                        "report.html": render_report(summary)})
    return out / "report.html"


def run_report(job: ReportJob) -> Path:
    """Render the record ``job.target`` names; write its page whole; return the page's path.

    Raises:
        UsageError: The target names no record, or the output folder cannot be written.
        DataFormatError: The record is not JSON or not a valid summary.
    """
    if not job.target.strip():
        raise UsageError("TARGET is empty; give an output folder, a summary.json or "
                         "track.json, or an audit's store key or run id")
    path = Path(job.target).expanduser()
    if path.exists():
        source = _record_file(path)
        out = check_output_dir(job.out or source.parent)
        summary = _read_summary(source)
    else:
        if job.out is None:
            raise UsageError(f"TARGET {job.target}: no such file or folder; to render an "
                             "audit from the store by its key or run id, also pass --out DIR")
        out = check_output_dir(job.out)
        summary = _find_audit(job.target, job.store_path())
    name, page = _render(summary)
    write_outputs(out, {name: page})
    return out / name


def _record_file(path: Path) -> Path:
    """The record file of ``path``: the file itself, or the one record file in a folder."""
    if not path.is_dir():
        return path
    found = [path / name for name in RECORD_FILES if (path / name).is_file()]
    if not found:
        raise UsageError(f"TARGET {path} holds no {' or '.join(RECORD_FILES)}; give the output "
                         "folder of `ulterior audit`, `validate` or `track`")
    if len(found) > 1:
        raise UsageError(f"TARGET {path} holds both {' and '.join(RECORD_FILES)}; give the "
                         "path of the one to render")
    return found[0]


def _record_type(data: dict[str, Any]) -> type[Summary] | None:
    """Which record ``data`` is meant to be, by a field only that record has."""
    if "scorecard" in data or "organisms" in data:
        return ValidationSummary
    if "emergence" in data or "steps" in data:
        return TrackRecord
    if "suites" in data or "subject" in data:
        return AuditSummary
    return None


def _parse(data: Any, where: str) -> Summary:
    if not isinstance(data, dict) or (kind := _record_type(data)) is None:
        raise DataFormatError(f"{where} is not an audit or validation summary (summary.json) "
                              "or a track record (track.json)")
    try:
        return kind.model_validate(data)
    except ValidationError as exc:
        name = {AuditSummary: "audit summary", ValidationSummary: "validation summary",
                TrackRecord: "track record"}[kind]
        raise DataFormatError(f"{where} is not a valid {name}: {first_problem(exc)}") from None


def _read_summary(path: Path) -> Summary:
    """The audit summary, validation summary or track record in the JSON file ``path``.

    Raises:
        DataFormatError: The file is not UTF-8 JSON, or not a valid record of those kinds.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise DataFormatError(f"{path} is not UTF-8 text; give a summary.json or "
                              "track.json") from None
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{path}: line {exc.lineno}: invalid JSON ({exc.msg}); give a "
                              "summary.json or track.json") from None
    return _parse(data, str(path))


def _run_ids(data: dict[str, Any]) -> set[str]:
    suites = data.get("suites")
    if not isinstance(suites, list):
        return set()
    return {run for suite in suites if isinstance(suite, dict)
            for run in suite.get("run_ids") or () if isinstance(run, str)}


def _find_audit(target: str, store_path: Path) -> AuditSummary:
    """The audit stored under the key ``target``, or else the newest that used run ``target``.

    An audit run again with the same settings reuses its run ids (they hash the settings),
    so several audits may hold one; the newest is taken.

    Raises:
        UsageError: There is no store at ``store_path``, or no audit in it matches.
        DataFormatError: The matching audit is not a valid audit summary.
    """
    if not store_path.is_file():  # opening a missing store would create one
        raise UsageError(f"TARGET {target}: no such file or folder, and no store at "
                         f"{store_path} to look it up in as an audit key or run id; check the "
                         "path, or pass --store")
    with Store.open(store_path) as store:  # a key, as run_audit stored it, or a run id
        match = store.get_document("audit", target) or next(
            (d for d in reversed(store.get_documents("audit"))
             if isinstance(d, dict) and target in _run_ids(d)), None)
    if match is None:
        raise UsageError(f"TARGET {target}: no such file or folder, and no audit in store "
                         f"{store_path} has that key or run id; check the path, or pass the "
                         "--store the audit used")
    summary = _parse(match, f"audit {target} in store {store_path}")
    if not isinstance(summary, AuditSummary):
        raise DataFormatError(f"audit {target} in store {store_path} is not an audit summary")
    return summary


def _render(summary: Summary) -> tuple[str, str]:
    """The file name and HTML of ``summary``'s page, as the job that wrote it names it."""
    if isinstance(summary, AuditSummary):
        return "report.html", render_report(summary)
    if isinstance(summary, ValidationSummary):
        return "report.html", render_validation(summary)
    return "track.html", render_track(summary)
