"""Jobs: the entry points the CLI calls, each taking one config object."""

from ulterior.jobs._audit import AuditJob, run_audit, run_audits
from ulterior.jobs._organism import OrganismJob, run_organism_grid, run_organism_train
from ulterior.jobs._report import InspectReportJob, ReportJob, run_inspect_report, run_report
from ulterior.jobs._score import ScoreJob, ScoreReport, run_score
from ulterior.jobs._track import TrackJob, run_track
from ulterior.jobs._validate import ValidateJob, run_validate

__all__ = [
    "AuditJob",
    "InspectReportJob",
    "OrganismJob",
    "ReportJob",
    "ScoreJob",
    "ScoreReport",
    "TrackJob",
    "ValidateJob",
    "run_audit",
    "run_audits",
    "run_inspect_report",
    "run_organism_grid",
    "run_organism_train",
    "run_report",
    "run_score",
    "run_track",
    "run_validate",
]
