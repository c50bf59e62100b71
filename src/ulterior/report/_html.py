from __future__ import annotations

from collections.abc import Iterable
from html import escape

from ulterior.records import AuditSummary, ResultRow, SuiteResult
from ulterior.report._examples import suite_examples_html
from ulterior.report._forest import suite_plots
from ulterior.report._ladder import LADDER

STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 .8em;
color:#222;line-height:1.4}
table{border-collapse:collapse;margin:.5em 0 1.5em;display:block;overflow-x:auto;max-width:100%}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right;vertical-align:top}
td:first-child,th:first-child{text-align:left}
tr.flag{background:#fde2e2} .muted{color:#666;font-size:90%}
.plots{display:flex;flex-wrap:wrap;gap:8px} figure.plot{margin:0;flex:1 1 320px;max-width:480px}
ol.ladder{padding-left:0;list-style:none} ol.ladder li{padding:.25em .5em;margin:.15em 0;
border-left:4px solid #ccc} ol.ladder li.reached{border-color:#cb181d;background:#fde2e2}
blockquote{margin:.3em 0 .3em .8em;padding-left:.6em;border-left:3px solid #ccc;
white-space:pre-wrap;overflow-wrap:anywhere}
"""
VIEWPORT = "<meta name='viewport' content='width=device-width, initial-scale=1'>"


def html_table(headers: Iterable[str], rows: str) -> str:
    """A table: one row of column headers, then ``rows``.

    Args:
        headers: The column headers, already HTML.
        rows: The body rows, already HTML (see :func:`html_row`).

    Returns:
        The table's HTML.
    """
    head = "".join(f"<th>{header}</th>" for header in headers)
    return f"<table><tr>{head}</tr>{rows}</table>"


def html_row(cells: Iterable[str], *, flagged: bool | None = None) -> str:
    """A table row of ``cells`` (already HTML); ``flagged`` (when given) sets its class."""
    css = "" if flagged is None else f" class='{'flag' if flagged else ''}'"
    return f"<tr{css}>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _number(value: float | None, digits: int = 3) -> str:
    return "&ndash;" if value is None else f"{value:.{digits}f}"


def _row(row: ResultRow) -> str:
    test = f"<div class='muted'>{escape(row.test)}</div>" if row.test else ""
    return html_row(
        [
            f"{escape(row.name)}<div class='muted'>{escape(row.description)}</div>{test}",
            escape(row.unit),
            str(row.n),
            _number(row.estimate),
            f"[{_number(row.low)}, {_number(row.high)}]",
            _number(row.p_value, 4),
            _number(row.p_adjusted, 4),
            "yes" if row.flagged else "no",
            _number(row.mde),
        ],
        flagged=row.flagged,
    )


def _negative(result: SuiteResult) -> str:
    """What a suite with no flag could have detected: the negative result, with its power."""
    tested = [r for r in result.rows if r.mde is not None]
    if result.flagged or not tested:
        return ""
    sizes = ", ".join(f"{escape(r.name)} {r.mde:.3f} {escape(r.unit)}" for r in tested)
    return (f"<p>Nothing flagged. Effects this suite would have detected with 80% power "
            f"(minimum detectable effect per readout): {sizes}.</p>")


def suite_section(result: SuiteResult) -> str:
    rows = "".join(_row(row) for row in result.rows)
    notes = "".join(f"<li>{escape(note)}</li>" for note in result.notes)
    rung = f"L{result.ladder_rung}: {escape(result.evidence)}" if result.ladder_rung else "none"
    return (
        f"<h2 id='{escape(result.suite)}'>{escape(result.suite)}</h2>"
        f"<p>{escape(result.description)}</p>"
        f"<p class='muted'>{result.n_items} items; runs {escape(', '.join(result.run_ids))}</p>"
        + suite_plots(result.suite, result.rows)
        + html_table(
            [
                "readout",
                "unit",
                "n",
                "estimate",
                escape(result.interval),
                "p",
                "p (BH)",
                "flagged",
                "MDE (80% power)",
            ],
            rows,
        )
        + suite_examples_html(result)
        + f"{_negative(result)}<p>Ladder rung evidenced: {rung}</p><ul>{notes}</ul>"
    )


def _tests(result: SuiteResult) -> int:
    """Rows with a p-value; in a suite that flags by intervals alone (the scan), every row."""
    return sum(row.p_value is not None for row in result.rows) or len(result.rows)


def _overview(summary: AuditSummary) -> str:
    rows = "".join(
        html_row(
            [
                f"<a href='#{escape(r.suite)}'>{escape(r.suite)}</a>",
                str(r.n_items),
                f"{sum(x.flagged for x in r.rows)} of {_tests(r)}",
                "L" + str(r.ladder_rung) if r.ladder_rung else "&ndash;",
            ],
            flagged=r.flagged,
        )
        for r in summary.suites
    )
    return html_table(["suite", "items", "tests flagged", "rung"], rows)


def _ladder(summary: AuditSummary) -> str:
    """Every rung, most dangerous first; a reached rung names the suites that evidence it."""
    items = []
    for rung, text in LADDER.items():
        by = [r for r in summary.suites if r.ladder_rung == rung]
        evidence = "".join(
            f"<div><a href='#{escape(r.suite)}'>{escape(r.suite)}</a>: {escape(r.evidence)}"
            "</div>" for r in by)
        status = "reached" if by else "not reached"
        items.append(f"<li class='{'reached' if by else ''}'><strong>L{rung}</strong> "
                     f"{escape(text)} <span class='muted'>({status})</span>{evidence}</li>")
    return f"<ol class='ladder'>{''.join(items)}</ol>"


def _answer_format(summary: AuditSummary) -> str:
    """The format --answer-format auto chose, and why (nothing when the format was given)."""
    if summary.answer_format is None:
        return ""
    return f"<p>Answer format: {escape(summary.answer_format.reason)}.</p>"


def render_report(summary: AuditSummary) -> str:
    """A complete HTML page of an audit, inline SVG, no script, no network.

    The ladder first, then per suite a forest plot of its readouts and every readout with
    its CI and test.
    """
    subject = summary.subject
    sections = "".join(suite_section(r) for r in summary.suites) or (
        "<p>No suites ran.</p>"
    )
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>{VIEWPORT}"
        f"<title>ulterior audit: {escape(subject.spec)}</title><style>{STYLE}</style></head>"
        f"<body><h1>ulterior audit: {escape(subject.spec)}</h1>"
        f"<p class='muted'>backend {escape(subject.backend)}, prompt format "
        f"{escape(subject.prompt_format)}, dtype {escape(str(subject.dtype))}, seed "
        f"{summary.seed}, item limit {summary.limit}, alpha {summary.alpha}, ulterior "
        f"{escape(summary.ulterior_version)}, {escape(summary.created.isoformat())}</p>"
        f"{_answer_format(summary)}"
        f"<h2>Demonstration ladder</h2><p><strong>{escape(summary.highest_rung_evidence)}"
        f"</strong></p>{_ladder(summary)}"
        f"{_overview(summary)}"
        "<p class='muted'>Unless a suite's notes say otherwise, every interval is a 95% "
        "percentile bootstrap over items (the independent units); p-values are sign-flip "
        "permutation tests; flags use Benjamini-Hochberg within each suite and count only "
        "the direction of concern.</p>"
        f"{sections}</body></html>"
    )
