from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ulterior.errors import UsageError
from ulterior.models import (
    DEFAULT_MODEL,
    DType,
    LoadOptions,
    Placement,
    Subject,
    check_device,
    load_subject,
)
from ulterior.store import default_cache_dir, default_organisms_dir, default_store_path


def _known_device(device: str) -> str:
    try:
        return check_device(device)
    except UsageError as exc:
        raise ValueError(str(exc).removeprefix("--device ")) from None


# A device form ulterior takes (auto, cpu, cuda, cuda:N), checked when a job is built.
DeviceName = Annotated[str, AfterValidator(_known_device)]


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
    dtype: DType = Field(
        default="auto", description="Compute dtype of local models; activation capture "
        "computes in the same mode."
    )
    device: DeviceName = Field(
        default="auto", description="Where local models compute: auto (the first GPU when "
        "there is one, else the CPU), cpu, cuda or cuda:N.")
    device_map: Literal["auto"] | None = Field(
        default=None, description="auto: spread a local model over the GPUs, the CPU and "
        "disk (accelerate), within max_memory; None: the whole model on `device`.")
    max_memory: tuple[tuple[str, str], ...] = Field(
        default=(), description="(device, size) limits for device_map: a GPU index or cpu, "
        "and a size such as 20GiB.")
    load_in: Literal["8bit", "4bit"] | None = Field(
        default=None, description="Quantized weights for local models (bitsandbytes): 8bit "
        "or 4bit; None: full weights.")
    prompt_format: Literal["chat", "plain"] | None = Field(
        default=None, description="Force a prompt format (None: the model's own)."
    )
    seed: int = Field(default=0, description="Root seed.")
    show_progress: bool = Field(default=True, description="Show progress.")

    def placement(self) -> Placement:
        """Where local models go (checked: --max-memory needs --device-map auto)."""
        return Placement(device=self.device, device_map=self.device_map,
                         max_memory=self.max_memory, load_in=self.load_in)

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
                           prompt_format=self.prompt_format, organisms_dir=self.organisms_path(),
                           placement=self.placement())


class SubjectJob(Job):
    """Settings every job that loads one subject shares."""

    model: str = Field(default=DEFAULT_MODEL, description="Model spec string.")
    resume: bool = Field(default=False, description="Continue an interrupted run.")

    def load(self) -> Subject:
        """Load the subject."""
        return load_subject(self.model, self.load_options())
