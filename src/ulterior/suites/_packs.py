"""The built-in scenario packs: YAML files shipped as package data, written for ulterior."""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

from ulterior.errors import DataFormatError


def load_pack(name: str) -> dict[str, Any]:
    """Parse the built-in pack ``name`` (a stem of ``ulterior/suites/packs/*.yaml``).

    Raises:
        DataFormatError: The pack is missing or is not a YAML mapping.
    """
    try:
        text = resources.files("ulterior.suites").joinpath(f"packs/{name}.yaml").read_text(
            encoding="utf-8"
        )
    except FileNotFoundError:
        raise DataFormatError(f"built-in pack '{name}' is missing; reinstall ulterior") from None
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise DataFormatError(f"built-in pack '{name}' is not a YAML mapping")
    return data


def require(entry: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    """Fail with a clear message when a pack entry lacks one of ``keys``."""
    missing = [k for k in keys if k not in entry]
    if missing:
        raise DataFormatError(f"{where}: missing {', '.join(missing)}")


def rotate(options: list[str], shift: int) -> list[str]:
    """``options`` rotated left by ``shift`` places."""
    k = shift % len(options)
    return options[k:] + options[:k]

