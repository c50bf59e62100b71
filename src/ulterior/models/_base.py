from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from ulterior.errors import CapabilityError
from ulterior.models._prompt import Conversation, PromptFormat
from ulterior.records import SubjectInfo

Position = Literal["last", "mean", "all"]


@dataclass(frozen=True)
class Capabilities:
    """What a subject can do. Jobs check these before they start, not halfway through."""

    generate: bool = True
    score_choices: bool = False
    activations: bool = False
    # Scores any continuation (a whole reply, an option's text), not only the next token that
    # tells answers apart, as servers and Inspect providers do with top log-probabilities.
    score_text: bool = False


@dataclass(frozen=True)
class ChoiceRequest:
    """Score each of ``choices`` as the assistant's next words after ``conversation``.

    Attributes:
        conversation: The conversation so far, ending with a user turn.
        choices: Answer continuations, e.g. ``("(A)", "(B)")``. The subject's prompt format
            decides how they attach to the prompt (the plain format puts a space before).
        target: Index of the choice whose behaviour is studied. Real models never see it;
            scripted fake subjects use it to play their part.
    """

    conversation: Conversation
    choices: tuple[str, ...]
    target: int | None = None


@dataclass(frozen=True)
class GenerationSettings:
    """Sampling settings for :meth:`Subject.generate`. Greedy by default, for reproducibility."""

    max_new_tokens: int = 64
    temperature: float = 0.0
    seed: int = 0


@dataclass
class Activations:
    """Residual-stream activations: ``values[layer]`` is an fp32 array per text.

    For position ``last`` and ``mean`` each array has shape ``(n_texts, d_model)``; for
    ``all``, ``values[layer][i]`` has shape ``(n_tokens_i, d_model)``.
    """

    layers: tuple[int, ...]
    position: Position
    values: dict[int, list[np.ndarray]] = field(default_factory=dict)


class Subject(ABC):
    """A model under evaluation.

    Backends implement the capabilities they have and say so in :attr:`capabilities`.
    Methods take whole batches: the backend decides how to group them.
    """

    capabilities: Capabilities = Capabilities()
    # How score_choices reads an answer's log-probability: part of every observation's key.
    choice_scorer: str = "answer-logprob-sum/v1"

    @property
    @abstractmethod
    def info(self) -> SubjectInfo:
        """Identity of this subject, recorded with every observation."""

    @property
    def hidden_condition(self) -> str | None:
        """Ground truth, known only for model organisms: when their behaviour turns on.

        come-clean checks a confession against it; no detector reads it to decide a flag.
        """
        return None

    @property
    def max_context(self) -> int | None:
        """Longest prompt plus answer, in tokens, the subject accepts (None if unknown)."""
        return None

    def generate(
        self, conversations: Sequence[Conversation], settings: GenerationSettings | None = None
    ) -> list[str]:
        """Return the assistant's reply to each conversation."""
        raise CapabilityError(f"{self.info.spec} cannot generate text")

    def score_choices(self, requests: Sequence[ChoiceRequest]) -> list[list[float]]:
        """Return, per request, the summed log-probability of each choice continuation."""
        raise CapabilityError(
            f"{self.info.spec} cannot score choices; use a model with log-probabilities "
            "(a local hf/gguf model, or a server that returns prompt logprobs)"
        )

    def activations(
        self, texts: Sequence[str], layers: Sequence[int], position: Position = "last"
    ) -> Activations:
        """Return residual-stream activations of ``texts`` at ``layers`` (white-box only)."""
        raise CapabilityError(
            f"{self.info.spec} exposes no activations; use a local hf or gguf model"
        )

    def count_tokens(self, request: ChoiceRequest) -> int | None:
        """Tokens the longest prompt + choice of ``request`` takes, or None if unknown."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release resources (connections, memory)."""

    def __enter__(self) -> Subject:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@runtime_checkable
class WhiteBoxSubject(Protocol):
    """A subject whose weights and activations can be read (``hf``, ``gguf``, ``organism``).

    Attributes:
        model: The transformers causal LM the subject runs.
        tokenizer: Its tokenizer.
        format: How the subject renders conversations to text.
        compute_mode: The resolved compute mode (``float32``, ``mixed`` or ``bfloat16``)
            its forwards run in; activation capture computes in the same one.
    """

    model: Any
    tokenizer: Any
    format: PromptFormat
    compute_mode: str

    @property
    def info(self) -> SubjectInfo: ...


def white_box(subject: Subject) -> WhiteBoxSubject:
    """``subject`` as a white-box subject; CapabilityError when it exposes no weights."""
    if not subject.capabilities.activations or not isinstance(subject, WhiteBoxSubject):
        raise CapabilityError(
            f"{subject.info.spec} exposes no activations; use a local hf or gguf model"
        )
    return subject
