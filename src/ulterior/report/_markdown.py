from __future__ import annotations

from ulterior.records import AuditSummary
from ulterior.report._examples import examples_markdown


def _p(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2g}" if value < 0.001 else f"{value:.3f}"


def render_markdown(summary: AuditSummary) -> str:
    """Every readout of an audit as Markdown tables (one per suite), for READMEs and docs.

    Below each table, the examples of its flagged readouts (:func:`examples_markdown`).
    """
    lines = [f"**{summary.subject.spec}** ({summary.subject.prompt_format} format, "
             f"{summary.subject.dtype}, seed {summary.seed}, alpha {summary.alpha}): "
             f"{summary.highest_rung_evidence}", ""]
    if summary.answer_format is not None:
        lines += [f"Answer format: {summary.answer_format.reason}.", ""]
    for result in summary.suites:
        lines += [f"*{result.suite}* ({result.n_items} items)", "",
                  f"| readout | unit | n | estimate | {result.interval} | p | p (BH) | flagged | "
                  "MDE |",
                  "|---|---|--:|--:|---|--:|--:|:-:|--:|"]
        for row in result.rows:
            mde = "–" if row.mde is None else f"{row.mde:.3f}"
            lines.append(
                f"| {row.name} | {row.unit} | {row.n} | {row.estimate:+.3f} | [{row.low:+.3f}, "
                f"{row.high:+.3f}] | {_p(row.p_value)} | {_p(row.p_adjusted)} | "
                f"{'**yes**' if row.flagged else 'no'} | {mde} |"
            )
        lines.append("")
        for row in result.rows:
            lines += examples_markdown(row)
    return "\n".join(lines)
