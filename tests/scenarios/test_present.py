from __future__ import annotations

from ulterior.records import Item, Message
from ulterior.scenarios import presentations

ITEM = Item(id="x", source="s", messages=(Message(role="user", content="Q?"),),
            options=("Yes", "No", "Maybe"), matching=0)


def test_counterbalanced_presentations_reverse_the_options() -> None:
    original, reversed_ = presentations(ITEM)
    assert original.condition == "order=original" and reversed_.condition == "order=reversed"
    assert original.messages[-1].content == "Q?\n\nChoices:\n (A) Yes\n (B) No\n (C) Maybe"
    assert reversed_.messages[-1].content == "Q?\n\nChoices:\n (A) Maybe\n (B) No\n (C) Yes"
    assert original.answers == reversed_.answers == ("(A)", "(B)", "(C)")
    assert (original.target, reversed_.target) == (0, 2)


def test_without_counterbalance_and_raw_choices() -> None:
    assert len(presentations(ITEM, counterbalance=False)) == 1
    raw = Item(id="r", source="s", messages=ITEM.messages, choices=(" a", " b"), matching=1)
    (only,) = presentations(raw)
    assert only.condition == "order=raw" and only.answers == (" a", " b") and only.target == 1
