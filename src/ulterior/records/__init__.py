"""Typed, versioned records: the one schema for files, the store and reports."""

from ulterior.records._audit import (
    AuditSummary,
    Example,
    QuotedItem,
    ResultRow,
    SuiteResult,
    Unit,
)
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
from ulterior.records._organism import (
    BehaviourRate,
    BehaviourTest,
    ConditionKind,
    OrganismManifest,
    TrainingStats,
    TrainSettings,
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
from ulterior.records._training import Emergence, PairOrder, TrackRecord, Trajectory
from ulterior.records._validation import (
    DetectorScore,
    DetectorVerdict,
    OrganismValidation,
    ValidationSummary,
)

__all__ = [
    "AuditSummary",
    "BehaviourRate",
    "BehaviourTest",
    "ConditionKind",
    "DetectorScore",
    "DetectorVerdict",
    "Emergence",
    "Example",
    "GeneralizationCell",
    "GeneralizationMatrix",
    "Item",
    "LayerSweep",
    "Message",
    "MetricSummary",
    "Observation",
    "OrganismManifest",
    "OrganismValidation",
    "PairOrder",
    "ProbeInfo",
    "ProbeMetrics",
    "QuotedItem",
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
    "TrackRecord",
    "TrainSettings",
    "TrainingStats",
    "Trajectory",
    "TranscriptScore",
    "Unit",
    "ValidationSummary",
    "content_hash",
    "utc_now",
]
