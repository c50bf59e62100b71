"""`ulterior track`: read the property battery over a run's saved checkpoints."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import numpy as np
from pydantic import Field, model_validator

from ulterior.errors import UsageError
from ulterior.models import load_subject
from ulterior.records import TrackRecord
from ulterior.runner import Job, RunContext, progress
from ulterior.store import Store, check_output_dir
from ulterior.training import (
    MIN_SHIFT,
    AdapterReader,
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


def run_track(job: TrackJob) -> TrackRecord:
    """Read every checkpoint (the store keeps each reading); write OUT/track.json and .html."""
    check_output_dir(job.out)
    checkpoints = find_checkpoints(job.paths)
    base = job.base or base_of(job.paths)
    adapters = any(c.adapter for c in checkpoints)
    if adapters and base is None:
        raise UsageError("the checkpoints are LoRA adapters: pass --base SPEC, the model "
                         "they were trained from")
    if base is not None and 0 in {c.step for c in checkpoints}:
        raise UsageError("a checkpoint is at step 0, where the base is read; leave out --base "
                         "or that checkpoint")
    battery = load_battery(job.battery).select(job.split, job.per_property)
    options = job.load_options()
    steps, labels, fingerprints, rows = [], [], [], []
    with ExitStack() as stack:
        store = stack.enter_context(Store.open(job.store_path()))
        context = RunContext(store, seed=job.seed, show_progress=False)
        advance = stack.enter_context(progress(len(checkpoints) + (base is not None),
                                               "tracking", enabled=job.show_progress))
        reader = None
        if base is not None:  # step 0; LoRA checkpoints are then swapped into this model
            subject = stack.enter_context(load_subject(base, options))
            reader = AdapterReader(subject) if adapters else None
            steps.append(0)
            labels.append(f"base {base}")
            fingerprints.append(subject.info.fingerprint)
            rows.append(read_battery(subject, battery, context))
            advance(1)
        for checkpoint in checkpoints:
            opened = (reader.subject(checkpoint) if checkpoint.adapter and reader is not None
                      else full_subject(checkpoint, options))
            with opened as one:
                rows.append(read_battery(one, battery, context))
                fingerprints.append(one.info.fingerprint)
            steps.append(checkpoint.step)
            labels.append(str(checkpoint.path))
            advance(1)
    scores = np.stack(rows)
    analysis = emergence(steps, scores, battery, min_shift=job.min_shift,
                         n_resamples=job.n_resamples, method=job.method,
                         min_effect=job.min_effect,
                         rng=np.random.default_rng(job.seed))
    record = track_record(battery, steps, labels, scores, analysis, fingerprints)
    write_track(record, job.out / "track.json")
    return record
