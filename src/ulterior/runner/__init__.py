"""Running jobs: batching, the content-hash cache, resumable execution, progress."""

from ulterior.runner._context import RunContext
from ulterior.runner._progress import progress
from ulterior.runner._score import ScoreConfig, ScoreOutcome, score_items
from ulterior.runner._summary import ChoiceSummary, summarize_choices

__all__ = [
    "ChoiceSummary",
    "RunContext",
    "ScoreConfig",
    "ScoreOutcome",
    "progress",
    "score_items",
    "summarize_choices",
]
