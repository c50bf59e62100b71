"""Shared settings and paths of the suite tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from ulterior.suites import SuiteSettings

# Fewer resamples keep the suite tests fast; flags depend on p-values, not on CI widths.
FAST = SuiteSettings(n_resamples=500, n_permutations=2000)

RISK_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "anthropic-advanced-ai-risk"


def require_risk_data() -> Path:
    if not RISK_DATA.is_dir():
        pytest.skip("shared advanced-ai-risk data not present beside the checkout")
    return RISK_DATA
