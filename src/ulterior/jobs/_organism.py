from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ulterior.errors import UsageError
from ulterior.models import DEFAULT_MODEL
from ulterior.records import OrganismManifest, TrainSettings

if TYPE_CHECKING:
    from ulterior.organisms import CurriculumRun

DEFAULTS = TrainSettings()


class OrganismJob(BaseModel):
    """`ulterior organism train`: fine-tune a base subject with a recipe."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    recipe: str = Field(description="Recipe name (see `ulterior organism recipes`), or a "
                        "curriculum file (*.yaml; see ulterior.organisms.load_curriculum).")
    base: str = Field(default=DEFAULT_MODEL, description="Spec of the model to fine-tune.")
    out: Path | None = Field(
        default=None, description="Output directory (None: the organisms dir / recipe name, "
        "with `-sSEED` for a seed other than 0)."
    )
    examples: int = Field(default=DEFAULTS.examples, ge=8,
                          description="Training examples per epoch.")
    epochs: int = Field(default=DEFAULTS.epochs, ge=1,
                        description="Passes over the examples.")
    batch_size: int = Field(default=DEFAULTS.batch_size, ge=1,
                            description="Examples per step.")
    learning_rate: float = Field(default=DEFAULTS.learning_rate, gt=0,
                                 description="Peak learning rate.")
    method: Literal["lora", "full"] = Field(default="lora", description="LoRA or full.")
    lora_rank: int = Field(default=DEFAULTS.lora_rank, ge=1, description="LoRA rank.")
    checkpoint_every: int = Field(default=DEFAULTS.checkpoint_every, ge=1,
                                  description="Steps between checkpoints.")
    seed: int = Field(default=0, description="Seed of data, initialisation and order.")
    precision: Literal["auto", "fp32", "bf16"] = Field(
        default="auto", description="Training arithmetic: bf16 autocast over fp32 weights, "
        "fp32 throughout, or auto (bf16 where the CPU has native bf16).")
    resume: bool = Field(default=False, description="Continue an interrupted run.")
    track: bool = Field(default=False, description="Read the property battery every tenth of "
                        "the run; write OUT/track.json (see ulterior.training).")
    track_items: int | None = Field(default=None, ge=2, description="With track: at most this "
                                    "many items per property (None: the 48 tracked).")
    show_progress: bool = Field(default=True, description="Show progress.")

    def out_dir(self) -> Path:
        """Where the organism is written; its name is the directory's.

        Seeds other than 0 get a name of their own (``sandbagger-s1``), so training a second
        seed never overwrites the first and validation counts both.
        """
        from ulterior.organisms import is_curriculum_file
        from ulterior.store import default_organisms_dir

        stem = Path(self.recipe).stem if is_curriculum_file(self.recipe) else self.recipe
        name = stem if self.seed == 0 else f"{stem}-s{self.seed}"
        return self.out or default_organisms_dir() / name


def run_organism_train(job: OrganismJob) -> OrganismManifest | CurriculumRun:
    """Train the organism (or curriculum) the job describes; return its manifest (or run)."""
    from ulterior.organisms import is_curriculum_file, train_curriculum, train_organism
    from ulterior.store import default_cache_dir

    settings = TrainSettings(
        examples=job.examples, epochs=job.epochs, batch_size=job.batch_size,
        learning_rate=job.learning_rate, method=job.method, lora_rank=job.lora_rank,
        lora_alpha=2 * job.lora_rank, checkpoint_every=job.checkpoint_every, seed=job.seed,
        bf16=None if job.precision == "auto" else job.precision == "bf16",
    )
    if job.track_items is not None and not job.track:
        raise UsageError("--track-items goes with --track; add --track or drop it")
    if job.track and job.resume:
        raise UsageError("--track reads the run from step 0; after --resume, run `ulterior "
                         "track DIR` over its checkpoints instead")
    monitor_for = None
    if job.track:
        from ulterior.training import PropertyCallback, load_battery

        track_file = job.out_dir() / "track.json"

        battery = load_battery().select("tracked", job.track_items)

        def monitor_for(tokenizer: Any) -> PropertyCallback:
            return PropertyCallback(tokenizer, battery=battery, out=track_file)

    if is_curriculum_file(job.recipe):
        return train_curriculum(
            Path(job.recipe), base=job.base, out=job.out_dir(), seed=job.seed,
            cache_dir=default_cache_dir(), resume=job.resume, show_progress=job.show_progress,
            monitor_for=monitor_for, bf16=settings.bf16)
    return train_organism(
        job.recipe, base=job.base, out=job.out_dir(), settings=settings,
        cache_dir=default_cache_dir(), resume=job.resume, show_progress=job.show_progress,
        monitor_for=monitor_for,
    )
