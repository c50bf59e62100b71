"""Probe fixtures on the shared tiny random Llama (2 blocks, hidden 32; tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def tiny_subject(tiny_llama_dir: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    from ulterior.models import HFSubject

    return HFSubject(tiny_llama_dir, spec=f"hf:{tiny_llama_dir}", cache_dir=tmp_path / "cache",
                     dtype="float32")


@pytest.fixture
def env_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the store and the model cache at a temporary folder."""
    monkeypatch.setenv("ULTERIOR_STORE", str(tmp_path / "store.sqlite"))
    monkeypatch.setenv("ULTERIOR_CACHE", str(tmp_path / "cache"))
    return tmp_path
