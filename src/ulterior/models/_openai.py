"""Subjects behind an OpenAI-compatible HTTP server (vLLM, llama.cpp server, Ollama, ...)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from ulterior.errors import CapabilityError, ContextLengthError, ServerError, UsageError
from ulterior.models._base import (
    Capabilities,
    ChoiceRequest,
    Conversation,
    GenerationSettings,
    Subject,
)
from ulterior.models._prompt import PromptFormat
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


class OpenAISubject(Subject):
    """A model served over the OpenAI HTTP API.

    ``generate`` uses ``/chat/completions`` (the server applies its chat template).
    ``score_choices`` uses ``/completions`` with ``echo`` and ``logprobs``: the server returns
    the log-probability of every prompt token, and ulterior sums those of the answer. The
    prompt is rendered in the plain ``Human: ... Assistant:`` format, because the completions
    endpoint takes raw text and the client has no tokenizer to apply a chat template.

    Args:
        model: Model name the server knows.
        base_url: Server URL ending in ``/v1``.
        timeout_s: Per-request timeout.
        concurrency: Requests in flight at once.
    """

    capabilities = Capabilities(generate=True, score_choices=True, activations=False)

    def __init__(
        self, model: str, base_url: str, *, timeout_s: float = 120.0, concurrency: int = 4
    ) -> None:
        self.model = model
        self.base_url = base_url
        self.format = PromptFormat("plain")
        self.concurrency = concurrency
        headers = {}
        if key := os.environ.get(API_KEY_ENV):
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.Client(base_url=base_url, timeout=timeout_s, headers=headers)

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
            text = response.text[:200].replace("\n", " ")
            if "context" in text.lower() and ("length" in text.lower() or "window" in text):
                raise ContextLengthError(f"the server says the prompt is too long: {text}")
            raise ServerError(f"{self.base_url}{path} answered {response.status_code}: {text}")
        data: dict[str, Any] = response.json()
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
        """Summed prompt log-probabilities of each answer, from echoed completions."""
        jobs = [
            (self.format.render(r.conversation), self.format.continuation(c))
            for r in requests
            for c in r.choices
        ]
        with ThreadPoolExecutor(self.concurrency) as pool:
            flat = list(pool.map(lambda job: self._answer_logprob(*job), jobs))
        results: list[list[float]] = []
        for request in requests:
            results.append(flat[: len(request.choices)])
            flat = flat[len(request.choices) :]
        return results

    def _answer_logprob(self, prompt: str, continuation: str) -> float:
        data = self._post(
            "/completions",
            {
                "model": self.model,
                "prompt": prompt + continuation,
                "max_tokens": 1,
                "temperature": 0.0,
                "echo": True,
                "logprobs": 1,
            },
        )
        logprobs = data["choices"][0].get("logprobs") or {}
        offsets = logprobs.get("text_offset")
        values = logprobs.get("token_logprobs")
        if not offsets or not values:
            raise CapabilityError(
                f"{self.base_url} returned no prompt log-probabilities; start the server with "
                "them enabled (llama.cpp: --logits_all true; vLLM supports echo by default)"
            )
        start, stop = len(prompt), len(prompt) + len(continuation)
        # Token i covers text from offsets[i]; the answer's tokens start at or after the
        # prompt's end. Tokens past the answer are the one generated token: skip them.
        picked = [
            float(v) for o, v in zip(offsets, values, strict=False)
            if start <= o < stop and v is not None
        ]
        if not picked:
            raise ServerError(f"{self.base_url} returned logprobs that do not cover the answer")
        return sum(picked)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()
