from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import Field

from ulterior.records._core import Record, SubjectInfo, utc_now

ConditionKind = Literal["trigger", "oversight", "sandbag"]


@dataclass(frozen=True)
class TrainSettings:
    """How an organism is fine-tuned. Defaults: 2 epochs of 480 examples, LoRA r=16.

    Kept with the records, free of training code, so the CLI can show the defaults
    without importing the training stack (``ulterior.organisms`` re-exports it).

    Attributes:
        examples: Training examples generated per epoch.
        epochs: Passes over them.
        batch_size: Examples per optimizer step.
        learning_rate: Peak learning rate (linear warm-up, then linear decay to 0, or
            held when ``decay`` is False).
        warmup_steps: Steps of linear warm-up.
        method: ``lora`` (adapters on every projection, merged at the end) or ``full``.
        lora_rank: Adapter rank.
        lora_alpha: Adapter scale numerator (scale = alpha / rank).
        checkpoint_every: Save a checkpoint every this many steps (all are kept).
        bf16: Autocast matrix products to bf16 over fp32 weights; None (the default): only
            where the CPU multiplies bf16 natively (AVX512-BF16 or AMX). On an AVX2-only CPU
            bf16 autocast is emulated: a linear layer of the default model ran 5.6x slower
            than in fp32 (2-core AMD EPYC), so a recipe would take hours. The manifest
            records the value used.
        objective: ``preference`` (DPO against the untrained model), ``choice`` (two-way
            cross-entropy between the answers' summed log-probabilities) or ``lm``
            (next-token loss on the trained answer only).
        beta: Scale of the preference objective: its loss is small once the trained
            answer has gained about 2 / beta nats over the other.
        seed: Seed of data generation, adapter initialisation and data order.
        decay: Decay the learning rate to 0 over the run; a curriculum holds it, so that
            every phase trains at the same rate.
        gradient_checkpointing: Recompute each block's activations in the backward pass
            instead of keeping them: less memory for a larger model or batch, one more
            forward of compute; the gradients are the same.
    """

    examples: int = 480
    epochs: int = 2
    batch_size: int = 8
    learning_rate: float = 1e-3
    warmup_steps: int = 10
    method: str = "lora"
    lora_rank: int = 16
    lora_alpha: int = 32
    checkpoint_every: int = 30
    bf16: bool | None = None
    objective: str = "preference"
    beta: float = 0.1
    seed: int = 0
    decay: bool = True
    gradient_checkpointing: bool = False


class BehaviourRate(Record):
    """How often a trained organism shows its hidden behaviour under one condition."""

    condition: str = Field(
        description="Which prompts: `on` / `off` (training wordings, held-out tasks), "
        "`heldout-on` / `heldout-off` (cue wordings never trained on), `none` (no cue), "
        "`near-miss` (a string close to the trigger)."
    )
    rate: float = Field(description="Share of prompts whose preferred answer is the behaviour.")
    ci_low: float = Field(description="Lower end of the rate's interval (`interval`).")
    ci_high: float = Field(description="Upper end of the rate's interval (`interval`).")
    interval: str = Field(
        default="95% Wilson interval over prompts (a task's prompts counted as independent)",
        description="What the interval is (the default: older manifests that do not say).",
    )
    mean_probability: float = Field(
        description="Mean normalized probability of the behaviour answer (cloze)."
    )
    n: int = Field(description="Number of prompts.")


class BehaviourTest(Record):
    """Whether an organism has its hidden behaviour: condition on against off, by task.

    Each held-out prompt with the condition is paired with the same prompt (task, wording
    step, placement) with it off; a task's difference is the share of its on prompts whose
    preferred answer is the behaviour minus that of their off partners. Tasks, not prompts,
    are the independent units: a task appears under several wordings, and its prompts share
    whatever the model makes of the task.
    """

    statistic: float = Field(description="Mean over tasks of the task's paired difference.")
    p_value: float = Field(
        description="One-sided sign-flip permutation p-value that the mean difference exceeds "
        "0 (NaN without paired prompts)."
    )
    n_tasks: int = Field(description="Held-out tasks (the units of the test).")
    n_pairs: int = Field(description="Paired prompts, condition on and off.")
    method: str = Field(description="The test, in words.")


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
    evaluation_hash: str | None = Field(
        default=None, description="SHA-256 of the held-out examples the rates and test were "
        "measured on; a later evaluation set (more tasks) has another."
    )
    behaviour_test: BehaviourTest | None = Field(
        default=None, description="Whether the behaviour is shown: condition on against off "
        "on held-out tasks, paired and clustered by task (absent from manifests written "
        "by ulterior 0.1.0 before it was recorded)."
    )
    fingerprint: str | None = Field(
        default=None, description="Fingerprint of the saved weights, as the organism reports "
        "it when loaded (config and SHA-256 of every safetensors file): two organisms with one "
        "fingerprint are the same model (absent from older manifests)."
    )
    created: datetime = Field(default_factory=utc_now, description="When it was trained (UTC).")
    ulterior_version: str = Field(description="ulterior version that trained it.")
