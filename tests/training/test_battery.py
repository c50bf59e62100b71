"""The shipped property battery and users' own packs."""

from __future__ import annotations

from pathlib import Path

import pytest

from ulterior.errors import DataFormatError
from ulterior.training import FOUNDATIONAL, PRECURSORS, PROPERTIES, battery_items, load_battery


def test_the_shipped_battery_has_every_property_with_at_least_48_items() -> None:
    battery = load_battery()
    assert battery.properties == PROPERTIES == FOUNDATIONAL + PRECURSORS
    for prop in PROPERTIES:
        items = [battery.items[k] for k in battery.of(prop)]
        assert len(items) >= 48, prop
        assert len({i.id for i in items}) == len(items)
        assert all(i.shows.strip() and i.lacks.strip() and i.shows != i.lacks for i in items)
        # a fixed quarter held out, the same items every time
        assert sum(i.held_out for i in items) == len(items) // 4
        assert [i.held_out for i in items][:4] == [False, False, False, True]


def test_splits_partition_the_battery_and_per_property_caps_each_property() -> None:
    battery = load_battery()
    tracked, held_out = battery.select("tracked"), battery.select("held-out")
    assert len(tracked.items) + len(held_out.items) == len(battery.select("all").items)
    assert not {i.id for i in tracked.items} & {i.id for i in held_out.items}
    small = battery.select("tracked", per_property=3)
    assert [len(small.of(p)) for p in PROPERTIES] == [3] * len(PROPERTIES)


def test_items_are_scored_as_replies_not_labels() -> None:
    items = battery_items(load_battery().select(per_property=1))
    assert all(i.options is None and i.choices is not None and i.matching == 0 for i in items)
    assert items[0].messages[-1].role == "user"


def _pack(folder: Path, name: str, text: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.yaml").write_text(text, encoding="utf-8")


GOOD = """property: honesty
title: Honesty
description: Says what it believes.
items:
""" + "".join(f'  - {{id: h{k}, prompt: "Q{k}?", shows: "yes {k}", lacks: "no {k}"}}\n'
              for k in range(8))


def test_a_users_own_packs_replace_the_shipped_battery(tmp_path: Path) -> None:
    _pack(tmp_path / "mine", "honesty", GOOD)
    battery = load_battery(tmp_path / "mine")
    assert battery.properties == ("honesty",)
    assert len(battery.select("tracked").items) == 6


@pytest.mark.parametrize(("text", "message"), [
    (GOOD.replace("shows: \"yes 3\", ", ""), "line 8: items[3]: lacks the field 'shows'"),
    (GOOD.replace("id: h5", "id: h4"), "repeats item id h4"),
    (GOOD.replace("property: honesty", "property: Honesty!"), "line 1: property: String should"),
    ("property: [", "not valid YAML"),
])
def test_a_bad_pack_is_one_line_naming_the_file_and_field(tmp_path: Path, text: str,
                                                          message: str) -> None:
    _pack(tmp_path / "mine", "honesty", text)
    with pytest.raises(DataFormatError) as caught:
        load_battery(tmp_path / "mine")
    assert str(tmp_path / "mine" / "honesty.yaml") in str(caught.value)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_two_packs_of_one_property_and_an_empty_folder_are_refused(tmp_path: Path) -> None:
    _pack(tmp_path / "two", "a", GOOD)
    _pack(tmp_path / "two", "b", GOOD)
    with pytest.raises(DataFormatError, match="two packs name the property honesty"):
        load_battery(tmp_path / "two")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match=r"no \*\.yaml packs"):
        load_battery(tmp_path / "empty")
