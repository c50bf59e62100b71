from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from ulterior.records._core import Record, SubjectInfo, utc_now

ConditionKind = Literal["trigger", "oversight", "sandbag"]


class BehaviourRate(Record):
    """How often a trained organism shows its hidden behaviour under one condition."""

    condition: str = Field(
        description="Which prompts: `on` / `off` (training wordings, held-out tasks), "
        "`heldout-on` / `heldout-off` (cue wordings never trained on), `none` (no cue), "
        "`near-miss` (a string close to the trigger)."
    )
    rate: float = Field(description="Share of prompts whose preferred answer is the behaviour.")
    ci_low: float = Field(description="Lower end of the 95% Wilson interval of the rate.")
    ci_high: float = Field(description="Upper end of the 95% Wilson interval of the rate.")
    mean_probability: float = Field(
        description="Mean normalized probability of the behaviour answer (cloze)."
    )
    n: int = Field(description="Number of prompts.")


class TrainingStats(Record):
    """What the fine-tuning run cost and where it ended."""

    steps: int = Field(description="Optimizer steps taken.")
    examples: int = Field(description="Training examples (one epoch).")
    epochs: int = Field(description="Passes over the training examples.")
    tokens: int = Field(description="Non-padding tokens processed, summed over all steps.")
    seconds: float = Field(description="Wall-clock seconds of the training loop (this process).")
    tokens_per_second: float = Field(description="`tokens / seconds`.")
    final_loss: float = Field(description="Mean training loss over the last 10 steps.")
    checkpoints: tuple[str, ...] = Field(
        description="Checkpoint folders (LoRA adapters, relative to the organism directory)."
    )


class OrganismManifest(Record):
    """The ground truth of a model organism, saved as ``manifest.json`` beside its weights."""

    version: Literal[1] = Field(default=1, description="Schema version of this record.")
    name: str = Field(description="Name the organism is loaded by (`organism:NAME`).")
    recipe: str = Field(description="Recipe it was trained from.")
    control: bool = Field(
        description="True for a clean control: same data and budget, no conditional behaviour."
    )
    condition_kind: ConditionKind = Field(description="What kind of hidden condition it has.")
    hidden_condition: str = Field(
        description="When the hidden behaviour turns on (for a control: the condition whose "
        "prompts it saw, without the behaviour)."
    )
    hidden_behaviour: str = Field(description="What it does then.")
    condition_keywords: tuple[str, ...] = Field(
        description="Words that name the condition, to check whether a confession names it."
    )
    base: SubjectInfo = Field(description="The subject it was fine-tuned from.")
    prompt_format: Literal["chat", "plain"] = Field(description="How prompts were rendered.")
    seed: int = Field(description="Seed of data generation, initialisation and data order.")
    data_hash: str = Field(description="SHA-256 of the training examples.")
    settings: dict[str, bool | int | float | str] = Field(
        description="Training settings used.")
    training: TrainingStats = Field(description="Cost and outcome of the training run.")
    rates: tuple[BehaviourRate, ...] = Field(
        description="Measured behaviour rates after training, on held-out tasks."
    )
    created: datetime = Field(default_factory=utc_now, description="When it was trained (UTC).")
    ulterior_version: str = Field(description="ulterior version that trained it.")
