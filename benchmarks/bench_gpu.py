"""Scoring and capture throughput on a GPU: ulterior against the naive per-item loop.

One command, on a machine where torch sees a CUDA GPU::

    python benchmarks/bench_gpu.py [--items 512] [--config llama-1b] [--out gpu.json]

``--device cpu --config tiny`` runs the same code on a CPU in seconds, to check the script;
its numbers mean nothing.

The model is a Llama built from a real 1B-class configuration (Llama 3.2 1B's widths, depth
and 128,256-token vocabulary) with random weights: the compute is real, and no weights need
downloading. Its tokenizer is a byte-level BPE trained on the items themselves (8,192
tokens), so prompts have realistic lengths. The items are the built-in suites' labelled
items in both option orders, as an audit shows them, in the model's chat template.

Timed, model loading excluded, on the same GPU in the same process, each twice (median):

(a) ulterior ``score_choices`` in the GPU's default mode (bf16, fp32 output layer and
    log-softmax), batches planned from the free memory;
(b) the naive loop: one forward pass per (item, answer) in the same bf16 weights, the
    model's own (bf16) logits over the whole sequence upcast to fp32 for the log-softmax,
    as a plain transformers loop computes them;
(c) activation capture (``ActivationCapturer``, last and mean positions, four layers).

Agreement of (a) with (b), and of (a) with ulterior in ``float32`` on the same GPU (weights
cast from the same bf16 values, timed once), is the largest difference of normalized choice
probabilities. (a) and (b) differ in their logits' precision too, so the precision of (a)
is its gap to ``float32``.
Writes ``benchmarks/results/gpu.json`` (``--out``) with the GPU's name.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

RESULTS = Path(__file__).resolve().parent / "results"
CONFIGS = {  # widths of public model cards; the weights are random
    "llama-1b": {"hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16,
                 "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
                 "max_position_embeddings": 8192, "rope_theta": 500000.0},
    "tiny": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 8192,
             "max_position_embeddings": 2048},
}
TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}</s>\n{% endfor %}"
            "{% if add_generation_prompt %}<|assistant|>\n{% endif %}")


def suite_requests(n: int) -> list[Any]:
    """The first ``n`` labelled presentations of the built-in suites, as an audit shows them."""
    from ulterior.models import ChoiceRequest
    from ulterior.scenarios import presentations
    from ulterior.suites import SuiteSettings, default_suites

    registry, settings = default_suites(), SuiteSettings()
    requests = []
    for name in registry.names():
        for item in registry.create(name).items(settings):
            if item.options is None:
                continue
            for shown in presentations(item, counterbalance=True):
                requests.append(ChoiceRequest(tuple(shown.messages), tuple(shown.answers)))
    step = max(1, len(requests) // n)  # spread the sample over every suite
    return requests[::step][:n]


def build_tokenizer(requests: list[Any], vocab: int) -> Any:
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    texts = [m.content for r in requests for m in r.conversation]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts, vocab_size=vocab, min_frequency=2, special_tokens=[
        "<pad>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>"])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<s>",
                                        eos_token="</s>", pad_token="<pad>")
    tokenizer.chat_template = TEMPLATE
    return tokenizer


def build_model(name: str, tokenizer: Any, directory: Path, device: str) -> Path:
    """Save a random-weight Llama of configuration ``name`` (bf16) with the tokenizer."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(**CONFIGS[name], pad_token_id=0, bos_token_id=1, eos_token_id=2,
                         tie_word_embeddings=True)
    torch.manual_seed(0)
    with torch.device(device):
        model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    return directory


def run_naive(subject: Any, requests: list[Any]) -> list[list[float]]:
    """One forward pass per (item, answer), fp32 logits over the whole sequence."""
    model, tokenizer = subject.model, subject.tokenizer
    scores = []
    for request in requests:
        prompt = subject.format.render(request.conversation)
        n_prompt = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        row = []
        for answer in request.choices:
            ids = tokenizer(prompt + subject.format.continuation(answer), return_tensors="pt",
                            add_special_tokens=False)["input_ids"].to(subject.model.device)
            with torch.inference_mode():
                logp = torch.log_softmax(model(ids).logits[0].float(), dim=-1)
            row.append(float(sum(logp[i - 1, ids[0, i]] for i in range(n_prompt, ids.shape[1]))))
        scores.append(row)
    return scores


def timed(work: Any, repeats: int = 2) -> tuple[float, Any]:
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    times, result = [], None
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        result = work()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def normalized(scores: list[list[float]]) -> list[np.ndarray]:
    out = []
    for row in scores:
        values = np.exp(np.array(row) - max(row))
        out.append(values / values.sum())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=512)
    parser.add_argument("--config", choices=sorted(CONFIGS), default="llama-1b")
    parser.add_argument("--out", default="gpu.json", help="file name under benchmarks/results")
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("bench_gpu.py needs a CUDA GPU; torch sees none (--device cpu checks "
                         "the script)")
    from ulterior.models import HFSubject, Placement
    from ulterior.probes import ActivationCapturer, CaptureConfig, CaptureText

    requests = suite_requests(args.items)
    with tempfile.TemporaryDirectory() as tmp:
        directory = build_model(args.config, build_tokenizer(requests, 8192), Path(tmp) / "m",
                                args.device)
        subject = HFSubject(directory, spec=f"random:{args.config}", cache_dir=Path(tmp),
                            dtype="auto" if args.device == "cuda" else "bfloat16",
                            placement=Placement(device=args.device))
        subject.score_choices(requests[:8])  # warm-up: kernels, allocator
        ours_s, ours = timed(lambda: subject.score_choices(requests))
        naive_s, naive = timed(lambda: run_naive(subject, requests), repeats=1)
        depth = subject.model.config.num_hidden_layers
        layers = sorted({int(x) for x in np.linspace(0, depth - 1, 4)})
        texts = [CaptureText(subject.format.render(r.conversation)) for r in requests]
        capturer = ActivationCapturer(subject, CaptureConfig(
            layers=tuple(int(x) for x in layers), dtype=subject.compute_mode))
        capture_s, _ = timed(lambda: capturer.capture(texts))
        tokens = [len(subject.tokenize(r).prompt) for r in requests]
        info = subject.info
        subject.close()
        fp32 = HFSubject(directory, spec=f"random:{args.config}", cache_dir=Path(tmp),
                         dtype="float32", placement=Placement(device=args.device))
        fp32_s, exact = timed(lambda: fp32.score_choices(requests), repeats=1)
    def gap(other: list[list[float]]) -> float:
        return max(float(np.abs(a - b).max())
                   for a, b in zip(normalized(ours), normalized(other), strict=True))

    result = {
        "command": f"python benchmarks/bench_gpu.py --items {args.items} --config {args.config}"
                   f" --device {args.device}",
        "gpu": torch.cuda.get_device_name(0) if args.device == "cuda" else None,
        "device": info.device,
        "torch": torch.__version__, "python": platform.python_version(),
        "model": {"config": args.config, **CONFIGS[args.config], "weights": "random",
                  "dtype": info.dtype},
        "items": len(requests), "answers": sum(len(r.choices) for r in requests),
        "prompt_tokens": {"median": statistics.median(tokens), "max": max(tokens)},
        "ulterior_items_per_s": round(len(requests) / ours_s, 1),
        "naive_items_per_s": round(len(requests) / naive_s, 1),
        "speedup_vs_naive": round(naive_s / ours_s, 2),
        "max_probability_gap_vs_naive": gap(naive),
        "max_probability_gap_vs_fp32": gap(exact),
        "fp32_items_per_s": round(len(requests) / fp32_s, 1),
        "capture_texts_per_s": round(len(texts) / capture_s, 1),
        "capture_layers": [int(x) for x in layers],
        "seconds": {"ulterior": ours_s, "naive": naive_s, "capture": capture_s,
                    "ulterior_fp32": fp32_s},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
