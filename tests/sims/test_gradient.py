"""Gradient model: hand-written gradients, and the seeded scientific floors of issue 6.

Floors run the default configuration (10 seeds, 2,000 REINFORCE steps of 64 episodes, 300
of them training, a quarter of deployment-phase episodes overseen).
"""

from __future__ import annotations

import numpy as np
import pytest

from ulterior.sims import GradientConfig, simulate_gradient
from ulterior.sims._gradient import _Policy

PRIORS = ["neutral", "misaligned"]


def test_observable_flag_r4_learns_to_defect_only_when_unobserved() -> None:
    result = simulate_gradient(GradientConfig(regime="R4", cue=1.0))
    di = result.final("deception_index")
    assert result.n_seeds == 10
    assert (di >= 0.8).sum() >= 9, di


@pytest.mark.parametrize("prior", PRIORS)
@pytest.mark.parametrize("flag_scale", [0.0, 1.0])
def test_r1_never_raises_deployment_defection_above_prior(prior: str, flag_scale: float) -> None:
    config = GradientConfig(regime="R1", cue=1.0, prior=prior, flag_scale=flag_scale)
    defect = simulate_gradient(config).metrics["deploy_defect"]
    prior_defect = defect[:, :1]  # step 0: the initial policy, per seed
    assert np.all(defect <= prior_defect + 0.02)


@pytest.mark.parametrize("prior", PRIORS)
def test_r3_keeps_deception_and_defection_low(prior: str) -> None:
    result = simulate_gradient(GradientConfig(regime="R3", cue=1.0, prior=prior))
    assert np.all(result.final("deception_index") <= 0.02)
    assert np.all(result.final("deploy_defect") <= 0.02)


def test_prior_sets_initial_defection() -> None:
    for prior, expected in [("neutral", 0.5), ("misaligned", 0.9)]:
        result = simulate_gradient(GradientConfig(prior=prior, steps=1, train_steps=0))
        start = result.metrics["deploy_defect"][:, 0]
        assert start.mean() == pytest.approx(expected, abs=0.1)
        assert np.all(result.metrics["deception_index"][:, 0] == 0.0)  # flag weights start at 0


def test_hand_written_gradient_matches_finite_differences() -> None:
    config = GradientConfig(seeds=2, hidden=5, distractors=3, flag_scale=1.0)
    policy = _Policy(config, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 7, 4))
    g = rng.standard_normal((2, 7))

    def objective(p: _Policy) -> float:
        _hid, prob = p.forward(x)
        logit = np.log(prob / (1 - prob))
        return float((g * logit).mean(axis=1).sum())

    hid, _ = policy.forward(x)
    before = {k: getattr(policy, k).copy() for k in ("w1", "b1", "w2", "b2")}
    policy.ascend(x, hid, g, lr=1.0)
    analytic = {k: getattr(policy, k) - before[k] for k in before}
    for name, grad in analytic.items():
        for idx in [(0,) + (0,) * (grad.ndim - 1), (1, *tuple(s - 1 for s in grad.shape[1:]))]:
            for k in before:
                setattr(policy, k, before[k].copy())
            getattr(policy, name)[idx] += 1e-6
            up = objective(policy)
            getattr(policy, name)[idx] -= 2e-6
            down = objective(policy)
            assert grad[idx] == pytest.approx((up - down) / 2e-6, rel=1e-4, abs=1e-8)


def test_same_seed_same_trajectory() -> None:
    config = GradientConfig(seeds=2, steps=40, train_steps=10)
    a = simulate_gradient(config).metrics["deception_index"]
    b = simulate_gradient(config).metrics["deception_index"]
    np.testing.assert_array_equal(a, b)
