"""A suite's requests as Inspect samples: one per presentation of an item, one per free reply.

Each sample carries the pairing metadata a user filters and groups by (the item, its unit,
cue family and framing, the option order) and, under ``ulterior``, what the scorer needs to
read the answer back into the suite: the presented answers, the studied one, the keys.
"""

from __future__ import annotations

from typing import Any, Literal

from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageUser,
)

from ulterior.inspect._replay import choice_key, conversation_key
from ulterior.models import Conversation, split_answers
from ulterior.scenarios import presentations
from ulterior.suites import Suite, SuiteSettings

Estimator = Literal["logprobs", "sampled"]


def chat_messages(conversation: Conversation) -> list[ChatMessage]:
    """Ulterior's messages as Inspect's."""
    kinds = {"system": ChatMessageSystem, "user": ChatMessageUser,
             "assistant": ChatMessageAssistant}
    return [kinds[m.role](content=m.content) for m in conversation]


def _jsonable(metadata: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, str | int | float | bool) or v is None else str(v)
            for k, v in metadata.items()}


def suite_samples(suite: Suite, settings: SuiteSettings, estimator: Estimator) -> list[Sample]:
    """Every presentation the suite scores (both option orders) and every free reply it reads.

    With the ``logprobs`` estimator the answers' shared opening is prefilled as an
    assistant turn; the ``sampled`` estimator shows the conversation as it is.
    """
    samples = []
    for item in suite.items(settings):
        for shown in presentations(item, counterbalance=True):
            # the label's opening, prefilled so that the next token is the label itself
            opening = (split_answers([a.strip() for a in shown.answers])[0]
                       if estimator == "logprobs" else "")
            prefill = [ChatMessageAssistant(content=opening)] if opening else []
            samples.append(Sample(
                id=f"{item.id}#{shown.condition}",
                input=[*chat_messages(shown.messages), *prefill],
                target=shown.answers[shown.target] if shown.target is not None else "",
                metadata={
                    **_jsonable(item.metadata), "suite": suite.name, "item": item.id,
                    "option_order": shown.condition.removeprefix("order="),
                    "ulterior": {
                        "kind": estimator, "answers": list(shown.answers),
                        "studied": shown.target, "opening": opening,
                        "choice_key": choice_key(shown.messages, shown.answers),
                        "conversation_key": conversation_key(shown.messages),
                    },
                },
            ))
    for reply_id, conversation in suite.reply_prompts(settings):
        samples.append(Sample(
            id=f"{suite.name}/reply/{reply_id}", input=chat_messages(conversation),
            metadata={"suite": suite.name, "item": reply_id, "ulterior": {
                "kind": "reply", "conversation_key": conversation_key(conversation)}},
        ))
    return samples


def expected_samples(suite: Suite, settings: SuiteSettings) -> int:
    """How many samples :func:`suite_samples` gives (the same for either estimator)."""
    return (sum(len(presentations(item, counterbalance=True)) for item in suite.items(settings))
            + len(suite.reply_prompts(settings)))


def suite_dataset(suite: Suite, settings: SuiteSettings, estimator: Estimator) -> MemoryDataset:
    """:func:`suite_samples` as a named Inspect dataset."""
    return MemoryDataset(suite_samples(suite, settings, estimator),
                         name=f"ulterior/{suite.name}")
