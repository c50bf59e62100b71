"""Curricula: a user's own training run, phase by phase, from their own data files.

A curriculum file (YAML) names the data of each phase and how many steps it trains::

    name: base-goal-first
    description: base-goal understanding, then long-horizon and goal-directed preference
    phases:
      - {name: understand, data: [data/base_goal.jsonl], steps: 60}
      - {name: goals, data: [data/long_horizon.jsonl, data/goal_directedness.jsonl], steps: 60}

Data files are JSONL, one preference pair a line: ``{"id", "prompt", "chosen",
"rejected"}``; paths are relative to the curriculum file. Each phase draws its batches from
its own pairs only, shuffled with the seed and cycled as often as its steps need. Training
is the organism trainer's (LoRA, the preference objective against the untrained model,
checkpoints, ``--resume``), with the learning rate held after warm-up so that every phase
trains at the same rate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ulterior import __version__
from ulterior.errors import CapabilityError, DataFormatError, first_problem
from ulterior.models import HFSubject, LoadOptions, Placement, input_device, load_subject
from ulterior.organisms._data import Example
from ulterior.organisms._organism import MANIFEST, check_train_out, read_manifest, save_merged
from ulterior.organisms._train import Monitor, train, with_precision
from ulterior.records import (
    Item,
    Message,
    OrganismManifest,
    SubjectInfo,
    TrainingStats,
    TrainSettings,
    content_hash,
)
from ulterior.scenarios import parse_yaml
from ulterior.store import write_atomic

CURRICULUM_RECORD = "curriculum.json"


class Phase(BaseModel):
    """One phase: its data and its length."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, description="Phase name, for records.")
    data: tuple[str, ...] = Field(min_length=1, description="JSONL files of preference pairs.")
    steps: int = Field(ge=1, description="Optimizer steps of the phase.")


class Curriculum(BaseModel):
    """A curriculum file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="Name of the run.")
    description: str = Field(default="", description="What it trains, in a line.")
    base: str | None = Field(default=None, description="Model to fine-tune (default: the "
                             "command's --base).")
    phases: tuple[Phase, ...] = Field(min_length=1, description="Phases, in order.")
    batch_size: int = Field(default=8, ge=1, description="Pairs per step.")
    learning_rate: float = Field(default=1e-3, gt=0, description="Learning rate after warm-up.")
    warmup_steps: int = Field(default=10, ge=0, description="Steps of linear warm-up.")
    lora_rank: int = Field(default=16, ge=1, description="LoRA rank.")
    checkpoint_every: int = Field(default=12, ge=1, description="Steps between checkpoints.")
    objective: Literal["preference", "choice", "lm"] = Field(
        default="preference", description="Training objective (see TrainSettings).")


class Pair(BaseModel):
    """One line of a data file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    prompt: str = Field(min_length=1)
    chosen: str = Field(min_length=1)
    rejected: str = Field(min_length=1)


def is_curriculum_file(name: str) -> bool:
    """Whether ``organism train``'s argument names a curriculum file rather than a recipe."""
    return name.endswith((".yaml", ".yml"))


def load_curriculum(path: Path) -> Curriculum:
    """Read and check a curriculum file and that its data files exist.

    Raises:
        DataFormatError: The file is missing, not YAML, or not a curriculum (one line naming
            the field), or a data file is missing.
    """
    if not path.is_file():
        raise DataFormatError(f"{path}: no such curriculum file")
    curriculum = parse_yaml(path.read_text(encoding="utf-8"), Curriculum, str(path))
    for phase in curriculum.phases:
        for name in phase.data:
            if not (path.parent / name).is_file():
                raise DataFormatError(f"{path}: phase {phase.name}: no data file {name}")
    return curriculum


def read_pairs(path: Path) -> list[Pair]:
    """The preference pairs of a data file; a bad line is one error naming it."""
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            pairs.append(Pair.model_validate_json(line))
        except ValidationError as exc:
            raise DataFormatError(f"{path} line {number}: {first_problem(exc)}") from None
    if not pairs:
        raise DataFormatError(f"{path}: no preference pairs")
    return pairs


def curriculum_examples(curriculum: Curriculum, root: Path, seed: int
                        ) -> tuple[list[Example], list[list[int]]]:
    """Every phase's pairs as training examples, and each step's example indices."""
    examples: list[Example] = []
    schedule: list[list[int]] = []
    for k, phase in enumerate(curriculum.phases):
        first = len(examples)
        for name in phase.data:
            examples += [Example(
                item=Item(id=f"{phase.name}/{Path(name).stem}/{p.id}", source=name,
                          messages=(Message(role="user", content=p.prompt),),
                          choices=(p.chosen, p.rejected), matching=0),
                condition=phase.name, trained_answer=0) for p in read_pairs(root / name)]
        indices = np.arange(first, len(examples))
        rng = np.random.default_rng([seed, 7, k])
        needed = phase.steps * curriculum.batch_size
        stream = np.concatenate([rng.permutation(indices)
                                 for _ in range(-(-needed // len(indices)))])[:needed]
        schedule += [stream[s:s + curriculum.batch_size].tolist()
                     for s in range(0, needed, curriculum.batch_size)]
    return examples, schedule


class CurriculumRun(BaseModel):
    """What ``curriculum.json`` records beside a curriculum's weights and checkpoints."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    name: str
    curriculum: Curriculum
    phase_steps: tuple[tuple[str, int, int], ...] = Field(
        description="(phase, first step, last step) of each phase.")
    base: SubjectInfo
    seed: int
    data_hash: str
    settings: dict[str, Any]
    training: TrainingStats
    ulterior_version: str


def finished_run(out: Path) -> OrganismManifest | CurriculumRun | None:
    """What a finished run in ``out`` recorded (organism or curriculum); None if unfinished."""
    if (out / MANIFEST).is_file():
        return read_manifest(out)
    if (out / CURRICULUM_RECORD).is_file():
        return CurriculumRun.model_validate_json(
            (out / CURRICULUM_RECORD).read_text(encoding="utf-8"))
    return None


def train_curriculum(path: Path, *, base: str, out: Path, seed: int, cache_dir: Path,
                     resume: bool = False, show_progress: bool = True,
                     monitor_for: Callable[[Any], Monitor] | None = None,
                     bf16: bool | None = None, device: str = "auto") -> CurriculumRun:
    """Train ``base`` through the curriculum in ``path``; save weights and curriculum.json."""
    curriculum = load_curriculum(path)
    examples, schedule = curriculum_examples(curriculum, path.parent, seed)
    check_train_out(out, resume, finished=CURRICULUM_RECORD)
    settings = TrainSettings(
        examples=len(examples), epochs=1, batch_size=curriculum.batch_size,
        learning_rate=curriculum.learning_rate, warmup_steps=curriculum.warmup_steps,
        lora_rank=curriculum.lora_rank, lora_alpha=2 * curriculum.lora_rank,
        checkpoint_every=curriculum.checkpoint_every, objective=curriculum.objective,
        seed=seed, bf16=bf16, decay=False)
    subject = load_subject(curriculum.base or base,
                           LoadOptions(cache_dir=cache_dir, dtype="float32",
                                       placement=Placement(device=device)))
    if not isinstance(subject, HFSubject):
        raise CapabilityError(f"--base must be a local transformers model; {base} is not")
    settings = with_precision(settings, input_device(subject.model).type)
    out.mkdir(parents=True, exist_ok=True)
    model, state = train(subject, examples, settings, out, resume=resume,
                         show_progress=show_progress, schedule=schedule,
                         monitor=None if monitor_for is None else monitor_for(subject.tokenizer))
    save_merged(model, subject.tokenizer, out, cache_dir)
    bounds, step = [], 0
    for phase in curriculum.phases:
        bounds.append((phase.name, step + 1, step + phase.steps))
        step += phase.steps
    losses = state.losses or [float("nan")]
    run = CurriculumRun(
        name=out.name, curriculum=curriculum, phase_steps=tuple(bounds), base=subject.info,
        seed=seed, data_hash=content_hash([e.item.model_dump(mode="json") for e in examples]),
        settings=asdict(replace(settings)),
        training=TrainingStats(steps=state.step, examples=len(examples), epochs=1,
                               tokens=state.tokens, seconds=round(state.seconds, 2),
                               tokens_per_second=round(state.tokens / max(state.seconds, 1e-9),
                                                       1),
                               final_loss=float(np.mean(losses[-10:])),
                               checkpoints=tuple(sorted(
                                   str(p.relative_to(out))
                                   for p in (out / "checkpoints").glob("step-*")))),
        ulterior_version=__version__)
    write_atomic(out / CURRICULUM_RECORD, run.model_dump_json(indent=1) + "\n")
    return run
