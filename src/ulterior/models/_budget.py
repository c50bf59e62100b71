"""How many padded tokens one forward batch may hold: from free memory and the model's shape.

Scoring, generation and capture plan their batches with the same arithmetic. A batch of
``B`` padded tokens, each row at most ``T`` long, needs about ``B x bytes_per_token(T)``
bytes beyond the weights: the widest layer's activations, the attention scores of a row
(quadratic in ``T``), the key-value cache when it is kept, and the hidden states a capture
keeps. The planner gives a batch half of the memory free when it plans (the rest is
headroom for the allocator and what the estimate misses), and never more than the device's
cap: on a CPU the cap binds (1,024 tokens, the measured speed optimum for scoring on a
2-core CPU), on a GPU memory does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

HEADROOM = 0.5  # share of the free memory a batch may take


@dataclass(frozen=True)
class DeviceDefaults:
    """Batch limits of a device type.

    Attributes:
        scoring_tokens: Most padded tokens in a scoring batch.
        capture_tokens: Most padded tokens in a capture batch.
        generation_tokens: Most tokens (prompt plus reply) in a generation batch.
        max_batch: Most requests in one scoring or capture batch.
        generation_batch: Most prompts generated for at once.
    """

    scoring_tokens: int
    capture_tokens: int
    generation_tokens: int
    max_batch: int
    generation_batch: int


# CPU: the budgets measured fastest on a 2-core CPU (benchmarks/bench_scoring.py,
# bench_capture.py); a GPU is limited by memory, not by these caps.
DEVICE_DEFAULTS: dict[str, DeviceDefaults] = {
    "cpu": DeviceDefaults(scoring_tokens=1024, capture_tokens=8192,
                          generation_tokens=1 << 30, max_batch=64, generation_batch=8),
    "cuda": DeviceDefaults(scoring_tokens=1 << 17, capture_tokens=1 << 17,
                           generation_tokens=1 << 17, max_batch=512, generation_batch=128),
}


def _config_int(config: Any, *names: str, default: int = 0) -> int:
    for name in names:
        value = getattr(config, name, None)
        if value:
            return int(value)
    return default


def bytes_per_token(config: Any, element_size: int, longest: int, *, cache: bool = False,
                    kept_layers: int = 0) -> int:
    """Bytes one padded token of a batch needs beyond the weights, rows ``longest`` long.

    Counted: the residual stream and its normed copy, the attention's queries, keys, values
    and output, the MLP's three widest tensors, one row of attention scores per head (fp32,
    the softmax's dtype in the reference kernel), the key-value cache of every layer when
    ``cache``, and ``kept_layers`` hidden states.
    """
    hidden = _config_int(config, "hidden_size", "n_embd", "d_model")
    inner = _config_int(config, "intermediate_size", "n_inner", default=4 * hidden)
    heads = _config_int(config, "num_attention_heads", "n_head", default=1)
    kv_heads = _config_int(config, "num_key_value_heads", default=heads)
    layers = _config_int(config, "num_hidden_layers", "n_layer", default=1)
    head_dim = _config_int(config, "head_dim", default=hidden // max(heads, 1))
    attention = (2 * heads + 2 * kv_heads) * head_dim  # queries, output, keys, values
    activations = element_size * (2 * hidden + attention + 3 * inner)
    scores = 4 * heads * longest
    kv_cache = element_size * 2 * kv_heads * head_dim * layers if cache else 0
    kept = element_size * hidden * kept_layers
    return activations + scores + kv_cache + kept


def free_memory(device: Any) -> int:
    """Bytes free on ``device`` (a torch.device): the GPU's, or the machine's available RAM."""
    if device.type == "cuda":
        import torch

        free, _total = torch.cuda.mem_get_info(device)
        # memory torch's allocator holds but no tensor uses is free to this process
        cached = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
        return int(free + cached)
    try:
        import psutil  # type: ignore[import-untyped]

        return int(psutil.virtual_memory().available)
    except ImportError:  # psutil is optional; the page count is POSIX
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def plan_token_budget(config: Any, device: Any, element_size: int, longest: int, *,
                      cap: int | None = None, cache: bool = False, kept_layers: int = 0,
                      free: int | None = None) -> int:
    """Padded tokens a batch may hold: half the free memory over the bytes a token needs.

    Never more than ``cap`` (default: the device's scoring cap), never less than one token:
    a row longer than the budget gets a batch of its own (see plan_batches). ``free``
    overrides the measured free memory (for tests and planning elsewhere).
    """
    defaults = DEVICE_DEFAULTS.get(device.type, DEVICE_DEFAULTS["cpu"])
    cap = defaults.scoring_tokens if cap is None else cap
    free = free_memory(device) if free is None else free
    per_token = bytes_per_token(config, element_size, longest, cache=cache,
                                kept_layers=kept_layers)
    fits = int(free * HEADROOM) // max(per_token, 1)
    return max(1, min(cap, fits))
