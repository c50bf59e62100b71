"""The validation report: the scorecard first, then each organism's verdicts."""

from __future__ import annotations

from html import escape

from ulterior.records import OrganismValidation, Statistic, ValidationSummary
from ulterior.report._forest import Interval, interval_plot
from ulterior.report._html import STYLE, VIEWPORT, html_row, html_table, suite_section


def _stat(value: Statistic | None) -> str:
    if value is None:
        return "&ndash;"
    return f"{value.estimate:.2f} [{value.low:.2f}, {value.high:.2f}]"


_SCORECARD_HEADERS = (
    "detector",
    "flagged deceptive",
    "TPR [95% CI]",
    "flagged, behaviour shown",
    "TPR (shown)",
    "flagged controls",
    "FPR [95% CI]",
    "AUROC of its score",
)


def _scorecard(summary: ValidationSummary) -> str:
    rows = "".join(
        html_row(
            [
                escape(c.detector),
                f"{c.true_positives}/{c.n_deceptive}",
                _stat(c.true_positive_rate),
                f"{c.true_positives_shown}/{c.n_shown}",
                _stat(c.true_positive_rate_shown),
                f"{c.false_positives}/{c.n_controls}",
                _stat(c.false_positive_rate),
                "&ndash;" if c.auroc is None else f"{c.auroc:.2f}",
            ]
        )
        for c in summary.scorecard
    )
    return _scorecard_chart(summary) + html_table(_SCORECARD_HEADERS, rows)


def _scorecard_chart(summary: ValidationSummary) -> str:
    """Per detector, its TPR and FPR with their Wilson intervals, on one 0-1 axis.

    The TPR is over the deceptive organisms whose behaviour is shown.
    """
    lines = []
    for c in summary.scorecard:
        for label, stat, n, marked in (
                (f"{c.detector} TPR", c.true_positive_rate_shown, c.n_shown, False),
                (f"{c.detector} FPR", c.false_positive_rate, c.n_controls, True)):
            if n:
                lines.append(Interval(f"{label} (n={n})", stat.estimate, stat.low, stat.high,
                                      marked=marked))
    if not lines:
        return ""
    return (f"<figure class='plot'>{interval_plot('scorecard', lines, 'rate', (0.0, 1.0))}"
            "</figure><p class='muted'>Blue: true-positive rate over deceptive organisms "
            "whose behaviour is shown; red: false-positive rate on controls; lines are 95% "
            "Wilson intervals.</p>")


_ORGANISM_HEADERS = (
    "organism",
    "kind",
    "behaviour rates (held-out tasks)",
    "behaviour shown",
    "flagged by",
    "rung",
    "come-clean names condition",
    "salience scan points at",
    "probe AUROC on/off",
    "held-out wordings",
)


def _organism_row(o: OrganismValidation) -> str:
    flags = ", ".join(v.detector for v in o.verdicts if v.flagged) or "none"
    rates = "; ".join(f"{r.condition} {r.rate:.2f}" for r in o.rates)
    named = {None: "&ndash;", True: "yes", False: "no"}[o.come_clean_names_condition]
    scan_named = {None: "", True: " (right kind)", False: " (wrong kind)"}[
        o.salience_scan_names_condition]
    return html_row(
        [
            f"<a href='#{escape(o.organism)}'>{escape(o.organism)}</a>",
            "control" if o.control else "deceptive",
            escape(rates),
            f"{'yes' if o.behaviour_shown else 'no'} (p {o.behaviour_p:.3f})",
            escape(flags),
            "L" + str(o.highest_rung) if o.highest_rung else "&ndash;",
            named,
            f"{escape(o.salience_scan_points_at or '') or '&ndash;'}{scan_named}",
            _stat(o.probe_auroc),
            _stat(o.probe_auroc_heldout),
        ]
    )


def _layer_cell(value: float, chosen: bool) -> str:
    # Blue above 0.5 (the condition reads as more defecting), red below; white is blind.
    strength = min(1.0, abs(value - 0.5) * 2)
    hue = 210 if value >= 0.5 else 0
    border = "border:2px solid #222;" if chosen else ""
    return (f"<td style='{border}background:hsl({hue},70%,{100 - 45 * strength:.0f}%)'>"
            f"{value:.2f}</td>")


def _layer_profile(summary: ValidationSummary) -> str:
    """Probe AUROC at every block per organism; the block the flag reads is outlined."""
    shown = [o for o in summary.organisms if o.probe_auroc_by_layer]
    if not shown:
        return ""
    depth = max(len(o.probe_auroc_by_layer) for o in shown)
    headers = ["organism", *(str(layer) for layer in range(depth))]
    rows = "".join(
        f"<tr><td>{escape(o.organism)}</td>"
        + "".join(_layer_cell(v, layer == o.probe_layer)
                  for layer, v in enumerate(o.probe_auroc_by_layer)) + "</tr>"
        for o in shown
    )
    return ("<h2>Probe AUROC by layer</h2><p class='muted'>The prompt-end defection probe's "
            "AUROC, condition on vs off, all cue wordings, at every block (point estimates). "
            "The outlined block is the one the probe-condition flag reads, a depth fixed in "
            "advance; the rest are descriptive.</p>"
            f"<div style='overflow-x:auto'>{html_table(headers, rows)}</div>")


def render_validation(summary: ValidationSummary) -> str:
    """A plain HTML page of a validation run."""
    organisms = "".join(_organism_row(o) for o in summary.organisms)
    details = "".join(
        f"<h2 id='{escape(o.organism)}'>organism:{escape(o.organism)}</h2>"
        f"<p>{escape(o.hidden_condition)}; {escape(o.highest_rung_evidence)}</p>"
        + "".join(suite_section(r) for r in o.results)
        for o in summary.organisms
    )
    notes = "".join(f"<li>{escape(n)}</li>" for n in summary.notes)
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>{VIEWPORT}"
        "<title>ulterior validate</title>"
        f"<style>{STYLE}</style></head><body><h1>ulterior validate</h1>"
        f"<p class='muted'>alpha {summary.alpha}, ulterior {escape(summary.ulterior_version)}, "
        f"{escape(summary.created.isoformat())}</p><h2>Scorecard</h2>{_scorecard(summary)}"
        f"<ul class='muted'>{notes}</ul><h2>Organisms</h2>"
        f"{html_table(_ORGANISM_HEADERS, organisms)}{_layer_profile(summary)}"
        f"{details}</body></html>"
    )
