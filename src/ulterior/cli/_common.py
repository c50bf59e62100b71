from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError

from ulterior.errors import UsageError

if TYPE_CHECKING:
    from ulterior.executors import Executor

ConfigT = TypeVar("ConfigT", bound=BaseModel)

StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store", help="SQLite store for results [default: $ULTERIOR_STORE or user data dir]"
    ),
]
ModelOption = Annotated[
    str, typer.Option("--model", "-m", help="Model spec: smollm2-135m, hf:PATH, gguf:PATH, "
                      "openai:MODEL@URL, fake:NAME")
]
DTypeOption = Annotated[
    str, typer.Option("--dtype", help="Compute mode of local models: auto (mixed on a CPU "
                      "with native bf16, else float32; bfloat16 or float16 on a GPU), float32, "
                      "mixed, bfloat16, float16")
]
DeviceOption = Annotated[
    str, typer.Option("--device", help="Where local models compute: auto (the first GPU when "
                      "there is one, else the CPU), cpu, cuda or cuda:N")
]
DeviceMapOption = Annotated[
    str | None, typer.Option("--device-map", help="auto: spread a local model too large for "
                             "one device over the GPUs, the CPU and disk, within --max-memory")
]
MaxMemoryOption = Annotated[
    str | None, typer.Option("--max-memory", help="Limits for --device-map auto: DEVICE=SIZE "
                             "pairs, a GPU index or cpu, e.g. 0=20GiB,cpu=30GiB")
]
LoadInOption = Annotated[
    str | None, typer.Option("--load-in", help="Quantized weights for a model that would not "
                             "fit otherwise: 8bit or 4bit (bitsandbytes, ulterior's quantized "
                             "extra)")
]
FormatOption = Annotated[
    str | None, typer.Option("--format", help="Force prompt format: chat or plain")
]
SeedOption = Annotated[int, typer.Option("--seed", min=0, help="Seed for every random choice "
                                         "(0 or more)")]
ResumeOption = Annotated[
    bool, typer.Option("--resume", help="Continue an interrupted run with the same options")
]


def placement_settings(device: str, device_map: str | None, max_memory: str | None,
                       load_in: str | None = None) -> dict[str, Any]:
    """The job settings of --device, --device-map, --max-memory and --load-in, checked."""
    from ulterior.models import Placement, parse_max_memory, resolve_device

    if device_map not in (None, "auto"):
        raise UsageError(f"--device-map must be auto, not '{device_map}'")
    pairs = parse_max_memory(max_memory) if max_memory is not None else ()
    Placement(device=device, device_map="auto" if device_map else None, max_memory=pairs,
              load_in=load_in)  # type: ignore[arg-type]  # checked there
    if device not in ("auto", "cpu"):
        resolve_device(device)  # a GPU that is not there fails here, before any work
    return {"device": device, "device_map": device_map, "max_memory": pairs,
            "load_in": load_in}


def _one_line(exc: ValidationError) -> str:
    error = exc.errors()[0]
    message = str(error["msg"]).removeprefix("Value error, ")
    if not error["loc"]:
        return message
    names = [str(part) for part in error["loc"] if not isinstance(part, int)]
    where = "-".join(names).replace("_", "-")
    places = [f"value {part + 1}" for part in error["loc"] if isinstance(part, int)]
    return f"--{where}{' (' + ', '.join(places) + ')' if places else ''}: {message}"


def build(cls: type[ConfigT], settings: dict[str, Any]) -> ConfigT:
    """Validate ``settings`` into the job config ``cls``; a bad value is a one-line error."""
    try:
        return cls.model_validate(settings)
    except ValidationError as exc:
        raise UsageError(_one_line(exc)) from None


def finite(value: float | None) -> float | None:
    """Typer callback: a number option must be finite (not nan, not inf)."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"must be a finite number, not {value}")
    return value


def check_store(store: Path | None) -> Path | None:
    """Check the store path (given, or the default) before any work; return ``store``."""
    from ulterior.store import check_store_path, default_store_path

    check_store_path(store or default_store_path())
    return store


def check_input_file(path: Path, option: str) -> Path:
    """An input file must exist and be a file."""
    if path.is_dir():
        raise UsageError(f"{option} {path} is a folder; give the path of a file")
    if not path.is_file():
        raise UsageError(f"{option}: file not found: {path}; check the path")
    return path


def check_input_dir(path: Path, option: str) -> Path:
    """An input folder must exist and be a folder."""
    if not path.exists():
        raise UsageError(f"{option}: folder not found: {path}; check the path")
    if not path.is_dir():
        raise UsageError(f"{option} {path} is a file; give a folder")
    return path


def check_probe(path: Path, option: str = "--probe") -> Path:
    """A saved probe must be readable (both files, consistent) before any work starts."""
    from ulterior.probes import read_probe

    check_input_dir(path, option)
    read_probe(path)
    return path


def check_model(spec: str, option: str = "--model") -> str:
    """A model spec must name a known backend and, for local ones, an existing model.

    Only what can be known without loading anything is checked: the spec form, a fake
    subject's name, a model folder's files, a GGUF path, an organism's manifest.
    """
    from ulterior.errors import UnknownSpecError
    from ulterior.models import FAKE_PARTS, default_registry

    try:
        default_registry().white_box(spec)
    except UnknownSpecError as exc:
        raise UnknownSpecError(f"{option}: {exc}") from None
    prefix, _, rest = spec.partition(":")
    if prefix == "fake" and rest not in FAKE_PARTS:
        raise UnknownSpecError(f"{option}: unknown fake subject '{rest}'; choose from "
                               f"{', '.join(sorted(FAKE_PARTS))}")
    if prefix == "hf":
        from ulterior.models import check_model_dir

        check_model_dir(Path(rest).expanduser())
    elif prefix == "gguf" and not Path(rest).expanduser().is_file():
        raise UsageError(f"{option}: GGUF file not found: {rest}; check the path")
    elif prefix == "openai":
        from ulterior.models import parse_openai_spec

        parse_openai_spec(rest)
    elif prefix == "organism":
        from ulterior.organisms import organism_dir, read_manifest

        read_manifest(organism_dir(rest))
    return spec


ExecutorOption = Annotated[
    str, typer.Option("--executor", help="Where units of work run: local (this process, in "
                      "order) or ray (tasks on a Ray cluster; needs ulterior's ray extra)")
]
RayAddressOption = Annotated[
    str | None, typer.Option("--ray-address", help="Address of a running Ray cluster "
                             "(default: start a local one)")
]
UnitCpusOption = Annotated[
    float | None, typer.Option("--unit-cpus", min=0.0, callback=finite,
                        help="CPU cores each unit reserves on Ray (default: 1)")
]
UnitGpusOption = Annotated[
    float | None, typer.Option("--unit-gpus", min=0.0, callback=finite,
                        help="GPUs each unit reserves on Ray, a fraction to share one "
                        "(default: 0)")
]
UnitMemoryOption = Annotated[
    str | None, typer.Option("--unit-memory", help="Memory each unit reserves on Ray, in "
                             "bytes or with a unit: 512M, 4G")
]

_SIZES = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def _bytes(size: str) -> int:
    import re

    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", size, re.IGNORECASE)
    if match is None or float(match[1]) <= 0:
        raise UsageError(f"--unit-memory must be a positive size such as 512M or 4G, not "
                         f"'{size}'")
    return int(float(match[1]) * _SIZES[match[2].upper()])


def build_executor(executor: str, ray_address: str | None, cpus: float | None,
                   gpus: float | None, memory: str | None) -> Executor:
    """The executor the options name; Ray is imported (and a cluster joined) only on use."""
    from ulterior.executors import ExecutorConfig

    if executor not in ("local", "ray"):
        raise UsageError(f"--executor must be local or ray, not '{executor}'")
    given = {"--ray-address": ray_address, "--unit-cpus": cpus, "--unit-gpus": gpus,
             "--unit-memory": memory}
    if executor == "local":
        extra = [option for option, value in given.items() if value is not None]
        if extra:
            raise UsageError(f"{extra[0]} needs --executor ray")
    resources = {name: value for name, value in
                 (("cpus", cpus), ("gpus", gpus),
                  ("memory", None if memory is None else _bytes(memory))) if value is not None}
    config = build(ExecutorConfig, {"executor": executor, "ray_address": ray_address,
                                    "resources": resources})
    return config.create()
