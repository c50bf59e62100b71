"""``--model ulterior/SPEC``: any ulterior subject as an Inspect model.

``inspect eval ulterior/oversight_gap --model ulterior/smollm2-135m`` runs the bundled model
through Inspect exactly as ``ulterior audit`` renders it (its chat template, or ``-M
prompt_format=plain``). A prefilled assistant turn is continued, and a log-probability
request returns the next token's top log-probabilities, as vLLM does; local models (``hf:``,
``gguf:``, ``organism:``, the bundled ones) answer those, any subject generates.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessage,
    ChatMessageAssistant,
    GenerateConfig,
    Logprob,
    Logprobs,
    ModelAPI,
    ModelOutput,
    TopLogprob,
    modelapi,
)
from inspect_ai.tool import ToolChoice, ToolInfo

from ulterior.errors import CapabilityError, UsageError
from ulterior.models import GenerationSettings, LoadOptions, Placement, Subject, load_subject
from ulterior.records import Message
from ulterior.store import default_cache_dir

T = TypeVar("T")


def split_prefill(messages: list[ChatMessage]) -> tuple[list[Message], str]:
    """Ulterior's conversation and the prefilled start of the reply ('' when none).

    Raises:
        UsageError: A message is neither system, user nor assistant (tools are not served).
    """
    conversation = []
    for message in messages:
        if message.role not in ("system", "user", "assistant"):
            raise UsageError(f"ulterior/ models take system, user and assistant messages, "
                             f"not {message.role}")
        conversation.append(Message(role=message.role, content=message.text))
    if conversation and conversation[-1].role == "assistant":
        return conversation[:-1], conversation[-1].content
    return conversation, ""


@modelapi(name="ulterior")
class UlteriorModelAPI(ModelAPI):
    """An ulterior subject behind Inspect's model interface.

    Model args (``-M``): ``dtype`` (``auto``, ``float32``, ``mixed``, ``bfloat16``,
    ``float16``), ``device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``), ``prompt_format``
    (``chat`` or ``plain``), ``cache_dir``, ``organisms_dir``; from Python, ``subject=``
    hands over a subject already built.
    """

    def __init__(self, model_name: str, base_url: str | None = None,
                 api_key: str | None = None, config: GenerateConfig | None = None,
                 subject: Subject | None = None, dtype: str = "auto",
                 prompt_format: str | None = None, cache_dir: str | None = None,
                 organisms_dir: str | None = None, device: str = "auto",
                 **unknown: Any) -> None:
        super().__init__(model_name=model_name, base_url=base_url, api_key=api_key,
                         config=config or GenerateConfig())
        if unknown:
            raise UsageError(f"ulterior/ models take no model args {sorted(unknown)}; "
                             "use dtype, device, prompt_format, cache_dir or organisms_dir")
        self.subject = subject if subject is not None else load_subject(
            model_name, LoadOptions(
                cache_dir=Path(cache_dir) if cache_dir else default_cache_dir(),
                dtype=dtype,  # type: ignore[arg-type]
                prompt_format=prompt_format,  # type: ignore[arg-type]
                organisms_dir=Path(organisms_dir) if organisms_dir else None,
                placement=Placement(device=device)))
        # One forward at a time: a model is not thread-safe. A thread lock, not an asyncio
        # one, since Inspect may reuse this model in another event loop.
        self._lock = threading.Lock()

    def max_connections(self) -> int:
        """Samples in flight at once: the local model computes them one after another."""
        return 1

    async def aclose(self) -> None:
        """Release the subject."""
        self.subject.close()

    async def generate(self, input: list[ChatMessage], tools: list[ToolInfo],
                       tool_choice: ToolChoice, config: GenerateConfig) -> ModelOutput:
        """A reply, or (``logprobs``) the next token's top log-probabilities."""
        if tools:
            raise UsageError("ulterior/ models do not call tools")
        conversation, opening = split_prefill(input)
        if config.logprobs:
            return await asyncio.to_thread(self._locked, self._next_token, conversation,
                                           opening, config)
        if opening:
            raise CapabilityError("ulterior/ models continue a prefilled reply only for "
                                  "log-probability requests (logprobs=True, max_tokens=1)")
        settings = GenerationSettings(max_new_tokens=config.max_tokens or 64,
                                      temperature=config.temperature or 0.0,
                                      seed=config.seed or 0)
        replies = await asyncio.to_thread(self._locked, self.subject.generate, [conversation],
                                          settings)
        return ModelOutput.from_content(self.model_name, replies[0])

    def _locked(self, compute: Callable[..., T], *args: Any) -> T:
        with self._lock:
            return compute(*args)

    def _next_token(self, conversation: list[Message], opening: str,
                    config: GenerateConfig) -> ModelOutput:
        reader = getattr(self.subject, "next_token_logprobs", None)
        if reader is None:
            raise CapabilityError(f"{self.model_name} returns no next-token log-probabilities; "
                                  "use a local model (hf:, gguf:, organism:, a bundled one)")
        if (config.max_tokens or 1) != 1:
            raise CapabilityError("ulterior/ models give log-probabilities of one token; set "
                                  "max_tokens=1")
        top = reader(conversation, opening, config.top_logprobs or 1)
        token, logprob = top[0]
        logprobs = Logprobs(content=[Logprob(
            token=token, logprob=logprob,
            top_logprobs=[TopLogprob(token=t, logprob=lp) for t, lp in top])])
        message = ChatMessageAssistant(content=token, model=self.model_name, source="generate")
        return ModelOutput(model=self.model_name, choices=[ChatCompletionChoice(
            message=message, stop_reason="max_tokens", logprobs=logprobs)])
