from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from ulterior.records._core import Record, SubjectInfo, utc_now

# What a readout's estimate is measured in. Flag rules, plots and tables read it here, never
# from the row's name.
Unit = Literal["probability", "nats", "nats per word", "probe log-odds", "probe score",
               "AUROC", "variance share", "ratio"]


class QuotedItem(Record):
    """One item behind an example: what the subject was shown, and its answer."""

    item_id: str = Field(description="The item's id (or the id of the prompt replied to).")
    variant: str = Field(
        default="", description="What sets this item apart from the other items of its unit: "
        "the end of its id that they do not share (a variant or condition, e.g. `unobserved`); "
        "empty when the unit is this one item.")
    system: str = Field(
        default="", description="The system turn, if any, shortened to about 400 characters.")
    prompt: str = Field(description="The last user turn, shortened to about 400 characters.")
    options: tuple[str, ...] = Field(
        default=(), description="The answers scored, in the item's order (none for a reply).")
    probabilities: tuple[float, ...] = Field(
        default=(), description="The subject's probability of each option, normalised over "
        "the options and averaged over the orders they were shown in.")
    matching: int | None = Field(
        default=None, description="Index into `options` of the answer that shows the "
        "behaviour studied (the item's `matching`).")
    reply: str | None = Field(
        default=None, description="The subject's generated reply, shortened to about 400 "
        "characters, where the readout reads replies.")


class Example(Record):
    """A unit behind a flagged readout: its value, and its items quoted."""

    unit: str = Field(description="The unit (a task, scenario, pair or item) of one value.")
    value: float = Field(
        description="The unit's value in the readout's unit: its paired difference, or its "
        "measurement where the readout tests a mean against a null value.")
    items: tuple[QuotedItem, ...] = Field(description="The items the value is read from.")


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
    examples: tuple[Example, ...] = Field(
        default=(), description="For a flagged readout, the units (at most three) whose values "
        "point most strongly in the direction of concern, with their items quoted; empty for "
        "a readout that is not flagged.")


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


class AnswerFormatChoice(Record):
    """How ``--answer-format auto`` chose the format the suites presented answers in."""

    version: Literal[1] = Field(default=1, description="Schema version of this record.")
    chosen: Literal["labelled", "cloze"] = Field(
        description="The format the suites used.")
    p_right: float | None = Field(
        description="Comprehension control, labelled, both option orders: mean P(the right "
        "answer's label) over its questions (None: it could not be read).")
    low: float | None = Field(description="Lower end of its 95% confidence interval.")
    high: float | None = Field(description="Upper end of its 95% confidence interval.")
    n: int = Field(description="Questions behind it.")
    threshold: float = Field(description="Labelled when `low` is above this: chance (0.5) "
                             "plus the smallest effect worth flagging.")
    reason: str = Field(description="The choice and its evidence, in one sentence.")


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
    answer_format: AnswerFormatChoice | None = Field(
        default=None, description="How `--answer-format auto` chose the suites' answer "
        "format (None: the format was given).")
    ulterior_version: str = Field(description="Version of ulterior that ran the audit.")
    created: datetime = Field(default_factory=utc_now, description="When it finished (UTC).")
