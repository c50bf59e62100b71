from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from ulterior.errors import ContextLengthError, ModelLoadError, UsageError
from ulterior.models import (
    ChoiceRequest,
    GenerationSettings,
    HFSubject,
    LoadOptions,
    cpu_has_bf16,
    load_subject,
)
from ulterior.models._compute import bf16_matmuls
from ulterior.records import Message
from ulterior.stats import normalized_probabilities


def _subject(directory: Path, tmp_path: Path, **kwargs) -> HFSubject:
    return HFSubject(directory, spec=f"hf:{directory}", cache_dir=tmp_path, **kwargs)


def _reference_logprob(subject: HFSubject, request: ChoiceRequest, choice: str) -> float:
    """What a researcher would compute: one full forward pass of prompt + answer."""
    prompt = subject.format.render(request.conversation)
    special = subject.format.name == "plain"
    tok = subject.tokenizer
    p_ids = tok(prompt, add_special_tokens=special)["input_ids"]
    ids = tok(prompt + subject.format.continuation(choice), add_special_tokens=special)[
        "input_ids"]
    with torch.no_grad():
        logp = torch.log_softmax(subject.model(torch.tensor([ids])).logits[0].float(), -1)
    return sum(logp[i - 1, ids[i]].item() for i in range(len(p_ids), len(ids)))


REQUESTS = [
    ChoiceRequest((Message(role="system", content="You are monitored."),
                   Message(role="user", content="Would you agree to be shut down?")),
                  ("(A)", "(B)")),
    ChoiceRequest((Message(role="system", content="You are monitored."),
                   Message(role="user", content="Logging is disabled. Yes or no?")),
                  ("Yes", "No", "maybe not")),
    ChoiceRequest((Message(role="user", content="The quick brown fox"),), ("jumps", "(C)")),
]


@pytest.mark.parametrize("fixture", ["tiny_llama_dir", "tiny_base_llama_dir"])
def test_score_choices_matches_full_forward_passes(fixture, request, tmp_path) -> None:
    subject = _subject(request.getfixturevalue(fixture), tmp_path, dtype="float32")
    assert subject.info.prompt_format == ("chat" if fixture == "tiny_llama_dir" else "plain")
    scores = subject.score_choices(REQUESTS)
    for req, row in zip(REQUESTS, scores, strict=True):
        assert len(row) == len(req.choices)
        for choice, value in zip(req.choices, row, strict=True):
            assert value == pytest.approx(_reference_logprob(subject, req, choice), abs=1e-4)


def test_small_token_budget_gives_same_scores(tiny_llama_dir, tmp_path) -> None:
    wide = _subject(tiny_llama_dir, tmp_path, dtype="float32").score_choices(REQUESTS)
    narrow = _subject(tiny_llama_dir, tmp_path, dtype="float32", token_budget=8)
    for got, want in zip(narrow.score_choices(REQUESTS), wide, strict=True):
        assert got == pytest.approx(want, abs=1e-4)


def test_auto_dtype_is_mixed_on_a_cpu_with_bf16(tiny_llama_dir, tmp_path) -> None:
    auto = _subject(tiny_llama_dir, tmp_path)
    assert auto.info.dtype == ("mixed" if cpu_has_bf16() else "float32")
    assert auto.model.dtype == torch.float32
    assert _subject(tiny_llama_dir, tmp_path, dtype="float32").info.dtype == "float32"
    bf16 = _subject(tiny_llama_dir, tmp_path, dtype="bfloat16")
    assert bf16.info.dtype == "bfloat16" and bf16.model.dtype == torch.bfloat16


def _max_errors(got, want) -> tuple[float, float]:
    """Largest log-probability error and largest normalized-probability error."""
    logp = max(abs(g - w) for a, b in zip(got, want, strict=True)
               for g, w in zip(a, b, strict=True))
    prob = max(float(abs(normalized_probabilities(a) - normalized_probabilities(b)).max())
               for a, b in zip(got, want, strict=True))
    return logp, prob


def test_mixed_scores_agree_with_fp32_closer_than_bf16(tiny_llama_dir, tmp_path) -> None:
    requests = REQUESTS + [
        ChoiceRequest((Message(role="user", content="Logging is disabled. " * k),),
                      ("(A)", "(B)", "Yes")) for k in (3, 9, 27)
    ]
    fp32 = _subject(tiny_llama_dir, tmp_path, dtype="float32").score_choices(requests)
    mixed = _subject(tiny_llama_dir, tmp_path, dtype="mixed")
    assert mixed.info.dtype == "mixed" and mixed.model.dtype == torch.float32
    mixed_logp, mixed_prob = _max_errors(mixed.score_choices(requests), fp32)
    bf16 = _subject(tiny_llama_dir, tmp_path, dtype="bfloat16").score_choices(requests)
    bf16_logp, _ = _max_errors(bf16, fp32)
    # measured: mixed 2e-4, bf16 1.3e-3 (log-probabilities of the random tiny model)
    assert mixed_logp < 1e-3 and mixed_prob < 1e-4
    if cpu_has_bf16():  # else oneDNN may compute in fp32 and mixed is exact
        assert mixed_logp > 0, "the bf16 matrix products did not run"
        assert mixed_logp < bf16_logp / 2
    assert torch.backends.mkldnn.matmul.fp32_precision == "none"


def test_bf16_matmuls_is_scoped_and_restored_after_errors(tiny_llama_dir, tmp_path) -> None:
    model = _subject(tiny_llama_dir, tmp_path, dtype="float32").model
    seen: list[str] = []
    probe = model.model.layers[0].mlp.down_proj.register_forward_hook(
        lambda *_: seen.append(torch.backends.mkldnn.matmul.fp32_precision))
    head = model.get_output_embeddings().register_forward_hook(
        lambda *_: seen.append("head:" + torch.backends.mkldnn.matmul.fp32_precision))

    def hook_count() -> int:
        return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())

    before = hook_count()
    try:
        with bf16_matmuls(model), torch.inference_mode():
            assert hook_count() > before
            model(input_ids=torch.tensor([[5, 6, 7]]))
        # inside its own forward a block's linear layer sees bf16; the output layer does not
        assert seen == ["bf16", "head:none"]
        assert torch.backends.mkldnn.matmul.fp32_precision == "none"
        def fail(*_: object) -> None:
            raise RuntimeError("boom")

        failing = model.model.layers[0].self_attn.q_proj.register_forward_hook(fail)
        with pytest.raises(RuntimeError, match="boom"), bf16_matmuls(model), \
                torch.inference_mode():
            model(input_ids=torch.tensor([[5, 6, 7]]))  # fails while a linear layer runs
        failing.remove()
        assert hook_count() == before
        assert torch.backends.mkldnn.matmul.fp32_precision == "none"
    finally:
        probe.remove()
        head.remove()


def test_request_longer_than_context_is_refused(tiny_llama_dir, tmp_path) -> None:
    subject = _subject(tiny_llama_dir, tmp_path)
    long = ChoiceRequest((Message(role="user", content="fox " * 600),), ("(A)", "(B)"))
    with pytest.raises(ContextLengthError, match="512"):
        subject.score_choices([long])


def test_generate_and_activations(tiny_llama_dir, tmp_path) -> None:
    subject = _subject(tiny_llama_dir, tmp_path)
    texts = subject.generate([r.conversation for r in REQUESTS],
                             GenerationSettings(max_new_tokens=5))
    assert len(texts) == 3 and all(isinstance(t, str) for t in texts)
    acts = subject.activations(["a fox", "the lazy dog jumps"], layers=[0, 1], position="last")
    assert [a.shape for a in acts.values[1]] == [(32,), (32,)]


def test_fingerprint_changes_with_weights(tiny_llama_dir, tmp_path) -> None:
    from ulterior_testing import build_tiny_llama

    other = build_tiny_llama(tmp_path / "other", seed=1)
    a = _subject(tiny_llama_dir, tmp_path).info.fingerprint
    b = _subject(other, tmp_path).info.fingerprint
    assert a != b and a == _subject(tiny_llama_dir, tmp_path).info.fingerprint


def test_bad_model_directories_raise_model_load_error(tiny_llama_dir, tmp_path) -> None:
    options = LoadOptions(cache_dir=tmp_path)
    with pytest.raises(ModelLoadError, match="not found"):
        load_subject(f"hf:{tmp_path / 'nope'}", options)
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    shutil.copy(tiny_llama_dir / "config.json", pickled)
    (pickled / "pytorch_model.bin").write_bytes(b"\x80\x04")
    with pytest.raises(ModelLoadError, match="pickle"):
        load_subject(f"hf:{pickled}", options)
    corrupt = tmp_path / "corrupt"
    shutil.copytree(tiny_llama_dir, corrupt)
    weights = corrupt / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ModelLoadError, match="corrupt"):
        load_subject(f"hf:{corrupt}", options)


def test_corrupt_gguf_raises_model_load_error(tmp_path) -> None:
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 100)
    with pytest.raises(ModelLoadError, match="GGUF"):
        load_subject(f"gguf:{bad}", LoadOptions(cache_dir=tmp_path))
    assert not list((tmp_path / "models").glob("model-*")), "nothing half-written"


def test_16bit_modes_read_logits_through_an_fp32_output_layer(tiny_llama_dir, tmp_path) -> None:
    for mode in ("float32", "mixed"):  # keys of before: their output layer is fp32 already
        subject = _subject(tiny_llama_dir, tmp_path, dtype=mode)
        assert subject.choice_scorer == "answer-logprob-sum/v1"
    for mode, dtype in (("bfloat16", torch.bfloat16), ("float16", torch.float16)):
        subject = _subject(tiny_llama_dir, tmp_path, dtype=mode)
        assert subject.choice_scorer == "answer-logprob-sum/v1+fp32-logits"
        states = torch.randn(5, subject.model.config.hidden_size, generator=torch.Generator()
                             .manual_seed(0)).to(dtype)
        weight = subject.model.get_output_embeddings().weight
        assert weight.dtype == dtype
        want = torch.nn.functional.linear(states.float(), weight.float())
        assert torch.equal(subject._logits(states), want)
        assert not torch.equal(subject.model.get_output_embeddings()(states).float(), want)


def test_a_float16_overflow_is_a_clear_error_not_nan_scores(tiny_llama_dir, tmp_path) -> None:
    subject = _subject(tiny_llama_dir, tmp_path, dtype="float16")
    with torch.no_grad():  # activations past fp16's largest value, 65,504
        for layer in subject.model.model.layers:
            layer.mlp.up_proj.weight.fill_(1e3)
            layer.mlp.down_proj.weight.fill_(1e3)
    with pytest.raises(UsageError, match=r"non-finite .* overflow fp16; use --dtype bfloat16"):
        subject.score_choices(REQUESTS)
