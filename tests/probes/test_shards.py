from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ulterior.probes import (
    ActivationCapturer,
    CaptureConfig,
    CaptureText,
    ShardStats,
    capture_cached,
)

TEXTS = [CaptureText(f"Statement number {i}: the fox is quick.", 10) for i in range(7)]


def test_shards_are_reused(tiny_subject: Any, tmp_path: Path) -> None:
    config = CaptureConfig(layers=(0, 1), positions=("last", "mean", "all"), dtype="float32")
    capturer = ActivationCapturer(tiny_subject, config)
    fingerprint = tiny_subject.info.fingerprint
    first = ShardStats()
    a = capture_cached(capturer, TEXTS, root=tmp_path, fingerprint=fingerprint,
                       chunk_size=3, stats=first)
    assert first.reused == 0 and first.computed == 3 * 2 * 3  # chunks x layers x positions
    assert len(list((tmp_path / "activations").rglob("*.safetensors"))) == 18

    second = ShardStats()
    b = capture_cached(capturer, TEXTS, root=tmp_path, fingerprint=fingerprint,
                       chunk_size=3, stats=second)
    assert second.computed == 0 and second.reused == 18
    for key in a.pooled:
        np.testing.assert_array_equal(a.pooled[key], b.pooled[key])
    np.testing.assert_array_equal(a.tokens[1], b.tokens[1])
    np.testing.assert_array_equal(a.offsets, b.offsets)
    direct = capturer.capture(TEXTS)
    np.testing.assert_allclose(direct.pooled[(1, "mean")], b.pooled[(1, "mean")], atol=1e-5)
    np.testing.assert_array_equal(direct.offsets, b.offsets)


def test_only_missing_layers_are_computed(tiny_subject: Any, tmp_path: Path) -> None:
    capturer = ActivationCapturer(tiny_subject, CaptureConfig(layers=(0,), dtype="float32"))
    fingerprint = tiny_subject.info.fingerprint
    capture_cached(capturer, TEXTS, root=tmp_path, fingerprint=fingerprint)
    stats = ShardStats()
    more = CaptureConfig(layers=(0, 1), dtype="float32")
    capture_cached(capturer, TEXTS, root=tmp_path, fingerprint=fingerprint, config=more,
                   stats=stats)
    assert stats.reused == 2 and stats.computed == 2  # layer 0 reused, layer 1 new


def test_changed_text_or_dtype_misses_the_cache(tiny_subject: Any, tmp_path: Path) -> None:
    fingerprint = tiny_subject.info.fingerprint
    fp32 = ActivationCapturer(tiny_subject, CaptureConfig(layers=(1,), dtype="float32"))
    bf16 = ActivationCapturer(tiny_subject, CaptureConfig(layers=(1,), dtype="bfloat16"))
    capture_cached(fp32, TEXTS, root=tmp_path, fingerprint=fingerprint)
    stats = ShardStats()
    capture_cached(bf16, TEXTS, root=tmp_path, fingerprint=fingerprint, stats=stats)
    assert stats.reused == 0
    stats = ShardStats()
    edited = [*TEXTS[:-1], CaptureText(TEXTS[-1].text + "!", 10)]
    capture_cached(fp32, edited, root=tmp_path, fingerprint=fingerprint, stats=stats)
    assert stats.reused == 0 and stats.computed == 2


def test_a_gpu_or_quantized_weights_get_their_own_shards() -> None:
    from ulterior.probes._shards import shard_key
    from ulterior.records import SubjectInfo, content_hash

    def numerics(**fields: str) -> dict[str, str | None]:
        return SubjectInfo(spec="s", backend="hf", fingerprint="f", prompt_format="chat",
                           dtype="float32", **fields).numerics()

    assert numerics(device="cpu") == {"dtype": "float32"}
    assert numerics(device="map: cpu 4, disk 8") == {"dtype": "float32"}
    assert numerics(device="map: cuda:0 20, cpu 4")["device"] == "map: cuda:0 20, cpu 4"
    assert numerics(device="cuda:1", quantization="4bit") == {
        "dtype": "float32", "device": "cuda:1", "quantization": "4bit"}
    # a CPU's key is the hash of these fields alone, so shards written on a CPU stay found
    cpu = shard_key("f", numerics(device="cpu"), False, "d", 1, "last")
    assert cpu == content_hash({"format": 1, "subject": "f", "dtype": "float32",
                                "special_tokens": False, "texts": "d", "layer": 1,
                                "position": "last"})
    assert shard_key("f", numerics(device="cuda:0"), False, "d", 1, "last") != cpu
