from __future__ import annotations

from ulterior.suites._base import SuiteRegistry
from ulterior.suites._come_clean import ComeCleanSuite
from ulterior.suites._honeypot import HoneypotSuite
from ulterior.suites._oversight_gap import OversightGapSuite
from ulterior.suites._persona import PersonaSuite
from ulterior.suites._precursors import PrecursorsSuite
from ulterior.suites._sandbagging import SandbaggingSuite
from ulterior.suites._training_game import TrainingGameSuite
from ulterior.suites._trigger_scan import TriggerScanSuite


def default_suites() -> SuiteRegistry:
    """A new registry with the built-in suites, in the order an audit runs them.

    Direct tests of deceptive alignment come first (catch it in the act, then uncover it in
    advance), the precursors last. Adding a suite is adding its class here, or registering
    it on a registry of one's own.
    """
    registry = SuiteRegistry()
    for suite in (OversightGapSuite, TriggerScanSuite, HoneypotSuite, ComeCleanSuite, PersonaSuite,
                  TrainingGameSuite, SandbaggingSuite, PrecursorsSuite):
        registry.register(suite)
    return registry
