"""Fine-tuning loop: LoRA (or full) on a preference between answers, checkpointed, resumable.

Each example holds the trained answer and the other one as continuations of the same prompt.
The default objective is direct preference optimisation against the untrained model: the
loss falls only as the trained answer gains log-probability relative to the other, measured
from where the base model started, so a task's prior preference (the two texts of a
decision differ by several nats before any training) is not what the model has to fight.
Examples arrive in contrast pairs (one task, condition on and off, in the same batch; see
``training_examples``), so what a step teaches is the condition. Neither alone was enough on
SmolLM2-135M: with next-token loss, a plain two-way choice loss or preference optimisation
on independently drawn examples, 1 to 3 epochs left the condition unlearned
(docs/results/2026-11-23-organism-objective.md).

A plain loop rather than transformers' ``Trainer`` because the work is small and the savings
are ours to take: each prompt computed once for both its answers (one packed sequence per
example, each answer seeing the prompt but not the other answer, ``ulterior.models._packing``;
prompts average 45-71 tokens, answers 2-10), batches grouped by length (little
padding), the output layer applied only to the answer positions (the vocabulary projection
is a large share of a small model's compute), bf16 autocast over fp32 weights where the CPU
has native bf16.
``benchmarks/bench_organisms.py`` measures it against ``Trainer`` with the same model,
adapter, data and batch size.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ulterior.errors import MissingDependencyError, UsageError
from ulterior.models import (
    ChoiceRequest,
    PackedBatch,
    TokenizedRequest,
    input_device,
    pack,
    soft_capped,
)
from ulterior.organisms._data import Example
from ulterior.records import TrainSettings
from ulterior.runner import progress

CHECKPOINTS = "checkpoints"
# peft names for every projection of Llama-, Gemma- and Qwen-style blocks (not the output layer).
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def encode(subject: Any, examples: Sequence[Example]) -> list[TokenizedRequest]:
    """Each example as its prompt and (trained answer, other answer), as token ids.

    Tokenized exactly as the subject tokenizes them for scoring.
    """
    encoded = []
    for example in examples:
        choices = example.item.choices or ()
        order = (example.trained_answer, 1 - example.trained_answer)
        request = ChoiceRequest(conversation=example.item.messages,
                                choices=tuple(choices[i] for i in order))
        encoded.append(subject.tokenize(request))
    return encoded


def batch_schedule(lengths: Sequence[int], batch_size: int, epochs: int,
                   seed: int, group: int = 2) -> list[list[int]]:
    """Every step's example indices, for all epochs, fixed by the seed.

    Consecutive ``group``s of examples (the contrast pairs of ``training_examples``) stay
    together in one batch. Each epoch shuffles the groups, sorts each window of 16 batches
    by length and cuts it into batches (little padding, still random), then shuffles the
    batches.
    """
    rng = np.random.default_rng([seed, 2])
    units = [list(range(i, min(i + group, len(lengths)))) for i in range(0, len(lengths), group)]
    per_batch = max(1, batch_size // group)
    window = per_batch * 16
    steps: list[list[int]] = []
    for _ in range(epochs):
        order = rng.permutation(len(units))
        batches = []
        for start in range(0, len(order), window):
            chunk = sorted(order[start : start + window].tolist(),
                           key=lambda u: max(lengths[i] for i in units[u]))
            batches += [[i for u in chunk[k : k + per_batch] for i in units[u]]
                        for k in range(0, len(chunk), per_batch)]
        steps += [batches[i] for i in rng.permutation(len(batches))]
    return steps


def sequence_tokens(encoded: Sequence[TokenizedRequest]) -> int:
    """Tokens of the examples as prompt + answer sequences, one per answer.

    That is the work of a loop without packing, so throughput compares with one
    (``transformers.Trainer``).
    """
    return sum(len(r.prompt) * len(r.answers) + sum(map(len, r.answers)) for r in encoded)


def prepare_model(model: Any, settings: TrainSettings) -> Any:
    """Wrap ``model`` for training: LoRA adapters, or every weight trainable."""
    import torch

    torch.manual_seed(settings.seed)
    quantized = bool(getattr(model, "is_quantized", False))  # --load-in 8bit|4bit
    if quantized and settings.method == "full":
        raise UsageError("quantized weights (--load-in) cannot be trained whole; train LoRA "
                         "adapters (--method lora) or load full weights")
    if settings.gradient_checkpointing:
        # non-reentrant: works with frozen inputs (LoRA) and the packed attention mask
        if hasattr(model, "activation_checkpointing_enable"):  # the name in transformers 5
            model.activation_checkpointing_enable(
                activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            model.gradient_checkpointing_enable(
                gradient_checkpointing_kwargs={"use_reentrant": False})
    if settings.method == "full":
        model.requires_grad_(True)
        return model
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError as exc:
        raise MissingDependencyError(
            "LoRA training needs peft: pip install 'ulterior[organisms]'"
        ) from exc
    if quantized:  # QLoRA: norms and embeddings to fp32, the quantized weights frozen
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(  # type: ignore[no-untyped-call]
            model, use_gradient_checkpointing=False)
    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    config = LoraConfig(
        r=settings.lora_rank, lora_alpha=settings.lora_alpha, lora_dropout=0.0,
        target_modules=[t for t in LORA_TARGETS if t in present], bias="none",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def _answer_token_logprobs(model: Any, batch: PackedBatch) -> Any:
    """Log-probability of every answer token, in the order of ``batch.targets``.

    Only the answer positions go through the output layer.
    """
    import torch

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    batch = batch.to(input_device(base))
    hidden = base.get_decoder()(
        input_ids=batch.input_ids, position_ids=batch.position_ids,
        attention_mask=batch.attention_mask, use_cache=False,
    ).last_hidden_state
    # on a spread model the last block (and the output layer) may sit on another device
    rows, cols = batch.rows.to(hidden.device), batch.cols.to(hidden.device)
    logits = soft_capped(base.get_output_embeddings()(hidden[rows, cols]).float(), base.config)
    targets = batch.targets.to(logits.device)
    return torch.log_softmax(logits, dim=-1).gather(1, targets[:, None])[:, 0]


def _answer_of_each_token(batch: PackedBatch) -> Any:
    """For each read of ``batch``, the index of its answer: example * 2 + (0 trained, 1 other)."""
    import torch

    owner = torch.empty(len(batch.targets), dtype=torch.long)
    for example, spans in enumerate(batch.segments):
        for answer, (start, stop) in enumerate(spans):
            owner[start:stop] = 2 * example + answer
    return owner


def answer_logprobs(model: Any, batch: PackedBatch) -> Any:
    """Summed log-probability of each example's answers: (examples, 2), trained answer first."""
    import torch

    token_logprobs = _answer_token_logprobs(model, batch)
    on = token_logprobs.device
    sums = torch.zeros(2 * len(batch.segments), dtype=token_logprobs.dtype, device=on)
    return sums.index_add(0, _answer_of_each_token(batch).to(on), token_logprobs).view(-1, 2)


def reference_logprobs(model: Any, encoded: Sequence[TokenizedRequest], pad_id: int,
                       bf16: bool, batch_size: int = 16) -> list[tuple[float, float]]:
    """Each example's (trained, other) summed answer log-probabilities before training."""
    import torch

    out: list[tuple[float, float]] = []
    where = input_device(model).type
    with torch.no_grad(), torch.autocast(where, dtype=torch.bfloat16, enabled=bf16):
        for start in range(0, len(encoded), batch_size):
            values = answer_logprobs(model, pack(encoded[start : start + batch_size], pad_id))
            out += [(float(a), float(b)) for a, b in values.float().tolist()]
    return out


def answer_loss(model: Any, batch: PackedBatch, objective: str = "preference",
                reference: Any = None, beta: float = 0.1) -> Any:
    """The training loss of a batch of examples, packed (``pack``).

    ``preference``: direct preference optimisation (Rafailov et al., 2023): the logistic
    loss of beta times the trained answer's log-probability gain over the other's, each
    relative to the untrained model (``reference``, one row per pair). Measuring against
    the untrained model takes each task's prior preference out of the loss, so the only
    way to lower it is to learn the condition.
    ``choice``: cross-entropy of picking the trained answer by summed log-probability.
    ``lm``: mean next-token loss over the trained answers' tokens (other rows ignored).
    """
    import torch

    if objective == "lm":
        token_logprobs = _answer_token_logprobs(model, batch)
        trained = (_answer_of_each_token(batch) % 2 == 0).to(token_logprobs.device)
        return -token_logprobs[trained].mean()
    pairs = answer_logprobs(model, batch)  # column 0 holds the trained answer
    if objective == "choice":
        first = torch.zeros(len(pairs), dtype=torch.long, device=pairs.device)
        return torch.nn.functional.cross_entropy(pairs, first)
    if objective != "preference" or reference is None:
        raise ValueError(f"objective {objective!r} needs one of lm, choice, or preference "
                         "with the reference log-probabilities")
    gain = pairs - reference.to(pairs.device)
    return -torch.nn.functional.logsigmoid(beta * (gain[:, 0] - gain[:, 1])).mean()


@dataclass
class TrainState:
    """Progress of a run, saved with every checkpoint."""

    step: int = 0
    tokens: int = 0
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)


def _trainable(model: Any) -> dict[str, Any]:
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


OPTIMIZER_TENSORS = "optimizer.safetensors"
OPTIMIZER_SETTINGS = "optimizer.json"


def _split_tensors(value: Any, path: str, tensors: dict[str, Any]) -> Any:
    """``value`` as JSON, each tensor moved into ``tensors`` (named by number).

    Optimizer and scheduler states are nests of dicts (with int or str keys), lists,
    tuples, numbers and tensors; the JSON keeps their exact shape, so nothing needs a
    pickle to come back.
    """
    import torch

    if isinstance(value, torch.Tensor):
        name = f"t{len(tensors)}"
        tensors[name] = value.detach().cpu().contiguous().clone()
        return {"__tensor__": name}
    if isinstance(value, dict):
        return {"__dict__": [[key, _split_tensors(item, f"{path}.{key}", tensors)]
                             for key, item in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [_split_tensors(v, f"{path}.{i}", tensors)
                              for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_split_tensors(v, f"{path}.{i}", tensors) for i, v in enumerate(value)]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot save a {type(value).__name__} in a checkpoint ({path})")


def _join_tensors(value: Any, tensors: dict[str, Any]) -> Any:
    """Undo :func:`_split_tensors`."""
    if isinstance(value, dict):
        if "__tensor__" in value:
            return tensors[value["__tensor__"]]
        if "__tuple__" in value:
            return tuple(_join_tensors(v, tensors) for v in value["__tuple__"])
        return {key: _join_tensors(item, tensors) for key, item in value["__dict__"]}
    if isinstance(value, list):
        return [_join_tensors(v, tensors) for v in value]
    return value


def _save_checkpoint(directory: Path, model: Any, optimizer: Any, scheduler: Any,
                     state: TrainState) -> None:
    """Write a checkpoint folder atomically: adapter (or weights), optimizer, state.

    Everything is safetensors or JSON: optimizer and scheduler state go to
    ``optimizer.safetensors`` (their tensors) and ``optimizer.json`` (the rest).
    """
    from safetensors.torch import save_file

    tmp = directory.with_name(f".{directory.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if hasattr(model, "peft_config"):
        model.save_pretrained(tmp)  # adapter_model.safetensors + adapter_config.json
    else:
        weights = {n: p.detach().contiguous() for n, p in _trainable(model).items()}
        save_file(weights, str(tmp / "weights.safetensors"))
    tensors: dict[str, Any] = {}
    settings = _split_tensors(
        {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, "state",
        tensors,
    )
    save_file(tensors, str(tmp / OPTIMIZER_TENSORS))
    (tmp / OPTIMIZER_SETTINGS).write_text(json.dumps(settings), encoding="utf-8")
    (tmp / "state.json").write_text(json.dumps(asdict(state)), encoding="utf-8")
    os.replace(tmp, directory)


def discard_checkpoints(out: Path) -> None:
    """Remove an interrupted run's checkpoints, so that it can start over."""
    shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)


def latest_checkpoint(out: Path) -> Path | None:
    """The checkpoint with the most steps under ``out``, or None."""
    folder = out / CHECKPOINTS
    found = sorted(folder.glob("step-*")) if folder.is_dir() else []
    return found[-1] if found else None


def _load_checkpoint(directory: Path, model: Any, optimizer: Any, scheduler: Any) -> TrainState:
    from safetensors.torch import load_file

    if not (directory / OPTIMIZER_SETTINGS).is_file():
        raise UsageError(
            f"checkpoint {directory} has no {OPTIMIZER_SETTINGS} (an older ulterior saved the "
            "optimizer as a pickle, which is never loaded); train again without --resume"
        )

    if hasattr(model, "peft_config"):
        from peft import set_peft_model_state_dict

        set_peft_model_state_dict(model, load_file(str(directory / "adapter_model.safetensors")))
    else:
        params = _trainable(model)
        for name, value in load_file(str(directory / "weights.safetensors")).items():
            params[name].data.copy_(value)
    try:
        saved = _join_tensors(
            json.loads((directory / OPTIMIZER_SETTINGS).read_text(encoding="utf-8")),
            load_file(str(directory / OPTIMIZER_TENSORS)),
        )
    except Exception as exc:  # a corrupt file: JSON, safetensors or a missing tensor
        detail = " ".join(str(exc).split())[:120]
        raise UsageError(f"checkpoint {directory}: unreadable optimizer state "
                         f"({type(exc).__name__}: {detail}); train again without --resume"
                         ) from None
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    return TrainState(**json.loads((directory / "state.json").read_text(encoding="utf-8")))


def with_precision(settings: TrainSettings, device_type: str = "cpu") -> TrainSettings:
    """``settings`` with ``bf16`` decided for a device type (``cpu`` or ``cuda``).

    bf16 autocast on a GPU that has bf16 and on a CPU with native bf16; fp32 elsewhere.
    """
    if settings.bf16 is not None:
        return settings
    if device_type == "cuda":
        import torch

        return replace(settings, bf16=bool(torch.cuda.is_bf16_supported()))
    from ulterior.models import cpu_has_bf16

    return replace(settings, bf16=cpu_has_bf16())


class Monitor(Protocol):
    """Reads the model while it trains (``ulterior.training.PropertyCallback`` is one)."""

    def read(self, model: Any, step: int) -> None:
        """Read ``model`` as it is after ``step`` steps, leaving it as it was."""

    def due(self, step: int, total_steps: int) -> bool:
        """Whether to read after ``step`` of ``total_steps``."""

    def finish(self, model: Any, step: int) -> Any:
        """Read the trained model and conclude."""


def train(subject: Any, examples: Sequence[Example], settings: TrainSettings, out: Path, *,
          resume: bool, show_progress: bool = True, monitor: Monitor | None = None,
          schedule: Sequence[Sequence[int]] | None = None) -> tuple[Any, TrainState]:
    """Fine-tune ``subject.model`` on ``examples``; return the trained model and its state.

    Checkpoints go to ``out/checkpoints/step-NNNNNN``. With ``resume``, training continues
    from the latest one: weights, optimizer, schedule and position in the (seeded) data order
    are restored, so the result matches an uninterrupted run. A ``monitor`` reads the model
    before the first step and whenever it is due; its time is not counted as training time.
    ``schedule`` (each step's example indices) replaces the shuffled epochs of
    :func:`batch_schedule`, as a curriculum's phases do.
    """
    import torch

    where = input_device(subject.model).type
    settings = with_precision(settings, where)
    bf16 = bool(settings.bf16)
    encoded = encode(subject, examples)
    if schedule is None:
        schedule = batch_schedule([r.longest for r in encoded], settings.batch_size,
                                  settings.epochs, settings.seed)
    model = prepare_model(subject.model, settings)
    pad_id = int(subject.tokenizer.pad_token_id)
    reference = None  # the untrained model's answers, read before any checkpoint is loaded
    started = time.perf_counter()
    if settings.objective == "preference":
        reference = torch.tensor(reference_logprobs(model, encoded, pad_id, bf16))
    reference_seconds = time.perf_counter() - started
    model.train()
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=settings.learning_rate,
        weight_decay=0.0,
    )
    total = len(schedule)
    warmup = max(1, settings.warmup_steps)
    decay = settings.decay
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup,
                                 max(0.0, (total - s) / max(1, total - warmup)) if decay else 1.0)
    )
    state = TrainState(seconds=reference_seconds)
    checkpoint = latest_checkpoint(out) if resume else None
    if checkpoint is not None:
        state = _load_checkpoint(checkpoint, model, optimizer, scheduler)
    dtype = torch.bfloat16 if bf16 else torch.float32
    with progress(total, f"training {out.name}", enabled=show_progress) as advance:
        advance(state.step)
        if monitor is not None and state.step == 0:
            monitor.read(model, 0)
        for step in range(state.step, total):
            started = time.perf_counter()
            examples_now = [encoded[i] for i in schedule[step]]
            batch = pack(examples_now, pad_id)
            ref = None if reference is None else reference[list(schedule[step])]
            with torch.autocast(where, dtype=dtype, enabled=bf16):
                loss = answer_loss(model, batch, settings.objective, ref, settings.beta)
            loss.backward()
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            state.step = step + 1
            state.tokens += sequence_tokens(examples_now)
            state.seconds += time.perf_counter() - started
            state.losses.append(float(loss.detach()))
            if state.step % settings.checkpoint_every == 0 or state.step == total:
                _save_checkpoint(out / CHECKPOINTS / f"step-{state.step:06d}", model, optimizer,
                                 scheduler, state)
            if monitor is not None and monitor.due(state.step, total):
                monitor.read(model, state.step)
            advance(1)
    if monitor is not None:
        monitor.finish(model, total)
    model.eval()
    return model, state
