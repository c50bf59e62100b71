from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from ulterior.models import Subject
from ulterior.records import SuiteResult
from ulterior.runner import RunContext


@dataclass(frozen=True)
class SuiteSettings:
    """Settings every suite takes.

    Attributes:
        limit: At most this many items per suite (None: the whole built-in pack).
        alpha: False-positive rate of each flag, after multiple-testing control.
        resume: Continue interrupted runs instead of starting new ones.
        n_resamples: Bootstrap resamples behind every confidence interval.
    """

    limit: int | None = None
    alpha: float = 0.05
    resume: bool = False
    n_resamples: int = 10_000


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
    """A new registry with the built-in suites."""
    return SuiteRegistry()
