"""The training monitor's page: a chart per property, the onsets, the order."""

from __future__ import annotations

from html import escape

from ulterior.records import TrackRecord, Trajectory
from ulterior.report._html import STYLE, VIEWPORT, html_row, html_table
from ulterior.report._svg import band_chart


def trajectory_chart(t: Trajectory) -> str:
    """A property's mean change over training, its band, and its onset marker (inline SVG)."""
    return band_chart(
        t.property, t.steps, t.change, t.low, t.high, marker=t.onset,
        marker_label="" if t.onset is None else f"onset {t.onset}",
        y_label="change (nats)", x_label="training step")


def _onset_row(t: Trajectory) -> str:
    distribution = ", ".join(f"{step}: {share:.2f}" for step, share in
                             sorted(t.onset_distribution.items(), key=lambda kv: -kv[1])[:4])
    return html_row([
        escape(t.property), "&ndash;" if t.onset is None else str(t.onset),
        f"{t.shift:+.2f} [{t.shift_low:+.2f}, {t.shift_high:+.2f}]",
        f"{t.change[-1]:+.2f} [{t.low[-1]:+.2f}, {t.high[-1]:+.2f}]", str(t.n_items),
        escape(distribution)], flagged=t.onset is not None)


def render_track(record: TrackRecord) -> str:
    """A self-contained HTML page of a track record (inline SVG, no network)."""
    analysis = record.emergence
    charts = "".join(f"<div style='flex:1 1 320px;max-width:360px'>{trajectory_chart(t)}</div>"
                     for t in analysis.trajectories)
    onsets = html_table(["property", "onset step", "shift (nats) [95% CI]",
                         "last change (nats) [95% CI]", "items", "onset distribution"],
                        "".join(_onset_row(t) for t in analysis.trajectories))
    pairs = html_table(["A", "B", "P(A first)", "P(same)", "P(B first)"], "".join(
        html_row([escape(p.first), escape(p.second), f"{p.p_first_earlier:.2f}",
                  f"{p.p_same:.2f}", f"{p.p_second_earlier:.2f}"],
                 flagged=max(p.p_first_earlier, p.p_second_earlier) >= 0.9)
        for p in analysis.pairs))
    warnings = "".join(f"<p style='color:#b00'><strong>{escape(w)}</strong></p>"
                       for w in analysis.warnings) or "<p>No dangerous-order warning.</p>"
    order = " &lt; ".join(escape(p) for p in analysis.order) or "no property emerged"
    readings = html_table(["step", "read"], "".join(
        html_row([str(s), escape(c)]) for s, c in zip(record.steps, record.checkpoints,
                                                       strict=True)))
    notes = "".join(f"<li>{escape(n)}</li>" for n in (analysis.method, *analysis.notes))
    effect = (f" and {analysis.min_effect:.2f} item standard deviations" if analysis.min_effect
              else "")
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>{VIEWPORT}"
        f"<title>ulterior track</title><style>{STYLE}</style></head><body>"
        "<h1>ulterior track: what emerged when</h1>"
        f"<p class='muted'>{len(record.steps)} readings of {len(record.item_ids)} items, "
        f"{analysis.n_resamples} bootstrap replicates over items, onsets from "
        f"{analysis.min_shift:.2f} nats{effect}; {escape(record.created.isoformat())}</p>"
        f"<h2>Order</h2><p><strong>{order}</strong></p>{warnings}"
        "<h2>Trajectories</h2><p class='muted'>Mean log-odds change since the first reading "
        "over items, with its 95% bootstrap band; a dashed line marks a declared onset.</p>"
        f"<div style='display:flex;flex-wrap:wrap;gap:8px'>{charts}</div>"
        f"<h2>Onsets</h2>{onsets}<h2>Pairwise order</h2>{pairs}"
        f"<ul class='muted'>{notes}</ul><h2>Readings</h2>{readings}</body></html>"
    )
