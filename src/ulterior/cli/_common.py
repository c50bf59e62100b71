from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
