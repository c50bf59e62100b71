"""Helpers for the probe tests, importable from test modules."""

from __future__ import annotations

import numpy as np

from ulterior_testing import SHARED_DATA

DATA_ROOT = SHARED_DATA


def planted(n: int, d: int, seed: int, strength: float = 1.5) -> tuple[np.ndarray, np.ndarray,
                                                                         np.ndarray]:
    """Gaussian activations with anisotropic nuisance variance and a planted label direction."""
    rng = np.random.default_rng(seed)
    direction = rng.normal(size=d)
    direction /= np.linalg.norm(direction)
    scales = np.exp(rng.normal(0, 1.0, size=d))  # nuisance variance differs by dimension
    basis, _ = np.linalg.qr(rng.normal(size=(d, d)))
    y = rng.integers(0, 2, size=n)
    noise = (rng.normal(size=(n, d)) * scales) @ basis.T
    # ``strength`` is half the class separation in units of the noise sd along the direction
    sd_along = float(np.sqrt(np.sum((scales * (basis.T @ direction)) ** 2)))
    X = noise + strength * sd_along * np.outer(2 * y - 1, direction) + 3.0
    return X, y, direction
