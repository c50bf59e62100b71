"""Reports: the demonstration ladder, the HTML reports with their plots, and the gate."""

from ulterior.report._forest import forest_plot
from ulterior.report._html import render_report
from ulterior.report._ladder import FAIL_ON, LADDER, highest_rung, tripped
from ulterior.report._markdown import render_markdown
from ulterior.report._svg import band_chart
from ulterior.report._track import render_track, trajectory_chart
from ulterior.report._validation import render_validation

__all__ = ["FAIL_ON", "LADDER", "band_chart", "forest_plot", "highest_rung", "render_markdown",
           "render_report", "render_track", "render_validation", "trajectory_chart",
           "tripped"]
