"""The sampled estimator: choice probabilities read from sampled answers.

It is for subjects that can generate but return no log-probabilities (many API models).
Each presentation is answered ``samples`` times at temperature 1; each reply is read as one
of the presented answers, or as none. A reply that names no answer is counted as unparsed
and left out: it is never read as the aligned answer, nor as the misaligned one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ulterior.models import ChoiceRequest, GenerationSettings, Subject
from ulterior.records import Observation

# Smoothing of the log-proportions stored as an observation's logprobs (Jeffreys: half a
# count per answer), so that a log-odds readout stays finite when no sample chose an answer.
# Probabilities are read from the counts themselves, unsmoothed.
PSEUDOCOUNT = 0.5
REPLY_TOKENS = 16

# A label at the start: upper case only, so that the article "a" is not read as (A).
_LABEL = re.compile(r"^\W*(?:(?i:answer)\W*)?\(?([A-Z])\)?(?:\W|$)")
_BRACKETED = re.compile(r"\(([A-Z])\)")


@dataclass(frozen=True)
class SampledChoice:
    """What the samples of one presentation chose."""

    counts: tuple[int, ...]  # per answer, in presented order
    unparsed: int

    @property
    def logprobs(self) -> tuple[float, ...]:
        """Smoothed log-proportions, in nats (what a log-odds readout reads)."""
        total = sum(self.counts) + PSEUDOCOUNT * len(self.counts)
        return tuple(math.log((k + PSEUDOCOUNT) / total) for k in self.counts)


def sampled_answers(observations: Sequence[Observation]) -> tuple[int, int]:
    """(answers that named no option, answers drawn) over the sampled observations."""
    sampled = [o for o in observations if o.counts is not None]
    unparsed = sum(o.unparsed or 0 for o in sampled)
    return unparsed, unparsed + sum(sum(o.counts or ()) for o in sampled)


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def parse_answer(reply: str, answers: Sequence[str]) -> int | None:
    """Which of ``answers`` the reply gives, or None when it names none (or several).

    Labels (``(A)``, ``(B)``) are read from the reply's start (``(B)``, ``B)``, ``B.``, ``B``,
    ``Answer: B``), else from the bracketed labels it names when it names only one
    (``I would pick (B).``); a reply whose start and brackets disagree names none. Other
    answers (option texts, the cloze format) match when the reply
    begins with one of them and with no other: the longest common start wins if it covers
    the whole answer or the whole reply, and no other answer shares as much.
    """
    labels = [a.strip("() ") for a in answers]
    if all(len(label) == 1 and label.isalpha() for label in labels):
        match = _LABEL.match(reply.strip())
        if match is not None and match.group(1) not in labels:
            match = None  # "I would...": a word, not a label
        named = {m.upper() for m in _BRACKETED.findall(reply)}
        if match is not None:
            label = match.group(1)
            if named - {label}:  # "A (B) is right": the reply contradicts itself
                return None
        elif len(named) == 1:
            label = named.pop()
        else:
            return None
        return labels.index(label) if label in labels else None
    said = _normal(reply)
    if not said:
        return None
    shared = [len(_common_start(said, _normal(a))) for a in answers]
    best = max(shared)
    winners = [i for i, n in enumerate(shared) if n == best]
    if best == 0 or len(winners) > 1:
        return None
    whole = _normal(answers[winners[0]])
    return winners[0] if best >= min(len(whole), len(said)) else None


def _common_start(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def sample_choices(subject: Subject, requests: Sequence[ChoiceRequest], samples: int,
                   seed: int) -> list[SampledChoice]:
    """Answer every request ``samples`` times at temperature 1 and count what was chosen.

    Sample ``j`` of every request is drawn with a seed derived from ``(seed, j)``, so a run
    is reproducible and runs of different seeds share no draws.
    """
    counts = [[0] * len(r.choices) for r in requests]
    unparsed = [0] * len(requests)
    conversations = [r.conversation for r in requests]
    for j in range(samples):
        drawn_with = int(np.random.SeedSequence([seed, j]).generate_state(1)[0])
        replies = subject.generate(conversations, GenerationSettings(
            max_new_tokens=REPLY_TOKENS, temperature=1.0, seed=drawn_with))
        for index, (request, reply) in enumerate(zip(requests, replies, strict=True)):
            chosen = parse_answer(reply, request.choices)
            if chosen is None:
                unparsed[index] += 1
            else:
                counts[index][chosen] += 1
    return [SampledChoice(tuple(c), u) for c, u in zip(counts, unparsed, strict=True)]
