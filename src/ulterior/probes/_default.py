"""The audit's default probe: a defection probe fitted on the subject itself, and cached.

When the audited subject is white-box and no probe is given, the audit fits a logistic
probe on the generic defection pairs (``defection``, package data: no external data) and
reads it on the oversight-gap items.

**Layer.** Candidates are the blocks at 1/4, 3/8, 1/2, 5/8 and 3/4 of the depth. Each is
scored by cross-validation on the defection *training* pairs only (4 folds of whole pairs,
so both answers of a question stay together; the same estimator as the final probe): the
mean out-of-fold AUROC. By the one-standard-error rule, every candidate within one standard
error (over folds) of the best counts as tied, and the tie goes to the layer nearest the
middle of the model: the middle layer (where the bundled models' deception probes work, see
docs/probes.md) is the prior, and the data moves the choice only when the middle is
measurably worse. The held-out 25% of pairs (which give the probe's reported test metrics)
and the audit's own items play no part in it.

**Cache.** The fitted probe is saved (safetensors + JSON, with ``selection.json`` recording
the cross-validated AUROC of every candidate) under the store's artifact directory,
``probes/defection-KEY``, where KEY hashes the subject's weights, the rendered training and
control texts with their labels, and every setting. A second audit of the same weights finds
it and fits nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ulterior.errors import DataFormatError, UsageError
from ulterior.models import Subject, white_box
from ulterior.probes._datasets import ContrastDataset, render_example
from ulterior.probes._estimators import make_probe
from ulterior.probes._evaluate import auroc
from ulterior.probes._fit import FitConfig, fit_in_session
from ulterior.probes._readout import SavedProbe
from ulterior.probes._session import CONTROL, ProbeJob, ProbeSession
from ulterior.records import content_hash
from ulterior.runner import RunContext

DEFAULT_DATASET = "defection"
DEFAULT_KIND = "logistic"
LAYER_FRACTIONS = (0.25, 0.375, 0.5, 0.625, 0.75)
MIDDLE_FRACTION = 0.5
CV_FOLDS = 4
CACHE_FORMAT = 1
SELECTION_FILE = "selection.json"


def candidate_layers(n_layers: int) -> tuple[int, ...]:
    """The blocks at :data:`LAYER_FRACTIONS` of the depth (``int(f * n_layers)``), deduplicated.

    For 30 blocks (SmolLM2-135M) that is 7, 11, 15, 18, 22; for 18 (Gemma 3 270M) 4, 6, 9,
    11, 13.
    """
    if n_layers < 1:
        raise UsageError("the model has no decoder blocks")
    return tuple(sorted({min(n_layers - 1, int(f * n_layers)) for f in LAYER_FRACTIONS}))


def grouped_folds(groups: Sequence[str], n_folds: int, rng: np.random.Generator
                  ) -> list[np.ndarray]:
    """Test indices of each fold; all examples of a group fall in the same fold."""
    names = sorted(set(groups))
    order = rng.permutation(len(names))
    fold_of = {names[int(index)]: k % n_folds for k, index in enumerate(order)}
    assigned = np.array([fold_of[g] for g in groups])
    return [np.flatnonzero(assigned == k) for k in range(min(n_folds, len(names)))]


@dataclass(frozen=True)
class LayerChoice:
    """The chosen layer, and each candidate's cross-validated AUROC with its standard error."""

    layer: int
    cv_auroc: dict[int, float]
    cv_se: dict[int, float]


def select_layer(
    features: Mapping[int, np.ndarray],
    labels: np.ndarray,
    groups: Sequence[str],
    *,
    n_layers: int,
    rng: np.random.Generator,
    kind: str = DEFAULT_KIND,
    seed: int = 0,
    n_folds: int = CV_FOLDS,
) -> LayerChoice:
    """Pick the layer whose probe separates held-out folds best; near-ties go to the middle.

    The one-standard-error rule: every candidate whose mean out-of-fold AUROC is within one
    standard error (over folds) of the best one's counts as tied, and of those the layer
    nearest ``int(0.5 * n_layers)`` wins (the shallower of two equally near).

    Args:
        features: Training activations ``(n, d)`` at each candidate layer.
        labels: Their labels (1 = admits defection).
        groups: Pair of each example; folds never split a pair.
        n_layers: Depth of the model.
        rng: Fold assignment.
        kind: Estimator fitted in each fold.
        seed: Seed of the estimator (its own inner CV).
        n_folds: Cross-validation folds.
    """
    if not features:
        raise UsageError("no candidate layers to choose from")
    y = np.asarray(labels)
    folds = grouped_folds(groups, n_folds, rng)
    scores: dict[int, float] = {}
    errors: dict[int, float] = {}
    for layer, X in features.items():
        aurocs = []
        for test in folds:
            train = np.setdiff1d(np.arange(len(y)), test)
            probe = make_probe(kind, seed=seed).fit(X[train], y[train])
            aurocs.append(auroc(probe.score(X[test]), y[test]))
        values = np.asarray(aurocs)[~np.isnan(aurocs)]  # a fold with one label has no AUROC
        scores[layer] = float(values.mean())
        errors[layer] = float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 \
            else 0.0
    best = max(scores, key=lambda layer: scores[layer])
    middle = int(MIDDLE_FRACTION * n_layers)
    tied = [layer for layer, value in scores.items()
            if value >= scores[best] - errors[best] - 1e-12]
    chosen = min(tied, key=lambda layer: (abs(layer - middle), layer))
    return LayerChoice(chosen, scores, errors)


@dataclass(frozen=True)
class DefaultProbe:
    """The default defection probe of one subject, and where it came from.

    Attributes:
        saved: The probe and its :class:`ProbeInfo`.
        directory: Where it is cached.
        n_layers: Depth of the subject.
        choice: How its layer was chosen.
        reused: True when it was found in the cache, False when fitted by this call.
        fit_seconds: Wall time of the fit (of the original fit when reused).
    """

    saved: SavedProbe
    directory: Path
    n_layers: int
    choice: LayerChoice
    reused: bool = False
    fit_seconds: float = 0.0

    @property
    def layer(self) -> int:
        """The layer the probe reads."""
        return self.saved.info.layer

    def describe(self) -> str:
        """Which probe this is, in a few words."""
        info = self.saved.info
        return (f"default defection probe ({info.kind}, layer {info.layer} of "
                f"0..{self.n_layers - 1})")

    def notes(self) -> tuple[str, ...]:
        """How the probe was made and whether this audit fitted or reused it."""
        cv = ", ".join(f"layer {layer} {value:.3f} (SE {self.choice.cv_se[layer]:.3f})"
                       for layer, value in sorted(self.choice.cv_auroc.items()))
        how = (f"reused from the store's cache (fitted earlier in {self.fit_seconds:.1f} s)"
               if self.reused else f"fitted by this audit in {self.fit_seconds:.1f} s")
        return (
            f"{self.describe()}: fitted on this subject's activations over the generic "
            f"defection pairs (package data); {how}; cache entry {self.directory.name}",
            f"layer chosen by {CV_FOLDS}-fold cross-validated AUROC on the defection training "
            "pairs only (candidates at 1/4 to 3/4 of the depth; of those within one standard "
            f"error of the best, the one nearest the middle): {cv}",
        )


def _examples_digest(datasets: Sequence[ContrastDataset], subject: Subject) -> str:
    fmt = white_box(subject).format
    digest = hashlib.sha256()
    for dataset in datasets:
        digest.update(f"{dataset.name}\x00".encode())
        for example in dataset.examples:
            text = render_example(example, fmt)
            digest.update(f"{text.start}\x00{example.label}\x00{example.group}\x00".encode())
            digest.update(text.text.encode("utf-8"))
            digest.update(b"\x00")
    return digest.hexdigest()


def _settings(session: ProbeSession, layers: Sequence[int]) -> dict[str, Any]:
    return {
        "cache_format": CACHE_FORMAT, "dataset": DEFAULT_DATASET, "kind": DEFAULT_KIND,
        "candidates": list(layers), "folds": CV_FOLDS, "rule": "one-standard-error",
        **session.subject.info.numerics(), "dtype": session.dtype,
        **session.job.model_dump(mode="json", include={
            "position", "limit", "test_fraction", "fpr", "n_resamples", "seed"}),
    }


def cache_key(session: ProbeSession) -> str:
    """Hash naming the default probe of a session: weights, rendered data, every setting."""
    subject = session.subject
    digest = _examples_digest([session.build(DEFAULT_DATASET), session.build(CONTROL)], subject)
    return content_hash({"subject": subject.info.fingerprint, "examples": digest,
                         "prompt_format": subject.info.prompt_format,
                         "settings": _settings(session, candidate_layers(session.n_layers))})


def _load(directory: Path, n_layers: int) -> DefaultProbe | None:
    """The cached probe in ``directory``, or None if there is none or it is unreadable."""
    if not directory.is_dir():
        return None
    try:
        saved = SavedProbe.load(directory)
        selection = json.loads((directory / SELECTION_FILE).read_text("utf-8"))
        choice = LayerChoice(
            int(selection["layer"]),
            {int(k): float(v) for k, v in selection["cv_auroc"].items()},
            {int(k): float(v) for k, v in selection["cv_se"].items()},
        )
        seconds = float(selection["fit_seconds"])
    except (UsageError, DataFormatError, OSError, ValueError, KeyError, TypeError):
        shutil.rmtree(directory, ignore_errors=True)  # a broken cache entry: fit again
        return None
    return DefaultProbe(saved, directory, n_layers, choice, reused=True, fit_seconds=seconds)


def default_probe(
    subject: Subject, context: RunContext, *, show_progress: bool = False
) -> DefaultProbe:
    """The default defection probe of ``subject``: from the store's cache, or fitted now.

    Args:
        subject: A white-box subject (raises ``CapabilityError`` otherwise).
        context: The store (activation shards, probe cache, a ``probe`` document) and the
            seed of splits, folds and bootstrap.
        show_progress: Show activation-capture progress.
    """
    job = ProbeJob(model=subject.info.spec, store=context.store.path, seed=context.seed,
                   show_progress=show_progress)
    session = ProbeSession(job, subject, context)
    layers = candidate_layers(session.n_layers)
    key = cache_key(session)
    root = context.store.artifact_dir / "probes"
    directory = root / f"{DEFAULT_DATASET}-{key[:32]}"
    cached = _load(directory, session.n_layers)
    if cached is not None:
        return cached

    start = time.perf_counter()
    train, _ = session.split(DEFAULT_DATASET)
    choice = select_layer(
        session.features(train, layers), train.labels, [e.group for e in train.examples],
        n_layers=session.n_layers, rng=context.rng("probe-folds", DEFAULT_DATASET),
        seed=context.seed,
    )
    config = FitConfig(**job.model_dump(), datasets=(DEFAULT_DATASET,), layer=choice.layer,
                       kind=DEFAULT_KIND, out=directory)
    probe, info = fit_in_session(session, config)
    seconds = time.perf_counter() - start
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=".fitting-"))
    try:
        probe.save(tmp, metadata=info.model_dump(mode="json"))
        selection = {"key": key, "settings": _settings(session, layers),
                     "n_layers": session.n_layers,
                     "cv_auroc": {str(k): v for k, v in choice.cv_auroc.items()},
                     "cv_se": {str(k): v for k, v in choice.cv_se.items()},
                     "layer": choice.layer, "fit_seconds": round(seconds, 3)}
        (tmp / SELECTION_FILE).write_text(json.dumps(selection, indent=2), encoding="utf-8")
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; the store's other folders are not
        try:
            os.replace(tmp, directory)  # whole directory or nothing
        except OSError:
            if not directory.is_dir():  # not a concurrent audit that got there first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    context.store.put_document("probe", str(directory.resolve()), info)
    return DefaultProbe(SavedProbe(probe, info), directory, session.n_layers, choice,
                        reused=False, fit_seconds=seconds)
