"""What machine a benchmark ran on, for its results file."""

from __future__ import annotations

from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo), or ``unknown``."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    for line in lines:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"
