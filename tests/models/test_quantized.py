"""``--load-in 8bit|4bit``: quantized weights through bitsandbytes (the ``quantized`` extra).

The loading tests run where bitsandbytes is installed (it quantizes on a CPU too); the test
environment of CI leaves the extra out, so there they are skipped and only the refusal runs.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from ulterior.errors import MissingDependencyError, UsageError
from ulterior.models import HFSubject, Placement
from ulterior_testing import build_tiny_llama, device_requests, normalized_rows

torch = pytest.importorskip("torch")
needs_bnb = pytest.mark.skipif(importlib.util.find_spec("bitsandbytes") is None,
                               reason="bitsandbytes (the quantized extra) is not installed")


def test_quantized_loading_without_bitsandbytes_names_the_extra(
        tiny_llama_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "bitsandbytes" else real(name, *a))
    with pytest.raises(MissingDependencyError, match=r"--load-in 8bit needs bitsandbytes; "
                                                     r".*ulterior\[quantized\]"):
        HFSubject(tiny_llama_dir, spec="hf:tiny", cache_dir=tmp_path,
                  placement=Placement(device="cpu", load_in="8bit"))


def test_only_8bit_and_4bit_are_taken() -> None:
    with pytest.raises(UsageError, match="--load-in must be 8bit or 4bit, not '3bit'"):
        Placement(load_in="3bit")  # type: ignore[arg-type]


@needs_bnb
def test_8bit_weights_score_within_0_02_of_full_weights(tiny_llama_dir: Path,
                                                        tmp_path: Path) -> None:
    full = HFSubject(tiny_llama_dir, spec="hf:tiny", cache_dir=tmp_path, dtype="float32",
                     placement=Placement(device="cpu"))
    eight = HFSubject(tiny_llama_dir, spec="hf:tiny", cache_dir=tmp_path,
                      placement=Placement(device="cpu", load_in="8bit"))
    assert eight.info.quantization == "8bit" and full.info.quantization is None
    assert eight.info.dtype == "float32"  # the unquantized layers; never mixed
    assert type(eight.model.model.layers[0].mlp.up_proj).__name__ == "Linear8bitLt"
    gap = np.abs(normalized_rows(eight.score_choices(device_requests()))
                 - normalized_rows(full.score_choices(device_requests())))
    assert gap.max() < 0.02  # the bound the CPU's mixed mode is held to


@needs_bnb
def test_4bit_weights_load_and_score(tmp_path: Path) -> None:
    # NF4 quantizes in blocks of 64 weights: the tiny model needs rows at least that wide
    directory = build_tiny_llama(tmp_path / "wide", hidden=128)
    four = HFSubject(directory, spec="hf:wide", cache_dir=tmp_path,
                     placement=Placement(device="cpu", load_in="4bit"))
    assert four.info.quantization == "4bit"
    assert type(four.model.model.layers[0].mlp.up_proj).__name__ == "Linear4bit"
    scores = np.array(four.score_choices(device_requests()))
    assert scores.shape == (3, 3) and np.isfinite(scores).all() and (scores < 0).all()
