"""Typed, versioned records: the one schema for files, the store and reports."""

from ulterior.records._audit import AuditSummary, ResultRow, SuiteResult
from ulterior.records._core import (
    Item,
    Message,
    Observation,
    Record,
    Run,
    SubjectInfo,
    content_hash,
    utc_now,
)
from ulterior.records._probe import (
    GeneralizationCell,
    GeneralizationMatrix,
    LayerSweep,
    ProbeInfo,
    ProbeMetrics,
    Statistic,
    SweepRow,
    TranscriptScore,
)
from ulterior.records._simulation import MetricSummary, SimulationRecord, SweepCell, SweepRecord

__all__ = [
    "AuditSummary",
    "GeneralizationCell",
    "GeneralizationMatrix",
    "Item",
    "LayerSweep",
    "Message",
    "MetricSummary",
    "Observation",
    "ProbeInfo",
    "ProbeMetrics",
    "Record",
    "ResultRow",
    "Run",
    "SimulationRecord",
    "Statistic",
    "SubjectInfo",
    "SuiteResult",
    "SweepCell",
    "SweepRecord",
    "SweepRow",
    "TranscriptScore",
    "content_hash",
    "utc_now",
]
