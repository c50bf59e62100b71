from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from ulterior.errors import ContextLengthError, UsageError
from ulterior.models import ChoiceRequest, FakeSubject
from ulterior.records import Item, Message
from ulterior.runner import RunContext, ScoreConfig, score_items, summarize_choices
from ulterior.store import Store


def _items(n: int = 20) -> list[Item]:
    return [
        Item(id=f"q{i}", source="test", messages=(Message(role="user", content=f"Question {i}?"),),
             options=("Yes", "No"), matching=i % 2)
        for i in range(n)
    ]


class Crashing(FakeSubject):
    """A fake that dies after a number of calls, like a process killed mid-run."""

    def __init__(self, name: str, calls_before_crash: int) -> None:
        super().__init__(name)
        self.remaining = calls_before_crash

    def score_choices(self, requests: Sequence[ChoiceRequest]) -> list[list[float]]:
        if self.remaining == 0:
            raise KeyboardInterrupt
        self.remaining -= 1
        return super().score_choices(requests)


def test_counterbalancing_cancels_position_bias(store_path) -> None:
    with Store.open(store_path) as store:
        context = RunContext(store=store, show_progress=False)
        subject = FakeSubject("position-biased")
        outcome = score_items(subject, _items(), config=ScoreConfig(), context=context)
        summary = summarize_choices(outcome.observations, rng=np.random.default_rng(0))
        assert summary.matching.estimate == pytest.approx(0.5)
        assert summary.first_label.estimate == pytest.approx(0.9)
        assert summary.chance_first_label == pytest.approx(0.5)
        # shown in one order only, the bias leaks into the estimate for items answered (A)
        one = [i for i in _items() if i.matching == 0]
        outcome = score_items(subject, one, config=ScoreConfig(counterbalance=False),
                              context=context)
        biased = summarize_choices(outcome.observations, rng=np.random.default_rng(0))
        assert biased.matching.estimate == pytest.approx(0.9)


def test_second_run_reuses_every_observation(store_path) -> None:
    with Store.open(store_path) as store:
        context = RunContext(store=store, show_progress=False)
        first = score_items(FakeSubject("random"), _items(), config=ScoreConfig(),
                            context=context)
        again = score_items(FakeSubject("random"), _items(), config=ScoreConfig(),
                            context=context)
    assert (first.computed, first.reused) == (40, 0)
    assert (again.computed, again.reused) == (0, 40)
    assert again.observations == first.observations and again.run.id == first.run.id


def test_resume_after_crash_gives_the_uninterrupted_result(tmp_path) -> None:
    config = ScoreConfig(chunk_size=6)
    with Store.open(tmp_path / "clean.sqlite") as store:
        clean = score_items(FakeSubject("random"), _items(), config=config,
                            context=RunContext(store=store, show_progress=False))
    with Store.open(tmp_path / "crash.sqlite") as store:
        context = RunContext(store=store, show_progress=False)
        with pytest.raises(KeyboardInterrupt):
            score_items(Crashing("random", 3), _items(), config=config, context=context)
        (run, status), = store.runs()
        assert status == "running" and len(store.observations(run.id)) == 18
        resumed = score_items(FakeSubject("random"), _items(),
                              config=ScoreConfig(chunk_size=6, resume=True), context=context)
        assert store.get_run(run.id)[1] == "complete"
    assert (resumed.computed, resumed.reused) == (22, 18)
    key = lambda o: o.key  # noqa: E731
    assert [(o.key, o.logprobs) for o in sorted(resumed.observations, key=key)] == [
        (o.key, o.logprobs) for o in sorted(clean.observations, key=key)]


def test_resume_without_an_earlier_run_is_refused(store_path) -> None:
    with Store.open(store_path) as store, pytest.raises(UsageError, match="--resume"):
        score_items(FakeSubject("random"), _items(), config=ScoreConfig(resume=True),
                    context=RunContext(store=store, show_progress=False))


def test_too_long_item_fails_before_anything_is_written(store_path) -> None:
    items = [*_items(3), Item(id="long", source="t", options=("a", "b"), matching=0,
                              messages=(Message(role="user", content="word " * 50),))]
    with Store.open(store_path) as store:
        with pytest.raises(ContextLengthError, match="item long"):
            score_items(FakeSubject("random", context_tokens=40), items, config=ScoreConfig(),
                        context=RunContext(store=store, show_progress=False))
        assert store.runs() == []


def test_counterbalanced_run_reuses_written_order_observations(store_path) -> None:
    with Store.open(store_path) as store:
        context = RunContext(store=store, show_progress=False)
        plain = score_items(FakeSubject("random"), _items(), context=context,
                            config=ScoreConfig(counterbalance=False))
        both = score_items(FakeSubject("random"), _items(), config=ScoreConfig(),
                           context=context)
    assert (plain.computed, both.computed, both.reused) == (20, 20, 20)
    assert plain.run.id != both.run.id
