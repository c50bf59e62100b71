"""The user's own scenario packs (``--pack SUITE=FILE``), checked against a suite's schema.

The schemas are in ``ulterior.suites._schemas``; the built-in packs follow them too.
"""

from __future__ import annotations

import json
from pathlib import Path

from ulterior.errors import DataFormatError
from ulterior.scenarios import parse_yaml
from ulterior.suites._base import Suite


def read_user_pack(suite: Suite, path: Path) -> str:
    """The user's pack file for ``suite``, checked, as canonical JSON (SuiteSettings.packs).

    The file is YAML or JSON in the suite's schema (``suite.pack_schema``); it must also
    build at least two items, so that a pack that only parses fails here, not mid-audit.

    Raises:
        DataFormatError: One line naming the file, the line and the field at fault.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{path}: not UTF-8 text (byte {exc.start}); save it as "
                              "UTF-8") from None
    data = parse_yaml(text, suite.pack_schema, str(path)).model_dump(mode="json")
    try:
        items = suite.from_pack(data)
    except (KeyError, IndexError, ValueError) as exc:
        raise DataFormatError(f"{path}: the {suite.name} pack does not build its items "
                              f"({type(exc).__name__}: {exc}); a placeholder in braces the "
                              "suite does not fill?") from None
    if len(items) < 2:
        raise DataFormatError(f"{path}: the {suite.name} pack builds {len(items)} item; "
                              "give at least two scenarios")
    return json.dumps(data, sort_keys=True)
