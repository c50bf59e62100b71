"""Pin the public names of each subpackage: changing them is a deliberate act."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "ulterior.errors": ["CapabilityError", "ContextLengthError", "DataFormatError",
                        "MissingDependencyError", "ModelLoadError", "ServerError",
                        "UlteriorError", "UnknownSpecError", "UsageError"],
    "ulterior.models": ["BUNDLED_MODELS", "DEFAULT_MODEL", "FAKE_PARTS", "UNOBSERVED_CUES",
                        "Activations", "BundledModel", "Capabilities", "ChoiceRequest",
                        "Conversation", "FakeSubject", "GenerationSettings", "LoadOptions",
                        "PromptFormat", "Subject", "SubjectRegistry", "default_registry",
                        "load_subject", "render_plain"],
    "ulterior.store": ["RunStatus", "Store", "default_cache_dir", "default_organisms_dir",
                       "default_store_path"],
    "ulterior.scenarios": ["Presentation", "load_items", "parse_labelled_options", "present",
                           "presentations", "read_jsonl"],
    "ulterior.runner": ["ChoiceSummary", "RunContext", "ScoreConfig", "ScoreOutcome",
                        "progress", "score_items", "summarize_choices"],
    "ulterior.jobs": ["AuditJob", "OrganismJob", "ScoreJob", "ScoreReport", "ValidateJob",
                      "run_audit", "run_organism_train", "run_score", "run_validate"],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names(module: str) -> None:
    imported = importlib.import_module(module)
    assert sorted(imported.__all__) == sorted(PUBLIC[module])
    for name in imported.__all__:
        assert hasattr(imported, name), name


@pytest.mark.parametrize("module", ["ulterior.records", "ulterior.stats", "ulterior.suites",
                                    "ulterior.report"])
def test_every_exported_name_exists(module: str) -> None:
    imported = importlib.import_module(module)
    for name in imported.__all__:
        assert hasattr(imported, name), name
