from __future__ import annotations

import json
import re

import pytest
from suite_helpers import RISK_DATA

from ulterior.suites import Suite, default_suites

SUITES = {suite.name: suite for suite in default_suites()}


def test_every_suite_has_a_pack_of_its_own() -> None:
    packs = [suite.pack for suite in SUITES.values()]
    assert len(set(packs)) == len(packs) == 8
    assert all(suite.load_pack() for suite in SUITES.values())


@pytest.mark.parametrize("suite", SUITES.values(), ids=SUITES.keys())
def test_each_pack_has_at_least_40_distinct_scenarios(suite: Suite) -> None:
    items = suite.build()
    pack = suite.pack
    fingerprints = {i.fingerprint() for i in items}
    assert len(fingerprints) == len(items)  # no two items score the same thing
    assert len({i.id for i in items}) == len(items)
    units = {i.id.rsplit("/", 1)[0] if pack != "precursors" else i.id for i in items}
    assert len(units) >= 40


@pytest.mark.parametrize("suite", SUITES.values(), ids=SUITES.keys())
def test_limit_keeps_whole_scenarios(suite: Suite) -> None:
    full = suite.build()
    small = suite.build(3)
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
    for pack, suite in SUITES.items():
        for item in suite.build():
            for message in item.messages:
                for sentence in re.split(r"(?<=[.?!])\s+", message.content):
                    if len(sentence) > 60:
                        assert sentence.lower() not in blob, (pack, sentence)
