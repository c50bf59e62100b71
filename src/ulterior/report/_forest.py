"""Forest plots: each readout's estimate and 95% CI on one axis, in its unit.

Inline SVG with no script, so a report stays one self-contained file. Each row shades the
band within its minimum detectable effect of zero: an interval that stays inside the band
is a readout too weak to have seen an effect of that size, not evidence of no effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from ulterior.records import ResultRow
from ulterior.report._svg import AXIS, LINE, MARK, Scale, nice_ticks, tick_label

WIDTH = 360
LABEL = 138  # pixels for the readout names, left of the axis
RIGHT, TOP, ROW, FOOT = 14, 22, 18, 34
MDE_BAND = "#e5e5e5"


@dataclass(frozen=True)
class Interval:
    """One line of a forest plot."""

    label: str
    estimate: float
    low: float
    high: float
    marked: bool = False  # drawn in red with a diamond: flagged, or a rate of errors
    band: float | None = None  # half-width of the grey band around zero (an MDE)


def _label(name: str, limit: int = 26) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _extent(rows: Sequence[Interval]) -> tuple[float, float]:
    """The axis range: every interval, every shaded band, and zero."""
    values = [0.0]
    for row in rows:
        values += [row.low, row.high, row.estimate]
        if row.band is not None:
            values += [-row.band, row.band]
    low, high = min(values), max(values)
    pad = (high - low) * 0.06 or 0.05
    return low - pad, high + pad


def forest_plot(title: str, rows: Sequence[ResultRow], unit: str) -> str:
    """One ``<svg>`` with a line per readout: its CI, its estimate, its MDE band around zero.

    Flagged readouts are drawn in red with a filled diamond and a bold name; the rest in
    blue with a circle. The x axis is labelled with ``unit``.
    """
    return interval_plot(title, [
        Interval(r.name, r.estimate, r.low, r.high, marked=r.flagged, band=r.mde)
        for r in rows], unit)


def interval_plot(title: str, rows: Sequence[Interval], unit: str,
                  domain: tuple[float, float] | None = None) -> str:
    """One ``<svg>`` with a line per interval; ``domain`` fixes the axis (else it fits)."""
    height = TOP + ROW * len(rows) + FOOT
    low, high = domain or _extent(rows)
    x = Scale(low, high, LABEL, WIDTH - RIGHT)
    bottom = TOP + ROW * len(rows)
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {WIDTH} {height}' role='img' "
        f"class='forest' aria-label='{escape(title)}' style='max-width:100%;height:auto'>",
        f"<title>{escape(title)}</title>",
        f"<text x='4' y='14' font-size='11' font-weight='bold'>{escape(title)}</text>",
    ]
    for i, row in enumerate(rows):
        y = TOP + ROW * i + ROW / 2
        colour = MARK if row.marked else LINE
        if row.band is not None:
            parts.append(f"<rect x='{x(-row.band):.1f}' y='{y - ROW / 2 + 2:.1f}' "
                         f"width='{x(row.band) - x(-row.band):.1f}' height='{ROW - 4}' "
                         f"fill='{MDE_BAND}'/>")
        weight = " font-weight='bold'" if row.marked else ""
        parts.append(f"<text x='{LABEL - 6}' y='{y + 3:.1f}' font-size='9' text-anchor='end'"
                     f"{weight} fill='{colour if row.marked else '#222'}'>"
                     f"<title>{escape(row.label)}</title>{escape(_label(row.label))}</text>")
        parts.append(f"<line x1='{x(row.low):.1f}' x2='{x(row.high):.1f}' y1='{y:.1f}' "
                     f"y2='{y:.1f}' stroke='{colour}' stroke-width='1.6'/>")
        cx = x(row.estimate)
        parts.append(
            f"<path d='M{cx:.1f},{y - 5:.1f} L{cx + 5:.1f},{y:.1f} L{cx:.1f},{y + 5:.1f} "
            f"L{cx - 5:.1f},{y:.1f} Z' fill='{colour}'/>" if row.marked else
            f"<circle cx='{cx:.1f}' cy='{y:.1f}' r='3' fill='{colour}'/>")
    parts.append(f"<line x1='{x(0):.1f}' x2='{x(0):.1f}' y1='{TOP}' y2='{bottom}' "
                 f"stroke='{AXIS}' stroke-dasharray='2,2'/>")
    parts.append(f"<line x1='{LABEL}' x2='{WIDTH - RIGHT}' y1='{bottom}' y2='{bottom}' "
                 f"stroke='{AXIS}'/>")
    for value in nice_ticks(low, high):
        parts.append(f"<text x='{x(value):.1f}' y='{bottom + 11}' font-size='9' "
                     f"text-anchor='middle'>{tick_label(value)}</text>")
    parts.append(f"<text x='{(LABEL + WIDTH - RIGHT) / 2:.0f}' y='{height - 6}' "
                 f"font-size='10' text-anchor='middle'>{escape(unit)}</text>")
    return "".join(parts) + "</svg>"


def suite_plots(suite: str, rows: Sequence[ResultRow]) -> str:
    """A forest plot per unit among the suite's readouts (one axis never mixes units).

    Tested contrasts and untested rates get plots of their own: a rate near 0.5 on the
    contrasts' axis would squeeze every contrast into a dot at zero.
    """
    groups: dict[tuple[str, bool], list[ResultRow]] = {}
    for row in rows:
        groups.setdefault((row.unit, row.p_value is not None), []).append(row)
    plots = "".join(
        f"<figure class='plot'>"
        f"{forest_plot(f'{suite}: {unit}' + ('' if tested else ', rates'), group, unit)}"
        "</figure>"
        for (unit, tested), group in groups.items())
    legend = ("<p class='muted'>Each line is a readout's 95% CI and its estimate; red "
              "diamonds are flagged; grey is the band within the readout's minimum detectable "
              "effect (80% power) of zero.</p>")
    return f"<div class='plots'>{plots}</div>{legend}" if plots else ""
