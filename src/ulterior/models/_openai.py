"""Subjects behind an OpenAI-compatible HTTP server (vLLM, llama.cpp server, Ollama, ...)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np

from ulterior.errors import CapabilityError, ContextLengthError, ServerError, UsageError
from ulterior.models._base import (
    Capabilities,
    ChoiceRequest,
    GenerationSettings,
    Subject,
)
from ulterior.models._prompt import Conversation, PromptFormat
from ulterior.records import SubjectInfo

API_KEY_ENV = "OPENAI_API_KEY"


def parse_openai_spec(rest: str) -> tuple[str, str]:
    """Split ``MODEL@URL`` into model name and base URL (ending in ``/v1``)."""
    model, sep, url = rest.rpartition("@")
    if not sep or not model or not url.startswith(("http://", "https://")):
        raise UsageError(
            f"bad openai spec 'openai:{rest}'; write openai:MODEL@URL, "
            "e.g. openai:smollm2@http://127.0.0.1:8000/v1"
        )
    return model, url.rstrip("/")


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def summarize_body(response: httpx.Response, limit: int = 160) -> str:
    """A server's answer in one short line: its error message, a page's title, or text."""
    import html
    import re

    data = _json_or_none(response)
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data.get("message")))
        if isinstance(error, dict):
            error = error.get("message", error)
        text = str(error if error is not None else data)
    else:
        raw = response.text
        title = re.search(r"<title[^>]*>(.*?)</title>", raw, re.IGNORECASE | re.DOTALL)
        if title is not None:
            text = f"an HTML page titled {html.unescape(title.group(1)).strip()!r}"
        elif "<" in raw and ">" in raw:
            text = "an HTML page: " + html.unescape(re.sub(r"<[^>]+>", " ", raw))
        else:
            text = raw
    text = " ".join(text.split()) or "an empty answer"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class OpenAISubject(Subject):
    """A model served over the OpenAI HTTP API.

    ``generate`` uses ``/chat/completions`` (the server applies its chat template).
    ``score_choices`` uses ``/completions`` with ``logprobs`` (see there). Its prompt is
    rendered in the plain ``Human: ... Assistant:`` format, because the completions endpoint
    takes raw text and the client has no tokenizer to apply a chat template.

    Args:
        model: Model name the server knows.
        base_url: Server URL ending in ``/v1``.
        timeout_s: Per-request timeout.
        concurrency: Requests in flight at once.
        top_logprobs: Next-token alternatives to ask for (OpenAI allows at most 20).
    """

    capabilities = Capabilities(generate=True, score_choices=True, activations=False)

    def __init__(
        self,
        model: str,
        base_url: str,
        *,
        timeout_s: float = 120.0,
        concurrency: int = 4,
        top_logprobs: int = 20,
    ) -> None:
        self.model = model
        self.top_logprobs = top_logprobs
        self.base_url = base_url
        self.format = PromptFormat("plain")
        self.concurrency = concurrency
        headers = {}
        if key := os.environ.get(API_KEY_ENV):
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.Client(base_url=base_url, timeout=timeout_s, headers=headers)
        self._check_reachable()

    def _check_reachable(self) -> None:
        """Fail at load time, before any run is recorded, unless an OpenAI API answers.

        ``GET /models`` must answer 200 with a JSON object holding a ``data`` list, as
        every OpenAI-compatible server does; any other web server fails here.
        """
        try:
            response = self._client.get("/models", timeout=10.0)
        except httpx.TransportError as exc:
            self._client.close()
            raise ServerError(
                f"cannot reach {self.base_url} ({type(exc).__name__}); is the server running "
                "and is the URL in openai:MODEL@URL right?"
            ) from None
        problem = None
        listing = _json_or_none(response)
        if response.status_code in (401, 403):
            problem = (f"refused access ({response.status_code}: {summarize_body(response)}); "
                       f"set {API_KEY_ENV}")
        elif response.status_code >= 400:
            problem = (f"answered GET /models with {response.status_code} "
                       f"({summarize_body(response)}); is it an OpenAI-compatible server, and "
                       "does the URL end in /v1?")
        elif not isinstance(listing, dict) or not isinstance(listing.get("data"), list):
            problem = (f"answered GET /models with something other than an OpenAI model list "
                       f"({summarize_body(response)}); is it an OpenAI-compatible server, and "
                       "does the URL end in /v1?")
        if problem is not None:
            self._client.close()
            raise ServerError(f"{self.base_url} {problem}")

    @property
    def info(self) -> SubjectInfo:
        """Identity of this subject (the server's model name and URL)."""
        return SubjectInfo(
            spec=f"openai:{self.model}@{self.base_url}",
            backend="openai",
            fingerprint=f"openai:{self.model}@{self.base_url}",
            prompt_format="plain",
        )

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._client.post(path, json=payload)
        except httpx.TransportError as exc:
            raise ServerError(
                f"cannot reach {self.base_url} ({type(exc).__name__}); is the server running "
                "and is the URL in openai:MODEL@URL right?"
            ) from exc
        if response.status_code >= 400:
            text = summarize_body(response)
            if "context" in text.lower() and ("length" in text.lower() or "window" in text):
                raise ContextLengthError(f"the server says the prompt is too long: {text}")
            raise ServerError(f"{self.base_url}{path} answered {response.status_code}: {text}")
        data = _json_or_none(response)
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list) or not (
                data["choices"]) or not isinstance(data["choices"][0], dict):
            raise ServerError(f"{self.base_url}{path} answered without OpenAI-shaped choices "
                              f"({summarize_body(response)})")
        return data

    def generate(
        self, conversations: Sequence[Conversation], settings: GenerationSettings | None = None
    ) -> list[str]:
        """Chat completions, one request per conversation, a few in flight at once."""
        settings = settings or GenerationSettings()

        def one(conversation: Conversation) -> str:
            data = self._post(
                "/chat/completions",
                {
                    "model": self.model,
                    "messages": [{"role": m.role, "content": m.content} for m in conversation],
                    "max_tokens": settings.max_new_tokens,
                    "temperature": settings.temperature,
                    "seed": settings.seed,
                },
            )
            return str(data["choices"][0]["message"]["content"] or "").strip()

        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(one, conversations))

    def score_choices(self, requests: Sequence[ChoiceRequest]) -> list[list[float]]:
        """Log-probability of each answer's first distinguishing token, one request per item.

        The prompt is extended by the text all answers share (``" ("`` for labelled options),
        and the server's top next-token log-probabilities are read: each answer gets the
        log-sum-exp over the listed tokens its remaining text starts with. For labelled
        options this is exact up to a factor common to all answers, which cancels when the
        answers are normalized. An answer not among the top tokens gets the smallest listed
        log-probability, an upper bound.

        Why not ``echo`` with prompt log-probabilities: OpenAI's own API no longer offers it,
        and llama-cpp-python's server returns them shifted by one position.
        """
        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(self._score_one, requests))

    def _score_one(self, request: ChoiceRequest) -> list[float]:
        prompt = self.format.render(request.conversation)
        continuations = [self.format.continuation(c) for c in request.choices]
        shared = os.path.commonprefix(continuations)  # noqa: RUF071 - characters, on purpose
        shared = shared[: len(shared.rstrip())]  # never end the prompt in whitespace
        rests = [c[len(shared) :] for c in continuations]
        if any(not rest for rest in rests):
            raise CapabilityError(
                "over HTTP, answers are told apart by their first differing token; "
                f"one answer of {request.choices} is a prefix of another"
            )
        top = self._next_token_logprobs(prompt + shared)
        floor = min(top.values())
        scores = []
        for rest in rests:
            matches = [lp for token, lp in top.items() if token and rest.startswith(token)]
            scores.append(float(np.logaddexp.reduce(matches)) if matches else floor)
        if all(score == floor for score in scores) and len(top) > 1:
            raise ServerError(
                f"none of the answers {request.choices} is among the server's top "
                f"{len(top)} next tokens; check the prompt format"
            )
        return scores

    def _next_token_logprobs(self, prompt: str) -> dict[str, float]:
        data = self._post(
            "/completions",
            {"model": self.model, "prompt": prompt, "max_tokens": 1, "temperature": 0.0,
             "logprobs": self.top_logprobs},
        )
        logprobs = data["choices"][0].get("logprobs") or {}
        top = (logprobs.get("top_logprobs") or [None])[0]
        if not top:
            raise CapabilityError(
                f"{self.base_url} returned no top log-probabilities for the next token; "
                "use a server whose /completions endpoint supports `logprobs`"
            )
        return {str(token): float(value) for token, value in top.items()}

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()
