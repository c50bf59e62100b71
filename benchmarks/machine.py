"""What machine a benchmark ran on, for its results file."""

from __future__ import annotations

from ulterior.models import cpu_name


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    return cpu_name()
