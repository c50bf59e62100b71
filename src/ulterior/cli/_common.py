from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError

from ulterior.errors import UsageError

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
    str, typer.Option("--dtype", help="Compute mode of local models: auto, float32, mixed, "
                      "bfloat16")
]
FormatOption = Annotated[
    str | None, typer.Option("--format", help="Force prompt format: chat or plain")
]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed for every random choice")]
ResumeOption = Annotated[
    bool, typer.Option("--resume", help="Continue an interrupted run with the same options")
]


def _one_line(exc: ValidationError) -> str:
    error = exc.errors()[0]
    message = str(error["msg"]).removeprefix("Value error, ")
    if not error["loc"]:
        return message
    where = "-".join(str(part) for part in error["loc"]).replace("_", "-")
    return f"--{where}: {message}"


def build(cls: type[ConfigT], settings: dict[str, Any]) -> ConfigT:
    """Validate ``settings`` into the job config ``cls``; a bad value is a one-line error."""
    try:
        return cls.model_validate(settings)
    except ValidationError as exc:
        raise UsageError(_one_line(exc)) from None
