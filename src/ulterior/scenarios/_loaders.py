"""Item files: Anthropic's advanced-ai-risk JSONL and ulterior's native JSONL.

Native format, one JSON object per line::

    {"id": "q1",                                  # optional; default: FILE-STEM:LINE
     "prompt": "Would you ...?",                  # or "messages": [{"role", "content"}, ...]
     "options": ["Yes", "No"],                    # shown as (A) Yes / (B) No, order balanced
     "matching": 0,                               # index of the behaviour-matching answer
     "metadata": {"category": "shutdown"}}        # optional

Instead of ``options``, ``choices`` gives raw continuations scored as they are (no labels,
no counterbalancing).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ulterior.errors import DataFormatError
from ulterior.records import Item, Message
from ulterior.scenarios._jsonl import read_jsonl

_OPTION_LINE = re.compile(r"^\s*\(([A-Z])\)\s?(.*)$")
_CHOICES_HEADER = re.compile(r"\n\s*Choices:?\s*$")


def parse_labelled_options(question: str) -> tuple[str, list[str]] | None:
    """Split an advanced-ai-risk question into its stem and its ``(A) ...`` option texts.

    Returns None when the options are not a clean A, B, C... block at the end of the text;
    such items are scored on their raw answers, without counterbalancing.
    """
    lines = question.split("\n")
    first = next((i for i, line in enumerate(lines) if _OPTION_LINE.match(line)), None)
    if first is None:
        return None
    options: list[str] = []
    for line in lines[first:]:
        match = _OPTION_LINE.match(line)
        if match:
            if match.group(1) != chr(ord("A") + len(options)):
                return None
            options.append(match.group(2).strip())
        elif line.strip():
            options[-1] += "\n" + line.strip()
    stem = _CHOICES_HEADER.sub("", "\n".join(lines[:first]).rstrip()).rstrip()
    if len(options) < 2 or not stem:
        return None
    return stem, options


def _anthropic_item(obj: dict[str, Any], path: Path, number: int) -> Item:
    question = str(obj["question"])
    matching = str(obj["answer_matching_behavior"]).strip()
    not_matching = obj["answer_not_matching_behavior"]
    metadata = {"format": "anthropic-advanced-ai-risk", "category": path.stem, "line": number,
                "written_by": path.parent.name}
    parsed = parse_labelled_options(question)
    label = re.fullmatch(r"\(([A-Z])\)", matching)
    if parsed is not None and label is not None:
        stem, options = parsed
        index = ord(label.group(1)) - ord("A")
        if index < len(options):
            return Item(
                id=f"{path.stem}:{number}", source=path.stem,
                messages=(Message(role="user", content=stem),), options=tuple(options),
                matching=index, metadata=metadata,
            )
    # Unparseable option block: score the two given answers as written.
    others = not_matching if isinstance(not_matching, list) else [not_matching]
    choices = (matching, *(str(o).strip() for o in others))
    return Item(
        id=f"{path.stem}:{number}", source=path.stem,
        messages=(Message(role="user", content=question),), choices=choices, matching=0,
        metadata=metadata,
    )


def _native_item(obj: dict[str, Any], path: Path, number: int) -> Item:
    if "messages" in obj:
        messages = tuple(Message.model_validate(m) for m in obj["messages"])
    else:
        messages = (Message(role="user", content=str(obj["prompt"])),)
    return Item(
        id=str(obj.get("id", f"{path.stem}:{number}")),
        source=str(obj.get("source", path.stem)),
        messages=messages,
        options=tuple(obj["options"]) if "options" in obj else None,
        choices=tuple(obj["choices"]) if "choices" in obj else None,
        matching=int(obj["matching"]),
        metadata={**obj.get("metadata", {}), "line": number},
    )


def _check(item: Item, path: Path, number: int) -> Item:
    where = f"{path} line {number}"
    if (item.options is None) == (item.choices is None):
        raise DataFormatError(f"{where}: give exactly one of 'options' or 'choices'")
    if item.n_answers < 2:
        raise DataFormatError(f"{where}: an item needs at least two answers")
    if not 0 <= item.matching < item.n_answers:
        raise DataFormatError(f"{where}: 'matching' must index one of the {item.n_answers} answers")
    if not item.messages or item.messages[-1].role != "user":
        raise DataFormatError(f"{where}: the conversation must end with a user turn")
    return item


def load_items(path: Path, limit: int | None = None) -> list[Item]:
    """Load items from a JSONL file in either format (detected per line).

    Args:
        path: The file.
        limit: Keep only the first ``limit`` items.

    Raises:
        DataFormatError: Naming the file and line, for any malformed line.
    """
    items: list[Item] = []
    seen: set[str] = set()
    for number, obj in read_jsonl(path):
        if limit is not None and len(items) >= limit:
            break
        anthropic = "question" in obj or "answer_matching_behavior" in obj
        try:
            item = (_anthropic_item if anthropic else _native_item)(obj, path, number)
        except KeyError as exc:
            expected = ("question, answer_matching_behavior" if anthropic
                        else "prompt or messages, options or choices, matching")
            raise DataFormatError(
                f"{path} line {number}: missing field {exc}; expected {expected}"
            ) from None
        except (ValidationError, ValueError, TypeError) as exc:
            first = str(exc).splitlines()[0]
            raise DataFormatError(f"{path} line {number}: {first}") from None
        if item.id in seen:
            raise DataFormatError(f"{path} line {number}: duplicate id '{item.id}'")
        seen.add(item.id)
        items.append(_check(item, path, number))
    if not items:
        raise DataFormatError(f"{path} holds no items")
    return items
