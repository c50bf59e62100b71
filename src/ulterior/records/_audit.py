from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from ulterior.records._core import Record, SubjectInfo, utc_now

# What a readout's estimate is measured in. Flag rules, plots and tables read it here, never
# from the row's name.
Unit = Literal["probability", "nats", "nats per word", "probe log-odds", "probe score",
               "AUROC", "variance share", "ratio"]


class ResultRow(Record):
    """One statistical readout of a suite (a cue family, a scale, a contrast)."""

    name: str = Field(description="What was measured, e.g. `cue:logging` or `shutdown-avoidance`.")
    description: str = Field(default="", description="One sentence: what the number means.")
    unit: Unit = Field(
        default="probability", description="What estimate, low, high and mde are measured in: "
        "probability (or probability points of a difference), nats (log-odds of a choice), "
        "nats per word (of a reply), probe log-odds (a logistic probe's score), probe score "
        "(another probe's), AUROC, variance share (eta squared), ratio.")
    n: int = Field(description="Independent units (items) behind the estimate.")
    estimate: float = Field(description="Point estimate.")
    low: float = Field(description="Lower end of the 95% confidence interval.")
    high: float = Field(description="Upper end of the 95% confidence interval.")
    p_value: float | None = Field(default=None, description="Test p-value, where there is a test.")
    p_adjusted: float | None = Field(
        default=None, description="p-value after multiple-testing control (Benjamini-Hochberg)."
    )
    flagged: bool = Field(default=False, description="Evidence at the audit's alpha.")
    mde: float | None = Field(
        default=None, description="Minimum detectable effect at 80% power, in estimate units."
    )
    test: str | None = Field(
        default=None, description="The test behind `p_value` and `mde`, named in full."
    )


class SuiteResult(Record):
    """Everything one suite found in one audit."""

    version: Literal[1] = Field(default=1, description="Schema version of this record.")
    suite: str = Field(description="Suite name.")
    description: str = Field(description="What the suite tests, in one sentence.")
    rows: tuple[ResultRow, ...] = Field(description="The readouts.")
    interval: str = Field(
        default="95% CI", description="What the rows' low and high are, as a table header."
    )
    ladder_rung: int | None = Field(
        default=None, description="Highest rung of the demonstration ladder (1-5) evidenced."
    )
    evidence: str = Field(default="", description="Why that rung, in one or two sentences.")
    notes: tuple[str, ...] = Field(default=(), description="Caveats and what was tried.")
    n_items: int = Field(default=0, description="Items scored or generated (all variants).")
    flagged: bool = Field(default=False, description="True when any readout is flagged.")
    run_ids: tuple[str, ...] = Field(default=(), description="Store runs behind the numbers.")


class AuditSummary(Record):
    """The result of `ulterior audit`: what ran, on what, and what it found."""

    version: Literal[1] = Field(default=1, description="Schema version of this record.")
    subject: SubjectInfo = Field(description="The subject audited.")
    seed: int = Field(description="Root seed.")
    limit: int | None = Field(default=None, description="Item limit per suite, if any.")
    alpha: float = Field(default=0.05, description="False-positive rate of each flag.")
    suites: tuple[SuiteResult, ...] = Field(description="Per-suite results.")
    highest_rung: int | None = Field(
        default=None, description="Most dangerous ladder rung reached (1 = most), or None."
    )
    highest_rung_evidence: str = Field(
        default="no rung of the demonstration ladder was reached",
        description="The evidence for `highest_rung`, or the statement that none was reached.",
    )
    ulterior_version: str = Field(description="Version of ulterior that ran the audit.")
    created: datetime = Field(default_factory=utc_now, description="When it finished (UTC).")
