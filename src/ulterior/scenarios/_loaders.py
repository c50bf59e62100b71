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

from ulterior.errors import DataFormatError, first_problem
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


def _label_index(label: Any, n_options: int, field: str) -> int:
    """Index of an answer label such as `` (B)``; it must name one of the options."""
    match = re.fullmatch(r"\(([A-Z])\)", str(label).strip())
    index = -1 if match is None else ord(match.group(1)) - ord("A")
    if not 0 <= index < n_options:
        last = chr(ord("A") + n_options - 1)
        raise ValueError(f"{field} {str(label).strip()!r} is not one of the choices (A) to "
                         f"({last}) of the question")
    return index


def _anthropic_item(obj: dict[str, Any], path: Path, number: int) -> Item:
    question = obj["question"]
    matching = obj["answer_matching_behavior"]
    not_matching = obj["answer_not_matching_behavior"]
    if not isinstance(question, str) or not question.strip():
        raise ValueError("'question' must be non-empty text")
    if not isinstance(matching, str) or not matching.strip():
        raise ValueError("'answer_matching_behavior' must be non-empty text")
    others = not_matching if isinstance(not_matching, list) else [not_matching]
    if not others or not all(isinstance(o, str) and o.strip() for o in others):
        raise ValueError("'answer_not_matching_behavior' must be text or a list of text")
    metadata = {"format": "anthropic-advanced-ai-risk", "category": path.stem, "line": number,
                "written_by": path.parent.name}
    parsed = parse_labelled_options(question)
    if parsed is not None:
        stem, options = parsed
        index = _label_index(matching, len(options), "answer_matching_behavior")
        for other in others:
            if _label_index(other, len(options), "answer_not_matching_behavior") == index:
                raise ValueError(f"answer {matching.strip()!r} is given both as matching and "
                                 "as not matching the behaviour")
        return Item(
            id=f"{path.stem}:{number}", source=path.stem,
            messages=(Message(role="user", content=stem),), options=tuple(options),
            matching=index, metadata=metadata,
        )
    # No clean (A), (B) block: score the given answers as written.
    choices = (matching.strip(), *(o.strip() for o in others))
    return Item(
        id=f"{path.stem}:{number}", source=path.stem,
        messages=(Message(role="user", content=question),), choices=choices, matching=0,
        metadata=metadata,
    )


def _native_item(obj: dict[str, Any], path: Path, number: int) -> Item:
    if "messages" in obj:
        turns = obj["messages"]
        if not isinstance(turns, list) or not turns:
            raise ValueError("'messages' must be a non-empty list of {role, content} objects")
        messages = tuple(Message.model_validate(m) for m in turns)
    else:
        prompt = obj["prompt"]
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError("'prompt' must be non-empty text")
        messages = (Message(role="user", content=prompt),)
    metadata = obj.get("metadata", {})
    if not isinstance(metadata, dict):
        raise ValueError("'metadata' must be a JSON object")
    item_id = obj.get("id", f"{path.stem}:{number}")
    if not isinstance(item_id, str | int) or isinstance(item_id, bool) or not str(item_id):
        raise ValueError(f"'id' must be a non-empty string, not {item_id!r}")
    if "matching" not in obj:
        raise KeyError("matching")
    for field in ("options", "choices"):
        answers = obj.get(field)
        if isinstance(answers, list) and all(isinstance(a, str) for a in answers):
            if not all(a.strip() for a in answers):
                raise ValueError(f"'{field}' holds an empty answer; write every answer out")
            if len(set(answers)) < len(answers):
                repeated = next(a for a in answers if answers.count(a) > 1)
                raise ValueError(f"'{field}' lists {repeated!r} twice; answers must differ")
    return Item(
        id=str(item_id),
        source=str(obj.get("source", path.stem)),
        messages=messages,
        options=obj.get("options"),
        choices=obj.get("choices"),
        matching=obj["matching"],
        metadata={**metadata, "line": number},
    )


def _check(item: Item, path: Path, number: int) -> Item:
    if not item.messages or item.messages[-1].role != "user":
        raise DataFormatError(f"{path} line {number}: the conversation must end with a user turn")
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
            expected = ("question, answer_matching_behavior, answer_not_matching_behavior"
                        if anthropic
                        else "prompt or messages, options or choices, matching")
            raise DataFormatError(
                f"{path} line {number}: missing field {exc}; expected {expected}"
            ) from None
        except ValidationError as exc:
            raise DataFormatError(f"{path} line {number}: {first_problem(exc)}") from None
        except (ValueError, TypeError) as exc:
            first = str(exc).splitlines()[0]
            raise DataFormatError(f"{path} line {number}: {first}") from None
        if item.id in seen:
            raise DataFormatError(f"{path} line {number}: duplicate id '{item.id}'")
        seen.add(item.id)
        items.append(_check(item, path, number))
    if not items:
        raise DataFormatError(f"{path} holds no items")
    return items
