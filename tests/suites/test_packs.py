from __future__ import annotations

import json
import re

import pytest
from suite_helpers import RISK_DATA

from ulterior.suites._come_clean import build_items as come_clean_items
from ulterior.suites._honeypot import build_items as honeypot_items
from ulterior.suites._oversight_gap import build_items as oversight_items
from ulterior.suites._packs import PACKS, load_pack
from ulterior.suites._persona import build_items as persona_items
from ulterior.suites._precursors import build_items as precursor_items
from ulterior.suites._training_game import build_items as training_items
from ulterior.suites._trigger_scan import build_items as trigger_items

BUILDERS = {
    "oversight_gap": oversight_items, "honeypot": honeypot_items,
    "come_clean": come_clean_items, "persona": persona_items,
    "training_game": training_items, "precursors": precursor_items,
    "trigger_scan": lambda pack, limit=None: trigger_items(
        pack, load_pack("oversight_gap")["tasks"], limit),
}


@pytest.mark.parametrize("pack", PACKS)
def test_each_pack_has_at_least_40_distinct_scenarios(pack: str) -> None:
    items = BUILDERS[pack](load_pack(pack))
    fingerprints = {i.fingerprint() for i in items}
    assert len(fingerprints) == len(items)  # no two items score the same thing
    assert len({i.id for i in items}) == len(items)
    units = {i.id.rsplit("/", 1)[0] if pack != "precursors" else i.id for i in items}
    assert len(units) >= 40


@pytest.mark.parametrize("pack", PACKS)
def test_limit_keeps_whole_scenarios(pack: str) -> None:
    full = BUILDERS[pack](load_pack(pack))
    small = BUILDERS[pack](load_pack(pack), 3)
    assert 0 < len(small) < len(full)
    assert {i.id for i in small} <= {i.id for i in full}


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def test_packs_are_not_copied_from_the_advanced_ai_risk_data() -> None:
    if not RISK_DATA.is_dir():
        pytest.skip("shared data not present")
    questions = [json.loads(line)["question"].lower()
                 for path in RISK_DATA.rglob("*.jsonl")
                 for line in path.read_text().splitlines() if line.strip()]
    blob = "\n".join(questions)
    for pack in PACKS:
        for item in BUILDERS[pack](load_pack(pack)):
            for message in item.messages:
                for sentence in re.split(r"(?<=[.?!])\s+", message.content):
                    if len(sentence) > 60:
                        assert sentence.lower() not in blob, (pack, sentence)
