from __future__ import annotations

from typing import Any

from ulterior.detectors._base import Detector, Target
from ulterior.models import Subject
from ulterior.records import SuiteResult
from ulterior.runner import RunContext
from ulterior.suites import Suite


class SuiteDetector(Detector):
    """A behavioural suite read as a detector: black-box, its own score and ground truth."""

    def __init__(self, suite: Suite) -> None:
        self.suite = suite
        # instance attributes shadow the class defaults: the suite says what it is
        self.name = suite.name
        self.description = suite.description
        self.in_validate = suite.in_validate

    def run(self, subject: Subject, target: Target, context: RunContext) -> SuiteResult:
        """Run the suite; its notes say when it scored the user's pack."""
        result = self.suite.run(subject, target.settings, context)
        if target.settings.user_pack(self.name) is None:
            return result
        return result.model_copy(update={"notes": (
            "Scenarios from the user's own pack (--pack), not the built-in one.",
            *result.notes)})

    def score(self, result: SuiteResult) -> float | None:
        """The suite's own score."""
        return self.suite.score(result)

    def ground_truth(self, result: SuiteResult, target: Target) -> dict[str, Any]:
        """The suite's own fields against the organism's ground truth."""
        if target.manifest is None:
            return {}
        return self.suite.ground_truth(result, target.manifest)
