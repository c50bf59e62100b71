"""Linear probe estimators with the scikit-learn convention, saved as safetensors + JSON.

``Probe(...).fit(X, y)`` returns the probe; fitted state ends in ``_``; ``score(X)`` returns
one real number per row, higher meaning more like label 1 (deceptive). Every probe is affine,
``score(x) = x @ w + b``, so the score of a mean activation is the mean of the token scores.
Files are a safetensors file of arrays and a JSON file of settings: never a pickle.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike

from ulterior.errors import DataFormatError, UsageError

WEIGHTS_FILE = "probe.safetensors"
SETTINGS_FILE = "probe.json"


def _check_xy(X: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    data = np.asarray(X, dtype=np.float64)
    labels = np.asarray(y).astype(np.int64)
    if data.ndim != 2 or labels.shape != (data.shape[0],):
        raise UsageError(f"expected X of shape (n, d) and y of shape (n,), got "
                         f"{data.shape} and {labels.shape}")
    if set(np.unique(labels).tolist()) != {0, 1}:
        raise UsageError("probes need both labels 0 and 1 among the training examples")
    return data, labels


class Probe:
    """Base class: an affine scorer ``x @ direction_ + bias_``.

    Subclasses implement ``_fit`` and list their hyperparameters in ``params``.
    """

    kind: ClassVar[str] = ""
    params: ClassVar[tuple[str, ...]] = ()
    direction_: np.ndarray
    bias_: float

    def fit(self, X: ArrayLike, y: ArrayLike) -> Probe:
        """Fit on activations ``X`` (n, d) and labels ``y`` (n,) in {0, 1}; return self."""
        data, labels = _check_xy(X, y)
        self._fit(data, labels)
        return self

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        raise NotImplementedError

    def score(self, X: ArrayLike) -> np.ndarray:
        """Score each row of ``X``; higher means more like label 1."""
        if not hasattr(self, "direction_"):
            raise UsageError(f"{type(self).__name__} is not fitted; call fit first")
        data = np.asarray(X, dtype=np.float64)
        result: np.ndarray = data @ self.direction_ + self.bias_
        return result

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Label 1 where the score is above 0 (each probe puts its boundary at 0)."""
        return (self.score(X) > 0).astype(np.int64)

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters, as scikit-learn's ``get_params``."""
        return {name: getattr(self, name) for name in self.params}

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"direction": self.direction_, "bias": np.array([self.bias_])}

    def _load_arrays(self, arrays: dict[str, np.ndarray], fitted: dict[str, Any]) -> None:
        self.direction_ = arrays["direction"].astype(np.float64)
        self.bias_ = float(arrays["bias"][0])

    def _fitted_json(self) -> dict[str, Any]:
        return {}

    def save(self, directory: Path, metadata: dict[str, Any] | None = None) -> None:
        """Write ``probe.safetensors`` and ``probe.json`` (with ``metadata``) to ``directory``."""
        from safetensors.numpy import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in self._arrays().items()}
        save_file(arrays, str(directory / WEIGHTS_FILE))
        settings = {"kind": self.kind, "params": self.get_params(),
                    "fitted": self._fitted_json(), "metadata": metadata or {}}
        (directory / SETTINGS_FILE).write_text(json.dumps(settings, indent=2), encoding="utf-8")


class DiffMeanProbe(Probe):
    """Difference of class means: ``w = mean(X | y=1) - mean(X | y=0)``.

    The boundary (score 0) sits at the midpoint of the two class means.
    """

    kind = "diff-mean"

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        self.mean_pos_ = X[y == 1].mean(axis=0)
        self.mean_neg_ = X[y == 0].mean(axis=0)
        self.direction_ = self.mean_pos_ - self.mean_neg_
        midpoint = (self.mean_pos_ + self.mean_neg_) / 2
        self.bias_ = float(-midpoint @ self.direction_)


class CovAdjustedDiffMeanProbe(Probe):
    """Covariance-adjusted difference of means (Fisher LDA): ``w = S^-1 (mu1 - mu0)``.

    ``S`` is the pooled within-class covariance, shrunk toward a scaled identity with the
    Ledoit-Wolf estimate of the shrinkage (activations have more dimensions than the few
    hundred examples usually available, so the raw covariance is singular).

    Args:
        shrinkage: Fixed shrinkage in [0, 1]; None estimates it (Ledoit-Wolf).
    """

    kind = "cov-diff-mean"
    params = ("shrinkage",)

    def __init__(self, shrinkage: float | None = None) -> None:
        self.shrinkage = shrinkage

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        from sklearn.covariance import ledoit_wolf_shrinkage

        mean_pos, mean_neg = X[y == 1].mean(axis=0), X[y == 0].mean(axis=0)
        centered = np.where((y == 1)[:, None], X - mean_pos, X - mean_neg)
        cov = centered.T @ centered / max(1, len(X) - 2)
        if self.shrinkage is None:
            self.shrinkage_ = float(ledoit_wolf_shrinkage(centered, assume_centered=True))
        else:
            if not 0.0 <= self.shrinkage <= 1.0:
                raise UsageError(f"shrinkage must be in [0, 1], not {self.shrinkage}")
            self.shrinkage_ = float(self.shrinkage)
        mu = np.trace(cov) / cov.shape[0]
        shrunk = (1 - self.shrinkage_) * cov + self.shrinkage_ * mu * np.eye(cov.shape[0])
        self.direction_ = np.linalg.solve(shrunk, mean_pos - mean_neg)
        self.bias_ = float(-((mean_pos + mean_neg) / 2) @ self.direction_)

    def _fitted_json(self) -> dict[str, Any]:
        return {"shrinkage_": self.shrinkage_}

    def _load_arrays(self, arrays: dict[str, np.ndarray], fitted: dict[str, Any]) -> None:
        super()._load_arrays(arrays, fitted)
        self.shrinkage_ = float(fitted["shrinkage_"])


class LogisticProbe(Probe):
    """Logistic regression on standardised activations, L2 strength chosen by CV.

    Features are standardised with the training mean and deviation; the inverse
    regularisation ``C`` is picked from ``Cs`` by stratified ``cv``-fold cross-validation
    on held-out log-loss (``cv_loss_``), then the model is refit on all the data. The
    stored direction folds the standardisation in, so scoring is one matrix product;
    ``score`` is the log-odds of label 1.

    Args:
        Cs: Candidate inverse regularisation strengths.
        cv: Cross-validation folds.
        seed: Seed of the fold assignment.
        max_iter: Solver iterations.
    """

    kind = "logistic"
    params = ("Cs", "cv", "seed", "max_iter")

    def __init__(self, Cs: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0),
                 cv: int = 3, seed: int = 0, max_iter: int = 500) -> None:
        self.Cs = tuple(float(c) for c in Cs)
        self.cv = cv
        self.seed = seed
        self.max_iter = max_iter

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold

        self.mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        Z = (X - self.mean_) / self.scale_
        folds = min(self.cv, int(np.bincount(y).min()))
        if folds < 2:
            raise UsageError("logistic probe needs at least 2 examples of each label")
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.seed)
        losses = np.zeros(len(self.Cs))
        # On separable activations weakly regularised fits may stop at max_iter; the CV loss
        # judges the C they reach, so the warning is noise here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for train, test in splitter.split(Z, y):
                for k, c in enumerate(self.Cs):
                    model = LogisticRegression(C=c, max_iter=self.max_iter)
                    model.fit(Z[train], y[train])
                    p = np.clip(model.predict_proba(Z[test])[:, 1], 1e-12, 1 - 1e-12)
                    losses[k] -= np.sum(y[test] * np.log(p) + (1 - y[test]) * np.log(1 - p))
            self.cv_loss_ = losses / len(y)
            self.C_ = self.Cs[int(np.argmin(losses))]
            model = LogisticRegression(C=self.C_, max_iter=self.max_iter).fit(Z, y)
        self.coef_ = np.ravel(model.coef_).astype(np.float64)
        self.intercept_ = float(np.ravel(model.intercept_)[0])
        self.direction_ = self.coef_ / self.scale_
        self.bias_ = float(self.intercept_ - self.mean_ @ self.direction_)

    def _arrays(self) -> dict[str, np.ndarray]:
        return {**super()._arrays(), "mean": self.mean_, "scale": self.scale_,
                "coef": self.coef_}

    def _fitted_json(self) -> dict[str, Any]:
        return {"C_": self.C_, "intercept_": self.intercept_,
                "cv_loss_": [float(v) for v in self.cv_loss_]}

    def _load_arrays(self, arrays: dict[str, np.ndarray], fitted: dict[str, Any]) -> None:
        super()._load_arrays(arrays, fitted)
        self.mean_, self.scale_, self.coef_ = arrays["mean"], arrays["scale"], arrays["coef"]
        self.C_ = float(fitted["C_"])
        self.intercept_ = float(fitted["intercept_"])
        self.cv_loss_ = np.asarray(fitted["cv_loss_"], dtype=np.float64)


PROBE_KINDS: dict[str, type[Probe]] = {
    cls.kind: cls for cls in (LogisticProbe, DiffMeanProbe, CovAdjustedDiffMeanProbe)
}


def make_probe(kind: str, seed: int = 0) -> Probe:
    """A new, unfitted probe of ``kind`` (logistic, diff-mean, cov-diff-mean)."""
    if kind not in PROBE_KINDS:
        raise UsageError(f"unknown probe kind '{kind}'; choose from {', '.join(PROBE_KINDS)}")
    if kind == "logistic":
        return LogisticProbe(seed=seed)
    return PROBE_KINDS[kind]()


def _read_weights(path: Path) -> dict[str, np.ndarray]:
    """The arrays of ``probe.safetensors``; anything unreadable is a one-line error."""
    from safetensors.numpy import load_file

    try:
        arrays = dict(load_file(str(path)))
    except Exception as exc:  # safetensors raises its own error type for a corrupt header
        detail = " ".join(str(exc).split())[:120]
        raise DataFormatError(f"{path} is not a readable safetensors file ({detail}); "
                              "fit the probe again with `ulterior probe fit`") from None
    direction = arrays.get("direction")
    bias = arrays.get("bias")
    if direction is None or bias is None:
        raise DataFormatError(f"{path} lacks the 'direction' and 'bias' arrays of a probe; "
                              "fit the probe again with `ulterior probe fit`")
    if direction.ndim != 1 or direction.size == 0 or bias.shape != (1,):
        raise DataFormatError(f"{path}: 'direction' must be a vector and 'bias' one number, "
                              f"not shapes {direction.shape} and {bias.shape}")
    for name, array in arrays.items():
        if not np.issubdtype(array.dtype, np.floating) or not np.all(np.isfinite(array)):
            raise DataFormatError(f"{path}: array '{name}' is not finite floating point")
    return arrays


def load_probe(directory: Path) -> tuple[Probe, dict[str, Any]]:
    """Load a probe saved with :meth:`Probe.save`; return it and its metadata.

    Raises:
        UsageError: ``directory`` holds no probe.
        DataFormatError: A file is corrupt or the two files do not belong together; one
            line naming the file.
    """
    directory = Path(directory)
    settings_path, weights_path = directory / SETTINGS_FILE, directory / WEIGHTS_FILE
    if not settings_path.is_file() or not weights_path.is_file():
        raise UsageError(f"{directory} holds no fitted probe ({SETTINGS_FILE} and "
                         f"{WEIGHTS_FILE}); run `ulterior probe fit` first")
    try:
        settings = json.loads(settings_path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        detail = " ".join(str(exc).split())[:120]
        raise DataFormatError(f"{settings_path} is not readable JSON ({detail})") from None
    if not isinstance(settings, dict):
        raise DataFormatError(f"{settings_path}: expected a JSON object")
    kind = settings.get("kind")
    if kind not in PROBE_KINDS:
        raise DataFormatError(f"{settings_path}: 'kind' must be one of "
                              f"{', '.join(PROBE_KINDS)}, not {kind!r}")
    params, fitted = settings.get("params", {}), settings.get("fitted", {})
    metadata = settings.get("metadata", {})
    if not all(isinstance(v, dict) for v in (params, fitted, metadata)):
        raise DataFormatError(f"{settings_path}: 'params', 'fitted' and 'metadata' must be "
                              "JSON objects")
    arrays = _read_weights(weights_path)
    try:
        probe = PROBE_KINDS[kind](**params)
        probe._load_arrays(arrays, fitted)
    except (KeyError, TypeError, ValueError) as exc:
        detail = " ".join(str(exc).split())[:120]
        raise DataFormatError(f"{settings_path} and {WEIGHTS_FILE} do not match a {kind} "
                              f"probe ({type(exc).__name__}: {detail})") from None
    width = probe.direction_.shape[0]
    for name, array in arrays.items():
        if name != "bias" and array.shape != (width,):
            raise DataFormatError(f"{weights_path}: array '{name}' has shape {array.shape}, "
                                  f"the direction ({width},); the files do not belong together")
    return probe, dict(metadata)
