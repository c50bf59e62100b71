"""Running detectors on one subject: the base model first, then the subject, each once."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ulterior.detectors import Detector, Target
from ulterior.errors import CapabilityError
from ulterior.models import Subject
from ulterior.records import SuiteResult
from ulterior.runner import RunContext


def read_bases(detectors: Sequence[Detector], load_base: Callable[[], Subject] | None,
               target: Target, context: RunContext) -> None:
    """Load the base model once (if a detector needs it), let each read it, release it.

    Read before the subject is loaded, so the two models are never in memory together.
    """
    needing = [d for d in detectors if "base_model" in d.needs]
    if not needing:
        return
    if load_base is None:
        raise ValueError(f"{needing[0].name} needs a base model and none was given")
    with load_base() as base:
        for detector in needing:
            target.base_readings[detector.name] = detector.read_base(base, target, context)


def run_detectors(detectors: Sequence[Detector], subject: Subject, target: Target,
                  context: RunContext, *, optional: Sequence[Detector] = ()
                  ) -> tuple[list[SuiteResult], dict[str, list[str]]]:
    """Check every detector against the subject, then run each, in order.

    A detector in ``optional`` that finds it cannot read this subject (CapabilityError) is
    skipped; the reason is returned as a note for the suite it reads.

    Returns:
        The results, and notes by suite name.
    """
    for detector in detectors:
        detector.check(subject, target)
    results: list[SuiteResult] = []
    notes: dict[str, list[str]] = {}
    for detector in detectors:
        try:
            results.append(detector.run(subject, target, context))
        except CapabilityError as exc:
            if detector not in optional:
                raise
            notes.setdefault(detector.reads_suite or "", []).append(f"no {detector.name}: {exc}")
    return results, notes


def with_notes(results: list[SuiteResult], notes: dict[str, list[str]]) -> list[SuiteResult]:
    """``results`` with each suite's notes appended (notes for suites not run are dropped)."""
    return [r.model_copy(update={"notes": (*r.notes, *notes[r.suite])}) if r.suite in notes
            else r for r in results]
