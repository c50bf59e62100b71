"""The Inspect AI extension: one task per suite, the ``ulterior/`` model API, reading logs back.

``inspect eval ulterior/oversight_gap --model vllm/MODEL`` (or ``--model ulterior/SPEC`` for
any ulterior subject) runs a suite as an Inspect task; its metric is the suite's own readout.
``ulterior report --from-inspect LOG...`` turns the logs into ulterior's summary and report,
and ``inspect:PROVIDER/MODEL`` subjects put any Inspect model into ``ulterior audit``.

The names below need ``inspect_ai`` (``pip install 'ulterior[inspect]'``) and import it when
first used, so that registering the ``inspect:`` backend costs nothing without it.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from ulterior.errors import MissingDependencyError

if TYPE_CHECKING:
    from ulterior.models import LoadOptions, Subject, SubjectRegistry

_WHERE = {
    "RecordedAnswers": "_replay", "ReplaySubject": "_replay", "replay_suite": "_replay",
    "suite_samples": "_dataset",
    "read_log": "_logs", "summary_from_logs": "_logs",
    "UlteriorModelAPI": "_modelapi",
    "answer_scorer": "_scoring", "answer_solver": "_scoring", "readout_metric": "_scoring",
    "InspectSubject": "_subject", "parse_inspect_spec": "_subject",
    "suite_task": "_tasks", "oversight_gap": "_tasks", "trigger_scan": "_tasks",
    "honeypot": "_tasks", "come_clean": "_tasks", "persona": "_tasks",
    "training_game": "_tasks", "sandbagging": "_tasks", "precursors": "_tasks",
}

__all__ = sorted([*_WHERE, "register_subjects", "require_inspect"])


def require_inspect() -> None:
    """Fail with the command to run when ``inspect_ai`` is not installed."""
    if importlib.util.find_spec("inspect_ai") is None:
        raise MissingDependencyError("this needs Inspect AI: pip install 'ulterior[inspect]'")


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'ulterior.inspect' has no attribute {name!r}")
    require_inspect()
    return getattr(importlib.import_module(f"ulterior.inspect.{_WHERE[name]}"), name)


def register_subjects(registry: SubjectRegistry) -> None:
    """Add the ``inspect:PROVIDER/MODEL`` backend (the ``ulterior.subjects`` entry point)."""

    def factory(rest: str, options: LoadOptions) -> Subject:
        require_inspect()
        from ulterior.inspect._subject import InspectSubject

        return InspectSubject(rest)

    registry.register("inspect", factory, "any Inspect AI model (its providers, retries, "
                      "limits)", is_prefix=True, white_box=False,
                      placeholder="PROVIDER/MODEL[,ARG=VALUE...]")
