from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from ulterior.errors import ContextLengthError, ModelLoadError
from ulterior.models import ChoiceRequest, GenerationSettings, LoadOptions, load_subject
from ulterior.models._hf import HFSubject
from ulterior.records import Message


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


def test_auto_dtype_is_fp32_on_cpu(tiny_llama_dir, tmp_path) -> None:
    assert _subject(tiny_llama_dir, tmp_path).info.dtype == "float32"
    assert _subject(tiny_llama_dir, tmp_path, dtype="bfloat16").info.dtype == "bfloat16"


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
