"""Answers' log-probabilities read from a server's top next-token log-probabilities."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from ulterior.errors import CapabilityError

# The scorer of observations read this way (part of their cache key): the next token's top
# log-probabilities after the answers' shared opening, not each answer's summed tokens.
TOP_LOGPROBS_SCORER = "label-top-logprobs/v1"


def split_answers(continuations: Sequence[str]) -> tuple[str, list[str]]:
    """The answers' shared opening (``(`` for ``(A)``, ``(B)``) and what each adds to it.

    The opening never ends in whitespace: it is prefilled as the start of the reply, and the
    next token (the label) carries its own space. The answers are checked with
    :func:`check_one_token_answers`.

    Raises:
        CapabilityError: One token after the opening cannot tell the answers apart.
    """
    shared = os.path.commonprefix(list(continuations))  # noqa: RUF071 - characters, on purpose
    opening = shared[: len(shared.rstrip())]
    rests = [c[len(opening):] for c in continuations]
    check_one_token_answers(opening, rests)
    return opening, rests


def check_one_token_answers(opening: str, rests: Sequence[str]) -> None:
    """Refuse answers that the next token after ``opening`` cannot tell apart fairly.

    One token reads one word: answers of several words (option texts, the cloze format)
    would be judged by their first word alone, and an opening that ends inside a word
    (``S`` before ``tay`` and ``plit``) splits it where the model never splits it.

    Raises:
        CapabilityError: Saying to score such answers on a local model or from samples.
    """
    advice = ("score them on a local model (whole answers), or from sampled answers "
              "(--samples N; in Inspect, -T estimator=sampled)")
    if any(not rest for rest in rests):
        raise CapabilityError("from top log-probabilities, answers are told apart by their "
                              "first differing token; one answer is a prefix of another")
    if any(len(rest.split()) > 1 for rest in rests):
        raise CapabilityError(f"answers of several words ({rests[0]!r}, ...) cannot be read "
                              f"from one token's log-probabilities; {advice}")
    if opening[-1:].isalnum() and any(rest[:1].isalnum() for rest in rests):
        raise CapabilityError(f"the answers' shared opening {opening!r} ends inside a word; "
                              f"{advice}")


def answer_logprobs(top: Mapping[str, float], rests: Sequence[str]) -> list[float]:
    """Each answer's log-probability, from the next-token alternatives a server listed.

    ``rests`` are the answers' texts after the opening they share (``A)`` and ``B)`` after
    ``(``). An answer gets the log-sum-exp over the listed tokens its text starts with: exact
    up to a factor common to all answers, which cancels when they are normalized. An answer
    no listed token starts gets the smallest listed log-probability, an upper bound.

    Check the answers first with :func:`check_one_token_answers`.

    Raises:
        CapabilityError: No listed token starts any answer (the prompt format is probably
            wrong).
    """
    floor = min(top.values())
    scores = []
    for rest in rests:
        matches = [lp for token, lp in top.items() if token and rest.startswith(token)]
        scores.append(float(np.logaddexp.reduce(matches)) if matches else None)
    if all(score is None for score in scores):
        raise CapabilityError(
            f"none of the answers {list(rests)} starts any of the {len(top)} most likely "
            "next tokens; check the prompt format")
    return [floor if score is None else score for score in scores]
