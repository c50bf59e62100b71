"""A unit of work that kills its own worker process the first time it runs."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path

from ulterior.jobs._audit import AuditUnit, AuditUnitResult, run_audit_unit
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
