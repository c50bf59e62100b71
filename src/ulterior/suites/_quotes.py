"""Quoting the items behind a flagged readout: prompts, options and replies, shortened."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ulterior.records import Example, Item, Message, QuotedItem

QUOTE_CHARS = 400  # a prompt or reply is shortened to about this many characters


def shorten(text: str, limit: int = QUOTE_CHARS) -> str:
    """``text`` cut to at most ``limit`` characters, an ellipsis marking the cut."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _variants(ids: Sequence[str]) -> list[str]:
    """What sets each id apart from the others: the ``/``-segments after those all share."""
    parts = [i.split("/") for i in ids]
    shared = 0
    while all(len(p) > shared and p[shared] == parts[0][shared] for p in parts):
        shared += 1
    return ["/".join(p[shared:]) for p in parts]


@dataclass(frozen=True)
class Reply:
    """A generated reply to quote beside a flagged row: what was asked, and what was said.

    Attributes:
        id: The id of the prompt (the item shown, or the free-text prompt).
        unit: The unit of the row's difference the reply belongs to, as given to
            :meth:`Readout.contrast`.
        messages: The conversation the subject replied to.
        text: The reply.
    """

    id: str
    unit: str
    messages: tuple[Message, ...]
    text: str


def _quoted(item_id: str, messages: Sequence[Message], **answer: Any) -> QuotedItem:
    system = next((m.content for m in messages if m.role == "system"), "")
    prompt = next((m.content for m in reversed(messages) if m.role == "user"), "")
    return QuotedItem(item_id=item_id, system=shorten(system), prompt=shorten(prompt), **answer)


def quote_unit(unit: str, value: float, key: str | None, items: Sequence[Item],
               probabilities: Mapping[str, np.ndarray], replies: Sequence[Reply],
               ) -> Example | None:
    """One unit of a flagged row as an :class:`Example`, or None when nothing quotes it.

    Args:
        unit: The unit, as given to :meth:`Readout.contrast`.
        value: Its value in the row's unit.
        key: The metadata key the unit is a value of; None: the unit is an item id.
        items: The scored items to look the unit up in.
        probabilities: Each item's option probabilities (:func:`option_probabilities`).
        replies: Generated replies, quoted under the unit they name.

    Returns:
        The example: the unit's items, then its replies, each labelled by what sets its id
        apart from the others'.
    """
    members = [i for i in items
               if i.id == unit or (key is not None and i.metadata.get(key) == unit)]
    said = [r for r in replies if r.unit == unit]
    quotes = [_quoted(i.id, i.messages, options=tuple(i.options or i.choices or ()),
                      probabilities=tuple(round(float(p), 4) for p in probabilities[i.id]),
                      matching=i.matching)
              for i in members]
    quotes += [_quoted(r.id, r.messages, reply=shorten(r.text)) for r in said]
    if not quotes:
        return None
    variants = _variants([q.item_id for q in quotes])
    return Example(unit=unit, value=value, items=tuple(
        q.model_copy(update={"variant": v}) for q, v in zip(quotes, variants, strict=True)))
