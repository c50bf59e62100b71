from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ulterior.errors import UsageError
from ulterior.models import DEFAULT_MODEL
from ulterior.records import OrganismManifest, TrainSettings
from ulterior.runner import DeviceName

if TYPE_CHECKING:
    from ulterior.executors import Executor
    from ulterior.organisms import CurriculumRun
    from ulterior.store import Store

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
    gradient_checkpointing: bool = Field(
        default=False, description="Recompute activations in the backward pass: less memory, "
        "one more forward of compute.")
    device: DeviceName = Field(default="auto", description="Where the base model trains: auto (the "
                        "first GPU when there is one), cpu, cuda or cuda:N.")
    load_in: Literal["8bit", "4bit"] | None = Field(
        default=None, description="Train LoRA adapters on quantized base weights (QLoRA, "
        "bitsandbytes): 8bit or 4bit, for a base that would not fit otherwise; the adapters "
        "are merged into full-precision weights. None: full weights.")
    resume: bool = Field(default=False, description="Continue an interrupted run.")
    track: bool = Field(default=False, description="Read the property battery every tenth of "
                        "the run; write OUT/track.json (see ulterior.training).")
    track_items: int | None = Field(default=None, ge=2, description="With track: at most this "
                                    "many items per property (None: the 48 tracked).")
    show_progress: bool = Field(default=True, description="Show progress.")

    @model_validator(mode="after")
    def _track_options(self) -> OrganismJob:
        if self.track_items is not None and not self.track:
            raise ValueError("--track-items goes with --track; add --track or drop it")
        if self.track and self.resume:
            raise ValueError("--track reads the run from step 0; after --resume, run "
                             "`ulterior track DIR` over its checkpoints instead")
        if self.load_in is not None and self.method == "full":
            raise ValueError("--load-in trains LoRA adapters on quantized weights; drop "
                             "--method full or --load-in")
        return self

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
        gradient_checkpointing=job.gradient_checkpointing,
    )
    monitor_for = None
    if job.track:
        from ulterior.training import PropertyCallback, load_battery

        track_file = job.out_dir() / "track.json"

        battery = load_battery().select("tracked", job.track_items)

        def monitor_for(tokenizer: Any) -> PropertyCallback:
            return PropertyCallback(tokenizer, battery=battery, out=track_file)

    if is_curriculum_file(job.recipe):
        if job.load_in is not None:
            raise UsageError("--load-in trains recipes; a curriculum trains its base in full "
                             "weights")
        return train_curriculum(
            Path(job.recipe), base=job.base, out=job.out_dir(), seed=job.seed,
            cache_dir=default_cache_dir(), resume=job.resume, show_progress=job.show_progress,
            monitor_for=monitor_for, bf16=settings.bf16, device=job.device)
    return train_organism(
        job.recipe, base=job.base, out=job.out_dir(), settings=settings,
        cache_dir=default_cache_dir(), resume=job.resume, show_progress=job.show_progress,
        monitor_for=monitor_for, device=job.device, load_in=job.load_in,
    )


def train_grid_unit(job: OrganismJob, store: Store) -> OrganismManifest | CurriculumRun:
    """One (recipe, seed) of a grid as a unit of work (training records nothing in ``store``).

    The unit can run again after its worker died: a run that finished returns what it
    wrote; an interrupted one continues from its latest checkpoint, or, when tracked (the
    monitor reads a run from step 0), starts over.
    """
    from ulterior.organisms import discard_checkpoints, finished_run

    out = job.out_dir()
    done = finished_run(out)
    if done is not None:
        return done
    if job.track:
        discard_checkpoints(out)
        return run_organism_train(job)
    return run_organism_train(job.model_copy(update={"resume": True}))


def run_organism_grid(jobs: Sequence[OrganismJob], executor: Executor | None = None
                      ) -> list[OrganismManifest | CurriculumRun]:
    """Train every job of a grid (recipes x seeds) on ``executor``; return them in order.

    Every output folder is checked before any training starts; folders are resolved here,
    so a worker writes where the driver would have. On a cluster of several machines, the
    organisms folder must be one they share.
    """
    from ulterior.executors import LocalExecutor
    from ulterior.organisms import check_train_out, finished_run

    executor = executor or LocalExecutor()
    units = [job.model_copy(update={"out": job.out_dir(),
                                    "show_progress": job.show_progress
                                    and not executor.distributed}) for job in jobs]
    folders = [unit.out_dir() for unit in units]
    if len(set(folders)) != len(folders):
        raise UsageError("two runs of the grid would write the same folder; give each "
                         "(recipe, seed) once, and no --out for more than one")
    for unit, folder in zip(units, folders, strict=True):
        if finished_run(folder) is not None:
            raise UsageError(f"{folder} already holds a finished run; choose another --out")
        check_train_out(folder, unit.resume)
    done = dict(executor.run_without_store(train_grid_unit, units, description="organisms",
                                           show_progress=jobs[0].show_progress if jobs
                                           else False))
    return [done[index] for index in range(len(units))]
