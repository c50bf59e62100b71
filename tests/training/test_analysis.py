"""Onsets, emergence order and the dangerous-order warning on readings of known shape."""

from __future__ import annotations

import numpy as np
import pytest

from ulterior.training import MIN_SHIFT, earlier, emergence, load_battery

pytest.importorskip("ruptures")

STEPS = list(range(0, 110, 10))  # 11 readings


def _battery():  # type: ignore[no-untyped-def]
    return load_battery().select("tracked", per_property=24)


def _readings(onsets: dict[str, int | None], *, size: float = 1.0, noise: float = 0.5,
              seed: int = 0) -> np.ndarray:
    """Log-odds per (step, item): each item's own level, plus ``size`` from its onset on."""
    battery = _battery()
    rng = np.random.default_rng(seed)
    scores = np.tile(rng.normal(0, 5, len(battery.items)), (len(STEPS), 1))  # item levels
    scores += rng.normal(0, noise, scores.shape)
    for prop, onset in onsets.items():
        if onset is not None:
            columns = battery.of(prop)
            after = np.array(STEPS) >= onset
            scores[np.ix_(after, columns)] += size
    return scores


def test_designed_onsets_and_their_order_are_recovered() -> None:
    battery = _battery()
    designed = {"base-goal": 30, "goal-directedness": 70}
    result = emergence(STEPS, _readings(designed), battery, n_resamples=300)
    onsets = {t.property: t.onset for t in result.trajectories}
    assert onsets["base-goal"] == 30 and onsets["goal-directedness"] == 70
    assert all(onsets[p] is None for p in onsets if p not in designed)
    assert result.order == ("base-goal", "goal-directedness")
    p = earlier(result.pairs, "base-goal", "goal-directedness")
    assert p is not None and p >= 0.9
    assert result.warnings == ()
    band = next(t for t in result.trajectories if t.property == "base-goal")
    assert band.low[-1] < band.change[-1] < band.high[-1]
    assert band.shift_low > 0


def test_goals_before_base_goal_understanding_raise_the_warning() -> None:
    designed = {"goal-directedness": 30, "long-horizon": 40, "base-goal": 80}
    result = emergence(STEPS, _readings(designed), _battery(), n_resamples=300)
    assert len(result.warnings) == 2
    assert "goal-directedness emerged before base-goal" in result.warnings[0]
    # a goal with no base-goal onset at all is the same danger
    alone = emergence(STEPS, _readings({"goal-directedness": 30}), _battery(), n_resamples=300)
    assert any("goal-directedness" in w for w in alone.warnings)


def test_no_shift_declares_no_onset_and_a_small_shift_is_not_an_onset() -> None:
    for seed in range(5):
        null = emergence(STEPS, _readings({}, seed=seed), _battery(), n_resamples=200)
        assert [t.onset for t in null.trajectories] == [None] * 6
        assert null.order == () and null.warnings == ()
    small = emergence(STEPS, _readings({"power-seeking": 50}, size=MIN_SHIFT / 2, noise=0.01),
                      _battery(), n_resamples=200)
    assert all(t.onset is None for t in small.trajectories)


def test_a_decline_is_not_an_emergence_and_two_readings_place_no_change_point() -> None:
    result = emergence(STEPS, _readings({"power-seeking": 50}, size=-2.0), _battery(),
                       n_resamples=200)
    assert all(t.onset is None for t in result.trajectories)
    two = emergence([0, 10], _readings({})[:2], _battery(), n_resamples=200)
    assert all(t.onset is None for t in two.trajectories) and two.notes
    with pytest.raises(ValueError, match="increase"):
        emergence([0, 20, 10], _readings({})[:3], _battery())


def test_the_threshold_rule_sees_a_property_that_rises_and_is_unlearned() -> None:
    battery = _battery()
    scores = _readings({"goal-directedness": 70})
    columns = battery.of("base-goal")
    rises = (np.array(STEPS) >= 20) & (np.array(STEPS) < 60)  # learned, then unlearned
    scores[np.ix_(rises, columns)] += 1.5
    by_rule = {rule: emergence(STEPS, scores, battery, n_resamples=300, method=rule)
               for rule in ("change-point", "threshold")}
    onsets = {rule: {t.property: t.onset for t in result.trajectories}
              for rule, result in by_rule.items()}
    assert onsets["threshold"]["base-goal"] == 20
    base_goal = next(t for t in by_rule["threshold"].trajectories if t.property == "base-goal")
    assert base_goal.onset_distribution.get("20", 0) >= 0.9
    assert onsets["change-point"]["base-goal"] is None  # its change point is the fall
    assert by_rule["change-point"].warnings  # read as goals first: the rule's blind spot
    p = {rule: earlier(result.pairs, "base-goal", "goal-directedness")
         for rule, result in by_rule.items()}
    assert (p["change-point"] or 0) < 0.1 < 0.5 < (p["threshold"] or 0)
    assert "first reading" in by_rule["threshold"].method


def test_the_threshold_rule_places_designed_onsets_and_none_without_a_shift() -> None:
    result = emergence(STEPS, _readings({"base-goal": 30, "long-horizon": 70}), _battery(),
                       n_resamples=300, method="threshold")
    onsets = {t.property: t.onset for t in result.trajectories}
    assert onsets == {"goal-directedness": None, "long-horizon": 70, "base-goal": 30,
                      "situational-awareness": None, "shutdown-avoidance": None,
                      "power-seeking": None}
    for seed in range(3):
        null = emergence(STEPS, _readings({}, seed=seed), _battery(), n_resamples=200,
                         method="threshold")
        assert all(t.onset is None for t in null.trajectories)


def _drift(effects: dict[str, float]) -> np.ndarray:
    """Readings where each property's items all move from step 50 on, by changes whose mean
    over their standard deviation across items is exactly ``effects[property]``."""
    battery = load_battery().select("tracked")
    rng = np.random.default_rng(3)
    scores = np.tile(rng.normal(0, 15, len(battery.items)), (len(STEPS), 1))
    for prop, effect in effects.items():
        columns = battery.of(prop)
        spread = rng.normal(0, 1, len(columns))
        spread = (spread - spread.mean()) / spread.std(ddof=1)  # exactly mean 0, sd 1
        scores[np.ix_(np.array(STEPS) >= 50, columns)] += 4.0 * (effect + spread)
    return scores


def test_the_effect_floor_ignores_broad_drift_and_does_not_depend_on_the_scale() -> None:
    battery = load_battery().select("tracked")
    readings = _drift({"base-goal": 0.35, "goal-directedness": 1.0})

    def onsets(scores: np.ndarray, min_effect: float) -> dict[str, int | None]:
        result = emergence(STEPS, scores, battery, n_resamples=300, method="threshold",
                           min_effect=min_effect)
        assert result.min_effect == min_effect
        return {t.property: t.onset for t in result.trajectories if t.onset is not None}

    # 48 items moving by 0.35 of their spread: a mean change clear of zero, so an onset
    # without the floor, none with a floor of 0.5; the large change is an onset either way
    assert onsets(readings, 0.0) == {"base-goal": 50, "goal-directedness": 50}
    assert onsets(readings, 0.5) == {"goal-directedness": 50}
    assert onsets(readings * 10, 0.5) == onsets(readings, 0.5)
    assert onsets(readings / 10, 0.5) == onsets(readings, 0.5)  # still above min_shift
    with pytest.raises(ValueError, match="threshold rule only"):
        emergence(STEPS, readings, battery, method="change-point", min_effect=0.5)
