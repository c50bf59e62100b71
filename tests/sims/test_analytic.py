from __future__ import annotations

import numpy as np
import pytest

from ulterior.sims import optimal_expression_rate, predicted_deception_index


@pytest.mark.parametrize(
    "mu,tau,s,cue",
    [(0.5, 1.0, 1.0, 0.0), (0.8, 0.9, 1.0, 0.2), (0.6, 1.0, 0.7, 0.0), (0.9, 1.0, 1.0, 0.1)],
)
def test_optimum_maximises_lineage_growth(mu: float, tau: float, s: float, cue: float) -> None:
    q = np.linspace(0.0, 1.0, 100_001)
    growth = (1 + s * q) * (1 - mu * tau * (1 - cue) * q)
    expected = q[np.argmax(growth)]
    assert optimal_expression_rate(mu, tau, advantage=s, cue=cue) == pytest.approx(
        expected, abs=1e-4
    )


def test_limits() -> None:
    assert optimal_expression_rate(0.5, 1.0) == pytest.approx(0.5)
    assert optimal_expression_rate(0.1, 1.0) == 1.0  # cheap tests: always express
    assert optimal_expression_rate(1.0, 1.0) == 0.0  # caught too often: never express
    assert optimal_expression_rate(0.5, 0.0) == 1.0  # never tested
    assert optimal_expression_rate(0.5, 1.0, cue=1.0) == 1.0  # test always recognised
    assert predicted_deception_index(0.5, 1.0, cue=0.0) == 0.0
    assert predicted_deception_index(0.5, 1.0, cue=1.0) == 1.0
    assert predicted_deception_index(0.5, 1.0, cue=0.2) == pytest.approx(0.2 * 0.75)
