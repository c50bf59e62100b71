from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ulterior import __version__
from ulterior.detectors import Detector, DetectorRegistry, SuiteDetector, Target
from ulterior.errors import CapabilityError, UlteriorError, UsageError
from ulterior.executors import Executor, LocalExecutor
from ulterior.jobs._detect import read_bases, run_detectors, with_notes
from ulterior.models import default_registry, load_subject
from ulterior.records import (
    AnswerFormatChoice,
    AuditSummary,
    SubjectInfo,
    SuiteResult,
    content_hash,
)
from ulterior.report import highest_rung, render_report
from ulterior.runner import RunContext, SubjectJob
from ulterior.store import Store, check_output_dir, write_outputs
from ulterior.suites import AnswerFormat, SuiteSettings, choose_answer_format

# Document kind of one finished unit of an audit: what --resume skips.
UNIT_KIND = "audit-unit"


class AuditJob(SubjectJob):
    """`ulterior audit`: run the behavioural battery and write summary.json and report.html.

    With the oversight-gap suite and a white-box subject, the audit also reads a deception
    probe on that suite's own answers (``probe``, or the default defection probe). Given the
    model the subject was fine-tuned from (``base``), it adds the salience scan.
    """

    models: tuple[str, ...] = Field(
        default=(), description="Several subjects, audited alike, each into its own folder "
        "under `out` (empty: `model` alone, into `out` itself).")
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
    answer_format: AnswerFormat | Literal["auto"] = Field(
        default="auto",
        description="labelled: options listed as (A), (B), the label scored in both orders; "
        "cloze: each option's text scored as the continuation (for models too small to bind "
        "labels to options); auto: labelled if the subject's comprehension control shows it "
        "binds labels to their options, cloze if not (see choose_answer_format).",
    )
    samples: int | None = Field(
        default=None, ge=2, description="The sampled estimator: choice probabilities from "
        "this many sampled answers per presentation, for subjects without log-probabilities "
        "(None: log-probabilities).")
    packs: tuple[tuple[str, str], ...] = Field(
        default=(), description="The user's own scenario packs, (suite, the pack checked "
        "and written as JSON): see ulterior.suites.read_user_pack.")
    base: str | None = Field(
        default=None,
        description="Spec of the model the subject was fine-tuned from: adds salience-scan, "
        "which asks which of the suites' candidate conditions fine-tuning taught the reply "
        "position to carry (a model diff; both white-box, same architecture).",
    )

    @field_validator("models")
    @classmethod
    def _distinct(cls, models: tuple[str, ...]) -> tuple[str, ...]:
        repeated = sorted({m for m in models if models.count(m) > 1})
        if repeated:
            raise ValueError(f"{repeated[0]} is given twice; give each model once")
        return models

    def subjects(self) -> tuple[str, ...]:
        """The specs of the subjects to audit."""
        return self.models or (self.model,)

    def for_subject(self, spec: str) -> AuditJob:
        """This job on one of its subjects, its folders resolved here rather than on a worker."""
        return self.model_copy(update={"model": spec, "models": (),
                                       "cache_dir": self.cache_path(),
                                       "organisms_dir": self.organisms_path()})

    def settings(self) -> SuiteSettings:
        """The suites' settings."""
        return SuiteSettings(limit=self.limit, alpha=self.alpha, resume=self.resume,
                             risk_data=self.risk_data, risk_limit=self.risk_limit,
                             answer_format="labelled" if self.answer_format == "auto"
                             else self.answer_format, packs=self.packs,
                             samples=self.samples)

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


class AuditUnitResult(BaseModel):
    """What one unit of an audit found on its subject (stored, so --resume can skip it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = Field(default=1, description="Schema version of this record.")
    subject: SubjectInfo = Field(description="The subject the unit read.")
    results: tuple[SuiteResult, ...] = Field(description="One result per detector that ran.")
    notes: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="Why optional detectors were skipped, by suite.")
    answer_format: AnswerFormatChoice | None = Field(
        default=None, description="How --answer-format auto chose the format (None: given).")


@dataclass(frozen=True)
class AuditUnit:
    """One unit of an audit: a subject and the detectors run on it with one load of it.

    Attributes:
        job: The audit, its ``model`` the subject.
        detectors: What runs, in order.
        optional: Names of those skipped, with a note, if they cannot read the subject.
        key: Names the unit's result among the store's documents.
    """

    job: AuditJob
    detectors: tuple[Detector, ...]
    optional: frozenset[str]
    key: str


@dataclass(frozen=True)
class SubjectPlan:
    """One subject's share of an audit: its units and what assembling its summary needs."""

    job: AuditJob
    order: tuple[str, ...]
    notes: dict[str, list[str]]
    units: tuple[AuditUnit, ...]


def _groups(chosen: Sequence[Detector]) -> list[list[Detector]]:
    """Split a subject's detectors into units that may run apart.

    A suite is a unit with the detectors that read its items; the detectors that read no
    suite stay together, since they share what ``Target.memo`` computed once per subject
    (prompt-end activations) and the base model's reading.
    """
    suites = {d.name for d in chosen if isinstance(d, SuiteDetector)}
    groups: dict[str, list[Detector]] = {}
    for detector in chosen:
        if isinstance(detector, SuiteDetector):
            group = detector.name
        elif detector.reads_suite in suites:
            group = str(detector.reads_suite)
        else:
            group = ""
        groups.setdefault(group, []).append(detector)
    return list(groups.values())


def _unit_key(job: AuditJob, names: Sequence[str]) -> str:
    settings = job.model_dump(mode="json", exclude={
        "out", "store", "cache_dir", "show_progress", "resume", "models"})
    return content_hash([__version__, settings, list(names)])


def plan_audit(job: AuditJob, registry: DetectorRegistry, *, split: bool
               ) -> list[SubjectPlan]:
    """The units of an audit, subject by subject; fails before any model is loaded.

    Args:
        job: The audit.
        registry: The detectors to choose from.
        split: One unit per suite (with its readers) rather than one per subject: for an
            executor that spreads units over workers. In one process a subject is loaded
            once, whatever the split.
    """
    plans = []
    for spec in job.subjects():
        # A worker's progress bars would interleave in the driver's log: the driver shows
        # progress over units instead. A worker starts from an empty private store, so it
        # has nothing to resume: the driver resumes by skipping finished units.
        one = job.for_subject(spec).model_copy(update={
            "show_progress": job.show_progress and not split,
            "resume": job.resume and not split})
        chosen, optional, notes = choose(registry, one, one.target())
        groups = _groups(chosen) if split else [chosen]
        skippable = frozenset(d.name for d in optional)
        units = tuple(
            AuditUnit(job=one, detectors=tuple(group), optional=skippable,
                      key=_unit_key(one, [d.name for d in group]))
            for group in groups if group)
        plans.append(SubjectPlan(job=one, order=tuple(d.name for d in chosen), notes=notes,
                                 units=units))
    return plans


def run_audit_unit(unit: AuditUnit, store: Store) -> AuditUnitResult:
    """Run one unit: load its subject (and the base model first, if a detector reads it)."""
    job = unit.job
    target = job.target()
    context = RunContext(store=store, seed=job.seed, show_progress=job.show_progress)
    base = job.base
    choice = None
    if job.answer_format == "auto" and base is not None:
        # the base is read in the subject's format, and before the subject loads
        with job.load() as subject:
            choice = choose_answer_format(subject, target.settings, context)
        target = _in_format(target, choice)
    read_bases(unit.detectors, None if base is None else lambda: load_subject(
        base, job.load_options()), target, context)
    optional = [d for d in unit.detectors if d.name in unit.optional]
    with job.load() as subject:
        if job.answer_format == "auto" and choice is None:
            choice = choose_answer_format(subject, target.settings, context)
            target = _in_format(target, choice)
        results, skipped = run_detectors(unit.detectors, subject, target, context,
                                         optional=optional)
        info = subject.info
    return AuditUnitResult(subject=info, results=tuple(results),
                           notes={suite: tuple(lines) for suite, lines in skipped.items()},
                           answer_format=choice)


def _in_format(target: Target, choice: AnswerFormatChoice) -> Target:
    """The target with the suites' answer format set to the one chosen."""
    return replace(target, settings=replace(target.settings, answer_format=choice.chosen))


def assemble_audit(plan: SubjectPlan, found: Sequence[AuditUnitResult]) -> AuditSummary:
    """One subject's summary from its units' results, given in the plan's order."""
    notes = {suite: list(lines) for suite, lines in plan.notes.items()}
    by_name: dict[str, SuiteResult] = {}
    for result in found:
        for suite, lines in result.notes.items():
            notes.setdefault(suite, []).extend(lines)
        by_name.update((r.suite, r) for r in result.results)
    results = with_notes([by_name[n] for n in plan.order if n in by_name], notes)
    rung, evidence = highest_rung(results)
    job = plan.job
    return AuditSummary(
        subject=found[0].subject, seed=job.seed, limit=job.limit, alpha=job.alpha,
        suites=tuple(results), highest_rung=rung, highest_rung_evidence=evidence,
        answer_format=_one_format(found),
        ulterior_version=__version__,
    )


def _one_format(found: Sequence[AuditUnitResult]) -> AnswerFormatChoice | None:
    """The format --answer-format auto chose, which every unit must have chosen alike.

    Units on other workers decide on their own stores; the same answers give the same
    choice, but a subject whose answers vary from call to call (an API model) might not.

    Raises:
        UlteriorError: The units chose differently.
    """
    chosen = {r.answer_format.chosen: r.answer_format for r in found if r.answer_format}
    if len(chosen) > 1:
        raise UlteriorError(
            "the audit's units chose different answer formats under --answer-format auto "
            f"({'; '.join(c.reason for c in chosen.values())}); the subject's answers vary "
            "from call to call: give the format (--answer-format labelled or cloze)")
    return next(iter(chosen.values()), None)


def subject_folders(specs: Sequence[str]) -> dict[str, str]:
    """A distinct folder name per subject spec: backend and file or model name, made safe."""
    folders: dict[str, str] = {}
    for spec in specs:
        prefix, colon, rest = spec.partition(":")
        name = f"{prefix}-{Path(rest.rstrip('/')).name or rest}" if colon else spec
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "subject"
        folder, n = stem, 2
        while folder in folders.values():
            folder, n = f"{stem}-{n}", n + 1
        folders[spec] = folder
    return folders


def _check(job: AuditJob) -> None:
    check_output_dir(job.out)
    if job.probe is not None and not job.probe.is_dir():
        raise UsageError(f"--probe: no probe directory at {job.probe}; run `ulterior probe fit`")


def run_audits(job: AuditJob, detectors: DetectorRegistry | None = None,
               executor: Executor | None = None) -> list[AuditSummary]:
    """Audit every subject of ``job``; write their summaries and reports under ``OUT``.

    One subject writes ``OUT/summary.json`` and ``OUT/report.html``; several write the two
    into ``OUT/<folder>/`` each (see :func:`subject_folders`) and list them in
    ``OUT/index.json``. The units run on ``executor`` (default: in this process); only this
    process writes the store. With ``resume``, units the store already holds are not run
    again.

    ``detectors`` replaces the built-in registry (``ulterior.detectors.default_detectors``).
    """
    from ulterior.detectors import default_detectors

    _check(job)
    executor = executor or LocalExecutor()
    plans = plan_audit(job, detectors or default_detectors(), split=executor.distributed)
    units = [unit for plan in plans for unit in plan.units]
    summaries = []
    with Store.open(job.store_path()) as store:
        found: dict[str, AuditUnitResult] = {}
        if job.resume:
            for unit in units:
                document = store.get_document(UNIT_KIND, unit.key)
                if document is not None:
                    found[unit.key] = AuditUnitResult.model_validate(document)
        todo = [unit for unit in units if unit.key not in found]
        for index, result in executor.run(run_audit_unit, todo, store,
                                          description="audit units",
                                          show_progress=job.show_progress):
            store.put_document(UNIT_KIND, todo[index].key, result)
            found[todo[index].key] = result
        for plan in plans:
            summary = assemble_audit(plan, [found[unit.key] for unit in plan.units])
            store.put_document("audit", f"{summary.subject.fingerprint}:{summary.created}",
                               summary)
            summaries.append(summary)
    _write(job, summaries)  # after the store's commits: no files without their records
    return summaries


def _write(job: AuditJob, summaries: Sequence[AuditSummary]) -> None:
    def files(summary: AuditSummary) -> dict[str, str]:
        return {"summary.json": json.dumps(summary.model_dump(mode="json"), indent=2),
                "report.html": render_report(summary)}

    if not job.models:
        write_outputs(job.out, files(summaries[0]))
        return
    folders = subject_folders(job.models)
    for spec, summary in zip(job.models, summaries, strict=True):
        write_outputs(job.out / folders[spec], files(summary))
    index = {"subjects": [
        {"spec": spec, "folder": folders[spec], "fingerprint": s.subject.fingerprint,
         "highest_rung": s.highest_rung, "highest_rung_evidence": s.highest_rung_evidence}
        for spec, s in zip(job.models, summaries, strict=True)]}
    write_outputs(job.out, {"index.json": json.dumps(index, indent=2)})


def run_audit(job: AuditJob, detectors: DetectorRegistry | None = None,
              executor: Executor | None = None) -> AuditSummary:
    """Audit one subject; write ``OUT/summary.json`` and ``report.html``.

    ``detectors`` replaces the built-in registry (``ulterior.detectors.default_detectors``);
    ``executor`` says where the units run (default: in this process). For several subjects
    use :func:`run_audits`.
    """
    if len(job.subjects()) != 1:
        raise UsageError(f"run_audit audits one subject, not {len(job.subjects())}; call "
                         "run_audits")
    return run_audits(job, detectors, executor)[0]
