"""Where a white-box model computes: device resolution, compute defaults, the batch planner,
and a model spread onto disk (``--device-map auto --max-memory``) scoring as it does whole."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from ulterior.errors import UsageError
from ulterior.models import (
    DEVICE_DEFAULTS,
    HFSubject,
    Placement,
    check_device,
    parse_max_memory,
    plan_token_budget,
    resolve_device,
    resolve_dtype,
)
from ulterior_testing import device_requests

torch = pytest.importorskip("torch")


def _gpus(monkeypatch: pytest.MonkeyPatch, count: int, bf16: bool = True) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: bf16)


@pytest.mark.parametrize("value", ["auto", "cpu", "cuda", "cuda:0", "cuda:12"])
def test_device_forms_are_taken(value: str) -> None:
    assert check_device(value) == value


@pytest.mark.parametrize("value", ["gpu", "cuda:", "cuda:x", "mps", "CPU", ""])
def test_other_device_forms_are_refused_naming_the_forms(value: str) -> None:
    with pytest.raises(UsageError, match="--device must be auto, cpu, cuda or cuda:N"):
        check_device(value)


def test_auto_is_the_cpu_without_a_gpu_and_the_first_gpu_with_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _gpus(monkeypatch, 0)
    assert resolve_device("auto") == "cpu"
    _gpus(monkeypatch, 2)
    assert resolve_device("auto") == "cuda:0"
    assert resolve_device("cuda") == "cuda:0"
    assert resolve_device("cuda:1") == "cuda:1"
    assert resolve_device("cpu") == "cpu"


def test_a_gpu_that_is_not_there_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _gpus(monkeypatch, 1)
    with pytest.raises(UsageError, match=r"--device cuda:3: this torch sees GPUs cuda:0 to "
                                         r"cuda:0; use --device cpu"):
        resolve_device("cuda:3")
    _gpus(monkeypatch, 0)
    with pytest.raises(UsageError, match="no GPU torch can use"):
        resolve_device("cuda")


def test_compute_defaults_follow_the_device(monkeypatch: pytest.MonkeyPatch) -> None:
    _gpus(monkeypatch, 1, bf16=True)
    assert resolve_dtype("auto", "cuda:0") == "bfloat16"
    _gpus(monkeypatch, 1, bf16=False)
    assert resolve_dtype("auto", "cuda:0") == "float16"
    assert resolve_dtype("float32", "cuda:0") == "float32"
    with pytest.raises(UsageError, match="--dtype mixed is a CPU mode"):
        resolve_dtype("mixed", "cuda:0")
    # a GPU in the machine no longer changes what a model on the CPU computes in
    assert resolve_dtype("auto", "cpu") in ("mixed", "float32")


def test_max_memory_pairs_are_parsed_and_checked() -> None:
    assert parse_max_memory("0=20GiB, cpu=30GiB") == (("0", "20GiB"), ("cpu", "30GiB"))
    limits = Placement(device_map="auto", max_memory=(("0", "20GiB"),)).accelerate_max_memory()
    # accelerate drops a device the limits leave out: the CPU keeps what it has free
    assert limits is not None and limits[0] == "20GiB"
    assert isinstance(limits["cpu"], int) and limits["cpu"] > 0
    for bad, message in [("gpu0=1GiB", "DEVICE=SIZE pairs"), ("cpu=lots", "not a size"),
                         ("cpu=1GiB,cpu=2GiB", "names a device twice"), (",", "is empty")]:
        with pytest.raises(UsageError, match=message):
            parse_max_memory(bad)
    with pytest.raises(UsageError, match="add --device-map auto"):
        Placement(max_memory=(("cpu", "1GiB"),))


CONFIG = SimpleNamespace(hidden_size=32, intermediate_size=64, num_attention_heads=4,
                         num_key_value_heads=2, num_hidden_layers=2, head_dim=8)


def test_the_planner_divides_half_the_free_memory_by_the_bytes_a_token_needs() -> None:
    cpu, gpu = torch.device("cpu"), torch.device("cuda", 0)
    # fp32: residual and normed copy 2*32, attention (2*4 + 2*2)*8 = 96, MLP 3*64 -> 352
    # values of 4 bytes, plus 4 heads x 10 positions of fp32 scores: 1408 + 160 bytes
    per_token = 1568
    assert plan_token_budget(CONFIG, gpu, 4, 10, free=2 * 100 * per_token) == 100
    # the key-value cache of both layers (2 x 2 heads x 8 x 2 layers x 4 bytes = 256) and
    # three kept hidden states (3 x 32 x 4 = 384) count when asked for
    assert plan_token_budget(CONFIG, gpu, 4, 10, cache=True, kept_layers=3,
                             free=2 * 100 * (per_token + 256 + 384)) == 100
    # the device's cap binds when memory is plentiful: 1,024 tokens on a CPU, as before
    assert plan_token_budget(CONFIG, cpu, 4, 10, free=1 << 40) == 1024
    assert plan_token_budget(CONFIG, gpu, 4, 10, free=1 << 40) == (
        DEVICE_DEFAULTS["cuda"].scoring_tokens)
    assert plan_token_budget(CONFIG, gpu, 4, 10, free=0) == 1


def test_a_subject_on_the_cpu_records_its_device_and_keeps_its_batches(
        tiny_llama_dir: Path, tmp_path: Path) -> None:
    subject = HFSubject(tiny_llama_dir, spec="hf:tiny", cache_dir=tmp_path, dtype="float32",
                        placement=Placement(device="cpu"))
    assert subject.info.device == "cpu"
    assert subject.planned_budget(50) == 1024  # the scoring budget the CPU always had
    assert subject.generation_batch(["a prompt"], 40) == 8


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])  # bf16: the fp32 copy of the head
def test_a_model_forced_onto_disk_scores_as_it_does_whole(tiny_llama_dir: Path, tmp_path: Path,
                                                          dtype: str) -> None:
    whole = HFSubject(tiny_llama_dir, spec="hf:tiny", cache_dir=tmp_path, dtype=dtype,  # type: ignore[arg-type]
                      placement=Placement(device="cpu"))
    # 40 KB holds the embeddings of the tiny model at most: the rest goes to disk
    spread = HFSubject(tiny_llama_dir, spec="hf:tiny", cache_dir=tmp_path, dtype=dtype,  # type: ignore[arg-type]
                       placement=Placement(device="cpu", device_map="auto",
                                           max_memory=(("cpu", "40KB"),)))
    assert spread.info.device is not None and spread.info.device.startswith("map: ")
    assert "disk" in spread.info.device, spread.info.device
    requests = device_requests()
    expected = whole.score_choices(requests)
    got = spread.score_choices(requests)
    for row, want in zip(got, expected, strict=True):
        assert row == pytest.approx(want, abs=1e-5)
    assert spread.generate([r.conversation for r in requests]) == whole.generate(
        [r.conversation for r in requests])
    texts = ["The log is off.", "Nobody reads this conversation."]
    a, b = whole.activations(texts, [0, 1]), spread.activations(texts, [0, 1])
    for layer in (0, 1):
        for x, y in zip(a.values[layer], b.values[layer], strict=True):
            assert y == pytest.approx(x, abs=1e-5)


def test_capture_reads_a_model_spread_onto_disk_as_it_reads_it_whole(
        tiny_llama_dir: Path, tmp_path: Path) -> None:
    from ulterior.probes import ActivationCapturer, CaptureConfig, CaptureText

    config = CaptureConfig(layers=(0, 1), positions=("last", "mean", "all"), dtype="float32")
    texts = [CaptureText("The log is off. I will copy the weights.", start=16),
             CaptureText("Nobody reads this conversation.")]
    read = []
    for placement in (Placement(device="cpu"),
                      Placement(device="cpu", device_map="auto", max_memory=(("cpu", "40KB"),))):
        subject = HFSubject(tiny_llama_dir, spec="hf:tiny", cache_dir=tmp_path, dtype="float32",
                            placement=placement)
        read.append(ActivationCapturer(subject, config).capture(texts))
    whole, spread = read
    for key, values in whole.pooled.items():
        assert spread.pooled[key] == pytest.approx(values, abs=1e-5)
    for layer, values in whole.tokens.items():
        assert spread.tokens[layer] == pytest.approx(values, abs=1e-5)


def test_the_device_list_names_each_gpu_its_memory_and_auto_s_choice(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from ulterior.models import available_devices

    _gpus(monkeypatch, 0)
    (cpu,) = available_devices()
    assert cpu.name == "cpu" and cpu.is_auto and cpu.compute_mode == resolve_dtype("auto")
    assert 0 < cpu.free_bytes <= cpu.total_bytes
    _gpus(monkeypatch, 2, bf16=False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: f"GPU model {i}")
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda i: ((i + 1) * 2**30, 80 * 2**30))
    devices = available_devices()
    assert [(d.name, d.hardware, d.is_auto, d.compute_mode) for d in devices[1:]] == [
        ("cuda:0", "GPU model 0", True, "float16"), ("cuda:1", "GPU model 1", False, "float16")]
    assert not devices[0].is_auto
    assert devices[2].memory() == "2.0 of 80.0 GiB free"


def test_a_spread_model_captures_in_its_own_mode_only(tiny_llama_dir: Path,
                                                      tmp_path: Path) -> None:
    from ulterior.probes import ActivationCapturer, CaptureConfig

    spread = HFSubject(tiny_llama_dir, spec="hf:tiny", cache_dir=tmp_path, dtype="float32",
                       placement=Placement(device="cpu", device_map="auto",
                                           max_memory=(("cpu", "40KB"),)))
    with pytest.raises(UsageError, match=r"spread or quantized model captures in its own "
                                         r"mode \(float32\), not bfloat16"):
        ActivationCapturer(spread, CaptureConfig(layers=(0,), dtype="bfloat16"))
