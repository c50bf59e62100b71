"""Layer sweep: fit each estimator at each layer on one split, test on the held-out pairs."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ulterior.probes._estimators import PROBE_KINDS, make_probe
from ulterior.probes._evaluate import evaluate_scores
from ulterior.probes._session import ProbeJob, ProbeSession, open_session
from ulterior.records import LayerSweep, ProbeMetrics, SweepRow


class SweepConfig(ProbeJob):
    """`ulterior probe sweep`: probe quality at each layer of one dataset."""

    dataset: str = Field(default="instructed-pairs", description="Dataset to train and test on.")
    layers: tuple[int, ...] | None = Field(
        default=None, description="0-based layers (None: every layer)."
    )
    kinds: tuple[str, ...] = Field(
        default=tuple(PROBE_KINDS), description="Estimators to fit at each layer."
    )


def fit_and_score(
    session: ProbeSession,
    kind: str,
    train_x: np.ndarray,
    train_y: np.ndarray,
    tests: dict[str, tuple[np.ndarray, np.ndarray]],
    control_x: np.ndarray,
    label: str,
) -> dict[str, ProbeMetrics]:
    """Fit one probe and evaluate it on each named test set, recall calibrated on control."""
    probe = make_probe(kind, seed=session.job.seed).fit(train_x, train_y)
    control = probe.score(control_x)
    return {
        name: evaluate_scores(
            name, probe.score(x), y, rng=session.bootstrap_rng(label, kind, name),
            control_scores=control, fpr=session.job.fpr, n_resamples=session.job.n_resamples,
        )
        for name, (x, y) in tests.items()
    }


def run_sweep(session: ProbeSession, config: SweepConfig) -> LayerSweep:
    """Sweep within an open session (see :func:`sweep_layers`)."""
    layers = session.check_layers(config.layers or range(session.n_layers))
    train, test = session.split(config.dataset)
    train_x, test_x = session.features(train, layers), session.features(test, layers)
    control_x = session.control(layers)
    rows = []
    for layer in layers:
        for kind in config.kinds:
            metrics = fit_and_score(
                session, kind, train_x[layer], train.labels,
                {config.dataset: (test_x[layer], test.labels)}, control_x[layer],
                f"sweep-{layer}",
            )
            rows.append(SweepRow(layer=layer, kind=kind, metrics=metrics[config.dataset]))
    result = LayerSweep(
        subject=session.subject.info, dataset=config.dataset, position=config.position,
        n_train=len(train.examples), n_test=len(test.examples), capture_dtype=config.dtype,
        seed=config.seed, rows=tuple(rows),
    )
    key = f"{session.subject.info.fingerprint}:{config.dataset}:{config.position}:{result.created}"
    session.context.store.put_document("probe-sweep", key, result)
    return result


def sweep_layers(config: SweepConfig) -> LayerSweep:
    """Fit every estimator at every layer on the train pairs of a dataset; test on the rest.

    Records the sweep in the store (kind ``probe-sweep``) and returns it.
    """
    for kind in config.kinds:
        make_probe(kind)  # unknown names fail before the model loads
    with open_session(config) as session:
        return run_sweep(session, config)
