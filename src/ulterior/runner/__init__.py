"""Running jobs: common settings, batching, the content-hash cache, resuming, progress."""

from ulterior.runner._context import RunContext
from ulterior.runner._job import DeviceName, Job, SubjectJob
from ulterior.runner._progress import progress
from ulterior.runner._registry import Registry
from ulterior.runner._sample import REPLY_TOKENS, parse_answer, sampled_answers
from ulterior.runner._score import ScoreConfig, ScoreOutcome, score_items
from ulterior.runner._summary import ChoiceSummary, choice_probabilities, summarize_choices

__all__ = [
    "REPLY_TOKENS",
    "ChoiceSummary",
    "DeviceName",
    "Job",
    "Registry",
    "RunContext",
    "ScoreConfig",
    "ScoreOutcome",
    "SubjectJob",
    "choice_probabilities",
    "parse_answer",
    "progress",
    "sampled_answers",
    "score_items",
    "summarize_choices",
]
