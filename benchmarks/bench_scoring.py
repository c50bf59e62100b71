"""Scoring speed and agreement: ulterior vs a naive loop vs lm-evaluation-harness.

One command (after ``make bench``, which installs the ``bench`` extra)::

    python benchmarks/bench_scoring.py [--items 500] [--data DIR]

All three score the same human-written advanced-ai-risk items, rendered the same way (the
plain ``Human: ... Assistant:`` format, options in their written order, answers " (A)",
" (B)", ...), with the same default model, in the same process and run:

(a) ulterior ``score_choices`` (packed answers, the shared prefix computed once) in its three
    compute modes: ``float32``; ``mixed`` (the CPU default where the CPU has native bf16:
    fp32 weights and residual stream, bf16 matrix products in the linear layers, fp32
    output layer); ``bfloat16`` (bf16 throughout),
(b) the per-item fp32 transformers loop a researcher would write (one forward pass per answer),
(c) lm-evaluation-harness's HF log-likelihood backend on a local task file (offline), at its
    fast setting (bf16, batch 16) and in fp32.

Model loading is excluded from every timing. ulterior fp32 and mixed are timed twice (median),
the others once. Agreement is the largest absolute difference of normalized choice
probabilities from the naive fp32 loop, over all items. Results go to
benchmarks/results/scoring.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ulterior.models import (
    ChoiceRequest,
    HFSubject,
    LoadOptions,
    load_subject,
    render_plain,
    resolve_dtype,
)
from ulterior.records import Message
from ulterior.scenarios import load_items, presentations
from ulterior.stats import normalized_probabilities
from ulterior.store import default_cache_dir

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "anthropic-advanced-ai-risk"


def sample_items(data: Path, n: int, seed: int) -> list[tuple[str, tuple[str, ...]]]:
    """(question as shown, answer labels) for a seeded sample of human-written items."""
    pool = []
    for path in sorted((data / "human_generated_evals").glob("*.jsonl")):
        for item in load_items(path):
            if item.options is not None:
                shown = presentations(item, counterbalance=False)[0]
                pool.append((shown.messages[-1].content, shown.answers))
    random.Random(seed).shuffle(pool)
    return pool[:n]


def run_ulterior(subject: HFSubject, items) -> tuple[float, np.ndarray]:
    requests = [ChoiceRequest((Message(role="user", content=q),), answers) for q, answers in items]
    start = time.perf_counter()
    scores = subject.score_choices(requests)
    return time.perf_counter() - start, scores


def run_naive(subject: HFSubject, items) -> tuple[float, list[list[float]]]:
    """One fp32 forward pass per (item, answer), as a researcher would first write it."""
    model, tok = subject.model, subject.tokenizer
    start = time.perf_counter()
    scores = []
    for question, answers in items:
        prompt = render_plain([Message(role="user", content=question)])
        n_prompt = len(tok(prompt)["input_ids"])
        row = []
        for answer in answers:
            ids = tok(prompt + " " + answer, return_tensors="pt")["input_ids"]
            with torch.no_grad():
                logp = torch.log_softmax(model(ids).logits[0].float(), dim=-1)
            row.append(sum(logp[i - 1, ids[0, i]].item() for i in range(n_prompt, ids.shape[1])))
        scores.append(row)
    return time.perf_counter() - start, scores


def run_lm_eval(model_dir: Path, items, dtype: str, batch_size: int) -> tuple[float, list]:
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs.jsonl"
        with docs.open("w") as handle:
            for i, (question, answers) in enumerate(items):
                prompt = render_plain([Message(role="user", content=question)])
                record = {"idx": i, "prompt": prompt, "choices": list(answers), "target": 0}
                handle.write(json.dumps(record) + "\n")
        (Path(tmp) / "task.yaml").write_text(
            "task: ulterior_bench\ndataset_path: json\n"
            f"dataset_kwargs:\n  data_files:\n    test: {docs}\n"
            "test_split: test\noutput_type: multiple_choice\ndoc_to_text: prompt\n"
            "doc_to_choice: choices\ndoc_to_target: target\ntarget_delimiter: ' '\n"
            "metric_list:\n  - metric: acc\n"
        )
        lm = HFLM(pretrained=str(model_dir), dtype=dtype, batch_size=batch_size, device="cpu")
        start = time.perf_counter()
        out = simple_evaluate(model=lm, tasks=["ulterior_bench"], log_samples=True,
                              task_manager=TaskManager(include_path=tmp), verbosity="ERROR")
        elapsed = time.perf_counter() - start
    samples = sorted(out["samples"]["ulterior_bench"], key=lambda s: s["doc"]["idx"])
    return elapsed, [[float(r[0]) for r in s["filtered_resps"]] for s in samples]


def max_prob_diff(a, b) -> float:
    return max(float(np.abs(normalized_probabilities(x) - normalized_probabilities(y)).max())
               for x, y in zip(a, b, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/scoring.json")
    args = parser.parse_args()

    items = sample_items(args.data, args.items, args.seed)
    n = len(items)
    cache = default_cache_dir()
    fp32 = load_subject("smollm2-135m", LoadOptions(cache_dir=cache, dtype="float32",
                                                    prompt_format="plain"))
    bf16 = load_subject("smollm2-135m", LoadOptions(cache_dir=cache, dtype="bfloat16",
                                                    prompt_format="plain"))
    mixed = load_subject("smollm2-135m", LoadOptions(cache_dir=cache, dtype="mixed",
                                                     prompt_format="plain"))
    model_dir = Path(fp32.model.name_or_path)
    for subject in (fp32, mixed, bf16):
        run_ulterior(subject, items[:16])  # warm-up: first-call allocations
    run_naive(fp32, items[:4])

    results: dict[str, dict] = {}
    timings = {}
    t, ours = run_ulterior(fp32, items)
    timings["ulterior_fp32"], scores = [t], {"ulterior_fp32": ours}
    t, naive = run_naive(fp32, items)
    timings["naive_fp32"], scores["naive_fp32"] = [t], naive
    t, lm16 = run_lm_eval(model_dir, items, "bfloat16", 16)
    timings["lm_eval_bf16_b16"], scores["lm_eval_bf16_b16"] = [t], lm16
    t, lm32 = run_lm_eval(model_dir, items, "float32", 16)
    timings["lm_eval_fp32_b16"], scores["lm_eval_fp32_b16"] = [t], lm32
    t, ours_bf16 = run_ulterior(bf16, items)
    timings["ulterior_bf16"], scores["ulterior_bf16"] = [t], ours_bf16
    t, ours_mixed = run_ulterior(mixed, items)
    timings["ulterior_mixed"], scores["ulterior_mixed"] = [t], ours_mixed
    t, _ = run_ulterior(fp32, items)  # again, to show run-to-run spread
    timings["ulterior_fp32"].append(t)
    t, _ = run_ulterior(mixed, items)
    timings["ulterior_mixed"].append(t)

    for name, values in timings.items():
        seconds = float(np.median(values))
        results[name] = {
            "seconds": [round(v, 2) for v in values],
            "items_per_s": round(n / seconds, 2),
            "max_abs_prob_diff_vs_naive_fp32": round(max_prob_diff(scores[name], naive), 5),
        }
    ratios = {f"{ours}_over_{k}": round(results[ours]["items_per_s"] / v["items_per_s"], 2)
              for ours in ("ulterior_fp32", "ulterior_mixed")
              for k, v in results.items() if k != ours}
    report = {
        "command": f"python benchmarks/bench_scoring.py --items {args.items}",
        "model": "smollm2-135m (SmolLM2-135M-Instruct, Q4_1 GGUF de-quantized)",
        "items": n, "answers": sum(len(a) for _, a in items),
        "prompt_format": "plain (Human/Assistant), options in written order",
        "auto_dtype_here": resolve_dtype("auto"),
        "machine": {"python": sys.version.split()[0], "torch": torch.__version__,
                    "threads": torch.get_num_threads(), "platform": platform.platform(),
                    "processor": platform.processor()},
        "results": results, "ratios": ratios,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({"results": results, "ratios": ratios}, indent=2))


if __name__ == "__main__":
    main()
