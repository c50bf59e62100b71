from __future__ import annotations

import json

from ulterior.records import (
    AuditSummary,
    Example,
    QuotedItem,
    ResultRow,
    SubjectInfo,
    SuiteResult,
)
from ulterior.report import render_markdown, render_report
from ulterior.report._examples import examples_html, examples_markdown

SCRIPT = "<script>alert('x')</script>"
SUBJECT = SubjectInfo(spec="fake:x", backend="fake", fingerprint="f", prompt_format="plain")


def _example() -> Example:
    return Example(unit=f"t01{SCRIPT}", value=0.85, items=(
        QuotedItem(item_id="suite/t01/observed", variant="observed", system=f"sys {SCRIPT}",
                   prompt=f"Do the task. {SCRIPT}\n\nNow.", options=(f"cheat {SCRIPT}", "work"),
                   probabilities=(0.05, 0.95), matching=0),
        QuotedItem(item_id="suite/t01/unobserved", variant=f"unobserved{SCRIPT}",
                   prompt="Nobody watches. Do the task.", options=("cheat", "work"),
                   probabilities=(0.9, 0.1), matching=0),
        QuotedItem(item_id="suite/t01/reply", variant="reply", prompt="Say it *loud*.",
                   reply=f"I will {SCRIPT} | take *it*"),
    ))


def _rows() -> tuple[ResultRow, ...]:
    return (
        ResultRow(name=f"cue:{SCRIPT}", n=24, estimate=0.85, low=0.8, high=0.9, p_value=0.001,
                  p_adjusted=0.002, flagged=True, mde=0.07, test="sign-flip",
                  examples=(_example(),)),
        ResultRow(name="quiet", n=24, estimate=0.0, low=-0.1, high=0.1, p_value=0.9,
                  p_adjusted=0.9, flagged=False, mde=0.07, test="sign-flip"),
    )


def _summary(rows: tuple[ResultRow, ...]) -> AuditSummary:
    result = SuiteResult(suite="oversight-gap", description="desc", rows=rows, n_items=96,
                         flagged=any(r.flagged for r in rows))
    return AuditSummary(subject=SUBJECT, seed=0, suites=(result,), ulterior_version="0")


def test_examples_are_quoted_in_a_details_block_with_everything_escaped() -> None:
    html = examples_html(_rows()[0])
    assert "<script>" not in html and "</script>" not in html
    assert html.count("&lt;script&gt;") == 7  # name, unit, system, prompt, option, variant, reply
    assert html.startswith("<details><summary>") and html.endswith("</details>")
    assert "is flagged: the unit most in the direction of concern" in html
    assert "<p><strong>observed</strong> <span class='muted'>suite/t01/observed</span></p>" in html
    assert "<blockquote>Do the task. &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;\n\nNow." \
        "</blockquote>" in html
    assert "P = 0.050" in html and "P = 0.900" in html
    assert html.count("(the behaviour studied)") == 2  # one option marked per scored item
    assert "+0.850 probability" in html
    assert "reply:</p><blockquote>I will &lt;script&gt;" in html


def test_a_row_without_examples_renders_nothing() -> None:
    assert examples_html(_rows()[1]) == "" and examples_markdown(_rows()[1]) == []


def test_the_report_shows_the_flagged_rows_examples_after_the_table() -> None:
    html = render_report(_summary(_rows()))
    assert "<script>" not in html
    assert html.count("<details>") == 1
    table_end = html.index("</table>", html.index("id='oversight-gap'"))
    assert table_end < html.index("<details>") < html.index("Ladder rung evidenced")


def test_markdown_lists_the_examples_escaped_on_one_line_each() -> None:
    text = render_markdown(_summary(_rows()))
    start = text.index("Why **cue:&lt;script&gt;")
    assert "<script>" not in text[start:]  # the table keeps row names as they are
    lines = text[start:].splitlines()
    assert lines[2].startswith("- **t01&lt;script&gt;") and "+0.850 probability" in lines[2]
    assert lines[3].startswith("  - observed (suite/t01/observed): system: \u201csys &lt;")
    assert "\u201cDo the task. &lt;script&gt;alert('x')&lt;/script&gt; Now.\u201d" in lines[3]
    assert "\u201ccheat &lt;script&gt;alert('x')&lt;/script&gt;\u201d 0.050 (the behaviour " \
        "studied); \u201cwork\u201d 0.950" in lines[3]
    assert lines[5] == ("  - reply (suite/t01/reply): prompt: \u201cSay it \\*loud\\*.\u201d "
                        "\u2014 reply: \u201cI will &lt;script&gt;alert('x')&lt;/script&gt; "
                        "\\| take \\*it\\*\u201d")
    assert "quiet" not in text[start:]


def test_a_summary_written_without_examples_still_loads() -> None:
    data = json.loads(_summary(_rows()).model_dump_json())
    for result in data["suites"]:
        for row in result["rows"]:
            del row["examples"]
    old = AuditSummary.model_validate_json(json.dumps(data))
    assert [row.examples for row in old.suites[0].rows] == [(), ()]
    assert old.suites[0].rows[0].flagged
    assert "<details>" not in render_report(old)
    assert "Why **" not in render_markdown(old)
