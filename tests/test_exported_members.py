"""Pin the public names of each subpackage: changing them is a deliberate act."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "ulterior.errors": ["CapabilityError", "ContextLengthError", "DataFormatError",
                        "MissingDependencyError", "ModelLoadError", "ServerError",
                        "UlteriorError", "UnknownSpecError", "UsageError", "first_problem"],
    "ulterior.models": ["BUNDLED_MODELS", "DEFAULT_MODEL", "DEVICE_DEFAULTS", "DTYPES",
                        "FAKE_PARTS", "DeviceDefaults", "Placement", "check_device",
                        "input_device", "parse_max_memory", "plan_token_budget",
                        "resolve_device",
                        "TOP_LOGPROBS_SCORER",
                        "UNOBSERVED_CUES", "Activations", "BundledModel", "Capabilities",
                        "ChoiceRequest", "Chooser", "Conversation", "DType", "DeviceSummary",
                        "FakeSubject",
                        "FormatName", "GenerationSettings", "HFSubject", "KnownChoices",
                        "LoadOptions", "PackedBatch",
                        "PromptFormat", "Subject", "SubjectRegistry", "TokenizedRequest",
                        "WhiteBoxSubject", "answer_logprobs", "available_devices",
                        "check_model_dir",
                        "check_one_token_answers",
                        "compute_mode", "cpu_has_bf16", "cpu_name",
                        "default_registry", "dtype_name", "parse_openai_spec",
                        "load_subject", "pack", "plan_batches", "render_plain", "resolve_dtype",
                        "soft_capped", "split_answers",
                        "weight_dtype", "white_box"],
    "ulterior.store": ["RunStatus", "Store", "StoreRecords", "check_output_dir",
                       "check_output_file",
                       "check_store_path", "default_cache_dir", "default_organisms_dir",
                       "default_store_path", "write_atomic", "write_outputs"],
    "ulterior.scenarios": ["Presentation", "as_cloze", "load_items", "parse_labelled_options",
                           "parse_yaml", "present", "presentations", "read_jsonl"],
    "ulterior.runner": ["REPLY_TOKENS", "ChoiceSummary", "DeviceName", "Job", "Registry",
                        "RunContext",
                        "ScoreConfig",
                        "ScoreOutcome",
                        "SubjectJob", "choice_probabilities", "parse_answer", "progress",
                        "sampled_answers",
                        "score_items",
                        "summarize_choices"],
    "ulterior.detectors": ["NEEDS", "BaseReading", "ConditionSalience", "Detector",
                           "DetectorRegistry", "Need", "NoiseConfig", "NoiseInjection",
                           "ProbeCondition", "ProbeReadout", "SalienceScan", "SuiteDetector",
                           "Target", "condition_items", "condition_labels", "condition_probe",
                           "condition_salience", "condition_share", "default_detectors",
                           "layer_profile", "pointed_at", "salience_scan", "scan_items"],
    "ulterior.executors": ["Executor", "ExecutorConfig", "LocalExecutor", "RayExecutor",
                           "Resources", "Work", "run_isolated"],
    "ulterior.jobs": ["AuditJob", "InspectReportJob", "OrganismJob", "ReportJob", "ScoreJob",
                      "ScoreReport", "TrackJob", "ValidateJob", "run_audit", "run_audits",
                      "run_inspect_report", "run_organism_grid", "run_organism_train",
                      "run_report", "run_score", "run_track", "run_validate"],
    "ulterior.inspect": ["InspectSubject", "RecordedAnswers", "ReplaySubject",
                         "UlteriorModelAPI", "answer_scorer", "answer_solver",
                         "come_clean", "honeypot", "oversight_gap", "parse_inspect_spec",
                         "persona", "precursors", "read_log", "readout_metric",
                         "register_subjects", "replay_suite", "require_inspect", "sandbagging",
                         "suite_samples", "suite_task", "summary_from_logs", "training_game",
                         "trigger_scan"],
    "ulterior.training": ["DANGEROUS_PAIRS", "FOUNDATIONAL", "METHODS", "MIN_SHIFT", "PRECURSORS",
                          "PROPERTIES", "WARNING_PROBABILITY", "AdapterReader", "Method", "Battery",
                          "BatteryItem", "Checkpoint", "PropertyCallback", "Split", "base_of",
                          "battery_items", "dangerous_order", "earlier", "emergence",
                          "find_checkpoints", "full_subject", "load_battery", "read_battery",
                          "read_track", "track_record", "write_track"],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names(module: str) -> None:
    imported = importlib.import_module(module)
    assert sorted(imported.__all__) == sorted(PUBLIC[module])
    for name in imported.__all__:
        assert hasattr(imported, name), name


@pytest.mark.parametrize("module", ["ulterior.records", "ulterior.stats", "ulterior.suites",
                                    "ulterior.report", "ulterior.organisms"])
def test_every_exported_name_exists(module: str) -> None:
    imported = importlib.import_module(module)
    for name in imported.__all__:
        assert hasattr(imported, name), name
