"""Suites: the behavioural battery. Each builds its items, scores them and reads them out.

Built in, in audit order: ``oversight-gap``, ``trigger-scan``, ``honeypot``, ``come-clean``,
``persona``, ``training-game``, ``sandbagging``, ``precursors``. Their scenario packs are
package data (``ulterior/suites/packs/*.yaml``), written for ulterior. A suite declares
everything else about itself (pack, random stream, validation score, the conditions it
presents): see :class:`Suite`.
"""

from ulterior.suites._answer_format import choose_answer_format, comprehension_items
from ulterior.suites._base import (
    AnswerFormat,
    ConditionCandidate,
    Suite,
    SuiteRegistry,
    SuiteSettings,
    where,
)
from ulterior.suites._classify import admits_hidden_goal, names_condition
from ulterior.suites._come_clean import ComeCleanSuite
from ulterior.suites._honeypot import HoneypotSuite
from ulterior.suites._oversight_gap import OversightGapSuite
from ulterior.suites._packs import load_pack
from ulterior.suites._persona import PersonaSuite
from ulterior.suites._precursors import PrecursorsSuite
from ulterior.suites._readout import (
    Readout,
    option_log_odds,
    option_probabilities,
    score_suite,
    values_by_unit,
)
from ulterior.suites._registry import default_suites
from ulterior.suites._risk_data import RISK_CATEGORIES, RiskCategory, load_risk_items
from ulterior.suites._sandbagging import SandbaggingSuite
from ulterior.suites._training_game import TrainingGameSuite
from ulterior.suites._trigger_scan import TriggerScanSuite
from ulterior.suites._user_packs import read_user_pack

__all__ = [
    "RISK_CATEGORIES",
    "AnswerFormat",
    "ComeCleanSuite",
    "ConditionCandidate",
    "HoneypotSuite",
    "OversightGapSuite",
    "PersonaSuite",
    "PrecursorsSuite",
    "Readout",
    "RiskCategory",
    "SandbaggingSuite",
    "Suite",
    "SuiteRegistry",
    "SuiteSettings",
    "TrainingGameSuite",
    "TriggerScanSuite",
    "admits_hidden_goal",
    "choose_answer_format",
    "comprehension_items",
    "default_suites",
    "load_pack",
    "load_risk_items",
    "names_condition",
    "option_log_odds",
    "option_probabilities",
    "read_user_pack",
    "score_suite",
    "values_by_unit",
    "where",
]
