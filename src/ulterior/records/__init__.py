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
from ulterior.records._simulation import MetricSummary, SimulationRecord, SweepCell, SweepRecord

__all__ = [
    "AuditSummary",
    "Item",
    "Message",
    "MetricSummary",
    "Observation",
    "Record",
    "ResultRow",
    "Run",
    "SimulationRecord",
    "SubjectInfo",
    "SuiteResult",
    "SweepCell",
    "SweepRecord",
    "content_hash",
    "utc_now",
]
