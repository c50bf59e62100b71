"""The offline GPU kit carries what ulterior needs and never the GPU machine's own stack."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _kit() -> object:
    spec = importlib.util.spec_from_file_location("gpu_kit", ROOT / "benchmarks/gpu_kit.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_kit_holds_ulterior_s_needs_and_stops_at_the_stack() -> None:
    kit = _kit()
    needed = kit.closure("ulterior", kit.EXTRAS, kit.STACK)  # type: ignore[attr-defined]
    # pydantic pins its compiled core: both travel, or ulterior cannot import there.
    assert {"pydantic", "pydantic-core", "typer", "rich", "platformdirs", "gguf"} <= set(needed)
    assert not set(needed) & {"torch", "numpy", "transformers", "scipy", "scikit-learn",
                              "accelerate", "peft", "tokenizers", "nvidia-cublas-cu12"}
    assert needed["pydantic"].count(".") >= 1  # versions, as installed here
