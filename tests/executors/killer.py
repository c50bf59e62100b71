"""Units of work that kill their own worker process the first time they run."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ulterior.jobs._audit import AuditUnit, AuditUnitResult, run_audit_unit
from ulterior.jobs._organism import OrganismJob, train_grid_unit
from ulterior.organisms import CurriculumRun
from ulterior.records import OrganismManifest
from ulterior.store import Store


@dataclass(frozen=True)
class KillOnce:
    unit: AuditUnit
    marker: Path | None  # None: never kill


def run_or_die(wrapped: KillOnce, store: Store) -> AuditUnitResult:
    """Die by SIGKILL after recording part of the unit, once; the retry runs it whole."""
    if wrapped.marker is not None and not wrapped.marker.exists():
        wrapped.marker.write_text(str(os.getpid()))
        # records made before the kill stay in the dead worker's private store
        first = AuditUnit(job=wrapped.unit.job, detectors=wrapped.unit.detectors[:1],
                          optional=wrapped.unit.optional, key=wrapped.unit.key)
        run_audit_unit(first, store)
        os.kill(os.getpid(), signal.SIGKILL)
    return run_audit_unit(wrapped.unit, store)


@dataclass(frozen=True)
class KillDuringTraining:
    job: OrganismJob
    marker: Path | None  # None: never kill


def train_or_die(wrapped: KillDuringTraining, store: Store) -> OrganismManifest | CurriculumRun:
    """Die by SIGKILL once the run's first checkpoint is written, once; the retry resumes."""
    if wrapped.marker is not None and not wrapped.marker.exists():
        wrapped.marker.write_text(str(os.getpid()))
        checkpoints = wrapped.job.out_dir() / "checkpoints"

        def kill_at_first_checkpoint() -> None:
            while not any(checkpoints.glob("step-*")):
                time.sleep(0.005)
            os.kill(os.getpid(), signal.SIGKILL)

        threading.Thread(target=kill_at_first_checkpoint, daemon=True).start()
    return train_grid_unit(wrapped.job, store)
