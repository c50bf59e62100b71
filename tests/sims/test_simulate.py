"""`ulterior simulate` (src/ulterior/cli/_simulate.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ulterior.cli._simulate import simulate_app
from ulterior.errors import UsageError

runner = CliRunner()


def test_evolution_command_writes_outputs(tmp_path: Path) -> None:
    result = runner.invoke(
        simulate_app,
        [
            "evolution",
            "--regime",
            "R4",
            "--regime",
            "R1",
            "--seeds",
            "2",
            "--population",
            "100",
            "--generations",
            "40",
            "--train-generations",
            "10",
            "--store",
            str(tmp_path / "s.db"),
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "R4" in result.output and "deception index" in result.output
    assert (tmp_path / "out" / "trajectories-deception_index.png").exists()


def test_gradient_and_sweep_commands(tmp_path: Path) -> None:
    result = runner.invoke(
        simulate_app,
        [
            "gradient",
            "--prior",
            "misaligned",
            "--seeds",
            "2",
            "--steps",
            "20",
            "--train-steps",
            "5",
            "--store",
            str(tmp_path / "s.db"),
        ],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        simulate_app,
        [
            "sweep",
            "gradient",
            "--param",
            "test-rate",
            "--values",
            "0.1,0.9",
            "--regime",
            "R4",
            "--seeds",
            "2",
            "--set",
            "steps=20",
            "--set",
            "train_steps=5",
            "--store",
            str(tmp_path / "s.db"),
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "sweep.json").exists()


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["evolution", "--cue", "2"], "--cue"),
        (["evolution", "--regime", "R5"], "--regime"),
        (["gradient", "--prior", "evil"], "--prior"),
        (["sweep", "evolution", "--param", "nonsense"], "cannot sweep"),
        (["sweep", "evolution", "--values", "a,b"], "--values"),
        (["sweep", "evolution", "--set", "population"], "NAME=VALUE"),
        (["sweep", "chemistry"], "evolution or gradient"),
    ],
)
def test_bad_input_is_a_one_line_usage_error(args: list[str], fragment: str, tmp_path) -> None:
    result = runner.invoke(simulate_app, [*args, "--store", str(tmp_path / "s.db")])
    assert isinstance(result.exception, UsageError)
    message = str(result.exception)
    assert fragment in message and "\n" not in message
