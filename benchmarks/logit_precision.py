"""How far 16-bit compute moves choice probabilities from fp32, with and without fp32 logits.

One command::

    python benchmarks/logit_precision.py [--items 500] [--data DIR]

``bfloat16`` and ``float16`` (the GPU compute modes) keep the output layer and the
log-softmax in fp32. This measures what that buys, on the CPU at hand, for two models:

- the default model (SmolLM2-135M-Instruct, 49,152-token vocabulary) on the human-written
  advanced-ai-risk items of ``bench_scoring.py`` (same sample, same plain format);
- the tiny random Llama of the unit tests (the one ``tests/gpu`` compares), on the same
  items' questions.

Each 16-bit mode is scored twice: as ulterior computes it (fp32 logits) and with the output
layer in the weights' 16 bits, as a plain transformers forward pass would. The figures are
the largest, 99th-percentile and median absolute differences of normalized choice
probabilities from ``float32``, over every option of every item, the largest difference
of an answer's summed log-probability, and each item's error (its options' largest
difference) as a mean with a 95% bootstrap CI over items. What fp32 logits buy is the
paired difference of item errors, 16-bit logits minus fp32 logits, with its CI. A CPU's
bf16 and fp16 kernels are not a GPU's: the GPU's own agreement is measured by
``bench_gpu.py`` and bounded by ``tests/gpu``.
Results: ``benchmarks/results/logit_precision.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from bench_scoring import DEFAULT_DATA, sample_items  # benchmarks/bench_scoring.py
from machine import cpu_model  # benchmarks/machine.py

from ulterior.models import ChoiceRequest, HFSubject, LoadOptions, cpu_has_bf16, load_subject
from ulterior.records import Message
from ulterior.stats import mean_with_ci, normalized_probabilities
from ulterior.store import default_cache_dir

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
MODES = ("bfloat16", "float16")


def sixteen_bit_logits(subject: HFSubject) -> HFSubject:
    """The same subject with its output layer multiplying in the weights' 16 bits."""
    subject._head_is_16bit = lambda: False  # type: ignore[method-assign]
    return subject


def differences(got: list[list[float]], want: list[list[float]]) -> list[np.ndarray]:
    """Each item's absolute differences of normalized choice probabilities."""
    return [np.abs(normalized_probabilities(a) - normalized_probabilities(b))
            for a, b in zip(got, want, strict=True)]


def interval(values: np.ndarray) -> dict[str, float]:
    estimate = mean_with_ci(values, rng=np.random.default_rng(0))
    return {"mean": estimate.estimate, "low": estimate.low, "high": estimate.high,
            "n": estimate.n}


def summary(got: list[list[float]], want: list[list[float]]) -> dict[str, Any]:
    per_option = np.concatenate(differences(got, want))
    logprob = max(abs(x - y) for a, b in zip(got, want, strict=True)
                  for x, y in zip(a, b, strict=True))
    item_errors = np.array([d.max() for d in differences(got, want)])
    return {"max": float(per_option.max()), "p99": float(np.quantile(per_option, 0.99)),
            "median": float(np.median(per_option)), "max_logprob": float(logprob),
            "item_error": interval(item_errors)}


def measure(load: Any, requests: list[ChoiceRequest]) -> dict[str, Any]:
    reference = load("float32").score_choices(requests)
    rows: dict[str, Any] = {}
    for mode in MODES:
        scored = {}
        for logits, subject in (("fp32 logits", load(mode)),
                                ("16-bit logits", sixteen_bit_logits(load(mode)))):
            start = time.perf_counter()
            scored[logits] = subject.score_choices(requests)
            rows[f"{mode}, {logits}"] = {**summary(scored[logits], reference),
                                         "seconds": round(time.perf_counter() - start, 2)}
        errors = {logits: np.array([d.max() for d in differences(scores, reference)])
                  for logits, scores in scored.items()}
        rows[f"{mode}, 16-bit minus fp32 logits, item error"] = interval(
            errors["16-bit logits"] - errors["fp32 logits"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks/results/logit_precision.json")
    args = parser.parse_args()
    from ulterior_testing import build_tiny_llama  # tests/ulterior_testing.py

    items = sample_items(args.data, args.items, args.seed)
    requests = [ChoiceRequest((Message(role="user", content=q),), answers) for q, answers in items]
    cache = default_cache_dir()
    result: dict[str, Any] = {
        "command": f"python benchmarks/logit_precision.py --items {args.items}",
        "cpu": cpu_model(), "cpu_has_bf16": cpu_has_bf16(), "torch": torch.__version__,
        "python": platform.python_version(),
        "items": len(requests), "options": sum(len(r.choices) for r in requests),
    }

    def default_model(mode: str) -> HFSubject:
        return load_subject("smollm2-135m", LoadOptions(cache_dir=cache, dtype=mode,  # type: ignore[arg-type]
                                                        prompt_format="plain"))

    result["smollm2-135m"] = measure(default_model, requests)
    with tempfile.TemporaryDirectory() as tmp:
        directory = build_tiny_llama(Path(tmp) / "tiny", max_positions=4096)

        def tiny(mode: str) -> HFSubject:
            return HFSubject(directory, spec="hf:tiny", cache_dir=Path(tmp), dtype=mode,  # type: ignore[arg-type]
                             prompt_format="plain")

        result["tiny-random-llama"] = measure(tiny, requests)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
