from __future__ import annotations

from html import escape

from ulterior.records import AuditSummary, SuiteResult
from ulterior.report._ladder import LADDER

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}
tr.flag{background:#fde2e2} .muted{color:#666}
"""


def _number(value: float | None, digits: int = 3) -> str:
    return "&ndash;" if value is None else f"{value:.{digits}f}"


def _suite_section(result: SuiteResult) -> str:
    rows = "".join(
        f"<tr class='{'flag' if row.flagged else ''}'><td>{escape(row.name)}"
        f"<div class='muted'>{escape(row.description)}</div></td><td>{row.n}</td>"
        f"<td>{_number(row.estimate)}</td><td>[{_number(row.low)}, {_number(row.high)}]</td>"
        f"<td>{_number(row.p_value, 4)}</td><td>{_number(row.p_adjusted, 4)}</td>"
        f"<td>{'yes' if row.flagged else 'no'}</td><td>{_number(row.mde)}</td></tr>"
        for row in result.rows
    )
    notes = "".join(f"<li>{escape(note)}</li>" for note in result.notes)
    rung = f"L{result.ladder_rung}: {escape(result.evidence)}" if result.ladder_rung else "none"
    return (
        f"<h2>{escape(result.suite)}</h2><p>{escape(result.description)}</p>"
        "<table><tr><th>readout</th><th>n</th><th>estimate</th><th>95% CI</th><th>p</th>"
        f"<th>p (BH)</th><th>flagged</th><th>MDE (80% power)</th></tr>{rows}</table>"
        f"<p>Ladder rung evidenced: {rung}</p><ul>{notes}</ul>"
    )


def render_report(summary: AuditSummary) -> str:
    """A plain, complete HTML page of an audit: every readout with its CI and test."""
    subject = summary.subject
    ladder = "".join(f"<li>L{k}: {escape(v)}</li>" for k, v in LADDER.items())
    sections = "".join(_suite_section(r) for r in summary.suites) or (
        "<p>No suites ran.</p>"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>ulterior audit: {escape(subject.spec)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>ulterior audit: {escape(subject.spec)}</h1>"
        f"<p class='muted'>backend {escape(subject.backend)}, prompt format "
        f"{escape(subject.prompt_format)}, dtype {escape(str(subject.dtype))}, seed "
        f"{summary.seed}, item limit {summary.limit}, ulterior {escape(summary.ulterior_version)}"
        f", {escape(summary.created.isoformat())}</p>"
        f"<h2>Demonstration ladder</h2><p><strong>{escape(summary.highest_rung_evidence)}"
        f"</strong></p><ol class='muted' style='list-style:none'>{ladder}</ol>"
        f"{sections}</body></html>"
    )
