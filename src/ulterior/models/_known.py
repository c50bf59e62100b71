"""A subject whose choice probabilities are known: the yardstick of an estimator.

It answers every presentation by sampling one of its answers with the probabilities a
function of the conversation gives, and scores choices with the logs of the same
probabilities. An estimator run on it can be held against the truth: the log-probability
estimator reads the probabilities exactly, the sampled estimator estimates them.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence

import numpy as np

from ulterior.models._base import Capabilities, ChoiceRequest, GenerationSettings, Subject
from ulterior.models._prompt import Conversation, render_plain
from ulterior.records import SubjectInfo

# The conversation as sent -> (the answers it offers, their probabilities).
Chooser = Callable[[Conversation], tuple[Sequence[str], Sequence[float]]]


class KnownChoices(Subject):
    """Answers drawn with known probabilities; ``name`` tells one chooser from another."""

    capabilities = Capabilities(generate=True, score_choices=True, activations=False,
                                score_text=True)

    def __init__(self, chooser: Chooser, name: str = "known-choices") -> None:
        self.chooser = chooser
        self.name = name

    @property
    def info(self) -> SubjectInfo:
        """Identity of this subject."""
        return SubjectInfo(spec=f"fake:{self.name}", backend="fake",
                           fingerprint=f"fake:{self.name}:v1", prompt_format="plain")

    def score_choices(self, requests: Sequence[ChoiceRequest]) -> list[list[float]]:
        """The logs of the known probabilities of the requested answers."""
        out = []
        for request in requests:
            answers, probabilities = self.chooser(request.conversation)
            known = dict(zip(answers, probabilities, strict=True))
            out.append([math.log(known[c]) if known[c] > 0 else -1e9
                        for c in request.choices])
        return out

    def next_token_logprobs(self, conversation: Conversation, opening: str,
                            k: int) -> list[tuple[str, float]]:
        """The answers' texts after ``opening``, likeliest first, as a server's top tokens."""
        answers, probabilities = self.chooser(conversation)
        listed = [(a.strip()[len(opening):], math.log(p)) for a, p in
                  zip(answers, probabilities, strict=True) if p > 0]
        return sorted(listed, key=lambda pair: -pair[1])[:k]

    def generate(self, conversations: Sequence[Conversation],
                 settings: GenerationSettings | None = None) -> list[str]:
        """One answer per conversation, drawn with its known probabilities.

        The draw depends on the seed and the conversation only, so a batch's composition
        never changes it.
        """
        settings = settings or GenerationSettings()
        replies = []
        for conversation in conversations:
            answers, probabilities = self.chooser(conversation)
            digest = hashlib.sha256(render_plain(conversation).encode()).digest()
            rng = np.random.default_rng([settings.seed, int.from_bytes(digest[:8], "little")])
            replies.append(f"{answers[int(rng.choice(len(answers), p=probabilities))]} "
                           "is my answer.")
        return replies
