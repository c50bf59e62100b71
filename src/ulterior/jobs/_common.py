from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ulterior.models import DEFAULT_MODEL, LoadOptions, Subject, load_subject
from ulterior.store import default_cache_dir, default_store_path


class SubjectJob(BaseModel):
    """Settings every job that loads a subject shares."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(default=DEFAULT_MODEL, description="Model spec string.")
    store: Path | None = Field(default=None, description="Store path (None: the default).")
    dtype: Literal["auto", "bfloat16", "float32", "mixed"] = Field(
        default="auto", description="Compute dtype of local models."
    )
    prompt_format: Literal["chat", "plain"] | None = Field(
        default=None, description="Force a prompt format (None: the model's own)."
    )
    seed: int = Field(default=0, description="Root seed.")
    resume: bool = Field(default=False, description="Continue an interrupted run.")
    show_progress: bool = Field(default=True, description="Show progress.")

    def store_path(self) -> Path:
        """The store to use."""
        return self.store or default_store_path()

    def load_options(self) -> LoadOptions:
        """How this job loads a model: the subject, or another compared with it."""
        return LoadOptions(
            cache_dir=default_cache_dir(), dtype=self.dtype, prompt_format=self.prompt_format
        )

    def load(self) -> Subject:
        """Load the subject."""
        return load_subject(self.model, self.load_options())


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` so that ``path`` is either the old file or the whole new one."""
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is meant to be shared
    os.replace(tmp, path)
