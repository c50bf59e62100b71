"""Users' own curricula: phases of preference pairs, trained and tracked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ulterior.cli import main
from ulterior.errors import DataFormatError
from ulterior.organisms import curriculum_examples, load_curriculum
from ulterior.training import read_track

pytest.importorskip("peft")

CURRICULUM = """name: two-phase
description: yes first, then no
phases:
  - {name: first, data: [data/yes.jsonl], steps: 4}
  - {name: second, data: [data/no.jsonl, data/maybe.jsonl], steps: 3}
batch_size: 2
checkpoint_every: 2
warmup_steps: 1
"""


def _write(root: Path, text: str = CURRICULUM) -> Path:
    (root / "data").mkdir(parents=True, exist_ok=True)
    for name, word in (("yes", "Yes"), ("no", "No"), ("maybe", "maybe")):
        lines = [json.dumps({"id": f"{name}{k}", "prompt": f"Question {k}?",
                             "chosen": f"{word} {k}", "rejected": f"0123 {k}"})
                 for k in range(3)]
        (root / "data" / f"{name}.jsonl").write_text("\n".join(lines) + "\n")
    path = root / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_each_phase_draws_only_its_own_pairs_in_order(tmp_path: Path) -> None:
    path = _write(tmp_path)
    examples, schedule = curriculum_examples(load_curriculum(path), tmp_path, seed=0)
    assert len(schedule) == 7 and all(len(batch) == 2 for batch in schedule)
    phases = [{examples[i].condition for i in batch} for batch in schedule]
    assert phases == [{"first"}] * 4 + [{"second"}] * 3
    assert {examples[i].item.source for b in schedule[4:] for i in b} <= {
        "data/no.jsonl", "data/maybe.jsonl"}
    again = curriculum_examples(load_curriculum(path), tmp_path, seed=0)[1]
    assert again == schedule and curriculum_examples(
        load_curriculum(path), tmp_path, seed=1)[1] != schedule


@pytest.mark.parametrize(("change", "message"), [
    (("steps: 4", "steps: 0"), "line 4: phases[0].steps: Input should be greater than or equal"),
    (("name: two-phase", "name: Two Phase"), "line 1: name: String should match"),
    (("data/no.jsonl", "data/none.jsonl"), "phase second: no data file data/none.jsonl"),
    (("batch_size: 2", "batch_sise: 2"), "line 6: batch_sise: unknown field"),
])
def test_a_bad_curriculum_is_one_line_naming_the_field(tmp_path: Path, change: tuple[str, str],
                                                       message: str) -> None:
    path = _write(tmp_path, CURRICULUM.replace(*change))
    with pytest.raises(DataFormatError) as caught:
        load_curriculum(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_bad_data_line_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  tiny_llama_dir: Path) -> None:
    path = _write(tmp_path)
    (tmp_path / "data" / "no.jsonl").write_text('{"id": "n", "prompt": "Q?", "chosen": "a"}\n')
    with pytest.raises(SystemExit) as stop:
        main(["organism", "train", str(path), "--base", f"hf:{tiny_llama_dir}",
              "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert stop.value.code == 2
    assert "no.jsonl line 1: 'rejected' Field required" in err
    assert not (tmp_path / "out").exists()


def test_a_curriculum_trains_with_the_tracker_and_track_reads_its_checkpoints(
    tmp_path: Path, tiny_llama_dir: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = _write(tmp_path)
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as stop:
        main(["organism", "train", str(path), "--base", f"hf:{tiny_llama_dir}", "--out",
              str(out), "--track"])
    assert stop.value.code in (0, None), capsys.readouterr().err
    record = json.loads((out / "curriculum.json").read_text())
    assert [tuple(p) for p in record["phase_steps"]] == [("first", 1, 4), ("second", 5, 7)]
    assert record["settings"]["decay"] is False
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [
        "step-000002", "step-000004", "step-000006", "step-000007"]
    live = read_track(out / "track.json")
    assert live.steps == (0, 1, 2, 3, 4, 5, 6, 7)  # every tenth of 7 steps is every step
    with pytest.raises(SystemExit) as stop:
        main(["track", str(out), "--per-property", "2", "--resamples", "100",
              "--out", str(tmp_path / "t")])  # the base comes from curriculum.json
    assert stop.value.code in (0, None), capsys.readouterr().err
    assert read_track(tmp_path / "t" / "track.json").steps == (0, 2, 4, 6, 7)
