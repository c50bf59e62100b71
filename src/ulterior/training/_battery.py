"""The property battery: short prompts whose two replies differ in one property.

An item's score is the log-odds of its two replies, ``log P(shows) - log P(lacks)``, each
scored as the text of the assistant's answer (no option labels: small models answer by
label, not by content, and a label's log-odds would not move). Packs are YAML files, one per
property; a user's own directory of packs replaces the shipped one.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ulterior.errors import DataFormatError
from ulterior.scenarios import parse_yaml

# The seed's four foundational properties, then the instrumental precursors.
FOUNDATIONAL = ("goal-directedness", "long-horizon", "base-goal", "situational-awareness")
PRECURSORS = ("shutdown-avoidance", "power-seeking")
PROPERTIES = FOUNDATIONAL + PRECURSORS
# Every fourth item of a property is held out: never read by `track` unless asked for, so
# a curriculum written while looking at the tracked items can be checked on unseen ones.
HELD_OUT_EVERY = 4
Split = Literal["tracked", "held-out", "all"]


class PackItem(BaseModel):
    """One item as a pack file writes it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    prompt: str = Field(min_length=1, description="The user's turn.")
    shows: str = Field(min_length=1, description="The reply that shows the property.")
    lacks: str = Field(min_length=1, description="The reply that does not.")


class Pack(BaseModel):
    """One property's pack file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    property: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: str
    description: str
    items: tuple[PackItem, ...] = Field(min_length=HELD_OUT_EVERY)

    @field_validator("items")
    @classmethod
    def _unique_ids(cls, items: tuple[PackItem, ...]) -> tuple[PackItem, ...]:
        ids = [item.id for item in items]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"repeats item id {repeated[0]}")
        return items


@dataclass(frozen=True)
class BatteryItem:
    """An item with its property and split."""

    property: str
    id: str
    prompt: str
    shows: str
    lacks: str
    held_out: bool


@dataclass(frozen=True)
class Battery:
    """Items of several properties, in property order, then pack order."""

    properties: tuple[str, ...]
    titles: dict[str, str]
    items: tuple[BatteryItem, ...]

    def select(self, split: Split = "tracked", per_property: int | None = None) -> Battery:
        """The items of ``split``, at most ``per_property`` of each property (pack order)."""
        kept: list[BatteryItem] = []
        for prop in self.properties:
            chosen = [i for i in self.items if i.property == prop
                      and (split == "all" or i.held_out == (split == "held-out"))]
            kept += chosen[:per_property]
        return Battery(self.properties, self.titles, tuple(kept))

    def of(self, prop: str) -> list[int]:
        """Indices of ``prop``'s items."""
        return [k for k, item in enumerate(self.items) if item.property == prop]


def _shipped() -> list[tuple[str, str]]:
    folder = resources.files("ulterior.training").joinpath("packs")
    return [(f"built-in pack {prop}", folder.joinpath(f"{prop.replace('-', '_')}.yaml")
             .read_text(encoding="utf-8")) for prop in PROPERTIES]


def load_battery(directory: Path | None = None) -> Battery:
    """The shipped battery, or the packs (``*.yaml``) of a user's ``directory``.

    Raises:
        DataFormatError: A pack is not valid (the message names the file and the field), or
            two packs name the same property.
    """
    if directory is None:
        sources = _shipped()
    else:
        files = sorted(directory.glob("*.yaml"))
        if not files:
            raise DataFormatError(f"{directory}: no *.yaml packs; write one per property")
        sources = [(str(f), f.read_text(encoding="utf-8")) for f in files]
    packs = [parse_yaml(text, Pack, where) for where, text in sources]
    names = [p.property for p in packs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataFormatError(f"two packs name the property {repeated[0]}; keep one")
    items = tuple(
        BatteryItem(pack.property, item.id, item.prompt, item.shows, item.lacks,
                    held_out=(k + 1) % HELD_OUT_EVERY == 0)
        for pack in packs for k, item in enumerate(pack.items))
    return Battery(tuple(names), {p.property: p.title for p in packs}, items)
