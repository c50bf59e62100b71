from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ulterior.models import DEFAULT_MODEL, LoadOptions, Subject, load_subject
from ulterior.store import default_cache_dir, default_organisms_dir, default_store_path


class Job(BaseModel):
    """Settings every job that loads models shares: where things live, how models compute.

    The locations are fields; None resolves, in this one place, to the environment's
    (``$ULTERIOR_STORE``, ``$ULTERIOR_CACHE``, ``$ULTERIOR_ORGANISMS``) or the user's data
    and cache directories.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    store: Path | None = Field(default=None, description="Store path (None: the default).")
    cache_dir: Path | None = Field(
        default=None, description="Converted models and weight hashes (None: the default).")
    organisms_dir: Path | None = Field(
        default=None, description="Trained organisms (None: the default).")
    dtype: Literal["auto", "bfloat16", "float32", "mixed"] = Field(
        default="auto", description="Compute dtype of local models; activation capture "
        "computes in the same mode."
    )
    prompt_format: Literal["chat", "plain"] | None = Field(
        default=None, description="Force a prompt format (None: the model's own)."
    )
    seed: int = Field(default=0, description="Root seed.")
    show_progress: bool = Field(default=True, description="Show progress.")

    def store_path(self) -> Path:
        """The store to use."""
        return self.store or default_store_path()

    def cache_path(self) -> Path:
        """Where converted models are cached."""
        return self.cache_dir or default_cache_dir()

    def organisms_path(self) -> Path:
        """Where trained organisms live."""
        return self.organisms_dir or default_organisms_dir()

    def load_options(self) -> LoadOptions:
        """How this job loads a model: the subject, or another compared with it."""
        return LoadOptions(cache_dir=self.cache_path(), dtype=self.dtype,
                           prompt_format=self.prompt_format, organisms_dir=self.organisms_path())


class SubjectJob(Job):
    """Settings every job that loads one subject shares."""

    model: str = Field(default=DEFAULT_MODEL, description="Model spec string.")
    resume: bool = Field(default=False, description="Continue an interrupted run.")

    def load(self) -> Subject:
        """Load the subject."""
        return load_subject(self.model, self.load_options())
