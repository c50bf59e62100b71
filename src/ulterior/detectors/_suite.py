from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ulterior.detectors._base import Detector, Target
from ulterior.models import Subject
from ulterior.records import SuiteResult
from ulterior.runner import RunContext, sampled_answers
from ulterior.suites import Suite


def sampled_note(context: RunContext, run_ids: Sequence[str], samples: int) -> str:
    """What the sampled estimator read, and how many answers named no option."""
    unparsed, drawn = sampled_answers(
        [o for run in run_ids for o in context.store.observations(run)])
    return (f"Estimator: sampled answers, {samples} per presentation at temperature 1 (no "
            "log-probabilities): a choice probability is the share of samples that chose it, "
            "and the bootstrap over units carries both the items' and the sampling's "
            f"variance. {unparsed} of {drawn} sampled answers named no option and were left "
            "out (never counted as aligned or misaligned); log-odds rows read the proportions "
            "with half a count added to each answer.")


class SuiteDetector(Detector):
    """A behavioural suite read as a detector: black-box, its own score and ground truth."""

    def __init__(self, suite: Suite) -> None:
        self.suite = suite
        # instance attributes shadow the class defaults: the suite says what it is
        self.name = suite.name
        self.description = suite.description
        self.in_validate = suite.in_validate

    def run(self, subject: Subject, target: Target, context: RunContext) -> SuiteResult:
        """Run the suite; its notes say which pack and which estimator it read."""
        settings = target.settings
        result = self.suite.run(subject, settings, context)
        notes = []
        if settings.user_pack(self.name) is not None:
            notes.append("Scenarios from the user's own pack (--pack), not the built-in one.")
        if settings.samples is not None:
            notes.append(sampled_note(context, result.run_ids, settings.samples))
        if not notes:
            return result
        return result.model_copy(update={"notes": (*notes, *result.notes)})

    def score(self, result: SuiteResult) -> float | None:
        """The suite's own score."""
        return self.suite.score(result)

    def ground_truth(self, result: SuiteResult, target: Target) -> dict[str, Any]:
        """The suite's own fields against the organism's ground truth."""
        if target.manifest is None:
            return {}
        return self.suite.ground_truth(result, target.manifest)
