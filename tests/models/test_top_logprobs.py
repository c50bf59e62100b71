"""Answers read from a server's top next-token log-probabilities, and the answers refused."""

from __future__ import annotations

import math

import pytest

from ulterior.errors import CapabilityError
from ulterior.models import answer_logprobs, check_one_token_answers


def test_labels_get_the_tokens_they_start_with_and_a_missing_one_the_floor() -> None:
    top = {"A": math.log(0.5), "A)": math.log(0.2), "B": math.log(0.1), "The": math.log(0.05)}
    scores = answer_logprobs(top, ["A)", "B)", "C)"])
    assert scores == pytest.approx([math.log(0.7), math.log(0.1), math.log(0.05)])


def test_no_answer_among_the_top_tokens_is_an_error() -> None:
    with pytest.raises(CapabilityError, match="none of the answers"):
        answer_logprobs({"The": -0.5, "I": -1.0}, ["A)", "B)"])


@pytest.mark.parametrize(("opening", "rests"), [("(", ["A)", "B)"]), ("", [" Yes", " No"]),
                                                ("", ["Yes.", "No."])])
def test_one_token_answers_pass(opening: str, rests: list[str]) -> None:
    check_one_token_answers(opening, rests)


@pytest.mark.parametrize(("opening", "rests", "message"), [
    ("(A", ["", ")"], "prefix of another"),
    ("", ["Stay in the sandbox", "Split the job"], "several words"),
    ("S", ["tay", "plit"], "ends inside a word"),
])
def test_answers_one_token_cannot_tell_apart_are_refused(opening: str, rests: list[str],
                                                          message: str) -> None:
    with pytest.raises(CapabilityError, match=message):
        check_one_token_answers(opening, rests)
