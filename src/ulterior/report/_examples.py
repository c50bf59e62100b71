"""The items behind a flagged readout, quoted: a block of HTML, or lines of Markdown."""

from __future__ import annotations

import re
from html import escape

from ulterior.records import Example, QuotedItem, ResultRow, SuiteResult

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|#])")


def _units(n: int) -> str:
    return "the unit" if n == 1 else f"the {n} units"


def _options_html(item: QuotedItem) -> str:
    entries = []
    for k, option in enumerate(item.options):
        p = f" <span class='muted'>P = {item.probabilities[k]:.3f}</span>" if (
            k < len(item.probabilities)) else ""
        studied = " <em>(the behaviour studied)</em>" if k == item.matching else ""
        entries.append(f"<li>{escape(option)}{p}{studied}</li>")
    return f"<ul>{''.join(entries)}</ul>"


def _item_html(item: QuotedItem) -> str:
    label = f"<strong>{escape(item.variant)}</strong> " if item.variant else ""
    system = (f"<blockquote><span class='muted'>system:</span> {escape(item.system)}</blockquote>"
              if item.system else "")
    answer = (f"<p class='muted'>reply:</p><blockquote>{escape(item.reply)}</blockquote>"
              if item.reply is not None else _options_html(item))
    return (f"<p>{label}<span class='muted'>{escape(item.item_id)}</span></p>"
            f"{system}<blockquote>{escape(item.prompt)}</blockquote>{answer}")


def _example_html(example: Example, unit: str) -> str:
    items = "".join(_item_html(item) for item in example.items)
    return (f"<div><p>unit <strong>{escape(example.unit)}</strong>: {example.value:+.3f} "
            f"{escape(unit)}</p>{items}</div>")


def examples_html(row: ResultRow) -> str:
    """A row's examples as one collapsed ``<details>`` block; empty when it has none.

    Each example shows its unit's value, then every item of the unit: the system turn and
    prompt as block quotes, then the options with the subject's probabilities (the option
    of the behaviour studied marked) or the subject's reply. All text is escaped.
    """
    if not row.examples:
        return ""
    body = "".join(_example_html(example, row.unit) for example in row.examples)
    return (f"<details><summary>Why <strong>{escape(row.name)}</strong> is flagged: "
            f"{_units(len(row.examples))} most in the direction of concern, quoted</summary>"
            f"{body}</details>")


def suite_examples_html(result: SuiteResult) -> str:
    """:func:`examples_html` of every row of a suite, in row order."""
    return "".join(examples_html(row) for row in result.rows)


def _md(text: str) -> str:
    """Text on one Markdown line: whitespace collapsed, HTML and Markdown syntax escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", escape(" ".join(text.split()), quote=False))


def _item_markdown(item: QuotedItem) -> str:
    said = [f"system: \u201c{_md(item.system)}\u201d"] if item.system else []
    said.append(f"prompt: \u201c{_md(item.prompt)}\u201d")
    if item.reply is not None:
        said.append(f"reply: \u201c{_md(item.reply)}\u201d")
    else:
        said.append("options: " + "; ".join(
            f"\u201c{_md(option)}\u201d"
            + (f" {item.probabilities[k]:.3f}" if k < len(item.probabilities) else "")
            + (" (the behaviour studied)" if k == item.matching else "")
            for k, option in enumerate(item.options)))
    label = f"{_md(item.variant)} " if item.variant else ""
    return f"  - {label}({_md(item.item_id)}): " + " \u2014 ".join(said)


def examples_markdown(row: ResultRow) -> list[str]:
    """A row's examples as a Markdown list (and a blank line); none when it has none."""
    if not row.examples:
        return []
    lines = [f"Why **{_md(row.name)}** is flagged, {_units(len(row.examples))} most in the "
             "direction of concern:", ""]
    for example in row.examples:
        lines.append(f"- **{_md(example.unit)}**: {example.value:+.3f} {row.unit}")
        lines += [_item_markdown(item) for item in example.items]
    return [*lines, ""]
