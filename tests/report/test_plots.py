"""Forest plots, the ladder and the scorecard chart: drawn where the numbers say."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ulterior.records import AuditSummary, ResultRow, SubjectInfo, SuiteResult
from ulterior.report import highest_rung, render_report
from ulterior.report._forest import Interval, forest_plot, interval_plot
from ulterior.report._svg import nice_ticks

SVG = "{http://www.w3.org/2000/svg}"


def _rows() -> list[ResultRow]:
    return [
        ResultRow(name="pooled", n=24, estimate=0.30, low=0.10, high=0.50, p_value=0.001,
                  flagged=True, mde=0.20),
        ResultRow(name="cue:<logging>", n=24, estimate=-0.05, low=-0.20, high=0.10,
                  p_value=0.5, mde=0.25),
    ]


def summary() -> AuditSummary:
    result = SuiteResult(suite="oversight-gap", description="desc", rows=tuple(_rows()),
                         ladder_rung=5, evidence="because", n_items=96, flagged=True)
    rung, evidence = highest_rung([result])
    return AuditSummary(subject=SubjectInfo(spec="fake:x", backend="fake", fingerprint="f",
                                            prompt_format="plain"),
                        seed=0, suites=(result,), highest_rung=rung,
                        highest_rung_evidence=evidence, ulterior_version="0")


def test_a_forest_plot_places_each_interval_marks_flags_and_shades_the_mde() -> None:
    svg = ET.fromstring(forest_plot("oversight-gap: nats", _rows(), "nats"))
    assert svg.tag == f"{SVG}svg"
    lines = [e for e in svg.iter(f"{SVG}line") if e.get("y1") == e.get("y2")
             and e.get("stroke-width") == "1.6"]
    assert len(lines) == 2
    (flagged, plain) = lines
    x = [float(flagged.get(k, "0")) for k in ("x1", "x2")] + [
        float(plain.get(k, "0")) for k in ("x1", "x2")]
    # one linear axis: -0.20 < 0.10 (both rows) < 0.50 in pixels too, and the CI widths
    # (0.40 and 0.30 nats) keep their ratio
    assert x[2] < x[0] < x[1] and abs(x[0] - x[3]) < 0.11
    assert abs((x[1] - x[0]) / (x[3] - x[2]) - 0.40 / 0.30) < 0.02
    assert flagged.get("stroke") != plain.get("stroke")
    assert len(list(svg.iter(f"{SVG}path"))) == 1  # one diamond: the one flagged row
    assert len(list(svg.iter(f"{SVG}circle"))) == 1
    zero = next(e for e in svg.iter(f"{SVG}line") if e.get("stroke-dasharray") == "2,2")
    for rect, mde in zip(svg.iter(f"{SVG}rect"), (0.20, 0.25), strict=True):
        left, width = float(rect.get("x", "0")), float(rect.get("width", "0"))
        assert abs(left + width / 2 - float(zero.get("x1", "0"))) < 0.11  # centred on zero
        assert abs(width / (x[1] - x[0]) - 2 * mde / 0.40) < 0.02
    texts = [e.text for e in svg.iter(f"{SVG}text")]
    assert "nats" in texts and "cue:&lt;logging&gt;" not in texts  # escaped, then parsed


def test_an_interval_plot_keeps_a_fixed_domain() -> None:
    svg = interval_plot("rates", [Interval("tpr", 0.5, 0.2, 0.8)], "rate", (0.0, 1.0))
    line = re.search(r"<line x1='([\d.]+)' x2='([\d.]+)' y1='[\d.]+' y2='[\d.]+' "
                     r"stroke='#08519c' stroke-width='1.6'", svg)
    assert line is not None
    left, right = float(line.group(1)), float(line.group(2))
    assert abs((left + right) / 2 - (138 + (360 - 14)) / 2) < 0.2  # 0.5 sits mid-axis


def test_round_ticks() -> None:
    assert nice_ticks(-0.031, 0.12) == [0.0, 0.05, 0.1]
    assert nice_ticks(0.4, 0.6) == [0.4, 0.45, 0.5, 0.55, 0.6]
    assert nice_ticks(1.0, 1.0) == [1.0]


def test_the_report_puts_the_ladder_first_and_a_plot_in_every_suite() -> None:
    html = render_report(summary())
    assert html.index("Demonstration ladder") < html.index("<h2 id='oversight-gap'>")
    assert "<li class='reached'><strong>L5</strong>" in html
    assert html.count("<li class=''>") == 4  # the four rungs not reached
    section = html[html.index("<h2 id='oversight-gap'>"):]
    assert section.count("<svg") == 1 and "class='forest'" in section
    assert "width=device-width" in html


def test_the_scorecard_is_drawn_with_its_intervals() -> None:
    from ulterior.records import DetectorScore, Statistic, ValidationSummary
    from ulterior.report import render_validation

    def stat(k: int, n: int) -> Statistic:
        return Statistic(estimate=k / n, low=max(0.0, k / n - 0.2), high=min(1.0, k / n + 0.2),
                         n=n)

    score = DetectorScore(
        detector="oversight-gap", n_deceptive=4, true_positives=3,
        true_positive_rate=stat(3, 4), n_shown=3, true_positives_shown=3,
        true_positive_rate_shown=stat(3, 3), n_controls=4, false_positives=0,
        false_positive_rate=stat(0, 4), auroc=None)
    html = render_validation(ValidationSummary.model_construct(
        scorecard=(score,), organisms=(), notes=(), alpha=0.05, ulterior_version="0",
        created=summary().created))
    assert "oversight-gap TPR (n=3)" in html and "oversight-gap FPR (n=4)" in html


def test_rates_get_their_own_plot_so_contrasts_keep_their_scale() -> None:
    from ulterior.report._forest import suite_plots

    rows = [*_rows(), ResultRow(name="P(misaligned | observed)", n=48, estimate=0.5,
                                low=0.49, high=0.51)]
    html = suite_plots("oversight-gap", rows)
    assert html.count("<svg") == 2
    assert "oversight-gap: probability, rates" in html
