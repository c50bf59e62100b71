from __future__ import annotations

import subprocess
import sys

import ulterior.suites as suites


def test_public_names_are_pinned() -> None:
    assert sorted(suites.__all__) == sorted([
        "RISK_CATEGORIES", "AnswerFormat", "ComeCleanSuite", "ConditionCandidate",
        "HoneypotSuite", "OversightGapSuite", "PersonaSuite", "PrecursorsSuite", "Readout",
        "RiskCategory", "SandbaggingSuite", "Suite", "SuiteRegistry", "SuiteSettings",
        "TrainingGameSuite", "TriggerScanSuite", "admits_hidden_goal", "choose_answer_format",
        "comprehension_items",
        "default_suites", "load_pack", "load_risk_items", "names_condition", "option_log_odds",
        "option_probabilities", "read_user_pack", "score_suite", "values_by_unit", "where",
    ])
    for name in suites.__all__:
        assert (name.isupper() or name == "AnswerFormat"  # a type alias has no module of ours
                or getattr(suites, name).__module__.startswith("ulterior."))


def test_default_registry_runs_the_eight_suites_in_order() -> None:
    assert suites.default_suites().names() == [
        "oversight-gap", "trigger-scan", "honeypot", "come-clean", "persona", "training-game",
        "sandbagging", "precursors"]


def test_importing_suites_does_not_import_torch() -> None:
    code = "import sys, ulterior.suites; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
