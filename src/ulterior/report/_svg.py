"""Small inline SVG charts: no script, no network, readable at phone width."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 340, 190
LEFT, RIGHT, TOP, BOTTOM = 46, 12, 24, 34
BAND, LINE, MARK, AXIS = "#c6dbef", "#08519c", "#cb181d", "#999"


@dataclass(frozen=True)
class Scale:
    """A linear map from data values to pixels."""

    low: float
    high: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        span = self.high - self.low or 1.0
        return self.start + (value - self.low) / span * (self.end - self.start)


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """About ``count`` round tick values (steps of 1, 2 or 5 times a power of ten) in range."""
    span = high - low
    if span <= 0:
        return [low]
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(k * power for k in (1, 2, 5, 10) if k * power >= raw)
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    return [round(k * step, 12) + 0.0 for k in range(first, last + 1)]


def tick_label(value: float) -> str:
    """A tick value with no more digits than it needs."""
    return f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:g}"


def band_chart(title: str, x: Sequence[float], y: Sequence[float], low: Sequence[float],
               high: Sequence[float], *, marker: float | None = None,
               marker_label: str = "", y_label: str = "", x_label: str = "") -> str:
    """A line with its band, a zero line, and a vertical marker, as one ``<svg>`` element."""
    x_scale = Scale(min(x), max(x), LEFT, WIDTH - RIGHT)
    y_low, y_high = min(0.0, *low), max(0.0, *high)
    pad = (y_high - y_low) * 0.05 or 0.5
    y_scale = Scale(y_low - pad, y_high + pad, HEIGHT - BOTTOM, TOP)
    band = " ".join(f"{x_scale(a):.1f},{y_scale(b):.1f}" for a, b in zip(x, high, strict=True))
    band += " " + " ".join(f"{x_scale(a):.1f},{y_scale(b):.1f}"
                           for a, b in zip(reversed(x), reversed(low), strict=True))
    line = " ".join(f"{x_scale(a):.1f},{y_scale(b):.1f}" for a, b in zip(x, y, strict=True))
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {WIDTH} {HEIGHT}' "
        f"role='img' aria-label='{escape(title)}' style='max-width:100%;height:auto'>",
        f"<title>{escape(title)}</title>",
        f"<text x='{LEFT}' y='14' font-size='12' font-weight='bold'>{escape(title)}</text>",
        f"<polygon points='{band}' fill='{BAND}' stroke='none'/>",
        f"<line x1='{LEFT}' x2='{WIDTH - RIGHT}' y1='{y_scale(0):.1f}' y2='{y_scale(0):.1f}' "
        f"stroke='{AXIS}' stroke-dasharray='2,2'/>",
        f"<polyline points='{line}' fill='none' stroke='{LINE}' stroke-width='2'/>",
    ]
    for value in nice_ticks(y_scale.low, y_scale.high):
        py = y_scale(value)
        parts.append(f"<text x='{LEFT - 4}' y='{py + 3:.1f}' font-size='9' text-anchor='end'>"
                     f"{tick_label(value)}</text>")
    for value in x:
        parts.append(f"<text x='{x_scale(value):.1f}' y='{HEIGHT - BOTTOM + 12}' font-size='9' "
                     f"text-anchor='middle'>{value:g}</text>")
    parts.append(f"<line x1='{LEFT}' x2='{LEFT}' y1='{TOP}' y2='{HEIGHT - BOTTOM}' "
                 f"stroke='{AXIS}'/>")
    if marker is not None:
        px = x_scale(marker)
        parts.append(f"<line x1='{px:.1f}' x2='{px:.1f}' y1='{TOP}' y2='{HEIGHT - BOTTOM}' "
                     f"stroke='{MARK}' stroke-width='1.5' stroke-dasharray='4,3'/>")
        parts.append(f"<text x='{px + 3:.1f}' y='{TOP + 10}' font-size='10' fill='{MARK}'>"
                     f"{escape(marker_label)}</text>")
    parts.append(f"<text x='{(LEFT + WIDTH - RIGHT) / 2:.0f}' y='{HEIGHT - 4}' font-size='10' "
                 f"text-anchor='middle'>{escape(x_label)}</text>")
    parts.append(f"<text x='10' y='{(TOP + HEIGHT - BOTTOM) / 2:.0f}' font-size='10' "
                 f"text-anchor='middle' transform='rotate(-90 10 "
                 f"{(TOP + HEIGHT - BOTTOM) / 2:.0f})'>{escape(y_label)}</text>")
    return "".join(parts) + "</svg>"
