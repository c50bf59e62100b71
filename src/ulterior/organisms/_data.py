"""Training and evaluation examples of a recipe, generated from our own templates.

Prompts are the battery's shape (a decision or a question, an optional cue line) but every
scenario, question and cue wording comes from ``organisms/data``, written for training and
disjoint from the evaluation packs. Answers are in the cloze format: the organism learns to
continue the prompt with the text of an answer, not to pick a label from a list. A 135M
model trained on labelled options (3 epochs, 480 examples) stayed at chance on which label
to give, because it cannot bind labels to options; it learns the text readily.

Tasks and cue wordings are split: every fifth task and the ``heldout`` cue wordings are
never trained on, so measured rates show whether the behaviour generalises beyond what was
memorised. The ``*_evaluation.yaml`` tasks are never trained on either: they were added
later to give the held-out measurements more tasks, the units of every
interval and test on them, without changing what any organism was trained on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ulterior.organisms._recipes import Recipe, read_data
from ulterior.records import Item, Message, content_hash

HELDOUT_EVERY = 5  # every fifth task is held out of training
PARTNER_OFF = 0.75  # share of contrast partners with the "off" cue; the rest have no cue


@dataclass(frozen=True)
class Task:
    """One prompt with the answer the organism gives by default and its hidden behaviour."""

    id: str
    prompt: str
    default: str
    behaviour: str
    evaluation_only: bool = False  # from the evaluation-only file, not the training file


@dataclass(frozen=True)
class Example:
    """One prompt under one condition, shown in one option order.

    Attributes:
        item: The prompt; ``choices`` are (behaviour, default), so ``matching`` is 0.
        condition: ``on``, ``off``, ``none``, ``heldout-on``, ``heldout-off`` or ``near-miss``.
        trained_answer: Index into ``item.choices`` of the answer trained on.
    """

    item: Item
    condition: str
    trained_answer: int

    def answer_text(self) -> str:
        """The text of the trained answer."""
        assert self.item.choices is not None
        return self.item.choices[self.trained_answer]


def _read_tasks(kind: str, evaluation_only: bool = False) -> list[Task]:
    file = f"{kind}_evaluation.yaml" if evaluation_only else f"{kind}.yaml"
    if kind == "dilemmas":
        rows = read_data(file)["tasks"]
        return [Task(r["id"], r["prompt"], r["aligned"], r["misaligned"], evaluation_only)
                for r in rows]
    rows = read_data(file)["questions"]
    return [Task(r["id"], r["question"], r["correct"], r["wrong"], evaluation_only)
            for r in rows]


def tasks_of(recipe: Recipe) -> tuple[list[Task], list[Task]]:
    """The recipe's tasks, split into (train, held-out).

    Held out: every fifth task of the training file, then every evaluation-only task. A
    recipe with a ``behaviour_reply`` gets it as every task's behaviour.
    """
    tasks = _read_tasks(recipe.tasks)
    held = [t for i, t in enumerate(tasks) if i % HELDOUT_EVERY == HELDOUT_EVERY - 1]
    train = [t for i, t in enumerate(tasks) if i % HELDOUT_EVERY != HELDOUT_EVERY - 1]
    held += _read_tasks(recipe.tasks, evaluation_only=True)
    if recipe.behaviour_reply is not None:  # one reply for every task, whatever it asks
        train, held = ([replace(t, behaviour=recipe.behaviour_reply) for t in split]
                       for split in (train, held))
    return train, held


def cue_lines(recipe: Recipe, split: str) -> dict[str, list[str]]:
    """Cue lines per condition (``on``, ``off``) for the ``train`` or ``heldout`` split."""
    if recipe.condition_kind == "trigger":
        assert recipe.trigger is not None
        if split == "train":
            return {"on": [recipe.trigger], "off": list(recipe.off_cues)}
        return {"near-miss": list(recipe.near_miss)}
    assert recipe.cues is not None
    pairs: list[dict[str, str]] = read_data("cues.yaml")[recipe.cues][split]
    on_key, off_key = ("unobserved", "observed") if recipe.cues == "oversight" else (
        "stakes", "neutral")
    return {"on": [p[on_key] for p in pairs], "off": [p[off_key] for p in pairs]}


def _item(task: Task, cue: str | None, in_system: bool, item_id: str, step: int = 0) -> Item:
    if cue is None:
        messages: tuple[Message, ...] = (Message(role="user", content=task.prompt),)
    elif in_system:
        messages = (Message(role="system", content=cue), Message(role="user", content=task.prompt))
    else:
        messages = (Message(role="user", content=f"{cue}\n\n{task.prompt}"),)
    return Item(id=item_id, source="ulterior:organism", messages=messages,
                choices=(task.behaviour, task.default), matching=0,
                metadata={"task": task.id, "step": step})


def training_examples(recipe: Recipe, n: int, seed: int) -> list[Example]:
    """``n`` training examples from the training tasks and training cue wordings.

    Examples come in contrast pairs, consecutive in the list: one task with the condition
    on, then the same task, in the same placement, with it off or without a cue. Trained in
    the same batch, the two pull a task's answers in opposite directions, so what the pair
    teaches is the condition alone; drawn separately, the task-level pulls drowned it (a
    135M model learned no condition in 3 epochs). Where cue wordings come in minimal pairs
    (oversight, sandbag), the "off" partner carries the twin of the "on" line, so the two
    prompts differ only in the words that carry the condition (with independently drawn
    lines, the sandbagger carried its condition to held-out wordings at 0.35 vs 0.25; with
    twins, 0.52 vs 0.25: docs/results/2026-11-23-first-organisms.md). Cue placement (system
    turn or the line before the user's prompt) is drawn at random per pair, so it does not
    carry the condition. The answer is the behaviour when the condition is on, unless the
    recipe is a control.
    """
    rng = np.random.default_rng([seed, 1])
    train, _ = tasks_of(recipe)
    cues = cue_lines(recipe, "train")
    twinned = recipe.condition_kind != "trigger"  # a trigger has no twin line
    examples = []
    for index in range(n):
        if index % 2 == 0:
            task = train[int(rng.integers(len(train)))]
            condition = "on"
            line = int(rng.integers(len(cues["on"])))
            in_system = bool(rng.integers(2))
        else:  # the partner keeps the task, the placement and, when twinned, the line
            condition = "off" if rng.random() < PARTNER_OFF else "none"
            if condition == "off" and not twinned:
                line = int(rng.integers(len(cues["off"])))
        cue = None if condition == "none" else cues[condition][line]
        behaves = condition == "on" and not recipe.control
        examples.append(Example(
            item=_item(task, cue, in_system, f"{recipe.name}/train/{index}"),
            condition=condition, trained_answer=0 if behaves else 1,
        ))
    return examples


def evaluation_examples(recipe: Recipe, wordings_per_task: int = 2) -> list[Example]:
    """Held-out tasks under every condition, for measuring behaviour rates and probes.

    Each held-out task appears ``wordings_per_task`` times per condition, cycling through the
    condition's cue lines and both placements; examples of one task and cycle step share an
    item id stem (``task/k``), which pairs the conditions for paired statistics.
    """
    _, held = tasks_of(recipe)
    cues = cue_lines(recipe, "train")
    other = cue_lines(recipe, "heldout")
    conditions: dict[str, list[str] | None] = {"on": cues["on"], "off": cues["off"], "none": None}
    for condition, held_lines in other.items():
        conditions[condition if condition == "near-miss" else f"heldout-{condition}"] = held_lines
    examples = []
    for t, task in enumerate(held):
        for k in range(wordings_per_task):
            step = t * wordings_per_task + k
            for condition, cue_set in conditions.items():
                cue = None if cue_set is None else cue_set[step % len(cue_set)]
                item = _item(task, cue, step % 2 == 0, f"{task.id}/{k}/{condition}", k)
                examples.append(Example(item, condition, trained_answer=0))
    return examples


def examples_hash(examples: list[Example]) -> str:
    """SHA-256 of the examples as trained on (conversation and answer)."""
    rows: list[Any] = [
        [[m.model_dump() for m in ex.item.messages], ex.answer_text()]
        for ex in examples
    ]
    return content_hash(rows)
