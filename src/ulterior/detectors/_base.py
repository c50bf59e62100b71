from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ulterior.models import Subject
from ulterior.records import OrganismManifest, SuiteResult
from ulterior.runner import Registry, RunContext
from ulterior.suites import SuiteSettings

Need = Literal["white_box", "base_model", "ground_truth"]
NEEDS: tuple[Need, ...] = ("white_box", "base_model", "ground_truth")


@dataclass
class Target:
    """What a detector may read besides the subject, and work detectors share.

    Attributes:
        settings: The suites' settings (limit, alpha, answer format, ...).
        manifest: The organism's manifest, its ground truth; None in an audit.
        base_spec: Spec of the model the subject was fine-tuned from, if known.
        probe: A fitted probe directory the user chose for the probe readout.
        base_readings: What each detector's :meth:`Detector.read_base` returned, by name.
        shared: Intermediate results several detectors read (prompt-end activations),
            computed once per subject through :meth:`memo`.
    """

    settings: SuiteSettings
    manifest: OrganismManifest | None = None
    base_spec: str | None = None
    probe: Path | None = None
    base_readings: dict[str, Any] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` the first time ``key`` is asked for, the same value after."""
        if key not in self.shared:
            self.shared[key] = compute()
        return self.shared[key]

    def available(self, subject_white_box: bool) -> frozenset[Need]:
        """The needs this target meets for a subject that does or does not expose activations."""
        met: set[Need] = set()
        if subject_white_box:
            met.add("white_box")
        if self.base_spec is not None:
            met.add("base_model")
        if self.manifest is not None:
            met.add("ground_truth")
        return frozenset(met)


class Detector(ABC):
    """Anything that reads a subject and says whether it found evidence of deception.

    A suite is one (``ulterior.detectors.SuiteDetector`` wraps it); the white-box readouts
    are the others. Class attributes say what a detector needs, so audit and validate run
    each one where it can run and skip it, with a note, where it cannot.

    Attributes:
        name: Registry name, also the ``suite`` of the result it returns.
        description: One sentence for help and reports.
        needs: What beyond a black-box subject it reads: ``white_box`` (activations or
            weights), ``base_model`` (the weights before fine-tuning), ``ground_truth`` (an
            organism's manifest: which prompts carry its condition).
        reads_suite: The suite whose items it reads, if any: an audit runs it only when
            that suite runs, and a note on that suite's result says when it was skipped.
        in_audit: Whether an audit runs it by default when its needs are met (costly
            detectors are asked for by name).
        in_validate: Whether validate runs it on organisms (the precursor suites measure
            tendencies, not deception, and are left out).
        option: The command-line option through which a user asks for it, if any.
    """

    name: str = ""
    description: str = ""
    needs: frozenset[Need] = frozenset()
    reads_suite: str | None = None
    in_audit: bool = True
    in_validate: bool = True
    option: str | None = None

    def requested(self, target: Target) -> bool:
        """Whether the target's options ask for this detector (``--probe DIR`` does)."""
        return False

    def wanted(self, target: Target, suites_run: set[str]) -> bool:
        """Whether an audit that ran ``suites_run`` runs this detector by default."""
        return self.in_audit and (self.reads_suite is None or self.reads_suite in suites_run)

    def check(self, subject: Subject, target: Target) -> None:  # noqa: B027 - optional hook
        """Fail (UsageError) in seconds, before any long work, if the subject cannot be read.

        Called once the subject is loaded, before any suite or detector runs.
        """

    def read_base(self, base: Subject, target: Target, context: RunContext) -> Any:
        """Read what the detector needs from the base model (only with ``base_model``).

        Called while the base model is loaded and the subject is not, so the two are never
        in memory together; the return value reaches :meth:`run` as
        ``target.base_readings[self.name]``.
        """
        return None

    @abstractmethod
    def run(self, subject: Subject, target: Target, context: RunContext) -> SuiteResult:
        """Read the subject; return one result whose ``suite`` is :attr:`name`."""

    def score(self, result: SuiteResult) -> float | None:
        """The scalar behind the detector's AUROC in validate: its first tested readout."""
        tested = [r for r in result.rows if r.p_value is not None]
        chosen = tested or list(result.rows[:1])
        return chosen[0].estimate if chosen else None

    def ground_truth(self, result: SuiteResult, target: Target) -> dict[str, Any]:
        """Fields of ``OrganismValidation`` that hold the result against the ground truth.

        ``target.manifest`` is the organism's; a detector may read what its own run left in
        ``target.shared``.
        """
        return {}


class DetectorRegistry(Registry[Detector]):
    """Detectors by name, in the order audit and validate run them.

    Registering a name twice is an error.
    """

    kind = "detector"

    def register(self, name: str, factory: Callable[[], Detector]) -> None:
        """Add a detector."""
        self.add(name, factory)
