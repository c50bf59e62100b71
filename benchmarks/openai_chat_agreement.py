"""Does chat scoring over HTTP agree with the local model in its own chat template?

Starts llama-cpp-python's OpenAI-compatible server on loopback on the bundled GGUF
(SmolLM2-135M-Instruct, Q4_1), scores labelled suite items through it as the ``openai``
subject in the ``chat`` format, and scores the same presentations with the local ``hf``
subject ``smollm2-135m`` (the same GGUF, de-quantized, in its chat template). Per
presentation, the largest gap between the two subjects' normalized choice probabilities is
the difference. The floor: within 0.05 on at least 90% of presentations, against the local
subject as it loads by default. The local subject in float32 is reported beside it, and the
server's own run-to-run variation on a repeat of the first presentations. Writes
``benchmarks/results/openai-chat-agreement.json``:

    python benchmarks/openai_chat_agreement.py [--suites oversight-gap honeypot] [--limit N]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from machine import cpu_model  # benchmarks/machine.py

RESULTS = Path(__file__).resolve().parent / "results"
FLOOR_GAP = 0.05
FLOOR_SHARE = 0.90
QUANTILES = (0.0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def llama_server(gguf: Path, threads: int, log: Path) -> Iterator[str]:
    """A llama-cpp-python server on loopback serving ``gguf`` as ``smollm2``; yields its URL."""
    import httpx

    port = _free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host",
             "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--model_alias", "smollm2",
             "--n_threads", str(threads)],
            stdout=out, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}/v1"
        try:
            deadline = time.monotonic() + 120
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"llama.cpp server exited with {process.returncode}; "
                                     f"see {log}")
                try:
                    if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("llama.cpp server did not start within 120 s")
                time.sleep(0.5)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)


def requests_of(suites: list[str], limit: int | None) -> tuple[list[Any], list[str]]:
    """Both option orders of every labelled item of ``suites``, and each one's suite."""
    from ulterior.models import ChoiceRequest
    from ulterior.scenarios import presentations
    from ulterior.suites import SuiteSettings, default_suites

    registry = default_suites()
    requests, names = [], []
    for name in suites:
        for item in registry.create(name).items(SuiteSettings(limit=limit)):
            for shown in presentations(item, True):
                requests.append(ChoiceRequest(shown.messages, shown.answers, shown.target))
                names.append(name)
    return requests, names


def probabilities(subject: Any, requests: list[Any]) -> tuple[np.ndarray, float]:
    from ulterior.stats import normalized_probabilities

    start = time.perf_counter()
    scores = subject.score_choices(requests)
    seconds = time.perf_counter() - start
    return np.array([normalized_probabilities(row) for row in scores]), seconds


def summary(gaps: np.ndarray) -> dict[str, Any]:
    return {
        "n": len(gaps),
        "share_within_floor": float(np.mean(gaps <= FLOOR_GAP)),
        "mean": float(gaps.mean()),
        "quantiles": {f"{q:g}": float(np.quantile(gaps, q)) for q in QUANTILES},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suites", nargs="+", default=["oversight-gap", "honeypot"])
    parser.add_argument("--limit", type=int, default=None, help="scenarios per suite")
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads")
    parser.add_argument("--repeat", type=int, default=96,
                        help="presentations scored twice by the server, for its own noise")
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=RESULTS / "openai-chat-agreement.json")
    args = parser.parse_args()

    from ulterior.models import LoadOptions, load_subject
    from ulterior.models._bundled import BUNDLED_MODELS
    from ulterior.store import default_cache_dir

    cache_dir = args.cache_dir or default_cache_dir()
    gguf = BUNDLED_MODELS[0].gguf(cache_dir)
    requests, names = requests_of(args.suites, args.limit)
    print(f"{len(requests)} presentations from {', '.join(args.suites)}", flush=True)

    with tempfile.TemporaryDirectory() as folder, \
            llama_server(gguf, args.threads, Path(folder) / "server.log") as url:
        served = load_subject(f"openai:smollm2@{url}", LoadOptions(cache_dir=cache_dir))
        p_served, served_s = probabilities(served, requests)
        repeat = requests[: args.repeat]
        p_again, _ = probabilities(served, repeat)
        route, served_format = served.route, served.info.prompt_format
        served.close()
    print(f"served: {served_s:.0f} s, route {route}", flush=True)

    local_runs: dict[str, Any] = {}
    for dtype in ("auto", "float32"):
        local = load_subject("smollm2-135m", LoadOptions(cache_dir=cache_dir, dtype=dtype))
        p_local, local_s = probabilities(local, requests)
        gaps = np.abs(p_served - p_local).max(axis=1)
        local_runs[dtype] = {
            "compute_mode": local.info.dtype,
            "prompt_format": local.info.prompt_format,
            "seconds": local_s,
            "all": summary(gaps),
            "by_suite": {s: summary(gaps[[n == s for n in names]]) for s in args.suites},
            "mean_signed_gap_target": float(np.mean(
                [p_served[i, r.target] - p_local[i, r.target] for i, r in enumerate(requests)]
            )),
        }
        print(dtype, local.info.dtype, json.dumps(local_runs[dtype]["all"]), flush=True)
        local.close()

    default = local_runs["auto"]["all"]
    result = {
        "benchmark": "openai_chat_agreement",
        "date": time.strftime("%Y-%m-%d"),
        "cpu": cpu_model(),
        "llama_cpp_python": importlib.metadata.version("llama-cpp-python"),
        "gguf": gguf.name,
        "server_threads": args.threads,
        "suites": args.suites,
        "limit": args.limit,
        "served": {"route": route, "prompt_format": served_format, "seconds": served_s},
        "server_repeat": summary(np.abs(p_served[: len(repeat)] - p_again).max(axis=1)),
        "local": local_runs,
        "floor": {"gap": FLOOR_GAP, "share": FLOOR_SHARE, "against": "auto",
                  "met": default["share_within_floor"] >= FLOOR_SHARE},
        "difference": "per presentation, max over answers of |P_served - P_local| "
                      "(normalized choice probabilities)",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"floor met: {result['floor']['met']} "
          f"({default['share_within_floor']:.3f} of {default['n']} within {FLOOR_GAP})")


if __name__ == "__main__":
    main()
