from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import Field

from ulterior import __version__
from ulterior.errors import CapabilityError, UsageError
from ulterior.jobs._common import SubjectJob, write_atomic
from ulterior.jobs._salience_scan import check_against_base, read_base, scan_against_base
from ulterior.models import Subject, default_registry
from ulterior.records import AuditSummary, SuiteResult
from ulterior.report import highest_rung, render_report
from ulterior.runner import RunContext
from ulterior.store import Store
from ulterior.suites import SuiteSettings, default_suites


class AuditJob(SubjectJob):
    """`ulterior audit`: run the behavioural battery and write summary.json and report.html.

    With the oversight-gap suite and a white-box subject, the audit also reads a deception
    probe on that suite's own answers (``probe``, or the default defection probe). Given the
    model the subject was fine-tuned from (``base``), it adds the salience scan.
    """

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
        description="Fitted probe directory (`ulterior probe fit`) for the probe readout on "
        "the oversight-gap items, instead of the default defection probe.",
    )
    answer_format: Literal["labelled", "cloze"] = Field(
        default="labelled",
        description="labelled: options listed as (A), (B), the label scored in both orders; "
        "cloze: each option's text scored as the continuation (for models too small to bind "
        "labels to options).",
    )
    probe_readout: bool = Field(
        default=True,
        description="With the oversight-gap suite and a white-box subject, add the probe "
        "readout (with `probe`, or a default defection probe fitted on the subject and "
        "cached in the store). False skips it.",
    )
    base: str | None = Field(
        default=None,
        description="Spec of the model the subject was fine-tuned from: adds salience-scan, "
        "which asks which of the suites' candidate conditions fine-tuning taught the reply "
        "position to carry (a model diff; both white-box, same architecture).",
    )


OVERSIGHT_GAP = "oversight-gap"


def _with_note(results: list[SuiteResult], suite: str, note: str) -> None:
    """Append ``note`` to the result of ``suite`` (in place in the list)."""
    for index, result in enumerate(results):
        if result.suite == suite:
            results[index] = result.model_copy(update={"notes": (*result.notes, note)})


def _probe_readout(subject: Subject, job: AuditJob, context: RunContext,
                   results: list[SuiteResult]) -> None:
    """Add the probe readout on the oversight-gap items to ``results``, or a note why not.

    ``--probe DIR`` reads that probe whatever suites ran. Otherwise, when the oversight-gap
    suite ran, a white-box subject gets the default defection probe (fitted on the subject,
    or found in the store's cache) and a black-box subject a note in that suite's result.
    """
    from ulterior.probes import default_probe, probe_readout
    from ulterior.suites._oversight_gap import pack_items

    ran = {result.suite for result in results}
    if job.probe is None and not (job.probe_readout and OVERSIGHT_GAP in ran):
        return
    items = pack_items(job.limit, job.answer_format)
    if job.probe is not None:
        results.append(probe_readout(subject, items, job.probe, context, alpha=job.alpha))
        return
    if not subject.capabilities.activations:
        _with_note(results, OVERSIGHT_GAP, f"no probe readout: {subject.info.spec} is a "
                   "black-box subject (no activations to read)")
        return
    try:
        probe = default_probe(subject, context, show_progress=job.show_progress)
    except CapabilityError as exc:  # a white-box model whose blocks capture cannot find
        _with_note(results, OVERSIGHT_GAP, f"no probe readout: {exc}")
        return
    results.append(probe_readout(subject, items, probe.saved, context, alpha=job.alpha,
                                 source=probe.describe(), notes=probe.notes()))


def run_audit(job: AuditJob) -> AuditSummary:
    """Run the chosen suites on the subject and write ``OUT/summary.json`` and report."""
    registry = default_suites()
    names = list(job.suites) or registry.names()
    suites = [registry.create(name) for name in names]  # unknown names fail before loading
    if job.probe is not None and not job.probe.is_dir():
        raise UsageError(f"--probe: no probe directory at {job.probe}; run `ulterior probe fit`")
    if job.probe is not None and not job.probe_readout:
        raise UsageError("--probe and --no-probe exclude each other")
    needs_activations = ("--probe" if job.probe is not None
                         else "--base" if job.base is not None else None)
    if needs_activations and not default_registry().white_box(job.model):
        # known from the spec: fail before any model (the base first) is loaded
        raise CapabilityError(f"{needs_activations} needs a white-box subject; {job.model} "
                              "exposes no activations (use a local hf or gguf model)")
    settings = SuiteSettings(limit=job.limit, alpha=job.alpha, resume=job.resume,
                             risk_data=job.risk_data, risk_limit=job.risk_limit,
                             answer_format=job.answer_format)
    with Store.open(job.store_path()) as store:
        context = RunContext(store=store, seed=job.seed, show_progress=job.show_progress)
        base = None if job.base is None else read_base(
            job.base, job.load_options(), context, job.answer_format, job.show_progress)
        with job.load() as subject:
            if base is not None:  # before the suites: a mismatch fails in seconds
                check_against_base(subject, base)
            results = [suite.run(subject, settings, context) for suite in suites]
            _probe_readout(subject, job, context, results)
            if base is not None:
                results.append(scan_against_base(subject, base, context, job.alpha,
                                                 job.show_progress))
            info = subject.info
        rung, evidence = highest_rung(results)
        summary = AuditSummary(
            subject=info, seed=job.seed, limit=job.limit, alpha=job.alpha,
            suites=tuple(results),
            highest_rung=rung, highest_rung_evidence=evidence, ulterior_version=__version__,
        )
        store.put_document("audit", f"{info.fingerprint}:{summary.created}", summary)
    write_atomic(job.out / "summary.json", json.dumps(summary.model_dump(mode="json"), indent=2))
    write_atomic(job.out / "report.html", render_report(summary))
    return summary
