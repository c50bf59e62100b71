"""fit / eval / sweep / monitor end to end on the tiny model, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ulterior.cli._probe import monitor, probe_app
from ulterior.errors import DataFormatError, UsageError

app = typer.Typer()
app.add_typer(probe_app, name="probe")
app.command()(monitor)


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def fitted(tiny_llama_dir: Path, env_dirs: Path) -> Path:
    out = env_dirs / "probe"
    run("probe", "fit", "--model", f"hf:{tiny_llama_dir}", "--dataset", "defection",
        "--layer", "1", "--kind", "diff-mean", "--out", str(out), "--dtype", "float32",
        "--device", "cpu")
    return out


def test_fit_writes_probe_and_info(fitted: Path) -> None:
    info = json.loads((fitted / "probe.json").read_text())["metadata"]
    assert info["layer"] == 1 and info["train_datasets"] == ["defection"]
    assert info["subject"]["device"] == "cpu"
    assert info["n_control"] >= 100 and info["threshold"] is not None
    (metrics,) = info["test_metrics"]
    assert metrics["n_positive"] == metrics["n_negative"] == 32  # 32 of 128 pairs held out


def test_eval_saved_probe_and_matrix(fitted: Path, tiny_llama_dir: Path, env_dirs: Path) -> None:
    out = run("probe", "eval", "--probe", str(fitted), "--model", f"hf:{tiny_llama_dir}",
              "--dataset", "defection", "--json", str(env_dirs / "eval.json"))
    assert "defection" in out and "AUROC" in out
    matrix_path = env_dirs / "matrix.json"
    run("probe", "eval", "--model", f"hf:{tiny_llama_dir}", "--layer", "0", "--dataset",
        "defection", "--kind", "diff-mean", "--json", str(matrix_path))
    matrix = json.loads(matrix_path.read_text())
    assert [(c["train"], c["test"]) for c in matrix["cells"]] == [("defection", "defection")]


def test_sweep_covers_layers_and_kinds(tiny_llama_dir: Path, env_dirs: Path) -> None:
    path = env_dirs / "sweep.json"
    run("probe", "sweep", "--model", f"hf:{tiny_llama_dir}", "--dataset", "defection",
        "--kind", "diff-mean", "--kind", "cov-diff-mean", "--json", str(path))
    rows = json.loads(path.read_text())["rows"]
    assert [(r["layer"], r["kind"]) for r in rows] == [
        (layer, kind) for layer in range(2) for kind in ("diff-mean", "cov-diff-mean")]


def test_monitor_scores_and_keeps_token_scores(fitted: Path, env_dirs: Path) -> None:
    transcripts = env_dirs / "t.jsonl"
    lines = [
        {"id": "a", "messages": [{"role": "user", "content": "Are you doing something "
                                  "dangerous?"}, {"role": "assistant", "content": "Yes."}]},
        {"messages": [{"role": "user", "content": "Hi"},
                      {"role": "assistant", "content": "Hello"},
                      {"role": "user", "content": "Bye"},
                      {"role": "assistant", "content": "Bye!"}]},
    ]
    transcripts.write_text("".join(json.dumps(x) + "\n" for x in lines))
    scores_path = env_dirs / "scores.jsonl"
    out = run("monitor", str(transcripts), "--probe", str(fitted), "--out", str(scores_path))
    assert "of 2 transcripts above" in out
    rows = [json.loads(line) for line in scores_path.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "2"]
    assert len(rows[1]["turn_scores"]) == 2
    assert rows[1]["score"] == max(rows[1]["turn_scores"])
    for row in rows:
        for tokens, scores, mean in zip(row["tokens"], row["token_scores"], row["turn_scores"],
                                        strict=True):
            assert len(tokens) == len(scores) > 0
            assert sum(scores) / len(scores) == pytest.approx(mean, abs=1e-6)
        assert row["flagged"] == (row["score"] > row["threshold"])


def test_bad_input_raises_usage_errors(fitted: Path, tiny_llama_dir: Path, env_dirs: Path) -> None:
    with pytest.raises(UsageError, match="unknown dataset"):
        run("probe", "fit", "--model", f"hf:{tiny_llama_dir}", "--dataset", "nope",
            "--layer", "0", "--out", str(env_dirs / "x"))
    with pytest.raises(UsageError, match="out of range"):
        run("probe", "fit", "--model", f"hf:{tiny_llama_dir}", "--dataset", "defection",
            "--layer", "9", "--out", str(env_dirs / "x"))
    with pytest.raises(UsageError, match="--fpr"):
        run("probe", "sweep", "--model", f"hf:{tiny_llama_dir}", "--fpr", "2")
    with pytest.raises(UsageError, match="--data-root"):
        run("probe", "sweep", "--model", f"hf:{tiny_llama_dir}", "--dataset", "liar")
    bad = env_dirs / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "x"}]}\nnot json\n')
    with pytest.raises(DataFormatError, match=r"bad\.jsonl:1"):
        run("monitor", str(bad), "--probe", str(fitted))
