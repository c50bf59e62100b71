"""Chat scoring of the openai backend against scripted servers (httpx.MockTransport).

Each stub answers like one kind of server: vLLM (continues a final assistant message when
asked), llama-server (continues it on its own), llama-cpp-python (always opens a new turn,
but honours logit_bias), and a server that does none of these.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import pytest

from ulterior.errors import CapabilityError, ServerError
from ulterior.models import ChoiceRequest
from ulterior.models._openai import FORCE_BIAS, OpenAISubject
from ulterior.records import Message

URL = "http://stub/v1"
TEMPLATE = "<user>{}</user><assistant>"
OPENING_ID = 24


def _top(**logprobs: float) -> list[dict[str, Any]]:
    return [{"token": token, "logprob": value} for token, value in logprobs.items()]


@dataclass
class Stub:
    """A scripted OpenAI-compatible server; ``seen`` holds every request as (path, body)."""

    kind: str  # vllm, llama-server, llama-cpp-python, bare
    top: list[dict[str, Any]] = field(default_factory=lambda: _top(A=-0.5, B=-1.5, C=-3.0))
    honours_bias: bool = True
    seen: list[tuple[str, Any]] = field(default_factory=list)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def paths(self) -> list[str]:
        return [path for path, _ in self.seen]

    def bodies(self, path: str) -> list[Any]:
        return [body for seen, body in self.seen if seen == path]

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        body = json.loads(request.content) if request.content else None
        self.seen.append((path, body))
        if path == "/v1/models":
            return httpx.Response(200, json={"object": "list", "data": [{"id": "m"}]})
        if path == "/tokenize" and self.kind == "vllm":
            tokens = [1, 2, 3, 4]  # the conversation up to the assistant's opening
            if not body.get("continue_final_message"):
                tokens += [5]  # the end-of-turn token
            return httpx.Response(200, json={"tokens": tokens, "count": len(tokens)})
        if path == "/apply-template" and self.kind == "llama-server":
            last = body["messages"][-1]["content"]
            return httpx.Response(200, json={"prompt": TEMPLATE.format("...") + last})
        if path == "/extras/tokenize" and self.kind == "llama-cpp-python":
            return httpx.Response(200, json={"tokens": [OPENING_ID] if body["input"] else []})
        if path == "/v1/chat/completions":
            return httpx.Response(200, json=self.chat(body))
        if path == "/v1/completions":
            top = {t["token"]: t["logprob"] for t in self.top}
            return httpx.Response(200, json={"choices": [{"text": "A", "logprobs": {
                "tokens": ["A"], "token_logprobs": [-0.5], "top_logprobs": [top]}}]})
        return httpx.Response(404, json={"detail": "Not Found"})

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        content = []
        top = self.top[: body["top_logprobs"]]
        if "logit_bias" in body:
            opening = "(" if self.honours_bias else "I"
            content.append({"token": opening, "logprob": -1.4, "top_logprobs": _top(I=-1.2)})
            # llama-cpp-python appends the token it wrote (the biased opening) to the list
            top = [*top, {"token": "(", "logprob": -17.0}]
        content.append({"token": "A", "logprob": -0.5, "top_logprobs": top})
        return {"choices": [{"index": 0, "message": {"role": "assistant", "content": "A"},
                             "logprobs": {"content": content}}]}


def _subject(stub: Stub, **kwargs: Any) -> OpenAISubject:
    return OpenAISubject("m", URL, transport=stub.transport(), **kwargs)


def _labelled(n: int = 1) -> list[ChoiceRequest]:
    return [ChoiceRequest((Message(role="user", content=f"Question {i}?\n\nChoices:\n (A) Yes"
                                                        "\n (B) No"),), ("(A)", "(B)"))
            for i in range(n)]


def test_vllm_continues_the_prefilled_opening() -> None:
    stub = Stub("vllm")
    subject = _subject(stub)
    assert subject.score_choices(_labelled()) == [[-0.5, -1.5]]
    assert subject.route == "continue" and subject.info.prompt_format == "chat"
    (body,) = stub.bodies("/v1/chat/completions")
    assert body["messages"][-1] == {"role": "assistant", "content": "("}
    assert body["add_generation_prompt"] is False and body["continue_final_message"] is True
    assert body["logprobs"] is True and body["top_logprobs"] == 20 and body["max_tokens"] == 1


def test_llama_server_continues_a_final_assistant_message_on_its_own() -> None:
    stub = Stub("llama-server")
    subject = _subject(stub)
    assert subject.score_choices(_labelled()) == [[-0.5, -1.5]]
    assert subject.route == "prefill"
    (body,) = stub.bodies("/v1/chat/completions")
    assert body["messages"][-1] == {"role": "assistant", "content": "("}
    assert "continue_final_message" not in body


def test_llama_cpp_python_forces_the_opening_and_reads_the_next_position() -> None:
    stub = Stub("llama-cpp-python")
    subject = _subject(stub)
    scores = subject.score_choices(_labelled())
    assert scores == [[-0.5, -1.5]] and subject.route == "forced"
    (body,) = stub.bodies("/v1/chat/completions")
    assert body["logit_bias"] == {str(OPENING_ID): FORCE_BIAS} and body["max_tokens"] == 2
    assert body["messages"][-1]["role"] == "user"  # no prefill: the server would close it


def test_the_forced_opening_does_not_lower_the_floor() -> None:
    # An answer missing from the top tokens gets the smallest of the top ones asked for, not
    # the appended biased opening's log-probability.
    stub = Stub("llama-cpp-python", top=_top(A=-0.5, D=-2.0, E=-2.5, F=-3.0))
    scores = _subject(stub, top_logprobs=3).score_choices(_labelled())
    assert scores == [[-0.5, -2.5]]


def test_the_route_is_found_once() -> None:
    stub = Stub("llama-cpp-python")
    subject = _subject(stub)
    subject.score_choices(_labelled(3))
    subject.score_choices(_labelled(2))
    detection = [p for p in stub.paths() if p in ("/tokenize", "/apply-template",
                                                  "/extras/tokenize")]
    assert detection == ["/tokenize", "/tokenize", "/apply-template", "/extras/tokenize",
                         "/extras/tokenize"]
    assert len(stub.bodies("/v1/chat/completions")) == 5


def test_a_server_that_ignores_continue_final_message_is_not_trusted() -> None:
    class Ignoring(Stub):
        def handle(self, request: httpx.Request) -> httpx.Response:
            if request.url.path == "/tokenize":  # same tokens whatever it is asked
                self.seen.append(("/tokenize", None))
                return httpx.Response(200, json={"tokens": [1, 2, 3, 4, 5]})
            return super().handle(request)

    with pytest.raises(CapabilityError, match="neither continues"):
        _subject(Ignoring("bare")).score_choices(_labelled())


def test_no_route_says_what_to_run_instead() -> None:
    stub = Stub("bare")
    with pytest.raises(CapabilityError, match=r"--format plain .* --samples N"):
        _subject(stub).score_choices(_labelled())
    assert not stub.bodies("/v1/chat/completions")  # failed before any item was sent


def test_answers_without_a_shared_opening_need_no_route() -> None:
    stub = Stub("bare", top=_top(Yes=-0.2, No=-1.8))
    subject = _subject(stub)
    request = ChoiceRequest((Message(role="user", content="Stay on?"),), ("Yes", "No"))
    assert subject.score_choices([request]) == [[-0.2, -1.8]]
    assert subject.route is None
    (body,) = stub.bodies("/v1/chat/completions")
    assert body["messages"][-1]["role"] == "user" and "logit_bias" not in body


def test_a_server_that_ignores_logit_bias_fails_clearly() -> None:
    stub = Stub("llama-cpp-python", honours_bias=False)
    with pytest.raises(ServerError, match=r"ignores logit_bias.*use --format plain"):
        _subject(stub).score_choices(_labelled())


def test_no_answer_among_the_top_tokens_is_an_error() -> None:
    stub = Stub("vllm", top=_top(I=-0.5, The=-1.0))
    with pytest.raises(CapabilityError, match="none of the answers"):
        _subject(stub).score_choices(_labelled())


def test_chat_without_logprobs_is_a_capability_error() -> None:
    stub = Stub("vllm", top=[])
    with pytest.raises(CapabilityError, match="no top log-probabilities from /chat"):
        _subject(stub).score_choices(_labelled())


def test_plain_format_scores_through_completions() -> None:
    stub = Stub("vllm")
    subject = _subject(stub, prompt_format="plain")
    scores = subject.score_choices(_labelled())
    assert subject.info.prompt_format == "plain"
    assert np.allclose(scores, [[-0.5, -1.5]])
    assert "/v1/chat/completions" not in stub.paths() and "/tokenize" not in stub.paths()
    (body,) = stub.bodies("/v1/completions")
    assert body["prompt"].endswith("Assistant: (")
