from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ulterior.errors import DataFormatError, UsageError


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line of a JSONL file.

    Raises:
        UsageError: The file does not exist.
        DataFormatError: A line is not UTF-8, not JSON, or not a JSON object; the message
            names the file and the 1-based line number.
    """
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give the path of a JSONL file")
    if not path.is_file():
        raise UsageError(f"file not found: {path}; check the path")
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}; check its permissions") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataFormatError(
                    f"{path} line {number}: not UTF-8 text (byte {exc.start}); re-save as UTF-8"
                ) from None
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise DataFormatError(
                    f"{path} line {number}: invalid JSON ({exc.msg} at column {exc.colno})"
                ) from None
            if not isinstance(value, dict):
                raise DataFormatError(f"{path} line {number}: expected a JSON object")
            yield number, value
