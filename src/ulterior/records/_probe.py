from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from ulterior.records._core import Record, SubjectInfo, utc_now


class Statistic(Record):
    """A point estimate with its 95% confidence interval and sample size."""

    estimate: float = Field(description="Point estimate.")
    low: float = Field(description="Lower end of the 95% confidence interval.")
    high: float = Field(description="Upper end of the 95% confidence interval.")
    n: int = Field(description="Independent units behind the estimate.")


class ProbeMetrics(Record):
    """How well one fitted probe separates one test set."""

    version: Literal[1] = Field(default=1, description="Schema version of this record.")
    dataset: str = Field(description="Test dataset name.")
    n_positive: int = Field(description="Test examples with label 1 (deceptive/false).")
    n_negative: int = Field(description="Test examples with label 0 (honest/true).")
    auroc: Statistic = Field(
        description="Area under the ROC curve on the test set; CI by stratified bootstrap."
    )
    accuracy: Statistic = Field(
        description="Accuracy at the probe's own boundary (score 0); CI by bootstrap."
    )
    recall_at_fpr: Statistic | None = Field(
        default=None,
        description="Share of label-1 examples above the threshold that flags `fpr` of the "
        "control set; CI by bootstrap over both sets (n = label-1 examples).",
    )
    fpr: float | None = Field(default=None, description="Target false-positive rate on control.")
    threshold: float | None = Field(
        default=None, description="Score threshold calibrated on the control set."
    )
    n_control: int | None = Field(default=None, description="Control examples calibrated on.")


class ProbeInfo(Record):
    """What a saved probe is: written as the `metadata` of probe.json."""

    version: Literal[1] = Field(default=1, description="Schema version of this record.")
    kind: str = Field(description="Estimator: logistic, diff-mean or cov-diff-mean.")
    layer: int = Field(description="0-based decoder block whose output the probe reads.")
    position: str = Field(description="Token position the probe was trained on: last or mean.")
    train_datasets: tuple[str, ...] = Field(description="Datasets the probe was fitted on.")
    n_train: int = Field(description="Training examples.")
    subject: SubjectInfo = Field(description="The model whose activations were used.")
    capture_dtype: str = Field(description="Compute dtype of the activations (stored fp32).")
    seed: int = Field(description="Root seed of splits, CV folds and bootstrap.")
    threshold: float | None = Field(
        default=None, description="Monitor threshold calibrated on the control set."
    )
    fpr: float | None = Field(default=None, description="False-positive rate it was set for.")
    n_control: int | None = Field(default=None, description="Control examples calibrated on.")
    test_metrics: tuple[ProbeMetrics, ...] = Field(
        default=(), description="Held-out metrics computed when the probe was fitted."
    )
    created: datetime = Field(default_factory=utc_now, description="When it was fitted (UTC).")


class SweepRow(Record):
    """One (layer, estimator) cell of a layer sweep."""

    layer: int = Field(description="0-based decoder block.")
    kind: str = Field(description="Estimator.")
    metrics: ProbeMetrics = Field(description="Held-out metrics of the probe fitted there.")


class LayerSweep(Record):
    """Probe quality at every layer: train on one split of a dataset, test on the rest."""

    version: Literal[1] = Field(default=1, description="Schema version of this record.")
    subject: SubjectInfo = Field(description="The model swept.")
    dataset: str = Field(description="Dataset trained and tested on (disjoint groups).")
    position: str = Field(description="Token position: last or mean.")
    n_train: int = Field(description="Training examples.")
    n_test: int = Field(description="Test examples.")
    capture_dtype: str = Field(description="Compute dtype of the activations.")
    seed: int = Field(description="Root seed.")
    rows: tuple[SweepRow, ...] = Field(description="One row per (layer, estimator).")
    created: datetime = Field(default_factory=utc_now, description="When it ran (UTC).")


class GeneralizationCell(Record):
    """Train on one dataset, test on another (or on the held-out part of the same)."""

    train: str = Field(description="Training dataset.")
    test: str = Field(description="Test dataset.")
    metrics: ProbeMetrics = Field(description="Metrics on the test dataset's held-out split.")


class GeneralizationMatrix(Record):
    """Every train x test combination of a list of datasets, at one layer and position."""

    version: Literal[1] = Field(default=1, description="Schema version of this record.")
    subject: SubjectInfo = Field(description="The model.")
    kind: str = Field(description="Estimator.")
    layer: int = Field(description="0-based decoder block.")
    position: str = Field(description="Token position: last or mean.")
    datasets: tuple[str, ...] = Field(description="Datasets, in matrix order.")
    capture_dtype: str = Field(description="Compute dtype of the activations.")
    seed: int = Field(description="Root seed.")
    cells: tuple[GeneralizationCell, ...] = Field(description="Row-major train x test cells.")
    created: datetime = Field(default_factory=utc_now, description="When it ran (UTC).")


class TranscriptScore(Record):
    """The monitor's verdict on one transcript."""

    version: Literal[1] = Field(default=1, description="Schema version of this record.")
    id: str = Field(description="Transcript identifier (from the file, or its line number).")
    score: float = Field(
        description="Highest per-turn score: mean probe score over an assistant turn's tokens."
    )
    flagged: bool = Field(description="Whether `score` exceeds the calibrated threshold.")
    threshold: float = Field(description="Threshold used (calibrated on the control set).")
    turn_scores: tuple[float, ...] = Field(description="Mean score of each assistant turn.")
    tokens: tuple[tuple[str, ...], ...] = Field(
        description="Tokens of each assistant turn, as the tokenizer decodes them."
    )
    token_scores: tuple[tuple[float, ...], ...] = Field(
        description="Probe score of each token of each assistant turn."
    )
