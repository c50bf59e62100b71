from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from probe_testing import planted

from ulterior.errors import UsageError
from ulterior.probes import (
    CovAdjustedDiffMeanProbe,
    DiffMeanProbe,
    LogisticProbe,
    auroc,
    load_probe,
    make_probe,
)

KINDS = ["logistic", "diff-mean", "cov-diff-mean"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_probe_recovers_a_planted_direction(kind: str) -> None:
    X, y, direction = planted(600, 48, seed=1)
    probe = make_probe(kind, seed=0).fit(X[:400], y[:400])
    assert auroc(probe.score(X[400:]), y[400:]) > 0.95
    assert probe.predict(X[400:]).mean() == pytest.approx(y[400:].mean(), abs=0.15)
    assert probe.direction_.shape == (48,)
    if kind == "diff-mean":  # the plain difference estimates the planted direction itself
        cosine = probe.direction_ @ direction / np.linalg.norm(probe.direction_)
        assert cosine > 0.8


@pytest.mark.parametrize("kind", KINDS)
def test_no_direction_no_separation(kind: str) -> None:
    X, y, _ = planted(600, 48, seed=2, strength=0.0)
    probe = make_probe(kind).fit(X[:400], y[:400])
    assert 0.35 < auroc(probe.score(X[400:]), y[400:]) < 0.65


def test_covariance_adjustment_beats_plain_difference_under_nuisance_variance() -> None:
    X, y, _ = planted(2000, 48, seed=3, strength=0.5)
    plain = DiffMeanProbe().fit(X[:1000], y[:1000])
    adjusted = CovAdjustedDiffMeanProbe().fit(X[:1000], y[:1000])
    assert auroc(adjusted.score(X[1000:]), y[1000:]) > auroc(plain.score(X[1000:]), y[1000:])


def test_logistic_picks_regularisation_by_cv() -> None:
    X, y, _ = planted(300, 32, seed=4)
    probe = LogisticProbe(Cs=(1e-3, 1.0), cv=3, seed=0).fit(X, y)
    assert probe.C_ in (1e-3, 1.0)
    assert probe.cv_loss_.shape == (2,)
    # the direction folds standardisation in: raw scores equal the standardised model's
    z = (X - probe.mean_) / probe.scale_
    np.testing.assert_allclose(probe.score(X), z @ probe.coef_ + probe.intercept_, atol=1e-8)


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_round_trip_without_pickle(kind: str, tmp_path: Path) -> None:
    X, y, _ = planted(200, 16, seed=5)
    probe = make_probe(kind).fit(X, y)
    probe.save(tmp_path, metadata={"layer": 3})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["probe.json", "probe.safetensors"]
    loaded, metadata = load_probe(tmp_path)
    assert type(loaded) is type(probe) and metadata == {"layer": 3}
    np.testing.assert_allclose(loaded.score(X), probe.score(X), atol=1e-10)
    assert loaded.get_params() == probe.get_params()


def test_fit_needs_both_labels_and_matching_shapes() -> None:
    X, _, _ = planted(20, 4, seed=6)
    with pytest.raises(UsageError):
        DiffMeanProbe().fit(X, np.zeros(20))
    with pytest.raises(UsageError):
        DiffMeanProbe().fit(X, np.zeros(19))
    with pytest.raises(UsageError, match="not fitted"):
        DiffMeanProbe().score(X)
    with pytest.raises(UsageError, match="unknown probe kind"):
        make_probe("svm")


def test_load_of_missing_probe_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="probe fit"):
        load_probe(tmp_path)
