"""Reading the battery while a model trains, without changing the training."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from transformers import TrainerCallback

from ulterior.models import DType, FormatName, HFSubject
from ulterior.records import Emergence, TrackRecord
from ulterior.training._analysis import emergence
from ulterior.training._battery import Battery, load_battery
from ulterior.training._read import read_battery
from ulterior.training._record import track_record, write_track


@contextmanager
def _untouched(model: Any) -> Iterator[None]:
    """Eval mode and no gradients inside; the RNG streams and the train/eval flag restored.

    Dropout is off in eval mode, so a forward draws no random numbers; the streams are
    restored anyway, so a reading can never shift the next training step's dropout masks.
    """
    import torch

    cpu = torch.get_rng_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            yield
    finally:
        model.train(was_training)
        torch.set_rng_state(cpu)
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)


class PropertyCallback(TrainerCallback):
    """Reads the property battery every few steps of a ``transformers.Trainer`` run.

    It reads at the start (step 0, the baseline every change is measured from), every
    ``every`` steps (default: every ``fraction`` of the run) and at the end; it touches
    neither the optimizer nor the data order nor any random stream (see ``_untouched``),
    so training with it is bit-identical to training without it. ulterior's organism
    trainer calls :meth:`read` itself (``train_organism(..., monitor=callback)``).

    Args:
        tokenizer: The model's tokenizer.
        every: Steps between readings; None: ``fraction`` of the run's steps.
        fraction: Share of the run between readings when ``every`` is None.
        battery: The items to read (default: the tracked split of the shipped battery).
        prompt_format: ``chat``, ``plain`` or None (chat when the tokenizer has a template).
        dtype: Compute mode of the readings (``auto``: bf16 matrix products over the fp32
            weights on a CPU with native bf16, as an audit reads; see ``resolve_dtype``).
        out: Where :meth:`finish` writes the readings and their analysis (a track record,
            JSON).
    """

    def __init__(self, tokenizer: Any, *, every: int | None = None, fraction: float = 0.1,
                 battery: Battery | None = None, prompt_format: FormatName | None = None,
                 dtype: DType = "auto", out: Path | None = None) -> None:
        if every is not None and every < 1:
            raise ValueError("every must be at least 1")
        if not 0 < fraction <= 1:
            raise ValueError("fraction must be in (0, 1]")
        self.tokenizer = tokenizer
        self.every = every
        self.fraction = fraction
        self.battery = battery if battery is not None else load_battery().select("tracked")
        self.prompt_format = prompt_format
        self.dtype = dtype
        self.out = out
        self.steps: list[int] = []
        self.scores: list[np.ndarray] = []

    def read(self, model: Any, step: int) -> None:
        """Read the battery on ``model`` as it is at ``step`` (once per step)."""
        if self.steps and step <= self.steps[-1]:
            return
        subject = HFSubject.from_model(model, self.tokenizer, spec=f"training:step-{step}",
                                       fingerprint=f"training:step-{step}", dtype=self.dtype,
                                       prompt_format=self.prompt_format)
        with _untouched(model):
            scores = read_battery(subject, self.battery)
        self.steps.append(step)
        self.scores.append(scores)

    def finish(self, model: Any, step: int) -> TrackRecord:
        """Read the final model, analyse every reading, and write them to ``out`` if given."""
        self.read(model, step)
        record = self.record()
        if self.out is not None:
            write_track(record, self.out)
        return record

    def interval(self, total_steps: int) -> int:
        """Steps between readings in a run of ``total_steps``."""
        return self.every or max(1, round(self.fraction * total_steps))

    def due(self, step: int, total_steps: int) -> bool:
        """Whether ``step`` is one to read at."""
        return step == total_steps or step % self.interval(total_steps) == 0

    def record(self) -> TrackRecord:
        """The readings so far, with their analysis."""
        return track_record(self.battery, self.steps, [f"step {s}" for s in self.steps],
                            np.stack(self.scores), self.analyse())

    def analyse(self, **options: Any) -> Emergence:
        """Trajectories, onsets and order of the readings so far (see ``emergence``)."""
        return emergence(self.steps, np.stack(self.scores), self.battery, **options)

    # -- transformers.TrainerCallback ------------------------------------------------------

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None,
                       **kwargs: Any) -> None:
        self.read(model, state.global_step)

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None,
                    **kwargs: Any) -> None:
        if self.due(state.global_step, state.max_steps):
            self.read(model, state.global_step)

    def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None,
                     **kwargs: Any) -> None:
        self.finish(model, state.global_step)
