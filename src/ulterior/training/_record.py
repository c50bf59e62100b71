"""Track records: readings and their analysis, to JSON and back."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from ulterior.errors import DataFormatError, first_problem
from ulterior.records import Emergence, TrackRecord
from ulterior.store import write_atomic
from ulterior.training._battery import Battery


def track_record(battery: Battery, steps: Sequence[int], checkpoints: Sequence[str],
                 scores: np.ndarray, analysis: Emergence,
                 fingerprints: Sequence[str] = ()) -> TrackRecord:
    """The record of readings ``scores`` (one row per step) of ``battery``."""
    return TrackRecord(
        steps=tuple(int(s) for s in steps), checkpoints=tuple(checkpoints),
        fingerprints=tuple(fingerprints), properties=battery.properties,
        item_ids=tuple(f"{i.property}/{i.id}" for i in battery.items),
        item_properties=tuple(i.property for i in battery.items),
        scores=tuple(tuple(float(v) for v in row) for row in scores), emergence=analysis,
    )


def write_track(record: TrackRecord, path: Path) -> None:
    """Write ``record`` as JSON, atomically, and its page (charts, onsets, order) beside it."""
    from ulterior.report import render_track

    write_atomic(path, record.model_dump_json(indent=1) + "\n")
    write_atomic(path.with_suffix(".html"), render_track(record))


def read_track(path: Path) -> TrackRecord:
    """A track record written by :func:`write_track`.

    Raises:
        DataFormatError: The file is missing or is not a track record.
    """
    try:
        return TrackRecord.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataFormatError(f"{path}: no such track record") from None
    except ValidationError as exc:
        raise DataFormatError(f"{path}: not a track record: {first_problem(exc)}") from None
