"""Activation capture: ulterior vs TransformerLens' bridge vs nnsight, on one job, in one run.

Run it from the benchmark environment, which holds TransformerLens and nnsight (they are kept
out of ulterior's own environment because they may pull other transformers versions):

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install torch==2.13.0            # first, or pip pulls CUDA wheels
    .venv-bench/bin/pip install -e '.[hf]' transformer-lens nnsight
    .venv-bench/bin/python benchmarks/bench_capture.py --data-root DATA_ROOT

DATA_ROOT holds azaria-mitchell-true-false/. The job: the residual stream after 4 blocks
(the quartiles of depth, the last block included, so stopping early saves nothing), at the
last token and averaged over the response, for N prompts of the default model (true/false
statements as chat turns). Every method gets the same padded batches and returns the same
fp32 arrays. TransformerLens and nnsight run at their defaults: fp32, full forward, their own
attention implementation (the bridge switches the model to eager attention). ulterior runs
its defaults: ``mixed`` compute (fp32 weights and residual stream, bf16 matrix products in the
linear layers), fp32 storage, stop after the deepest layer, no output layer; and, as
``ulterior_bf16``, the same with bf16 weights and activations throughout.

Also measured: agreement (cosine) of each method with an fp32 reference, and the cost of
capturing only layer L (0-based, so L+1 blocks run) relative to a full forward pass.
Writes benchmarks/results/capture.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ulterior.models import (
    BUNDLED_MODELS,
    DEFAULT_MODEL,
    LoadOptions,
    compute_mode,
    load_subject,
    plan_batches,
)
from ulterior.models._hf_load import convert_gguf
from ulterior.probes import (
    ActivationCapturer,
    CaptureConfig,
    CaptureText,
    render_example,
    true_false_statements,
)
from ulterior.store import default_cache_dir

Batch = tuple[list[int], torch.Tensor, torch.Tensor, torch.Tensor]  # indices, ids, mask, resp
Result = dict[tuple[int, str], np.ndarray]


def make_batches(capturer: ActivationCapturer, texts: list[CaptureText]) -> list[Batch]:
    """The padded batches every method runs (ulterior's own batch plan)."""
    encoded = capturer.tokenize(texts)
    lengths = [len(ids) for ids, _ in encoded]
    pad = int(capturer.tokenizer.pad_token_id or 0)
    batches = []
    config = capturer.config
    for batch in plan_batches(lengths, config.token_budget, config.max_batch):
        width = max(lengths[i] for i in batch)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        response = torch.zeros((len(batch), width), dtype=torch.bool)
        for row, index in enumerate(batch):
            tokens, first = encoded[index]
            ids[row, : len(tokens)] = torch.tensor(tokens)
            mask[row, : len(tokens)] = 1
            response[row, first : len(tokens)] = True
        batches.append((batch, ids, mask, response))
    return batches


def pool(states: dict[int, torch.Tensor], batch: Batch, out: Result) -> None:
    """Keep the last token and the response mean of each layer's states, fp32."""
    indices, _, mask, response = batch
    rows = torch.arange(len(indices))
    last = mask.sum(dim=1) - 1
    counts = response.sum(dim=1, keepdim=True).float()
    for layer, hidden in states.items():
        hidden = hidden.float()
        out[(layer, "last")][indices] = hidden[rows, last].numpy()
        out[(layer, "mean")][indices] = ((hidden * response[..., None]).sum(1) / counts).numpy()


def empty(n: int, d: int, layers: tuple[int, ...]) -> Result:
    return {(layer, pos): np.zeros((n, d), dtype=np.float32)
            for layer in layers for pos in ("last", "mean")}


def run_ulterior(capturer: ActivationCapturer, texts: list[CaptureText]) -> Result:
    batch = capturer.capture(texts)
    return dict(batch.pooled)


def run_bridge(
    bridge: Any, batches: list[Batch], layers: tuple[int, ...], n: int, d: int
) -> Result:
    out = empty(n, d, layers)
    names = [f"blocks.{layer}.hook_out" for layer in layers]
    for batch in batches:
        with torch.inference_mode():
            _, cache = bridge.run_with_cache(batch[1], names_filter=names, attention_mask=batch[2])
        pool({layer: cache[f"blocks.{layer}.hook_out"] for layer in layers}, batch, out)
    return out


def run_nnsight(lm: Any, trace: Callable[..., dict[int, Any]], batches: list[Batch],
                layers: tuple[int, ...], n: int, d: int) -> Result:
    out = empty(n, d, layers)
    for batch in batches:
        with torch.inference_mode():
            saved = trace(lm, batch[1], batch[2], layers)
        pool({layer: value[0] if isinstance(value, tuple) else value
              for layer, value in saved.items()}, batch, out)
    return out


def nnsight_trace(lm: Any, ids: torch.Tensor, mask: torch.Tensor,
                  layers: tuple[int, ...]) -> dict[int, Any]:
    """One nnsight trace saving the output of each requested block (must live in a file)."""
    saved: list[Any] = []
    with lm.trace({"input_ids": ids, "attention_mask": mask}):
        for layer in layers:
            saved.append(lm.model.layers[layer].output.save())
    return dict(zip(layers, saved, strict=True))


def full_forward(model: Any, batches: list[Batch], mode: str) -> None:
    with torch.inference_mode(), compute_mode(model, mode):
        for _, ids, mask, _ in batches:
            model(input_ids=ids, attention_mask=mask, use_cache=False)


CPU_SECONDS: dict[str, float] = {}


def timed(fn: Callable[[], Any], repeats: int, name: str = "") -> tuple[float, Any]:
    """Best wall time of ``repeats`` runs (the machine is shared) and the last result.

    The best CPU time (this process, all threads) is kept in ``CPU_SECONDS[name]``: on a
    machine shared with other jobs it is less inflated by their load than wall time.
    """
    best, result = float("inf"), None
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        result = fn()
        best = min(best, time.perf_counter() - start)
        if name:
            used = time.process_time() - cpu
            CPU_SECONDS[name] = min(CPU_SECONDS.get(name, float("inf")), used)
    return best, result


def cosines(result: Result, reference: Result) -> dict[str, float]:
    out = {}
    for key, ref in reference.items():
        x = result[key]
        cos = (x * ref).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(ref, axis=1))
        out[f"layer{key[0]}-{key[1]}"] = float(cos.min())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/capture.json"))
    args = parser.parse_args()
    torch.manual_seed(0)

    from nnsight import LanguageModel
    from transformer_lens.model_bridge import TransformerBridge

    cache = default_cache_dir()
    bundled = next(m for m in BUNDLED_MODELS if m.name == DEFAULT_MODEL)
    directory = convert_gguf(bundled.gguf(cache), cache)
    subject = load_subject(DEFAULT_MODEL, LoadOptions(cache_dir=cache, dtype="float32"))
    n_layers = int(subject.model.config.num_hidden_layers)  # type: ignore[attr-defined]
    d = int(subject.model.config.hidden_size)  # type: ignore[attr-defined]
    layers = (n_layers // 4, n_layers // 2, 3 * n_layers // 4, n_layers - 1)
    data = true_false_statements(args.data_root / "azaria-mitchell-true-false", limit=args.n,
                                 rng=np.random.default_rng(0))
    texts = [render_example(e, subject.format) for e in data.examples][: args.n]  # type: ignore[attr-defined]
    n = len(texts)

    ours = ActivationCapturer(subject, CaptureConfig(layers=layers))  # defaults: mixed, early stop
    ours_bf16 = ActivationCapturer(subject, CaptureConfig(layers=layers, dtype="bfloat16"))
    reference_capturer = ActivationCapturer(
        subject, CaptureConfig(layers=layers, dtype="float32", stop_early=False))
    batches = make_batches(ours, texts)
    bridge = TransformerBridge.boot_transformers(str(directory), device="cpu")
    lm = LanguageModel(str(directory), dispatch=True)

    warm = texts[:8]
    warm_batches = make_batches(ours, warm)
    run_ulterior(ours, warm)
    run_ulterior(ours_bf16, warm)
    run_bridge(bridge, warm_batches, layers, len(warm), d)
    run_nnsight(lm, nnsight_trace, warm_batches, layers, len(warm), d)

    times: dict[str, float] = {}
    results: dict[str, Result] = {}
    methods = [
        ("ulterior", lambda: run_ulterior(ours, texts)),
        ("ulterior_bf16", lambda: run_ulterior(ours_bf16, texts)),
        ("transformer_lens_bridge", lambda: run_bridge(bridge, batches, layers, n, d)),
        ("nnsight", lambda: run_nnsight(lm, nnsight_trace, batches, layers, n, d)),
    ]
    for repeat in range(args.repeats):  # interleaved and rotated: load drift hits all alike
        turn = repeat % len(methods)
        for name, fn in methods[turn:] + methods[:turn]:
            elapsed, results[name] = timed(fn, 1, name)
            times[name] = min(times.get(name, float("inf")), elapsed)
        print({k: round(v, 2) for k, v in times.items()}, flush=True)
    reference = run_ulterior(reference_capturer, texts)
    ours32 = ActivationCapturer(subject, CaptureConfig(layers=layers, dtype="float32"))
    t32, results["ulterior_fp32"] = timed(lambda: run_ulterior(ours32, texts), 1,
                                          "ulterior_fp32_early_stop")

    # Cost of one layer relative to a full forward (logits included) in the default mode.
    mode = ours.config.dtype
    full, _ = timed(lambda: full_forward(ours.model, batches, mode), args.repeats,
                    "full_forward")
    layer_cost = []
    for layer in (n_layers // 4, n_layers // 2, 3 * n_layers // 4):
        one = ActivationCapturer(subject, CaptureConfig(layers=(layer,), positions=("last",)))
        one.model = ours.model  # no second copy when the default mode needs one
        elapsed, _ = timed(lambda one=one: one.capture(texts), args.repeats, f"layer{layer}")
        bound = (layer + 1) / n_layers + 0.10
        layer_cost.append({"layer": layer, "blocks_run": layer + 1, "seconds": elapsed,
                           "ratio_to_full_forward": elapsed / full, "bound": bound,
                           "within_bound": elapsed / full <= bound})

    report = {
        "job": {"model": DEFAULT_MODEL, "n_layers": n_layers, "d_model": d, "layers": layers,
                "positions": ["last", "mean"], "n_prompts": n,
                "tokens": int(sum(int(b[2].sum()) for b in batches)),
                "padded_tokens": int(sum(b[1].numel() for b in batches)),
                "batches": len(batches), "repeats": args.repeats, "timing": "best of repeats"},
        "seconds": {**times, "ulterior_fp32_early_stop": t32},
        "cpu_seconds": CPU_SECONDS,
        "default_dtype": mode,
        "speedup_of_ulterior": {k: times[k] / times["ulterior"]
                                for k in ("transformer_lens_bridge", "nnsight", "ulterior_bf16")},
        "speedup_of_ulterior_bf16": {k: times[k] / times["ulterior_bf16"]
                                     for k in ("transformer_lens_bridge", "nnsight")},
        "speedup_of_ulterior_cpu_time": {
            k: CPU_SECONDS[k] / CPU_SECONDS["ulterior"]
            for k in ("transformer_lens_bridge", "nnsight")},
        "min_cosine_vs_fp32_reference": {k: cosines(v, reference) for k, v in results.items()},
        "reference": "ulterior hooks, fp32, full forward (no early stop); nnsight fp32 is an "
                     "independent check of the same site",
        "layer_cost": {"dtype": mode, "full_forward_seconds": full, "layers": layer_cost},
        "environment": {"torch": torch.__version__, "threads": torch.get_num_threads(),
                        "machine": platform.machine(), "python": platform.python_version()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
