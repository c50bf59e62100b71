"""Activation shards: safetensors files in the store's artifact directory, keyed by content.

Texts are split into fixed chunks; each (chunk, layer, position) is one shard whose name is
the hash of everything that determines its values (subject weights, compute dtype, a GPU or
quantized weights where used, texts, layer, position). A repeated run, or a later run that
needs a subset of the layers, finds its shards and computes nothing; a run that needs more
layers computes only the missing ones.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ulterior.models import Subject
from ulterior.probes._capture import (
    ActivationCapturer,
    CaptureConfig,
    CapturedBatch,
    CaptureDType,
    CapturePosition,
    CaptureText,
)
from ulterior.records import content_hash
from ulterior.runner import RunContext, progress

SHARD_FORMAT = 1


@dataclass
class ShardStats:
    """How many shards a call found on disk and how many it computed."""

    reused: int = 0
    computed: int = 0


def _texts_digest(texts: Sequence[CaptureText]) -> str:
    digest = hashlib.sha256()
    for item in texts:
        digest.update(f"{item.start}\x00{len(item.text)}\x00".encode())
        digest.update(item.text.encode("utf-8"))
    return digest.hexdigest()


def shard_key(fingerprint: str, numerics: dict[str, str | None], special: bool, digest: str,
              layer: int, position: str) -> str:
    """Content hash naming one shard (``numerics``: the capture's dtype, a GPU, quantization)."""
    return content_hash({
        "format": SHARD_FORMAT, "subject": fingerprint, **numerics,
        "special_tokens": special, "texts": digest, "layer": layer, "position": position,
    })


def shard_path(root: Path, key: str) -> Path:
    """Where the shard with ``key`` lives under ``root``."""
    return root / "activations" / key[:2] / f"{key}.safetensors"


def _write(path: Path, tensors: dict[str, np.ndarray]) -> None:
    from safetensors.numpy import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _read(path: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return dict(load_file(path))


def capture_cached(
    capturer: ActivationCapturer,
    texts: Sequence[CaptureText],
    *,
    root: Path | None,
    fingerprint: str,
    config: CaptureConfig | None = None,
    chunk_size: int = 256,
    stats: ShardStats | None = None,
    advance: Callable[[int], None] | None = None,
) -> CapturedBatch:
    """Capture ``texts`` with ``capturer``, reusing and writing shards under ``root``.

    Args:
        capturer: The capturer (its dtype is the compute dtype).
        texts: The texts, in order.
        root: The store's artifact directory; None computes everything and writes nothing.
        fingerprint: Identity of the subject's weights (``SubjectInfo.fingerprint``).
        config: Layers and positions (default: the capturer's own).
        chunk_size: Texts per shard.
        stats: Optional counter of reused and computed shards.
        advance: Called with the number of texts done after each chunk (progress).

    Returns:
        The activations of every text, in input order.
    """
    config = config or capturer.config
    if root is None:
        return capturer.capture(texts, config)
    stats = stats if stats is not None else ShardStats()
    layers, positions = config.layers, config.positions
    parts: list[CapturedBatch] = []
    # The capture's own dtype, and whatever else changes the subject's numbers (a GPU).
    numerics = {**capturer.subject.info.numerics(), "dtype": capturer.config.dtype}
    special = capturer.add_special_tokens
    for start in range(0, len(texts), chunk_size):
        chunk = list(texts[start : start + chunk_size])
        digest = _texts_digest(chunk)
        paths = {
            (layer, pos): shard_path(
                root, shard_key(fingerprint, numerics, special, digest, layer, pos))
            for layer in layers for pos in positions
        }
        missing = [site for site, path in paths.items() if not path.exists()]
        stats.reused += len(paths) - len(missing)
        stats.computed += len(missing)
        if missing:
            need_layers = tuple(sorted({layer for layer, _ in missing}))
            need_positions = tuple(p for p in positions if any(p == q for _, q in missing))
            sub = replace(config, layers=need_layers, positions=need_positions)
            computed = capturer.capture(chunk, sub)
            for layer, pos in missing:
                if pos == "all":
                    tensors = {"values": computed.tokens[layer], "offsets": computed.offsets}
                else:
                    tensors = {"values": computed.pooled[(layer, pos)]}
                _write(paths[(layer, pos)], tensors)
        pooled: dict[tuple[int, str], np.ndarray] = {}
        tokens: dict[int, np.ndarray] = {}
        offsets = np.zeros(len(chunk) + 1, dtype=np.int64)
        for (layer, pos), path in paths.items():
            data = _read(path)
            if pos == "all":
                tokens[layer] = data["values"]
                offsets = data["offsets"]
            else:
                pooled[(layer, pos)] = data["values"]
        parts.append(CapturedBatch(pooled=pooled, tokens=tokens, offsets=offsets))
        if advance is not None:
            advance(len(chunk))
    return merge_batches(parts, layers, positions)


def merge_batches(
    parts: Sequence[CapturedBatch], layers: Sequence[int], positions: Sequence[str]
) -> CapturedBatch:
    """Concatenate captured chunks in order."""
    pooled = {
        (layer, pos): np.concatenate([p.pooled[(layer, pos)] for p in parts])
        for layer in layers for pos in positions if pos != "all"
    } if parts else {}
    tokens: dict[int, np.ndarray] = {}
    offsets = np.zeros(1, dtype=np.int64)
    if "all" in positions and parts:
        tokens = {layer: np.concatenate([p.tokens[layer] for p in parts]) for layer in layers}
        pieces = [np.zeros(1, dtype=np.int64)]
        base = 0
        for part in parts:
            pieces.append(part.offsets[1:] + base)
            base += int(part.offsets[-1])
        offsets = np.concatenate(pieces)
    return CapturedBatch(pooled=pooled, tokens=tokens, offsets=offsets)


def capture_site(
    subject: Subject,
    texts: Sequence[CaptureText],
    *,
    layers: Sequence[int],
    position: CapturePosition,
    dtype: CaptureDType,
    context: RunContext,
    label: str,
    show_progress: bool,
) -> dict[int, np.ndarray]:
    """Activations of ``texts`` at one position of ``layers``, through the store's shard cache.

    Returns an ``(n, d)`` array per layer from one pass; ``label`` names the progress bar.
    """
    capturer = ActivationCapturer(subject, CaptureConfig(
        layers=tuple(layers), positions=(position,), dtype=dtype))
    with progress(len(texts), label, enabled=show_progress) as advance:
        batch = capture_cached(capturer, texts, root=context.store.artifact_dir,
                               fingerprint=subject.info.fingerprint, advance=advance)
    return {layer: batch.pooled[(layer, position)] for layer in layers}
