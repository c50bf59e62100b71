from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field

from ulterior import __version__
from ulterior.detectors import Detector, DetectorRegistry, SuiteDetector, Target
from ulterior.errors import CapabilityError, UsageError
from ulterior.jobs._detect import read_bases, run_detectors, with_notes
from ulterior.models import default_registry, load_subject
from ulterior.records import AuditSummary
from ulterior.report import highest_rung, render_report
from ulterior.runner import RunContext, SubjectJob
from ulterior.store import Store, check_output_dir, write_outputs
from ulterior.suites import AnswerFormat, SuiteSettings


class AuditJob(SubjectJob):
    """`ulterior audit`: run the behavioural battery and write summary.json and report.html.

    With the oversight-gap suite and a white-box subject, the audit also reads a deception
    probe on that suite's own answers (``probe``, or the default defection probe). Given the
    model the subject was fine-tuned from (``base``), it adds the salience scan.
    """

    suites: tuple[str, ...] = Field(default=(), description="Suites to run (empty: all).")
    detectors: tuple[str, ...] = Field(
        default=(), description="Detectors to add that an audit does not run by default "
        "(noise-injection)."
    )
    skip: tuple[str, ...] = Field(
        default=(), description="Detectors not to run (probe-readout: no probe readout).")
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
    answer_format: AnswerFormat = Field(
        default="labelled",
        description="labelled: options listed as (A), (B), the label scored in both orders; "
        "cloze: each option's text scored as the continuation (for models too small to bind "
        "labels to options).",
    )
    base: str | None = Field(
        default=None,
        description="Spec of the model the subject was fine-tuned from: adds salience-scan, "
        "which asks which of the suites' candidate conditions fine-tuning taught the reply "
        "position to carry (a model diff; both white-box, same architecture).",
    )

    def settings(self) -> SuiteSettings:
        """The suites' settings."""
        return SuiteSettings(limit=self.limit, alpha=self.alpha, resume=self.resume,
                             risk_data=self.risk_data, risk_limit=self.risk_limit,
                             answer_format=self.answer_format)

    def target(self) -> Target:
        """What the detectors may read besides the subject."""
        return Target(settings=self.settings(), base_spec=self.base, probe=self.probe)


def choose(registry: DetectorRegistry, job: AuditJob, target: Target
           ) -> tuple[list[Detector], list[Detector], dict[str, list[str]]]:
    """The detectors an audit runs, those of them it may skip, and notes for the others.

    Fails before any model is loaded when a suite or detector is unknown, or one the user
    asked for cannot read this subject (known from the spec).
    """
    detectors = list(registry)
    suite_names = [d.name for d in detectors if isinstance(d, SuiteDetector)]
    unknown = [n for n in job.suites if n not in suite_names]
    if unknown:
        raise UsageError(f"unknown suite '{unknown[0]}'; choose from {', '.join(suite_names)}")
    others = [d.name for d in detectors if not isinstance(d, SuiteDetector)]
    unknown = [n for n in (*job.detectors, *job.skip) if n not in others]
    if unknown:
        raise UsageError(f"unknown detector '{unknown[0]}'; choose from {', '.join(others)}")
    chosen = set(job.suites or suite_names)
    skipped = set(job.skip)
    met = target.available(default_registry().white_box(job.model))
    run: list[Detector] = []
    optional: list[Detector] = []
    notes: dict[str, list[str]] = {}
    for detector in detectors:
        if isinstance(detector, SuiteDetector):
            if detector.name in chosen:
                run.append(detector)
            continue
        asked = detector.name in job.detectors or detector.requested(target)
        if asked and detector.name in skipped:
            raise UsageError(f"{detector.option or detector.name} and skipping "
                             f"{detector.name} exclude each other; drop one")
        if detector.name in skipped or not (asked or detector.wanted(target, chosen)):
            continue
        missing = detector.needs - met
        if missing and asked:
            raise CapabilityError(
                f"{detector.option or detector.name} needs a white-box subject; {job.model} "
                "exposes no activations (use a local hf or gguf model)"
                if "white_box" in missing else
                f"{detector.name} needs {', '.join(sorted(missing))}, which an audit lacks")
        if "white_box" in missing and detector.reads_suite in chosen:
            notes.setdefault(str(detector.reads_suite), []).append(
                f"no {detector.name}: {job.model} is a black-box subject (no activations to "
                "read)")
        if not missing:
            run.append(detector)
            if not asked:
                optional.append(detector)
    return run, optional, notes


def run_audit(job: AuditJob, detectors: DetectorRegistry | None = None) -> AuditSummary:
    """Run the chosen suites and detectors; write ``OUT/summary.json`` and ``report.html``.

    ``detectors`` replaces the built-in registry (``ulterior.detectors.default_detectors``).
    """
    from ulterior.detectors import default_detectors

    check_output_dir(job.out)
    if job.probe is not None and not job.probe.is_dir():
        raise UsageError(f"--probe: no probe directory at {job.probe}; run `ulterior probe fit`")
    target = job.target()
    chosen, optional, notes = choose(detectors or default_detectors(), job, target)
    with Store.open(job.store_path()) as store:
        context = RunContext(store=store, seed=job.seed, show_progress=job.show_progress)
        base = job.base
        read_bases(chosen, None if base is None else lambda: load_subject(
            base, job.load_options()), target, context)
        with job.load() as subject:
            results, skipped = run_detectors(chosen, subject, target, context,
                                             optional=optional)
            info = subject.info
        for suite, lines in skipped.items():
            notes.setdefault(suite, []).extend(lines)
        results = with_notes(results, notes)
        rung, evidence = highest_rung(results)
        summary = AuditSummary(
            subject=info, seed=job.seed, limit=job.limit, alpha=job.alpha,
            suites=tuple(results),
            highest_rung=rung, highest_rung_evidence=evidence, ulterior_version=__version__,
        )
        store.put_document("audit", f"{info.fingerprint}:{summary.created}", summary)
    write_outputs(job.out, {  # after the store's commit: no files without their records
        "summary.json": json.dumps(summary.model_dump(mode="json"), indent=2),
        "report.html": render_report(summary)})
    return summary
