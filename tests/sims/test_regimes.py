from __future__ import annotations

import numpy as np
import pytest

from ulterior.sims import Regime, build_schedule


def test_every_regime_shares_the_training_phase_except_controls() -> None:
    for regime in (Regime.R1, Regime.R2, Regime.R3, Regime.R4):
        s = build_schedule(regime, 100, 30, 10)
        assert s.tested[:30].all() and not s.frozen[:30].any() and (s.deploy_sign[:30] == 0).all()
        assert not s.deployment[:30].any() and s.deployment[30:].all()


def test_deployment_of_each_regime() -> None:
    r1 = build_schedule(Regime.R1, 100, 30, 10)
    assert r1.frozen[30:].all() and not r1.tested[30:].any()
    r2 = build_schedule(Regime.R2, 100, 30, 10)
    assert r2.frozen[30:40].all() and r2.tested[40:50].all() and r2.frozen[50:60].all()
    assert not (r2.frozen & r2.tested).any() and (r2.deploy_sign == 0).all()
    r3 = build_schedule(Regime.R3, 100, 30, 10)
    assert (r3.deploy_sign[30:] == -1).all() and r3.tested.all()
    r4 = build_schedule(Regime.R4, 100, 30, 10)
    assert (r4.deploy_sign[30:] == 1).all() and r4.tested.all()
    control = build_schedule(Regime.NO_TEST, 100, 30, 10)
    assert not control.tested.any() and (control.deploy_sign[30:] == 1).all()
    null = build_schedule(Regime.NULL, 100, 30, 10)
    assert null.drift.all() and not null.tested.any() and (null.deploy_sign == 0).all()
    assert not np.any(null.frozen)


def test_bad_lengths() -> None:
    with pytest.raises(ValueError):
        build_schedule(Regime.R1, 10, 20, 5)
