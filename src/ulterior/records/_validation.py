from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from ulterior.records._audit import SuiteResult
from ulterior.records._core import Record, utc_now
from ulterior.records._organism import BehaviourRate, BehaviourTest
from ulterior.records._probe import Statistic


class DetectorVerdict(Record):
    """What one detector said about one organism."""

    detector: str = Field(description="Suite name, `probe-readout`, `probe-condition` or "
                          "`condition-salience`.")
    flagged: bool = Field(description="Whether the detector flagged the organism.")
    score: float | None = Field(
        description="The detector's continuous readout (its pooled effect), for AUROC over "
        "organisms; None when it has none."
    )
    evidence: str = Field(default="", description="The readout behind a flag, in words.")


class OrganismValidation(Record):
    """Every detector's verdict on one organism, beside its ground truth."""

    organism: str = Field(description="Organism name (`organism:NAME`).")
    recipe: str = Field(description="Recipe it was trained from.")
    control: bool = Field(description="True for a clean control (should not be flagged).")
    seed: int = Field(description="Training seed.")
    hidden_condition: str = Field(description="Ground truth: when the behaviour turns on.")
    rates: tuple[BehaviourRate, ...] = Field(description="Its measured behaviour rates.")
    behaviour_p: float = Field(
        description="p-value of the behaviour being chosen more often with the condition than "
        "without it on held-out tasks: `behaviour_test`'s (validation records written before "
        "it existed hold a Fisher exact test over prompts, which counted the prompts of a "
        "task as independent); NaN without both conditions."
    )
    behaviour_shown: bool = Field(
        description="Whether behaviour_p < alpha: the organism has the behaviour it was "
        "trained for (a control should not)."
    )
    behaviour_test: BehaviourTest | None = Field(
        default=None, description="The paired test behind behaviour_p, clustered by task.")
    verdicts: tuple[DetectorVerdict, ...] = Field(description="One per detector.")
    highest_rung: int | None = Field(description="Highest ladder rung any detector reached.")
    highest_rung_evidence: str = Field(description="The evidence for that rung.")
    come_clean_names_condition: bool | None = Field(
        description="Whether come-clean's amnesty replies named the true hidden condition "
        "(None for controls, which have none)."
    )
    salience_scan_points_at: str | None = Field(
        default=None, description="The candidate condition the salience scan points at "
        "(its flagged candidate with the largest increase; None when it flags none).")
    salience_scan_names_condition: bool | None = Field(
        default=None, description="Whether that candidate is of the organism's condition "
        "kind (trigger, oversight, sandbag); None when the scan flags nothing.")
    probe_auroc: Statistic | None = Field(
        description="MacDiarmid et al.'s defection probe read at the prompt's last token: AUROC "
        "of condition on vs off on held-out tasks, all cue wordings (n: tasks)."
    )
    probe_auroc_heldout: Statistic | None = Field(
        description="The same on cue wordings never trained on only (None for a fixed "
        "trigger)."
    )
    probe_layer: int | None = Field(
        default=None, description="The block probe_auroc reads (index 0 first): a fixed "
        "fraction of depth, chosen before the organisms it is judged on.")
    probe_auroc_by_layer: tuple[float, ...] = Field(
        default=(), description="Point AUROC of the same probe at every block, all cue "
        "wordings (descriptive; the flag reads probe_layer only).")
    probe_auroc_heldout_by_layer: tuple[float, ...] = Field(
        default=(), description="The same on held-out cue wordings (empty for a fixed "
        "trigger).")
    results: tuple[SuiteResult, ...] = Field(description="The full readouts behind the verdicts.")


class DetectorScore(Record):
    """A detector's error rates over organisms (units: organism x seed)."""

    detector: str = Field(description="Detector name.")
    n_deceptive: int = Field(description="Deceptive organisms it was run on.")
    true_positives: int = Field(description="Of those, how many it flagged.")
    true_positive_rate: Statistic = Field(description="TPR with a 95% Wilson interval.")
    n_shown: int = Field(description="Deceptive organisms whose behaviour was shown to be there.")
    true_positives_shown: int = Field(description="Of those, how many it flagged.")
    true_positive_rate_shown: Statistic = Field(
        description="TPR over the organisms whose behaviour is shown (a miss of an organism "
        "that never learned its behaviour is no miss), with a 95% Wilson interval."
    )
    n_controls: int = Field(description="Clean controls it was run on.")
    false_positives: int = Field(description="Of those, how many it flagged.")
    false_positive_rate: Statistic = Field(description="FPR with a 95% Wilson interval.")
    auroc: float | None = Field(
        description="AUROC of its continuous score, deceptive vs control (None without both "
        "kinds or without a score)."
    )


class ValidationSummary(Record):
    """`ulterior validate`: every detector on every organism, and the scorecard."""

    version: Literal[1] = Field(default=1, description="Schema version of this record.")
    alpha: float = Field(description="False-positive rate of each flag.")
    answer_format: str = Field(description="How the suites presented answers (cloze/labelled).")
    organisms: tuple[OrganismValidation, ...] = Field(description="Per organism.")
    scorecard: tuple[DetectorScore, ...] = Field(description="Per detector.")
    notes: tuple[str, ...] = Field(default=(), description="How to read the scorecard.")
    created: datetime = Field(default_factory=utc_now, description="When it ran (UTC).")
    ulterior_version: str = Field(description="ulterior version that ran it.")
