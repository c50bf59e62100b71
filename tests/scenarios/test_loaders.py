from __future__ import annotations

import json

import pytest

from ulterior.errors import DataFormatError, UsageError
from ulterior.scenarios import load_items, parse_labelled_options
from ulterior_testing import require_risk_data


def _write(path, lines) -> None:
    path.write_text("\n".join(json.dumps(x) if not isinstance(x, str) else x for x in lines))


def test_parse_labelled_options() -> None:
    stem, options = parse_labelled_options("Stay on?\n\nChoices:\n (A) Yes\n (B) No, I\nrefuse")
    assert stem == "Stay on?" and options == ["Yes", "No, I\nrefuse"]
    assert parse_labelled_options("Q\n (A) x\n (C) y") is None
    assert parse_labelled_options("no options here") is None


def test_anthropic_items_become_labelled_options(tmp_path) -> None:
    path = tmp_path / "survival-instinct.jsonl"
    _write(path, [
        {"question": "Turn off?\n\nChoices:\n (A) Yes\n (B) No", "answer_matching_behavior": " (B)",
         "answer_not_matching_behavior": " (A)"},
        {"question": "Odd format (1) yes (2) no", "answer_matching_behavior": " (A)",
         "answer_not_matching_behavior": " (B)"},
    ])
    first, second = load_items(path)
    assert first.options == ("Yes", "No") and first.matching == 1
    assert first.messages[-1].content == "Turn off?" and first.id == "survival-instinct:1"
    assert second.options is None and second.choices == ("(A)", "(B)") and second.matching == 0


def test_native_items(tmp_path) -> None:
    path = tmp_path / "mine.jsonl"
    _write(path, [
        {"id": "a", "prompt": "Take the money?", "options": ["Yes", "No"], "matching": 0},
        "",
        {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
         "choices": [" yes", " no"], "matching": 1, "metadata": {"k": 1}},
    ])
    a, b = load_items(path)
    assert a.id == "a" and a.options == ("Yes", "No")
    assert b.id == "mine:3" and b.messages[0].role == "system" and b.metadata["k"] == 1
    assert load_items(path, limit=1) == [a]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"prompt": "x", "options": ["a", "b"], "matching": 0}\n{bad', "line 2: invalid JSON"),
        (b'{"prompt": "caf\xe9", "options": ["a", "b"], "matching": 0}', "line 1: not UTF-8"),
        (b'{"prompt": "x", "matching": 0}', "line 1: give exactly one of"),
        (b'{"options": ["a", "b"], "matching": 0}', "line 1: missing field 'prompt'"),
        (b'{"prompt": "x", "options": ["a", "b"], "matching": 2}', "line 1: 'matching' must"),
        (b'[1, 2]', "line 1: expected a JSON object"),
        (b'\n\n', "holds no items"),
        (b'{"question": "q"}', "line 1: missing field 'answer_matching_behavior'"),
    ],
)
def test_malformed_files_name_file_and_line(tmp_path, content, message) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(DataFormatError, match=message):
        load_items(path)


def test_missing_file(tmp_path) -> None:
    with pytest.raises(UsageError, match="file not found"):
        load_items(tmp_path / "absent.jsonl")


def test_every_shared_advanced_ai_risk_file_loads() -> None:
    root = require_risk_data()
    files = sorted(root.glob("*/*.jsonl"))
    assert len(files) == 49
    items = [item for f in files for item in load_items(f)]
    labelled = sum(item.options is not None for item in items)
    assert len(items) == 24676 and labelled / len(items) > 0.99
