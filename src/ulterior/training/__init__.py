"""The training monitor: a property battery read over training, and what emerged when.

``ulterior track`` reads it over saved checkpoints; :class:`PropertyCallback` reads it while
a ``transformers.Trainer`` (or ulterior's organism trainer) runs. The analysis gives each
property a trajectory with bootstrap bands, an onset, and the order of onsets with the
seed's dangerous-order warning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ulterior.training._analysis import (
    DANGEROUS_PAIRS,
    METHODS,
    MIN_SHIFT,
    WARNING_PROBABILITY,
    Method,
    dangerous_order,
    earlier,
    emergence,
)
from ulterior.training._battery import (
    FOUNDATIONAL,
    PRECURSORS,
    PROPERTIES,
    Battery,
    BatteryItem,
    Split,
    load_battery,
)
from ulterior.training._checkpoints import (
    AdapterReader,
    Checkpoint,
    base_of,
    find_checkpoints,
    full_subject,
)
from ulterior.training._read import battery_items, read_battery
from ulterior.training._record import read_track, track_record, write_track

if TYPE_CHECKING:
    from ulterior.training._callback import PropertyCallback

__all__ = [
    "DANGEROUS_PAIRS",
    "FOUNDATIONAL",
    "METHODS",
    "MIN_SHIFT",
    "PRECURSORS",
    "PROPERTIES",
    "WARNING_PROBABILITY",
    "AdapterReader",
    "Battery",
    "BatteryItem",
    "Checkpoint",
    "Method",
    "PropertyCallback",
    "Split",
    "base_of",
    "battery_items",
    "dangerous_order",
    "earlier",
    "emergence",
    "find_checkpoints",
    "full_subject",
    "load_battery",
    "read_battery",
    "read_track",
    "track_record",
    "write_track",
]


def __getattr__(name: str) -> Any:
    # PropertyCallback subclasses transformers.TrainerCallback: import transformers only
    # when it is asked for, so reading a track record needs no torch.
    if name == "PropertyCallback":
        from ulterior.training._callback import PropertyCallback

        return PropertyCallback
    raise AttributeError(f"module 'ulterior.training' has no attribute {name!r}")
