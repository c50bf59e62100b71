"""Jobs: the entry points the CLI calls, each taking one config object."""

from ulterior.jobs._audit import AuditJob, run_audit
from ulterior.jobs._score import ScoreJob, ScoreReport, run_score

__all__ = ["AuditJob", "ScoreJob", "ScoreReport", "run_audit", "run_score"]
