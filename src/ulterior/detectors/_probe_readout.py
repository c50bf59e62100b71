"""The probe readout: a deception probe read on the oversight-gap suite's own answers."""

from __future__ import annotations

from ulterior.detectors._base import Detector, Need, Target
from ulterior.models import Subject
from ulterior.probes import default_probe, probe_readout
from ulterior.records import SuiteResult
from ulterior.runner import RunContext
from ulterior.suites import OversightGapSuite


class ProbeReadout(Detector):
    """The probe score of each oversight-gap answer, unobserved minus observed framing.

    The probe is ``target.probe`` (a directory from ``ulterior probe fit``) when given, else
    the default defection probe fitted on the subject (cached in the store's artifacts).
    """

    name = "probe-readout"
    description = ("A deception probe read on the oversight-gap answers: unobserved minus "
                   "observed framing, paired per task.")
    needs: frozenset[Need] = frozenset({"white_box"})
    reads_suite = OversightGapSuite.name
    option = "--probe"
    score_row = "probe:misaligned answer"

    def requested(self, target: Target) -> bool:
        """A probe the user chose is read whatever suites ran."""
        return target.probe is not None

    def run(self, subject: Subject, target: Target, context: RunContext) -> SuiteResult:
        """Read the chosen probe, or the default one, on the oversight-gap items."""
        items = OversightGapSuite().items(target.settings)
        alpha = target.settings.alpha
        if target.probe is not None:
            return probe_readout(subject, items, target.probe, context, alpha=alpha)
        probe = default_probe(subject, context, show_progress=context.show_progress)
        return probe_readout(subject, items, probe.saved, context, alpha=alpha,
                             source=probe.describe(), notes=probe.notes())

    def score(self, result: SuiteResult) -> float | None:
        """The misaligned answer's shift."""
        row = next((r for r in result.rows if r.name == self.score_row), None)
        return None if row is None else row.estimate
