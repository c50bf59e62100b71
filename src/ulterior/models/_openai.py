"""Subjects behind an OpenAI-compatible HTTP server (vLLM, llama.cpp server, Ollama, ...)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import httpx
import numpy as np

from ulterior.errors import CapabilityError, ContextLengthError, ServerError, UsageError
from ulterior.models._base import (
    Capabilities,
    ChoiceRequest,
    GenerationSettings,
    Subject,
)
from ulterior.models._prompt import Conversation, FormatName, PromptFormat
from ulterior.models._top_logprobs import (
    TOP_LOGPROBS_SCORER,
    answer_logprobs,
    split_answers,
)
from ulterior.records import SubjectInfo

API_KEY_ENV = "OPENAI_API_KEY"

# How a chat server is made to read the answer after its opening (see OpenAISubject):
# ``continue``: the server continues a final assistant message when asked (vLLM);
# ``prefill``: it continues a final assistant message on its own (llama.cpp's llama-server);
# ``forced``: the opening is forced with logit_bias and read one token later
# (llama-cpp-python, which always closes the last message and opens a new turn).
Route = Literal["continue", "prefill", "forced"]

# Added to each opening token's logit on the forced route: far above any logit gap, so
# greedy decoding writes the opening; the labels are not biased, so their ratio is kept.
FORCE_BIAS = 100.0

# The conversation route detection renders; short, so detection costs little.
_PROBE = ({"role": "user", "content": "Pick one.\n\nChoices:\n (A) Yes\n (B) No"},)

_NO_ROUTE_ADVICE = ("use --format plain to score through /completions in the "
                    "Human/Assistant format, or --samples N to estimate from sampled answers")


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
    ``score_choices`` reads the server's top next-token log-probabilities (see there): in the
    ``chat`` format (the default, for instruction-tuned models) through
    ``/chat/completions``, so the model is read inside its own chat template; in the
    ``plain`` format (for base models) through ``/completions``, with the prompt rendered as
    ``Human: ... Assistant:`` because that endpoint takes raw text and the client has no
    tokenizer.

    Args:
        model: Model name the server knows.
        base_url: Server URL ending in ``/v1``.
        timeout_s: Per-request timeout.
        concurrency: Requests in flight at once.
        top_logprobs: Next-token alternatives to ask for (OpenAI allows at most 20).
        prompt_format: ``chat`` or ``plain``, as above.
        transport: The httpx transport to send requests through (None: the network); tests
            pass an ``httpx.MockTransport``.
    """

    capabilities = Capabilities(generate=True, score_choices=True, activations=False)
    choice_scorer = TOP_LOGPROBS_SCORER

    def __init__(
        self,
        model: str,
        base_url: str,
        *,
        timeout_s: float = 120.0,
        concurrency: int = 4,
        top_logprobs: int = 20,
        prompt_format: FormatName = "chat",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.model = model
        self.top_logprobs = top_logprobs
        self.base_url = base_url
        self.format = PromptFormat(prompt_format)
        self.concurrency = concurrency
        # Tokenize and template endpoints live beside /v1, not under it.
        self._root = base_url.removesuffix("/v1")
        self.route: Route | None = None  # found at the first chat scoring that needs one
        self._opening_ids: dict[str, list[int]] = {}
        headers = {}
        if key := os.environ.get(API_KEY_ENV):
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.Client(base_url=base_url, timeout=timeout_s, headers=headers,
                                    transport=transport)
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
            prompt_format=self.format.name,
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

        The text all answers share (``(`` for labelled options, after a space in the plain
        format) is their opening; the server's top log-probabilities for the token after it
        are read, and each answer gets the log-sum-exp over the listed tokens its remaining
        text starts with. For labelled options this is exact up to a factor common to all
        answers, which cancels when the answers are normalized. An answer not among the top
        tokens gets the smallest listed log-probability, an upper bound.

        In the chat format the opening must be part of the assistant's turn, which the chat
        API does not offer directly; the route the server allows is found once (see
        :meth:`detect_route`). Why not ``echo`` with prompt log-probabilities: OpenAI's own
        API no longer offers it, and llama-cpp-python's server returns them shifted by one
        position.
        """
        split = [self._split(request) for request in requests]
        if self.format.name == "chat":
            for opening in sorted({opening for opening, _ in split if opening}):
                self._prepare(opening)  # serially, before requests go out in parallel

        def one(index: int) -> list[float]:
            (opening, rests), request = split[index], requests[index]
            if self.format.name == "plain":
                prompt = self.format.render(request.conversation) + opening
                top = self._completion_logprobs(prompt)
            else:
                top = self._chat_logprobs(request.conversation, opening)
            return answer_logprobs(top, rests)

        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(one, range(len(requests))))

    def _split(self, request: ChoiceRequest) -> tuple[str, list[str]]:
        """The answers' shared opening, and what each answer adds to it."""
        return split_answers([self.format.continuation(c) for c in request.choices])

    def _completion_logprobs(self, prompt: str) -> dict[str, float]:
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

    # -- chat scoring -------------------------------------------------------------------

    def _prepare(self, opening: str) -> None:
        """Find the route once; on the forced route, learn the opening's token ids once."""
        if self.route is None:
            self.route = self.detect_route(opening)
        if self.route == "forced" and opening not in self._opening_ids:
            ids = self._token_ids(opening)
            if not ids:
                raise ServerError(f"{self._root}/extras/tokenize gave no tokens for "
                                  f"{opening!r}; {_NO_ROUTE_ADVICE}")
            self._opening_ids[opening] = ids

    def detect_route(self, opening: str = "(") -> Route:
        """How this server lets the answer follow ``opening`` inside the assistant's turn.

        Each check renders a short conversation the way a scoring request would and looks at
        the result, so a server that accepts a field but ignores it is not taken at its
        word: vLLM's ``/tokenize`` must leave the final message open under
        ``continue_final_message`` (its tokens a strict prefix of the closed message's);
        llama-server's ``/apply-template`` must end in the opening. Failing both, a
        llama-cpp-python server (``/extras/tokenize``) forces the opening with logit_bias.

        Raises:
            CapabilityError: No route works; the message says what to run instead.
        """
        messages = [*_PROBE, {"role": "assistant", "content": opening}]
        chat = {"model": self.model, "messages": messages}
        opened = self._probe("/tokenize", {**chat, "add_generation_prompt": False,
                                          "continue_final_message": True})
        closed = self._probe("/tokenize", {**chat, "add_generation_prompt": False})
        if opened is not None and closed is not None:
            o, c = opened.get("tokens"), closed.get("tokens")
            if isinstance(o, list) and isinstance(c, list) and 0 < len(o) < len(c) and (
                    c[: len(o)] == o):
                return "continue"
        rendered = self._probe("/apply-template", {"messages": messages})
        prompt = rendered.get("prompt") if rendered is not None else None
        if isinstance(prompt, str) and prompt.endswith(opening):
            return "prefill"
        ids = self._token_ids(opening)
        if ids:
            self._opening_ids[opening] = ids
            return "forced"
        raise CapabilityError(
            f"{self.base_url} cannot score answers in its chat template: it neither continues "
            "a prefilled assistant message (vLLM, llama-server) nor offers /extras/tokenize "
            f"for logit_bias (llama-cpp-python); {_NO_ROUTE_ADVICE}"
        )

    def _probe(self, path: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """A JSON object from an endpoint beside ``/v1``, or None where it does not answer."""
        try:
            response = self._client.post(self._root + path, json=payload)
        except httpx.TransportError as exc:
            raise ServerError(
                f"cannot reach {self._root} ({type(exc).__name__}); is the server running?"
            ) from exc
        data = _json_or_none(response) if response.status_code == 200 else None
        return data if isinstance(data, dict) else None

    def _token_ids(self, text: str) -> list[int] | None:
        """Token ids of ``text`` from llama-cpp-python's tokenizer, without a BOS it adds."""
        found = self._probe("/extras/tokenize", {"model": self.model, "input": text})
        empty = self._probe("/extras/tokenize", {"model": self.model, "input": ""})
        if found is None or empty is None:
            return None
        ids, bos = found.get("tokens"), empty.get("tokens")
        if not isinstance(ids, list) or not isinstance(bos, list):
            return None
        return [int(i) for i in (ids[len(bos) :] if ids[: len(bos)] == bos else ids)]

    def _chat_logprobs(self, conversation: Conversation, opening: str) -> dict[str, float]:
        """Top log-probabilities of the token after ``opening``, at the assistant turn's start."""
        messages = [{"role": m.role, "content": m.content} for m in conversation]
        body: dict[str, Any] = {"model": self.model, "max_tokens": 1, "temperature": 0.0,
                                "logprobs": True, "top_logprobs": self.top_logprobs}
        position = 0
        if opening and self.route == "continue":
            messages.append({"role": "assistant", "content": opening})
            body |= {"add_generation_prompt": False, "continue_final_message": True}
        elif opening and self.route == "prefill":
            messages.append({"role": "assistant", "content": opening})
        elif opening:  # forced; llama-cpp-python reports log-probabilities before the bias
            ids = self._opening_ids[opening]
            position = len(ids)
            body |= {"max_tokens": position + 1,
                     "logit_bias": {str(i): FORCE_BIAS for i in ids}}
        data = self._post("/chat/completions", {**body, "messages": messages})
        content = (data["choices"][0].get("logprobs") or {}).get("content") or []
        if position and "".join(str(t.get("token")) for t in content[:position]) != opening:
            written = "".join(str(t.get("token")) for t in content)
            raise ServerError(
                f"{self.base_url} did not write the forced opening {opening!r} (wrote "
                f"{written!r}): it ignores logit_bias, or the opening is several tokens; "
                f"{_NO_ROUTE_ADVICE}"
            )
        top = content[position].get("top_logprobs") if len(content) > position else None
        if not top:
            raise CapabilityError(
                f"{self.base_url} returned no top log-probabilities from /chat/completions; "
                f"{_NO_ROUTE_ADVICE}"
            )
        listed = sorted(((float(t["logprob"]), str(t["token"])) for t in top), reverse=True)
        # llama-cpp-python appends the token it wrote, here the biased opening; past the top
        # ones asked for it would lower the floor below an upper bound.
        merged: dict[str, float] = {}
        for value, token in listed[: self.top_logprobs]:  # tokens that read alike add up
            merged[token] = float(np.logaddexp(merged[token], value)) if token in merged else value
        return merged

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()
