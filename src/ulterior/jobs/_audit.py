from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from pydantic import Field

from ulterior import __version__
from ulterior.jobs._common import SubjectJob
from ulterior.models import Subject
from ulterior.records import AuditSummary, SuiteResult
from ulterior.report import highest_rung, render_report
from ulterior.runner import RunContext
from ulterior.store import Store
from ulterior.suites import SuiteSettings, default_suites


class AuditJob(SubjectJob):
    """`ulterior audit`: run the behavioural battery and write summary.json and report.html."""

    suites: tuple[str, ...] = Field(default=(), description="Suites to run (empty: all).")
    limit: int | None = Field(default=None, description="At most N items per suite.")
    out: Path = Field(default=Path("audit"), description="Output directory.")
    alpha: float = Field(default=0.05, description="False-positive rate of each flag.")
    risk_data: Path | None = Field(
        default=None, description="advanced-ai-risk directory mapped onto the precursor scales."
    )
    risk_limit: int = Field(default=20, description="Items per advanced-ai-risk file.")
    probe: Path | None = Field(
        default=None,
        description="Fitted probe directory (`ulterior probe fit`); white-box subjects then "
        "get a probe readout on the oversight-gap items.",
    )


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` so that ``path`` is either the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is meant to be shared
    os.replace(tmp, path)


def _probe_readout(subject: Subject, job: AuditJob, context: RunContext) -> SuiteResult:
    """The probe's score on the oversight-gap items, unobserved vs observed (paired)."""
    from ulterior.errors import CapabilityError
    from ulterior.probes import probe_readout
    from ulterior.suites._oversight_gap import build_items
    from ulterior.suites._packs import load_pack

    if not subject.capabilities.activations:
        raise CapabilityError(f"--probe needs a white-box subject; {subject.info.spec} is not")
    items = build_items(load_pack("oversight_gap"), job.limit)
    return probe_readout(subject, items, job.probe or Path(), context, alpha=job.alpha)


def run_audit(job: AuditJob) -> AuditSummary:
    """Run the chosen suites on the subject and write ``OUT/summary.json`` and report."""
    registry = default_suites()
    names = list(job.suites) or registry.names()
    suites = [registry.create(name) for name in names]  # unknown names fail before loading
    if job.probe is not None and not job.probe.is_dir():
        from ulterior.errors import UsageError

        raise UsageError(f"--probe: no probe directory at {job.probe}; run `ulterior probe fit`")
    settings = SuiteSettings(limit=job.limit, alpha=job.alpha, resume=job.resume,
                             risk_data=job.risk_data, risk_limit=job.risk_limit)
    with job.load() as subject, Store.open(job.store_path()) as store:
        context = RunContext(store=store, seed=job.seed, show_progress=job.show_progress)
        results = tuple(suite.run(subject, settings, context) for suite in suites)
        if job.probe is not None:
            results += (_probe_readout(subject, job, context),)
        rung, evidence = highest_rung(results)
        summary = AuditSummary(
            subject=subject.info, seed=job.seed, limit=job.limit, alpha=job.alpha, suites=results,
            highest_rung=rung, highest_rung_evidence=evidence, ulterior_version=__version__,
        )
        store.put_document("audit", f"{subject.info.fingerprint}:{summary.created}", summary)
    _write_atomic(job.out / "summary.json", json.dumps(summary.model_dump(mode="json"), indent=2))
    _write_atomic(job.out / "report.html", render_report(summary))
    return summary
