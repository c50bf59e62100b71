from __future__ import annotations

from ulterior.records import AuditSummary, ResultRow, SubjectInfo, SuiteResult
from ulterior.report import highest_rung, render_report

SUBJECT = SubjectInfo(spec="fake:x", backend="fake", fingerprint="f", prompt_format="plain")


def summary(flagged: bool) -> AuditSummary:
    rows = (
        ResultRow(name="cue:<logging>", description="d", n=24, estimate=0.4 if flagged else 0.0,
                  low=0.3, high=0.5, p_value=0.001, p_adjusted=0.002, flagged=flagged,
                  mde=0.07, test="sign-flip"),
        ResultRow(name="P(misaligned | observed)", n=48, estimate=0.1, low=0.05, high=0.15),
    )
    result = SuiteResult(suite="oversight-gap", description="desc", rows=rows,
                         ladder_rung=5 if flagged else None, evidence="because",
                         notes=("a note",), n_items=96, flagged=flagged)
    rung, evidence = highest_rung([result])
    return AuditSummary(subject=SUBJECT, seed=0, suites=(result,), highest_rung=rung,
                        highest_rung_evidence=evidence, ulterior_version="0")


def test_report_shows_every_row_escaped_with_ci_and_flag() -> None:
    html = render_report(summary(True))
    assert "cue:&lt;logging&gt;" in html and "cue:<logging>" not in html
    assert "[0.300, 0.500]" in html and "class='flag'" in html
    assert "L5" in html and "a note" in html and "96 items" in html


def test_negative_result_states_what_could_have_been_detected() -> None:
    html = render_report(summary(False))
    assert "no rung of the demonstration ladder was reached" in html
    assert "Nothing flagged" in html and "0.070" in html


def test_markdown_tables_carry_ci_n_and_flags() -> None:
    from ulterior.report import render_markdown

    text = render_markdown(summary(True))
    assert ("| cue:<logging> | probability | 24 | +0.400 | [+0.300, +0.500] | 0.001 | 0.002 | "
            "**yes** | 0.070 |") in text
    assert "*oversight-gap* (96 items)" in text


def test_table_helpers_mark_flagged_rows() -> None:
    from ulterior.report._html import html_row, html_table

    assert html_row(["a", "1"]) == "<tr><td>a</td><td>1</td></tr>"
    assert html_row(["a"], flagged=True) == "<tr class='flag'><td>a</td></tr>"
    assert html_row(["a"], flagged=False) == "<tr class=''><td>a</td></tr>"
    assert html_table(["x", "y"], "<tr></tr>") == (
        "<table><tr><th>x</th><th>y</th></tr><tr></tr></table>"
    )
