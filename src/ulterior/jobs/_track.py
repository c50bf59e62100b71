"""`ulterior track`: read the property battery over a run's saved checkpoints."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import Field, model_validator

from ulterior.errors import UsageError
from ulterior.executors import Executor, LocalExecutor
from ulterior.models import load_subject
from ulterior.records import TrackRecord
from ulterior.runner import Job, RunContext, progress
from ulterior.store import Store, check_output_dir
from ulterior.training import (
    MIN_SHIFT,
    AdapterReader,
    Battery,
    Checkpoint,
    Method,
    Split,
    base_of,
    emergence,
    find_checkpoints,
    full_subject,
    load_battery,
    read_battery,
    track_record,
    write_track,
)


class TrackJob(Job):
    """Read the battery on every checkpoint of a run and analyse what emerged when."""

    paths: tuple[Path, ...] = Field(min_length=1, description="Checkpoints or run directories.")
    base: str | None = Field(
        default=None, description="Model the run started from (read as step 0; needed for "
        "LoRA adapters; None: from the run's manifest).")
    out: Path = Field(default=Path("track"), description="Output directory.")
    battery: Path | None = Field(default=None, description="A directory of the user's own "
                                 "packs (None: the shipped battery).")
    split: Split = Field(default="tracked", description="Items read: tracked, held-out, all.")
    per_property: int | None = Field(default=None, ge=1,
                                     description="At most this many items per property.")
    min_shift: float = Field(default=MIN_SHIFT, gt=0,
                             description="Smallest level shift declared an onset (nats).")
    n_resamples: int = Field(default=1000, ge=100, description="Bootstrap replicates.")
    method: Method = Field(default="change-point", description="The onset rule (see "
                           "ulterior.training.emergence).")
    min_effect: float = Field(default=0.0, ge=0, description="Threshold rule only: smallest "
                              "standardised change (mean over item standard deviation).")

    @model_validator(mode="after")
    def _effect_needs_threshold(self) -> TrackJob:
        if self.min_effect and self.method != "threshold":
            raise ValueError("--min-effect applies to --method threshold only")
        return self


@dataclass(frozen=True)
class Reading:
    """The battery read on one model of the run: the base (step 0) or a checkpoint."""

    step: int
    label: str
    fingerprint: str
    row: np.ndarray


@dataclass(frozen=True)
class TrackUnit:
    """Checkpoints one worker reads (and the base, when ``read_base``), in step order.

    In one process a single unit reads them all, so LoRA adapters are swapped into one base
    model; on Ray each checkpoint is a unit that loads what it needs itself.
    """

    job: TrackJob
    battery: Battery
    base: str | None
    checkpoints: tuple[Checkpoint, ...]
    read_base: bool


def run_track_unit(unit: TrackUnit, store: Store) -> list[Reading]:
    """Read the battery on the unit's models; the store keeps (and reuses) every reading."""
    job, checkpoints = unit.job, unit.checkpoints
    options = job.load_options()
    context = RunContext(store, seed=job.seed, show_progress=False)
    adapters = any(c.adapter for c in checkpoints)
    readings = []
    with ExitStack() as stack:
        advance = stack.enter_context(progress(len(checkpoints) + unit.read_base, "tracking",
                                               enabled=job.show_progress))
        reader = None
        if unit.base is not None and (unit.read_base or adapters):
            # step 0; LoRA checkpoints are then swapped into this model
            subject = stack.enter_context(load_subject(unit.base, options))
            reader = AdapterReader(subject) if adapters else None
            if unit.read_base:
                readings.append(Reading(0, f"base {unit.base}", subject.info.fingerprint,
                                        read_battery(subject, unit.battery, context)))
                advance(1)
        for checkpoint in checkpoints:
            opened = (reader.subject(checkpoint) if checkpoint.adapter and reader is not None
                      else full_subject(checkpoint, options))
            with opened as one:
                readings.append(Reading(checkpoint.step, str(checkpoint.path),
                                        one.info.fingerprint,
                                        read_battery(one, unit.battery, context)))
            advance(1)
    return readings


def _units(job: TrackJob, battery: Battery, base: str | None,
           checkpoints: list[Checkpoint], distributed: bool) -> list[TrackUnit]:
    if not distributed:
        return [TrackUnit(job, battery, base, tuple(checkpoints), base is not None)]
    units = [TrackUnit(job, battery, base, (), True)] if base is not None else []
    return units + [TrackUnit(job, battery, base, (c,), False) for c in checkpoints]


def run_track(job: TrackJob, executor: Executor | None = None) -> TrackRecord:
    """Read every checkpoint (the store keeps each reading); write OUT/track.json and .html.

    Checkpoints are units of work on ``executor`` (default: in this process, in order);
    only this process writes the store.
    """
    check_output_dir(job.out)
    checkpoints = find_checkpoints(job.paths)
    base = job.base or base_of(job.paths)
    if any(c.adapter for c in checkpoints) and base is None:
        raise UsageError("the checkpoints are LoRA adapters: pass --base SPEC, the model "
                         "they were trained from")
    if base is not None and 0 in {c.step for c in checkpoints}:
        raise UsageError("a checkpoint is at step 0, where the base is read; leave out --base "
                         "or that checkpoint")
    battery = load_battery(job.battery).select(job.split, job.per_property)
    executor = executor or LocalExecutor()
    resolved = job.model_copy(update={
        "cache_dir": job.cache_path(),
        "show_progress": job.show_progress and not executor.distributed})
    units = _units(resolved, battery, base, checkpoints, executor.distributed)
    done: dict[int, list[Reading]] = {}
    with Store.open(job.store_path()) as store:
        done.update(executor.run(run_track_unit, units, store, description="checkpoints",
                                 show_progress=job.show_progress))
    readings = [r for index in range(len(units)) for r in done[index]]
    steps = [r.step for r in readings]
    scores = np.stack([r.row for r in readings])
    analysis = emergence(steps, scores, battery, min_shift=job.min_shift,
                         n_resamples=job.n_resamples, method=job.method,
                         min_effect=job.min_effect,
                         rng=np.random.default_rng(job.seed))
    record = track_record(battery, steps, [r.label for r in readings], scores, analysis,
                          [r.fingerprint for r in readings])
    write_track(record, job.out / "track.json")
    return record
