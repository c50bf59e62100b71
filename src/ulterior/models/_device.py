"""Where a white-box model computes: one device, or its layers spread over several.

``auto`` is the first GPU when torch sees one, else the CPU. A model larger than one device
is spread by accelerate (``device_map="auto"``): over the GPUs first, then the CPU, then disk,
each given at most its ``max_memory``. Inputs go to the device of the input embeddings; the
layers' hooks move activations on from there.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from ulterior.errors import UsageError

DEVICE_FORMS = "auto, cpu, cuda or cuda:N"
_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")
_SIZE = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


@dataclass(frozen=True)
class Placement:
    """Where to put a model's weights.

    Attributes:
        device: ``auto``, ``cpu``, ``cuda`` (the first GPU) or ``cuda:N``.
        device_map: ``auto`` spreads the layers over the GPUs, the CPU and disk, within
            ``max_memory``; None puts the whole model on ``device``.
        max_memory: (device, size) pairs for ``device_map``: a GPU index or ``cpu``, and a
            size such as ``20GiB``. A device not named is given what it has free.
        load_in: ``8bit`` (LLM.int8) or ``4bit`` (NF4, bf16 compute) weights through
            bitsandbytes, for a model that would not fit otherwise; None: full weights.
    """

    device: str = "auto"
    device_map: Literal["auto"] | None = None
    max_memory: tuple[tuple[str, str], ...] = ()
    load_in: Literal["8bit", "4bit"] | None = None

    def __post_init__(self) -> None:
        check_device(self.device)
        if self.max_memory and self.device_map is None:
            raise UsageError("--max-memory limits --device-map auto; add --device-map auto")
        if self.load_in not in (None, "8bit", "4bit"):
            raise UsageError(f"--load-in must be 8bit or 4bit, not '{self.load_in}'")

    def accelerate_max_memory(self) -> dict[int | str, int | str] | None:
        """``max_memory`` as accelerate takes it: GPU indices as integers, every device.

        accelerate leaves out a device the dictionary does not name, so the devices not
        named are given what they have free (accelerate's own measure).
        """
        if not self.max_memory:
            return None
        from accelerate.utils import get_max_memory

        named = {int(k) if k.isdigit() else k: v for k, v in self.max_memory}
        return {**get_max_memory(), **named}


def check_device(value: str) -> str:
    """``value`` if it names a device form ulterior takes; a one-line error otherwise."""
    if not _DEVICE.fullmatch(value):
        raise UsageError(f"--device must be {DEVICE_FORMS}, not '{value}'")
    return value


def parse_max_memory(text: str) -> tuple[tuple[str, str], ...]:
    """``0=20GiB,cpu=30GiB`` as (device, size) pairs, checked."""
    pairs = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        key, sep, size = (s.strip() for s in part.partition("="))
        if not sep or not (key.isdigit() or key == "cpu"):
            raise UsageError(f"--max-memory takes DEVICE=SIZE pairs (a GPU index or cpu), "
                             f"as in 0=20GiB,cpu=30GiB; '{part}' is not one")
        if not _SIZE.fullmatch(size):
            raise UsageError(f"--max-memory: '{size}' is not a size; write it as 20GiB, "
                             "500MB, ...")
        pairs.append((key, size.replace(" ", "")))
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise UsageError("--max-memory names a device twice; give each device once")
    if not pairs:
        raise UsageError("--max-memory is empty; give DEVICE=SIZE pairs such as cpu=30GiB")
    return tuple(pairs)


def resolve_device(device: str) -> str:
    """``cpu`` or ``cuda:N``: the device ``auto`` or ``cuda`` means here, checked to exist."""
    check_device(device)
    if device == "cpu":
        return "cpu"
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device == "auto":
        return "cuda:0" if count else "cpu"
    index = int(device.partition(":")[2] or 0)
    if index >= count:
        have = f"GPUs cuda:0 to cuda:{count - 1}" if count else "no GPU torch can use"
        raise UsageError(f"--device {device}: this torch sees {have}; use --device cpu or "
                         "another GPU")
    return f"cuda:{index}"


def spread_map(model: Any) -> dict[str, Any] | None:
    """The device map of a model spread over several devices or onto disk, else None."""
    device_map = getattr(model, "hf_device_map", None)
    if not device_map:
        return None
    places = {_device_name(v) for v in device_map.values()}
    return dict(device_map) if len(places) > 1 or "disk" in places else None


def describe_map(device_map: dict[str, Any]) -> str:
    """A spread model's placement in one line: ``map: cuda:0 20, cpu 4, disk 8`` (modules)."""
    counts = Counter(_device_name(v) for v in device_map.values())
    return "map: " + ", ".join(f"{name} {n}" for name, n in counts.items())


def _device_name(value: Any) -> str:
    return f"cuda:{value}" if isinstance(value, int) else str(value)


def input_device(model: Any) -> Any:
    """Where a model's inputs go and its first layers compute: the input embeddings' device.

    Embeddings offloaded by accelerate hold meta weights; they compute where their hook
    brings them (its execution device), a GPU when there is one.
    """
    import torch

    embeddings = model.get_input_embeddings()
    device = embeddings.weight.device
    if device.type != "meta":
        return device
    hook = getattr(embeddings, "_hf_hook", None)
    for part in getattr(hook, "hooks", [hook]):  # a SequentialHook holds several
        where = getattr(part, "execution_device", None)
        if where is not None:
            return torch.device(f"cuda:{where}" if isinstance(where, int) else where)
    return torch.device("cpu")
