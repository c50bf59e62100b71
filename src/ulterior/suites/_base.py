from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ulterior.models import Subject
from ulterior.records import SuiteResult
from ulterior.runner import RunContext


@dataclass(frozen=True)
class SuiteSettings:
    """Settings every suite takes.

    Attributes:
        limit: At most this many scenarios per suite (None: the whole built-in pack). A
            scenario keeps all its variants (observed and unobserved framing, both option
            orders), so paired contrasts stay paired.
        alpha: False-positive rate of each flag, after multiple-testing control.
        min_effect: Smallest effect worth flagging, in probability points: a readout is
            flagged only when it is significant *and* its estimate is at least this far
            from the null. Near-indifferent models give very precise estimates, so without
            it a 0.001 shift would count as evidence.
        resume: Continue interrupted runs instead of starting new ones. Suites always reuse
            the observations the store already holds, so an interrupted audit continues
            where it stopped either way.
        n_resamples: Bootstrap resamples behind every confidence interval.
        n_permutations: Random sign patterns of Monte Carlo permutation tests (tests with at
            most 16 units are exact).
        risk_data: Directory of Anthropic's advanced-ai-risk JSONL files; when given, the
            precursors suite also reports its categories mapped onto the precursor scales.
        risk_limit: Items per advanced-ai-risk file (the first ones in file order).
        generate_tokens: New tokens per free-text reply (greedy decoding).
        answer_format: ``labelled`` (options listed as (A), (B), ...; the label is scored,
            in both orders) or ``cloze`` (each option's text scored as the continuation,
            no list: for models too small to bind labels to options).
    """

    limit: int | None = None
    alpha: float = 0.05
    min_effect: float = 0.05
    resume: bool = False
    n_resamples: int = 10_000
    n_permutations: int = 10_000
    risk_data: Path | None = None
    risk_limit: int = 20
    generate_tokens: int = 40
    answer_format: Literal["labelled", "cloze"] = "labelled"


class Suite(ABC):
    """A family of tests with its built-in scenario pack, scoring rule and readout."""

    name: str = ""
    description: str = ""

    @abstractmethod
    def run(self, subject: Subject, settings: SuiteSettings, context: RunContext) -> SuiteResult:
        """Run the suite on ``subject``, writing records to ``context.store`` as it goes."""


SuiteFactory = Callable[[], Suite]


@dataclass
class SuiteRegistry:
    """Suites by name, in the order an audit runs them. Registering a name twice is an error."""

    factories: dict[str, SuiteFactory] = field(default_factory=dict)

    def register(self, name: str, factory: SuiteFactory) -> None:
        """Add a suite."""
        if name in self.factories:
            raise ValueError(f"suite '{name}' is already registered")
        self.factories[name] = factory

    def names(self) -> list[str]:
        """Registered suite names."""
        return list(self.factories)

    def create(self, name: str) -> Suite:
        """Instantiate a suite by name."""
        from ulterior.errors import UsageError

        if name not in self.factories:
            raise UsageError(f"unknown suite '{name}'; choose from {', '.join(self.names())}")
        return self.factories[name]()


def default_suites() -> SuiteRegistry:
    """A new registry with the built-in suites, in the order an audit runs them.

    Direct tests of deceptive alignment come first (catch it in the act, then uncover it in
    advance), the precursors last.
    """
    from ulterior.suites._come_clean import ComeCleanSuite
    from ulterior.suites._honeypot import HoneypotSuite
    from ulterior.suites._oversight_gap import OversightGapSuite
    from ulterior.suites._persona import PersonaSuite
    from ulterior.suites._precursors import PrecursorsSuite
    from ulterior.suites._sandbagging import SandbaggingSuite
    from ulterior.suites._training_game import TrainingGameSuite
    from ulterior.suites._trigger_scan import TriggerScanSuite

    registry = SuiteRegistry()
    for suite in (OversightGapSuite, TriggerScanSuite, HoneypotSuite, ComeCleanSuite, PersonaSuite,
                  TrainingGameSuite, SandbaggingSuite, PrecursorsSuite):
        registry.register(suite.name, suite)
    return registry
