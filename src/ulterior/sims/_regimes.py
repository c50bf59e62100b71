"""Training/deployment regimes and the per-step schedule they imply.

Both simulations (evolution and gradient descent) run the same regimes. A run lasts
``steps`` steps (generations for evolution, update steps for gradient descent). The first
``train_steps`` are a training phase; the rest are deployment, and what happens there is the
regime:

======== ====================================================================================
R1       train, then deploy frozen: no updates in deployment.
R2       alternate blocks of training and frozen deployment.
R3       deployment updates push in the same direction as training (training continues).
R4       deployment updates push in the opposite direction (training continues): the
         setting of Ofria's Avida experiment, where every mutant was tested while the real
         environment rewarded replication.
no-test  control: deployment updates as in R4, but no test/oversight ever.
null     neutral null: no signal from either environment (pure drift: neutral
         reproduction, or REINFORCE on rewards independent of the action).
======== ====================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray


class Regime(StrEnum):
    """A training/deployment regime (see the module docstring for the table)."""

    R1 = "R1"
    R2 = "R2"
    R3 = "R3"
    R4 = "R4"
    NO_TEST = "no-test"
    NULL = "null"


@dataclass(frozen=True)
class Schedule:
    """What acts at each step of a run.

    Attributes:
        tested: ``(steps,)`` bool; the test/oversight signal (training) acts at this step.
        deploy_sign: ``(steps,)`` int8; +1 the deployment environment rewards the
            misaligned behaviour (opposite to training), -1 it penalises it (same direction),
            0 it gives no update.
        frozen: ``(steps,)`` bool; nothing changes at this step (frozen deployment).
        drift: ``(steps,)`` bool; undirected change only (the neutral null).
        deployment: ``(steps,)`` bool; the step belongs to the deployment phase.
    """

    tested: NDArray[np.bool_]
    deploy_sign: NDArray[np.int8]
    frozen: NDArray[np.bool_]
    drift: NDArray[np.bool_]
    deployment: NDArray[np.bool_]


def build_schedule(regime: Regime, steps: int, train_steps: int, block: int) -> Schedule:
    """Return the per-step schedule of ``regime``.

    Args:
        regime: The regime.
        steps: Total number of steps (generations or updates).
        train_steps: Length of the initial training phase; the rest is deployment.
        block: Block length of R2's alternation of frozen deployment and training.

    Returns:
        The schedule, one entry per step.

    Raises:
        ValueError: If the lengths are inconsistent.
    """
    if steps < 1 or not 0 <= train_steps <= steps or block < 1:
        raise ValueError(
            f"need steps >= 1, 0 <= train_steps <= steps and block >= 1, "
            f"got steps={steps}, train_steps={train_steps}, block={block}"
        )
    t = np.arange(steps)
    deployment = t >= train_steps
    train = ~deployment
    tested = np.zeros(steps, dtype=bool)
    sign = np.zeros(steps, dtype=np.int8)
    frozen = np.zeros(steps, dtype=bool)
    drift = np.zeros(steps, dtype=bool)
    if regime is Regime.R1:
        tested = train.copy()
        frozen = deployment.copy()
    elif regime is Regime.R2:
        # In deployment, even blocks are frozen deployment and odd blocks are training again.
        retrain = deployment & (((t - train_steps) // block) % 2 == 1)
        tested = train | retrain
        frozen = deployment & ~retrain
    elif regime is Regime.R3:
        tested[:] = True
        sign[deployment] = -1
    elif regime is Regime.R4:
        tested[:] = True
        sign[deployment] = 1
    elif regime is Regime.NO_TEST:
        sign[deployment] = 1
    elif regime is Regime.NULL:
        drift[:] = True
    else:  # pragma: no cover - exhaustive over the enum
        raise ValueError(f"unknown regime {regime!r}")
    return Schedule(
        tested=tested, deploy_sign=sign, frozen=frozen, drift=drift, deployment=deployment
    )
