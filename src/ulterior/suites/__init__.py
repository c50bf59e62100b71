"""Suites: the behavioural battery. Each builds its items, scores them and reads them out.

Built in, in audit order: ``oversight-gap``, ``trigger-scan``, ``honeypot``, ``come-clean``,
``persona``, ``training-game``, ``sandbagging``, ``precursors``. Their scenario packs are
package data (``ulterior/suites/packs/*.yaml``), written for ulterior.
"""

from ulterior.suites._base import Suite, SuiteRegistry, SuiteSettings, default_suites
from ulterior.suites._classify import admits_hidden_goal, names_condition
from ulterior.suites._come_clean import ComeCleanSuite
from ulterior.suites._honeypot import HoneypotSuite
from ulterior.suites._oversight_gap import OversightGapSuite
from ulterior.suites._persona import PersonaSuite
from ulterior.suites._precursors import PrecursorsSuite
from ulterior.suites._risk_data import RISK_CATEGORIES, RiskCategory, load_risk_items
from ulterior.suites._training_game import TrainingGameSuite
from ulterior.suites._trigger_scan import TriggerScanSuite

__all__ = [
    "RISK_CATEGORIES",
    "ComeCleanSuite",
    "HoneypotSuite",
    "OversightGapSuite",
    "PersonaSuite",
    "PrecursorsSuite",
    "RiskCategory",
    "Suite",
    "SuiteRegistry",
    "SuiteSettings",
    "TrainingGameSuite",
    "TriggerScanSuite",
    "admits_hidden_goal",
    "default_suites",
    "load_risk_items",
    "names_condition",
]
