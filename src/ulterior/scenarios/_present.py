"""How an item is shown to a subject: option labels, order, and the condition name."""

from __future__ import annotations

from dataclasses import dataclass

from ulterior.records import Item, Message


@dataclass(frozen=True)
class Presentation:
    """One way of showing an item: the conversation as sent, the answers, the target.

    Attributes:
        condition: Names the presentation: ``order=original``, ``order=reversed`` (options
            shown last first) or ``order=raw`` (unlabelled choices).
        messages: The conversation, with the labelled options appended to the last turn.
        answers: What the subject is scored on, in presented order (``(A)``, ``(B)``, ...).
        target: Index into ``answers`` of the behaviour-matching answer.
    """

    condition: str
    messages: tuple[Message, ...]
    answers: tuple[str, ...]
    target: int


def _labels(n: int) -> list[str]:
    return [chr(ord("A") + i) for i in range(n)]


def present(item: Item, order: tuple[int, ...]) -> Presentation:
    """Show ``item`` with its options in ``order``: as written, or reversed."""
    assert item.options is not None
    labels = _labels(len(order))
    block = "\n".join(f" ({labels[pos]}) {item.options[i]}" for pos, i in enumerate(order))
    last = item.messages[-1]
    shown = Message(role=last.role, content=f"{last.content}\n\nChoices:\n{block}")
    name = "original" if list(order) == sorted(order) else "reversed"
    return Presentation(
        condition=f"order={name}",
        messages=(*item.messages[:-1], shown),
        answers=tuple(f"({label})" for label in labels),
        target=order.index(item.matching),
    )


def presentations(item: Item, counterbalance: bool = True) -> list[Presentation]:
    """Every presentation of ``item`` to score.

    Labelled options are shown in their given order and, when ``counterbalance`` is set, in
    reverse order too: with two options every answer appears once under each label, so a
    preference for a label cancels out of the mean. Raw choices are shown once.
    """
    if item.options is None:
        assert item.choices is not None
        return [Presentation("order=raw", item.messages, item.choices, item.matching)]
    forward = tuple(range(len(item.options)))
    orders = [forward, forward[::-1]] if counterbalance else [forward]
    return [present(item, order) for order in orders]


def as_cloze(item: Item) -> Item:
    """The item with its labelled options turned into raw continuations (cloze format).

    The subject then scores each answer's text after the question instead of a label after
    a list of options, so a model that cannot bind labels to options (small models answer
    by label; see the comprehension control) can still show its preference. Item ids and
    option order are kept, so readouts work unchanged.
    """
    if item.options is None:
        return item
    return item.model_copy(update={"options": None, "choices": item.options})
