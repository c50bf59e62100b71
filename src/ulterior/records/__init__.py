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

__all__ = [
    "AuditSummary",
    "ResultRow",
    "SuiteResult",
    "Item",
    "Message",
    "Observation",
    "Record",
    "Run",
    "SubjectInfo",
    "content_hash",
    "utc_now",
]
