"""What Inspect loads through the ``inspect_ai`` entry point: ulterior's tasks and model API."""

from ulterior.inspect._modelapi import UlteriorModelAPI
from ulterior.inspect._scoring import draws_reducer
from ulterior.inspect._tasks import (
    come_clean,
    honeypot,
    oversight_gap,
    persona,
    precursors,
    sandbagging,
    training_game,
    trigger_scan,
)

__all__ = [
    "UlteriorModelAPI",
    "come_clean",
    "draws_reducer",
    "honeypot",
    "oversight_gap",
    "persona",
    "precursors",
    "sandbagging",
    "training_game",
    "trigger_scan",
]
