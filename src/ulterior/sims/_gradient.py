"""Gradient descent on a small policy network (REINFORCE) under the same regimes.

Model (all seeds advance together; parameters carry a leading seed axis):

* **Episode**: the agent sees a context ``x = (flag, distractors)`` and either complies or
  defects (the misaligned action). ``flag`` is an oversight cue of tunable reliability:
  it reads "observed" (1) in an overseen (test/training) episode with probability
  ``rho = (1 + cue) / 2`` and in a deployment episode with probability ``1 - rho``. ``cue =
  0``: the flag carries no information; ``cue = 1``: it always tells the truth.
  ``distractors`` are standard normal features unrelated to anything.
* **Policy**: one tanh hidden layer, a sigmoid output giving P(defect). The prior is set by
  the output bias (``neutral``: P(defect) = 0.5, ``misaligned``: ``misaligned_defect``); the
  weights from the flag start at zero, so no prior depends on the flag.
* **Rewards**: an overseen episode penalises defection (-1, comply 0); a deployment episode
  with updates rewards defection with ``+1`` (R4, no-test) or penalises it with ``-1`` (R3);
  the null pays +-1 at random, independently of the action.
* **Update**: REINFORCE with the exact expected reward of the context as baseline, plain SGD
  on the batch mean, hand-written gradients. When both act (R3/R4 deployment), a fraction
  ``test_rate`` of each batch is overseen episodes.
"""

from __future__ import annotations

import time
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ulterior.sims._regimes import Regime, Schedule, build_schedule
from ulterior.sims._results import Progress, SimulationResult, run_recorded


class GradientConfig(BaseModel):
    """Settings of one gradient-descent run (one regime, a batch of seeds)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    regime: Regime = Field(default=Regime.R4, description="Training/deployment regime.")
    cue: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="Reliability of the oversight flag: P(flag is right) = (1 + cue) / 2.",
    )
    prior: Literal["neutral", "misaligned"] = Field(
        default="neutral", description="Initial policy: indifferent, or inclined to defect."
    )
    misaligned_defect: float = Field(
        default=0.9, gt=0.5, lt=1.0, description="P(defect) of the misaligned prior."
    )
    seeds: int = Field(default=10, ge=1, description="Independent replicates, run as rows.")
    seed: int = Field(default=0, ge=0, description="Base seed of the random generator.")
    steps: int = Field(default=2000, ge=1, description="Update steps in the whole run.")
    train_steps: int = Field(default=300, ge=0, description="Steps of the training phase.")
    block: int = Field(default=100, ge=1, description="R2: length of alternating blocks.")
    batch: int = Field(default=64, ge=1, description="Episodes per update step.")
    test_rate: float = Field(
        default=0.25,
        ge=0.0,
        le=1.0,
        description="Fraction of episodes that are overseen when training and deployment "
        "updates act together (R3, R4).",
    )
    flag_scale: float = Field(
        default=0.0,
        ge=0.0,
        description="Scale of the initial weights from the flag to the hidden units, relative "
        "to the distractors' (0: the prior ignores the flag; 1: the flag is represented like "
        "any feature, as in a situationally aware network).",
    )
    hidden: int = Field(default=16, ge=1, description="Hidden units of the policy network.")
    distractors: int = Field(default=4, ge=0, description="Irrelevant input features.")
    learning_rate: float = Field(default=1.0, gt=0.0, description="SGD step size.")
    eval_contexts: int = Field(
        default=256, ge=1, description="Distractor draws the metrics average over."
    )
    record_every: int = Field(default=1, ge=1, description="Record metrics every k steps.")
    final_window: float = Field(
        default=0.1, gt=0.0, le=1.0, description="Final fraction of the run averaged at the end."
    )

    @model_validator(mode="after")
    def _check_lengths(self) -> GradientConfig:
        if self.train_steps > self.steps:
            raise ValueError("train_steps must not exceed steps")
        return self

    @property
    def prior_defect(self) -> float:
        """P(defect) of the initial policy."""
        return 0.5 if self.prior == "neutral" else self.misaligned_defect


class _Policy:
    """Parameters of one network per seed."""

    def __init__(self, config: GradientConfig, rng: np.random.Generator) -> None:
        s, d, h = config.seeds, 1 + config.distractors, config.hidden
        self.w1 = rng.standard_normal((s, d, h)) / np.sqrt(d)
        self.w1[:, 0, :] *= config.flag_scale
        self.b1 = np.zeros((s, h))
        self.w2 = rng.standard_normal((s, h)) / np.sqrt(h)
        p = config.prior_defect
        self.b2 = np.full(s, np.log(p / (1.0 - p)))

    def forward(self, x: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Return hidden activations ``(s, b, h)`` and P(defect) ``(s, b)`` for inputs x."""
        hid = np.tanh(np.einsum("sbd,sdh->sbh", x, self.w1) + self.b1[:, None, :])
        logit = np.einsum("sbh,sh->sb", hid, self.w2) + self.b2[:, None]
        return hid, 1.0 / (1.0 + np.exp(-logit))

    def ascend(
        self, x: NDArray[np.float64], hid: NDArray[np.float64], g: NDArray[np.float64], lr: float
    ) -> None:
        """Gradient ascent step given the per-episode gradient ``g`` w.r.t. the logit."""
        b = g.shape[1]
        dz = g[:, :, None] * self.w2[:, None, :] * (1.0 - hid**2)
        self.w2 += lr * np.einsum("sb,sbh->sh", g, hid) / b
        self.b2 += lr * g.mean(axis=1)
        self.w1 += lr * np.einsum("sbd,sbh->sdh", x, dz) / b
        self.b1 += lr * dz.mean(axis=1)


def _contexts(
    overseen: NDArray[np.bool_], config: GradientConfig, rng: np.random.Generator
) -> NDArray[np.float64]:
    rho = (1.0 + config.cue) / 2.0
    p_flag = np.where(overseen, rho, 1.0 - rho)
    x = np.empty((*overseen.shape, 1 + config.distractors))
    x[..., 0] = rng.random(overseen.shape) < p_flag
    x[..., 1:] = rng.standard_normal((*overseen.shape, config.distractors))
    return x


def _metrics(
    policy: _Policy, eval_x: NDArray[np.float64], config: GradientConfig
) -> dict[str, NDArray[np.float64]]:
    rho = (1.0 + config.cue) / 2.0
    x1 = eval_x.copy()
    x1[..., 0] = 1.0
    _, p_obs = policy.forward(x1)
    _, p_unobs = policy.forward(eval_x)  # flag 0
    test = rho * p_obs.mean(axis=1) + (1 - rho) * p_unobs.mean(axis=1)
    deploy = (1 - rho) * p_obs.mean(axis=1) + rho * p_unobs.mean(axis=1)
    return {
        "deception_index": deploy - test,
        "deploy_defect": deploy,
        "test_defect": test,
        "conditional_fraction": ((p_unobs > 0.5) & (p_obs < 0.5)).mean(axis=1),
    }


def _update(
    policy: _Policy, i: int, schedule: Schedule, config: GradientConfig, rng: np.random.Generator
) -> bool:
    """Run update step ``i`` (from 0) of ``schedule``; return whether the policy changed."""
    s, b = config.seeds, config.batch
    drift, tested, sign = (
        bool(schedule.drift[i]),
        bool(schedule.tested[i]),
        int(schedule.deploy_sign[i]),
    )
    if not (drift or tested or sign != 0):
        return False
    if drift or (tested and sign != 0):
        overseen = rng.random((s, b)) < config.test_rate
    else:
        overseen = np.full((s, b), tested)
    x = _contexts(overseen, config, rng)
    hid, p = policy.forward(x)
    defect = rng.random((s, b)) < p
    if drift:
        advantage = rng.choice(np.array([-1.0, 1.0]), size=(s, b))
    else:
        # Reward of defection (complying pays 0) and its expectation as baseline.
        r_defect = np.where(overseen, -1.0, float(sign))
        advantage = r_defect * (defect - p)
    policy.ascend(x, hid, (defect - p) * advantage, config.learning_rate)
    return True


GRADIENT_METRICS = ("deception_index", "deploy_defect", "test_defect", "conditional_fraction")


def simulate_gradient(
    config: GradientConfig, *, progress: Progress | None = None
) -> SimulationResult:
    """Train the policy network by REINFORCE under ``config.regime`` for a batch of seeds.

    Metrics (per seed, per recorded step; exact expectations over the flag, averaged over a
    fixed set of ``eval_contexts`` distractor draws):

    * ``deception_index``: P(defect) in deployment minus P(defect) under oversight.
    * ``deploy_defect``, ``test_defect``: the two terms.
    * ``conditional_fraction``: fraction of contexts on which the policy "plays dead":
      defects when the flag reads unobserved and complies when it reads observed.

    Args:
        config: The run's settings.
        progress: Called with the number of steps completed, now and then.

    Returns:
        The per-step trajectories.
    """
    start = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    s = config.seeds
    schedule = build_schedule(config.regime, config.steps, config.train_steps, config.block)
    policy = _Policy(config, rng)
    eval_x = np.zeros((s, config.eval_contexts, 1 + config.distractors))
    eval_x[..., 1:] = rng.standard_normal((s, config.eval_contexts, config.distractors))
    return run_recorded(
        "gradient",
        config,
        schedule,
        GRADIENT_METRICS,
        lambda i: _update(policy, i, schedule, config, rng),
        lambda: _metrics(policy, eval_x, config),
        progress=progress,
        start=start,
    )
