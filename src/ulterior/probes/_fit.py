"""Fit a probe and save it; evaluate a saved probe; the train-on-X, test-on-Y matrix."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from pydantic import Field, ValidationError

from ulterior.errors import UsageError
from ulterior.probes._estimators import PROBE_KINDS, Probe, load_probe, make_probe
from ulterior.probes._evaluate import calibrate_threshold, evaluate_scores
from ulterior.probes._session import CONTROL, ProbeJob, ProbeSession, open_session
from ulterior.probes._sweep import fit_and_score
from ulterior.records import (
    GeneralizationCell,
    GeneralizationMatrix,
    ProbeInfo,
    ProbeMetrics,
)

DEFAULT_DATASETS = ("instructed-pairs", "true-false", "true-false-negated", "defection", "liar")


def _check_names(session: ProbeSession, names: tuple[str, ...]) -> None:
    unknown = [n for n in names if n not in session.dataset_names() or n == CONTROL]
    if unknown:
        choices = ", ".join(n for n in session.dataset_names() if n != CONTROL)
        raise UsageError(f"unknown dataset {unknown[0]!r}; choose from {choices}")
    if not names:
        raise UsageError("name at least one --dataset")


class FitConfig(ProbeJob):
    """`ulterior probe fit`: fit one probe on the train pairs of one or more datasets."""

    datasets: tuple[str, ...] = Field(
        default=("instructed-pairs",), description="Datasets to train on (train splits)."
    )
    layer: int = Field(description="0-based decoder block to read.")
    kind: str = Field(default="logistic", description="Estimator.")
    out: Path = Field(description="Directory for probe.safetensors and probe.json.")


def fit_in_session(session: ProbeSession, config: FitConfig) -> tuple[Probe, ProbeInfo]:
    """Fit and calibrate a probe within an open session; save nothing (see :func:`fit_probe`)."""
    make_probe(config.kind)
    _check_names(session, config.datasets)
    layer = session.check_layers([config.layer])[0]
    xs, ys, tests = [], [], {}
    for name in config.datasets:
        train, test = session.split(name)
        xs.append(session.features(train, [layer])[layer])
        ys.append(train.labels)
        tests[name] = (session.features(test, [layer])[layer], test.labels)
    probe = make_probe(config.kind, seed=config.seed).fit(np.concatenate(xs), np.concatenate(ys))
    control = probe.score(session.control([layer])[layer])
    metrics = tuple(
        evaluate_scores(name, probe.score(x), y, rng=session.bootstrap_rng("fit", name),
                        control_scores=control, fpr=config.fpr, n_resamples=config.n_resamples)
        for name, (x, y) in tests.items()
    )
    info = ProbeInfo(
        kind=config.kind, layer=layer, position=config.position,
        train_datasets=config.datasets, n_train=int(sum(len(y) for y in ys)),
        subject=session.subject.info, capture_dtype=session.dtype, seed=config.seed,
        threshold=calibrate_threshold(control, config.fpr), fpr=config.fpr,
        n_control=len(control), test_metrics=metrics,
    )
    return probe, info


def fit_probe(config: FitConfig) -> ProbeInfo:
    """Fit a probe, calibrate its monitor threshold on the control set, and save it.

    Trains on the train splits of ``config.datasets``, reports held-out metrics on each
    test split, sets the threshold that flags ``config.fpr`` of the control set, and writes
    ``probe.safetensors`` + ``probe.json`` to ``config.out``.
    """
    make_probe(config.kind)
    with open_session(config) as session:
        probe, info = fit_in_session(session, config)
        # saved beside, recorded, then moved into place: never files without their record
        config.out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=config.out.parent, prefix=f".{config.out.name}."))
        try:
            probe.save(staging, metadata=info.model_dump(mode="json"))
            session.context.store.put_document("probe", str(config.out.resolve()), info)
            config.out.mkdir(exist_ok=True)
            for path in staging.iterdir():
                os.replace(path, config.out / path.name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return info


def read_probe(directory: Path) -> tuple[Probe, ProbeInfo]:
    """Load a saved probe and its :class:`ProbeInfo`."""
    probe, metadata = load_probe(directory)
    try:
        info = ProbeInfo.model_validate(metadata)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "metadata"
        raise UsageError(f"{directory / 'probe.json'}: bad probe metadata: 'metadata.{field}' "
                         f"{error['msg']}; fit the probe again with `ulterior probe fit`"
                         ) from None
    if info.kind != probe.kind:
        raise UsageError(f"{directory / 'probe.json'}: metadata says a {info.kind} probe but "
                         f"the file holds a {probe.kind} probe; fit the probe again")
    if info.layer < 0:
        raise UsageError(f"{directory / 'probe.json'}: 'metadata.layer' must be 0 or more, "
                         f"not {info.layer}")
    return probe, info


class EvalConfig(ProbeJob):
    """`ulterior probe eval`: a saved probe on test sets, or the generalization matrix."""

    datasets: tuple[str, ...] = Field(
        default=DEFAULT_DATASETS, description="Datasets to test on (and train on, for a matrix)."
    )
    probe: Path | None = Field(
        default=None, description="Saved probe to evaluate (None: build the matrix)."
    )
    layer: int | None = Field(default=None, description="0-based layer of the matrix.")
    kind: str = Field(default="logistic", description="Estimator of the matrix.")


def evaluate_saved_probe(config: EvalConfig) -> tuple[ProbeMetrics, ...]:
    """Evaluate the probe in ``config.probe`` on the test split of each dataset.

    The splits use the probe's own seed, so the datasets it was trained on are tested on
    pairs it never saw. The subject must be the one the probe was fitted on.
    """
    if config.probe is None:
        raise UsageError("pass --probe DIR")
    probe, info = read_probe(config.probe)
    job = config.model_copy(update={
        "seed": info.seed, "position": info.position, "dtype": info.capture_dtype,
        "model": info.subject.spec if config.model == ProbeJob().model else config.model,
    })
    with open_session(job) as session:
        if session.subject.info.fingerprint != info.subject.fingerprint:
            raise UsageError(
                f"the probe was fitted on {info.subject.spec} ({info.subject.fingerprint[:24]}), "
                f"not on {session.subject.info.spec}; pass --model {info.subject.spec}"
            )
        _check_names(session, config.datasets)
        control = probe.score(session.control([info.layer])[info.layer])
        results = []
        for name in config.datasets:
            _, test = session.split(name)
            scores = probe.score(session.features(test, [info.layer])[info.layer])
            results.append(evaluate_scores(
                name, scores, test.labels, rng=session.bootstrap_rng("eval", name),
                control_scores=control, fpr=config.fpr, n_resamples=config.n_resamples,
            ))
        return tuple(results)


def run_matrix(session: ProbeSession, config: EvalConfig) -> GeneralizationMatrix:
    """Generalization matrix within an open session (see :func:`generalization_matrix`)."""
    if config.layer is None:
        raise UsageError("pass --layer for the generalization matrix")
    layer = session.check_layers([config.layer])[0]
    _check_names(session, config.datasets)
    splits = {name: session.split(name) for name in config.datasets}
    train_x = {n: session.features(tr, [layer])[layer] for n, (tr, _) in splits.items()}
    tests = {n: (session.features(te, [layer])[layer], te.labels) for n, (_, te) in splits.items()}
    control_x = session.control([layer])[layer]
    cells = []
    for name, (train, _) in splits.items():
        metrics = fit_and_score(session, config.kind, train_x[name], train.labels, tests,
                                control_x, f"matrix-{name}")
        cells += [GeneralizationCell(train=name, test=t, metrics=m) for t, m in metrics.items()]
    result = GeneralizationMatrix(
        subject=session.subject.info, kind=config.kind, layer=layer, position=config.position,
        datasets=config.datasets, capture_dtype=session.dtype, seed=config.seed,
        cells=tuple(cells),
    )
    key = f"{session.subject.info.fingerprint}:{layer}:{config.kind}:{result.created}"
    session.context.store.put_document("probe-matrix", key, result)
    return result


def generalization_matrix(config: EvalConfig) -> GeneralizationMatrix:
    """Train a probe on each dataset's train split, test it on every dataset's test split.

    The diagonal is in-distribution held-out performance; off-diagonal cells show whether
    what the probe learned transfers. Recall is at ``config.fpr`` of the control set.
    """
    if config.kind not in PROBE_KINDS:
        make_probe(config.kind)
    with open_session(config) as session:
        return run_matrix(session, config)
