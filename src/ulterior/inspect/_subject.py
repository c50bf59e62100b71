"""``inspect:PROVIDER/MODEL``: any Inspect model as an ulterior subject.

``ulterior audit -m 'inspect:vllm/meta-llama/Llama-3.1-8B-Instruct,base_url=http://h:8000/v1'``
sends every request through Inspect's model layer (its providers, retries and connection
limits). Model args follow the name, comma-separated, as ``-M`` takes them.

Every provider generates, so the sampled estimator (``--samples N``) always works. Choices
are scored from top log-probabilities only where the provider returns them *and* continues a
prefilled reply (the label must be the next token after the answer opening): the providers
in :data:`PREFILL_PROVIDERS`. The capability is set at load, from one probe request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import yaml

from ulterior.errors import CapabilityError, ServerError, UsageError
from ulterior.inspect._dataset import chat_messages
from ulterior.inspect._replay import LABEL_SCORER
from ulterior.inspect._scoring import (
    PREFILL_PROVIDERS,
    TOP_LOGPROBS,
    greedy,
    label_logprobs,
)
from ulterior.models import (
    Capabilities,
    ChoiceRequest,
    Conversation,
    GenerationSettings,
    Subject,
    split_answers,
)
from ulterior.records import Message, SubjectInfo


def parse_inspect_spec(rest: str) -> tuple[str, dict[str, Any]]:
    """Split ``PROVIDER/MODEL,key=value,...`` into the model name and its model args.

    Values are read as YAML scalars, as Inspect's ``-M`` reads them (``false``, ``8``).

    Raises:
        UsageError: No provider, or an arg without ``=``.
    """
    name, *pairs = rest.split(",")
    if "/" not in name or name.startswith("/") or name.endswith("/"):
        raise UsageError(f"bad inspect spec 'inspect:{rest}'; write inspect:PROVIDER/MODEL, "
                         "e.g. inspect:vllm/meta-llama/Llama-3.1-8B-Instruct")
    args: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"inspect:{rest}: model arg {pair!r} is not KEY=VALUE")
        args[key.strip()] = yaml.safe_load(value)
    return name, args


class InspectSubject(Subject):
    """A model reached through Inspect's ``get_model``; see the module docstring."""

    choice_scorer = LABEL_SCORER

    def __init__(self, rest: str, **model_args: Any) -> None:
        """Load ``PROVIDER/MODEL[,ARG=VALUE...]``; from Python, more model args as keywords."""
        from inspect_ai.model import get_model

        self.spec_rest = rest
        name, args = parse_inspect_spec(rest)
        args.update(model_args)
        self.provider = name.split("/", 1)[0]
        self._loop = asyncio.new_event_loop()  # one loop: Inspect's clients are bound to it
        try:
            # not memoized: this subject closes its model's clients with its own event loop
            self._model = get_model(name, memoize=False, **args)
        except Exception as exc:  # a provider raises its own kinds for a bad name or arg
            self._loop.close()
            raise UsageError(f"inspect:{rest}: Inspect cannot load this model "
                             f"({type(exc).__name__}: {exc})") from None
        self.capabilities = Capabilities(
            generate=True, score_choices=self._scores_labels(), score_text=False)

    @property
    def info(self) -> SubjectInfo:
        """Identity: the model name and its args, as given."""
        return SubjectInfo(spec=f"inspect:{self.spec_rest}", backend="inspect",
                           fingerprint=f"inspect:{self.spec_rest}", prompt_format="chat")

    def _run(self, coroutines: Sequence[Any]) -> list[Any]:
        async def together() -> list[Any]:
            return list(await asyncio.gather(*coroutines))

        try:
            return self._loop.run_until_complete(together())
        except (UsageError, CapabilityError):
            raise
        except Exception as exc:  # after Inspect's own retries: the provider failed
            raise ServerError(f"inspect:{self.spec_rest}: {type(exc).__name__}: {exc}") from exc

    def _scores_labels(self) -> bool:
        """Whether choices can be scored: prefill is served and log-probabilities come back."""
        if self.provider not in PREFILL_PROVIDERS:
            return False
        from inspect_ai.model import GenerateConfig

        probe = chat_messages([Message(role="user", content="Answer yes or no: is 2 > 1?")])
        try:
            output = self._run([self._model.generate(probe, config=GenerateConfig(
                max_tokens=1, logprobs=True, top_logprobs=2))])[0]
        except CapabilityError:  # the provider says it has none
            return False
        choice = output.choices[0] if output.choices else None
        return bool(choice is not None and choice.logprobs and choice.logprobs.content)

    def generate(self, conversations: Sequence[Conversation],
                 settings: GenerationSettings | None = None) -> list[str]:
        """Replies through Inspect, all in flight within its connection limit."""
        from inspect_ai.model import GenerateConfig

        settings = settings or GenerationSettings()
        if settings.temperature > 0:
            config = GenerateConfig(max_tokens=settings.max_new_tokens, seed=settings.seed,
                                    temperature=settings.temperature, top_p=1.0)
        else:
            temperature, top_k = greedy(self.provider)
            config = GenerateConfig(max_tokens=settings.max_new_tokens, seed=settings.seed,
                                    temperature=temperature, top_k=top_k)
        outputs = self._run([self._model.generate(chat_messages(c), config=config)
                             for c in conversations])
        return [o.completion.strip() for o in outputs]

    def score_choices(self, requests: Sequence[ChoiceRequest]) -> list[list[float]]:
        """Each answer's label log-probability after the prefilled answer opening."""
        if not self.capabilities.score_choices:
            why = ("does not continue a prefilled reply" if self.provider not in
                   PREFILL_PROVIDERS else "returned no log-probabilities")
            raise CapabilityError(f"{self.info.spec} {why}, so its choices cannot be scored "
                                  "from log-probabilities; estimate from sampled answers "
                                  "with --samples N")
        from inspect_ai.model import ChatMessageAssistant, GenerateConfig

        config = GenerateConfig(max_tokens=1, logprobs=True, top_logprobs=TOP_LOGPROBS,
                                temperature=0.0)
        # every request's answers checked before any goes out
        openings = [split_answers([a.strip() for a in r.choices])[0] for r in requests]
        outputs = self._run([
            self._model.generate([*chat_messages(r.conversation),
                                  *([ChatMessageAssistant(content=o)] if o else [])],
                                 config=config)
            for r, o in zip(requests, openings, strict=True)])
        return [label_logprobs(output, self.info.spec, r.choices)
                for r, output in zip(requests, outputs, strict=True)]

    def close(self) -> None:
        """Close the model's clients, then the event loop they live in."""
        if not self._loop.is_closed():
            self._loop.run_until_complete(self._model.api.aclose())
            self._loop.close()
