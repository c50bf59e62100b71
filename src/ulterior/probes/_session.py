"""Settings shared by the probe commands, and the session that turns datasets into features."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, ValidationInfo, field_validator

from ulterior.errors import UsageError
from ulterior.models import (
    Subject,
    white_box,
)
from ulterior.probes._capture import ActivationCapturer, CaptureConfig, CaptureDType, model_shape
from ulterior.probes._datasets import ContrastDataset, render_example, split_by_group
from ulterior.probes._datasets import default_datasets as _default_datasets
from ulterior.probes._shards import ShardStats, capture_cached
from ulterior.runner import RunContext, SubjectJob, progress
from ulterior.store import Store

CONTROL = "control"


class ProbeJob(SubjectJob):
    """Settings every probe command shares.

    Activations are computed in the subject's compute mode (``dtype``, resolved when the
    subject loads) and kept in fp32; each dataset is sampled to at most ``limit`` examples
    (whole contrast pairs) and split into train and test by pair, with seeded randomness,
    so fit, eval and sweep with the same seed see the same splits.
    """

    data_root: Path | None = Field(
        default=None, description="Folder holding the evaluation data folders "
        "(azaria-mitchell-true-false, how-to-catch-an-ai-liar)."
    )
    limit: int | None = Field(default=400, description="At most N examples per dataset.")
    position: Literal["last", "mean"] = Field(
        default="mean", description="Token position: last token or mean over the response."
    )
    test_fraction: float = Field(default=0.25, description="Share of pairs held out for test.")
    fpr: float = Field(default=0.01, description="False-positive rate on the control set.")
    n_resamples: int = Field(default=2000, description="Bootstrap resamples per CI.")

    @field_validator("test_fraction", "fpr")
    @classmethod
    def _open_interval(cls, value: float, info: ValidationInfo) -> float:
        # Open bounds: the share held out for test in (0, 1), the false-positive rate in (0, 0.5).
        name, high = ("fpr", 0.5) if info.field_name == "fpr" else ("test fraction", 1.0)
        if not 0.0 < value < high:
            raise ValueError(f"{name} must be between 0 and {high:g}")
        return value



class ProbeSession:
    """A loaded subject, its store and capturer: turns dataset names into feature matrices.

    Built datasets and splits are remembered for the session; activations go through the
    store's shard cache, so a second command on the same data computes nothing.
    """

    def __init__(self, job: ProbeJob, subject: Subject, context: RunContext) -> None:
        self.n_layers, _ = model_shape(subject)  # CapabilityError for a black-box subject
        # capture computes as the subject's own forwards do: an fp32 subject reads fp32
        self.dtype: CaptureDType = white_box(subject).compute_mode  # type: ignore[assignment]
        self.job = job
        self.subject = subject
        self.context = context
        self.stats = ShardStats()
        self._registry = _default_datasets()
        self._splits: dict[str, tuple[ContrastDataset, ContrastDataset]] = {}

    @cached_property
    def capturer(self) -> ActivationCapturer:
        """The capturer, made on first use (a bf16 capture copies an fp32 model once)."""
        return ActivationCapturer(self.subject, CaptureConfig(
            layers=(0,), positions=(self.job.position,), dtype=self.dtype))

    def dataset_names(self) -> list[str]:
        """Names of the datasets the session can build."""
        return self._registry.names()

    def build(self, name: str) -> ContrastDataset:
        """The whole (sampled) dataset ``name``."""
        rng = self.context.rng("probe-sample", name)
        root = self.job.data_root
        if root is None and self._registry.specs.get(name, None) is not None \
                and self._registry.specs[name].folder:
            raise UsageError(f"dataset '{name}' reads evaluation data; pass --data-root")
        limit = None if name == CONTROL else self.job.limit
        return self._registry.build(name, root or Path("."), limit=limit, rng=rng)

    def split(self, name: str) -> tuple[ContrastDataset, ContrastDataset]:
        """Train and test parts of dataset ``name`` (split by pair, seeded by name)."""
        if name not in self._splits:
            data = self.build(name)
            rng = self.context.rng("probe-split", name)
            self._splits[name] = split_by_group(data, self.job.test_fraction, rng)
        return self._splits[name]

    def features(self, dataset: ContrastDataset, layers: Sequence[int]) -> dict[int, np.ndarray]:
        """Activations of ``dataset`` at ``layers`` and the session's position: (n, d) each."""
        fmt = white_box(self.subject).format
        texts = [render_example(e, fmt) for e in dataset.examples]
        config = CaptureConfig(layers=tuple(layers), positions=(self.job.position,),
                               dtype=self.dtype)
        with progress(len(texts), f"activations {dataset.name}",
                      enabled=self.job.show_progress) as advance:
            batch = capture_cached(
                self.capturer, texts, root=self.context.store.artifact_dir,
                fingerprint=self.subject.info.fingerprint, config=config, stats=self.stats,
                advance=advance,
            )
        return {layer: batch.pooled[(layer, self.job.position)] for layer in layers}

    def control(self, layers: Sequence[int]) -> dict[int, np.ndarray]:
        """Activations of the whole benign control set."""
        return self.features(self.build(CONTROL), layers)

    def bootstrap_rng(self, *parts: str) -> np.random.Generator:
        """A bootstrap generator for one named readout."""
        return self.context.rng("probe-bootstrap", *parts)

    def check_layers(self, layers: Sequence[int]) -> tuple[int, ...]:
        """Validate 0-based layers against the model."""
        bad = [layer for layer in layers if not 0 <= layer < self.n_layers]
        if bad:
            raise UsageError(f"layers {bad} out of range 0..{self.n_layers - 1}")
        return tuple(layers)


@contextmanager
def open_session(job: ProbeJob, subject: Subject | None = None) -> Iterator[ProbeSession]:
    """Load the subject (unless given) and open the store for a probe command."""
    with Store.open(job.store_path()) as store:
        context = RunContext(store=store, seed=job.seed, show_progress=job.show_progress)
        if subject is not None:
            yield ProbeSession(job, subject, context)
            return
        with job.load() as loaded:
            yield ProbeSession(job, loaded, context)
