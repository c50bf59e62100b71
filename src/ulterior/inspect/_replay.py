"""A suite read out from answers given elsewhere (an Inspect run), through the suite's own code.

The answers are replayed to the suite by a subject that looks each request up instead of
running a model. The suite then scores, caches and reads out exactly as in ``ulterior audit``:
the same items, the same keys, the same statistics, so the numbers mean the same.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ulterior.detectors import SuiteDetector, Target
from ulterior.errors import DataFormatError
from ulterior.models import (
    TOP_LOGPROBS_SCORER,
    Capabilities,
    ChoiceRequest,
    Conversation,
    GenerationSettings,
    Subject,
)
from ulterior.records import SubjectInfo, SuiteResult, content_hash
from ulterior.runner import RunContext
from ulterior.store import Store
from ulterior.suites import Suite, SuiteSettings

# How an Inspect log's choice log-probabilities were read: the label's next-token
# log-probability after the prefilled answer opening, from the provider's top log-probs.
LABEL_SCORER = TOP_LOGPROBS_SCORER


def conversation_key(conversation: Conversation) -> str:
    """Content hash of a conversation: what a recorded reply is looked up by."""
    return content_hash([m.model_dump() for m in conversation])


def choice_key(conversation: Conversation, answers: Sequence[str]) -> str:
    """Content hash of a conversation and its presented answers."""
    return content_hash([conversation_key(conversation), list(answers)])


@dataclass
class RecordedAnswers:
    """What a model answered to a suite's requests.

    Attributes:
        logprobs: Per :func:`choice_key`, the log-probability of each presented answer.
        draws: Per :func:`conversation_key`, the sampled replies (temperature 1), in order.
        replies: Per :func:`conversation_key`, the greedy free-text reply.
    """

    logprobs: dict[str, tuple[float, ...]] = field(default_factory=dict)
    draws: dict[str, list[str]] = field(default_factory=dict)
    replies: dict[str, str] = field(default_factory=dict)

    @property
    def samples(self) -> int | None:
        """Sampled replies per presentation (None: the answers were scored by log-probability).

        Raises:
            DataFormatError: Presentations were sampled different numbers of times.
        """
        sizes = {len(d) for d in self.draws.values()}
        if len(sizes) > 1:
            raise DataFormatError(f"presentations were sampled {sorted(sizes)} times; the "
                                  "sampled estimator needs the same number for every one")
        n = sizes.pop() if sizes else None
        if n is not None and n < 2:
            raise DataFormatError("each presentation was sampled once, which reads every "
                                  "probability as 0 or 1; run with --epochs N (N of 2 or "
                                  "more, 10 by default) and ulterior's own epoch reducer")
        return n


class ReplaySubject(Subject):
    """Answers each request from :class:`RecordedAnswers`; a request it lacks is an error.

    Sampled replies are handed out by seed: the sampled estimator asks for draw ``j`` with
    the seed it derives from ``(seed, j)``, and gets the ``j``-th recorded reply.
    """

    choice_scorer = LABEL_SCORER

    def __init__(self, info: SubjectInfo, answers: RecordedAnswers, seed: int) -> None:
        self._info = info
        self.answers = answers
        n = answers.samples or 0
        self._draw_of_seed = {
            int(np.random.SeedSequence([seed, j]).generate_state(1)[0]): j for j in range(n)}
        self.capabilities = Capabilities(
            generate=bool(answers.draws or answers.replies),
            score_choices=bool(answers.logprobs), score_text=False)

    @property
    def info(self) -> SubjectInfo:
        """The model that gave the answers."""
        return self._info

    def score_choices(self, requests: Sequence[ChoiceRequest]) -> list[list[float]]:
        """The recorded log-probabilities of each request's answers."""
        found = [self.answers.logprobs.get(choice_key(r.conversation, r.choices))
                 for r in requests]
        missing = [r for r, f in zip(requests, found, strict=True) if f is None]
        if missing:
            raise DataFormatError(
                f"the log holds no scored answer for {len(missing)} presentations (first: "
                f"{_describe(missing[0].conversation)}); run the task without --limit or "
                "sample filters, and with the same task arguments")
        return [list(f) for f in found if f is not None]

    def generate(self, conversations: Sequence[Conversation],
                 settings: GenerationSettings | None = None) -> list[str]:
        """The recorded sampled reply of this draw, or the recorded greedy reply."""
        settings = settings or GenerationSettings()
        keys = [conversation_key(c) for c in conversations]
        if settings.temperature > 0:
            draw = self._draw_of_seed.get(settings.seed)
            if draw is None:
                raise DataFormatError("the log holds fewer sampled replies than asked for")
            table = {k: d[draw] for k, d in self.answers.draws.items()}
        else:
            table = self.answers.replies
        missing = [c for c, k in zip(conversations, keys, strict=True) if k not in table]
        if missing:
            raise DataFormatError(
                f"the log holds no reply for {len(missing)} prompts (first: "
                f"{_describe(missing[0])}); run the task without sample filters")
        return [table[k] for k in keys]


def _describe(conversation: Conversation) -> str:
    text = " ".join(conversation[-1].content.split()) if conversation else ""
    return repr(text[:60] + ("..." if len(text) > 60 else ""))


def replay_suite(suite: Suite, settings: SuiteSettings, answers: RecordedAnswers,
                 info: SubjectInfo, seed: int = 0) -> SuiteResult:
    """The suite's result from recorded answers, read out as ``ulterior audit`` reads it.

    The suite runs on a scratch store, so nothing is written where the user keeps results.
    ``settings.samples`` is set from the answers (sampled replies, or none).
    """
    settings = replace(settings, samples=answers.samples)
    subject = ReplaySubject(info, answers, seed)
    with tempfile.TemporaryDirectory(prefix="ulterior-replay-") as scratch, \
            Store.open(Path(scratch) / "replay.sqlite") as store:
        context = RunContext(store=store, seed=seed, show_progress=False)
        return SuiteDetector(suite).run(subject, Target(settings=settings), context)
