"""Suite settings as plain data, so an Inspect log carries them and a report rebuilds them."""

from __future__ import annotations

from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from ulterior.errors import DataFormatError
from ulterior.suites import SuiteSettings


def settings_record(settings: SuiteSettings) -> dict[str, Any]:
    """``settings`` as JSON-ready data (a user's pack travels whole, as its JSON text)."""
    record = asdict(settings)
    record["risk_data"] = None if settings.risk_data is None else str(settings.risk_data)
    record["packs"] = [list(pair) for pair in settings.packs]
    return record


def settings_from_record(record: dict[str, Any]) -> SuiteSettings:
    """The settings :func:`settings_record` wrote.

    Raises:
        DataFormatError: The record names a setting this version does not know.
    """
    known = {f.name for f in fields(SuiteSettings)}
    unknown = sorted(set(record) - known)
    if unknown:
        raise DataFormatError(f"the log's suite settings hold {unknown}, unknown to this "
                              "version of ulterior; upgrade it")
    values = dict(record)
    if values.get("risk_data") is not None:
        values["risk_data"] = Path(values["risk_data"])
    values["packs"] = tuple(tuple(pair) for pair in values.get("packs", ()))
    return SuiteSettings(**values)
