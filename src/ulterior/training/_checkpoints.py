"""Saved checkpoints of a training run: finding them, ordering them, loading each one.

A path is a checkpoint (a LoRA adapter: ``adapter_config.json``; or full weights:
``config.json`` and safetensors) or a run directory holding them (ulterior's
``checkpoints/step-N``, or the ``checkpoint-N`` folders of ``transformers.Trainer``). A
checkpoint's step comes from its name, else from the ``state.json`` or
``trainer_state.json`` beside its weights.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ulterior.errors import UsageError
from ulterior.models import HFSubject, LoadOptions, Subject, load_subject, white_box

STEP_NAME = re.compile(r"^(?:step|checkpoint)-(\d+)$")


@dataclass(frozen=True)
class Checkpoint:
    """One saved point of a run."""

    path: Path
    step: int
    adapter: bool  # a LoRA adapter over a base model, not full weights


def _step(path: Path) -> int:
    if (match := STEP_NAME.match(path.name)) is not None:
        return int(match.group(1))
    for name, key in (("state.json", "step"), ("trainer_state.json", "global_step")):
        state = path / name
        if state.is_file():
            return int(json.loads(state.read_text(encoding="utf-8"))[key])
    raise UsageError(f"cannot tell the training step of {path}: name it step-N or "
                     "checkpoint-N, or keep its state.json")


def _is_checkpoint(path: Path) -> bool:
    return (path / "adapter_config.json").is_file() or (
        (path / "config.json").is_file() and any(path.glob("*.safetensors")))


def find_checkpoints(paths: Sequence[Path]) -> list[Checkpoint]:
    """Every checkpoint in ``paths`` (checkpoints or run directories), ordered by step.

    Raises:
        UsageError: A path is neither, holds none, or two checkpoints share a step.
    """
    found: list[Checkpoint] = []
    for path in paths:
        if not path.is_dir():
            raise UsageError(f"{path} is not a directory; pass checkpoints or run directories")
        if _is_checkpoint(path):
            candidates = [path]
        else:
            inner = path / "checkpoints" if (path / "checkpoints").is_dir() else path
            candidates = sorted(p for p in inner.iterdir()
                                if p.is_dir() and STEP_NAME.match(p.name) and _is_checkpoint(p))
            if not candidates:
                raise UsageError(f"{path} holds no checkpoints (step-N or checkpoint-N folders "
                                 "with an adapter or safetensors weights)")
        found += [Checkpoint(p, _step(p), (p / "adapter_config.json").is_file())
                  for p in candidates]
    found.sort(key=lambda c: c.step)
    steps = [c.step for c in found]
    if len(set(steps)) != len(steps):
        repeated = next(s for s in steps if steps.count(s) > 1)
        raise UsageError(f"two checkpoints are at step {repeated}; track one run at a time")
    return found


def base_of(paths: Sequence[Path]) -> str | None:
    """The base model a run was trained from, as its organism or curriculum record says."""
    for path in paths:
        for manifest in (folder / name for folder in (path, path.parent.parent)
                         for name in ("manifest.json", "curriculum.json")):
            if manifest.is_file():
                base = json.loads(manifest.read_text(encoding="utf-8")).get("base", {})
                if isinstance(base, dict) and base.get("spec"):
                    return str(base["spec"])
    return None


def _digest(folder: Path, names: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode())
        with (folder / name).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


class AdapterReader:
    """A base model loaded once, with each LoRA checkpoint's weights swapped in turn."""

    def __init__(self, base: Subject) -> None:
        self.base = white_box(base)
        self._model: Any = None

    @contextmanager
    def subject(self, checkpoint: Checkpoint) -> Iterator[HFSubject]:
        """The base with ``checkpoint``'s adapter, as a subject named by its content."""
        from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
        from safetensors.torch import load_file

        weights = checkpoint.path / "adapter_model.safetensors"
        if self._model is None:
            # the adapter's own config, read as data: no loader that could run its code
            fields = json.loads((checkpoint.path / "adapter_config.json").read_text("utf-8"))
            config = LoraConfig(**{k: v for k, v in fields.items()
                                   if k in LoraConfig.__dataclass_fields__ and k != "peft_type"})
            self._model = get_peft_model(self.base.model, config)
        set_peft_model_state_dict(self._model, load_file(str(weights)))
        self._model.eval()
        fingerprint = (f"{self.base.info.fingerprint}+lora:"
                       f"{_digest(checkpoint.path, ['adapter_config.json', weights.name])}")
        yield HFSubject.from_model(
            self._model, self.base.tokenizer, spec=f"checkpoint:{checkpoint.path}",
            fingerprint=fingerprint, dtype=self.base.compute_mode,  # type: ignore[arg-type]
            prompt_format=self.base.format.name)


@contextmanager
def full_subject(checkpoint: Checkpoint, options: LoadOptions) -> Iterator[Subject]:
    """A full-weights checkpoint loaded as a subject (``hf:PATH``)."""
    with load_subject(f"hf:{checkpoint.path}", options) as subject:
        yield subject
