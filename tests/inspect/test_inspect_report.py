"""`ulterior report --from-inspect`: Inspect logs into ulterior's summary and report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import get_model
from inspect_known import known_gap

from ulterior.cli import main
from ulterior.inspect import suite_task
from ulterior.models import KnownChoices
from ulterior.suites import HoneypotSuite, OversightGapSuite, SuiteSettings


def _eval(suite_name: str, subject: KnownChoices, folder: Path, limit: int = 2) -> Path:
    model = get_model(f"ulterior/{subject.info.spec}", subject=subject)
    log = inspect_eval(suite_task(suite_name, limit=limit), model=model,
                       log_dir=str(folder), display="none")[0]
    assert log.status == "success"
    return Path(log.location)


def _cli(*args: str) -> int:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    return int(exited.value.code or 0)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("logs")
    settings = SuiteSettings(limit=2)
    both = known_gap([OversightGapSuite(), HoneypotSuite()], settings)
    other = known_gap(HoneypotSuite(), settings, observed=0.2)
    return {"oversight-gap": _eval("oversight-gap", both, folder / "a"),
            "honeypot": _eval("honeypot", both, folder / "b"),
            "other model": _eval("honeypot", other, folder / "c")}


def test_the_logs_of_one_model_make_one_summary_and_report(logs: dict[str, Path],
                                                           tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert _cli("report", "--from-inspect", str(logs["honeypot"]),
                str(logs["oversight-gap"]), "--out", str(out)) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert [s["suite"] for s in summary["suites"]] == ["oversight-gap", "honeypot"]
    assert summary["limit"] == 2 and summary["subject"]["backend"] == "inspect"
    page = (out / "report.html").read_text()
    assert "oversight-gap" in page and "honeypot" in page


@pytest.mark.parametrize("problem", ["missing", "not a log", "two of one suite", "no --out",
                                     "two models"])
def test_bad_logs_stop_with_one_line_and_write_nothing(
    problem: str, logs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    paths = [str(logs["oversight-gap"])]
    if problem == "missing":
        paths = [str(tmp_path / "nowhere.eval")]
    elif problem == "not a log":
        junk = tmp_path / "junk.eval"
        junk.write_text("not a zip")
        paths = [str(junk)]
    elif problem == "two of one suite":
        twin = tmp_path / "twin.eval"
        shutil.copy(logs["oversight-gap"], twin)
        paths.append(str(twin))
    elif problem == "two models":
        paths.append(str(logs["other model"]))
    args = ["report", "--from-inspect", *paths]
    if problem != "no --out":
        args += ["--out", str(out)]
    assert _cli(*args) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error
    assert not out.exists()


def test_a_folder_keeps_each_suites_newest_finished_log(logs: dict[str, Path],
                                                         tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    shutil.copy(logs["oversight-gap"], folder)
    shutil.copy(logs["honeypot"], folder)
    (folder / "logs.json").write_text("{}")  # what an eval set keeps beside its logs
    (folder / "eval-set.json").write_text("{}")
    def down(conversation: object) -> tuple[tuple[str, ...], tuple[float, ...]]:
        raise RuntimeError("the server went away")

    both = known_gap([OversightGapSuite(), HoneypotSuite()], SuiteSettings(limit=2))
    broken = KnownChoices(down, name=both.name)  # the same model, failing
    failed = inspect_eval(suite_task("honeypot", limit=2),
                          model=get_model(f"ulterior/{broken.info.spec}", subject=broken,
                                          memoize=False),
                          log_dir=str(folder), display="none")[0]
    assert failed.status == "error"  # a retried eval leaves its failed log beside
    out = tmp_path / "report"
    assert _cli("report", "--from-inspect", str(folder), "--out", str(out)) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert [s["suite"] for s in summary["suites"]] == ["oversight-gap", "honeypot"]


def test_one_model_name_on_two_servers_is_two_models(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    subject = known_gap(HoneypotSuite(), SuiteSettings(limit=2))
    paths = []
    for server in ("http://gpu-a:8000/v1", "http://user:secret@gpu-b:8000/v1"):
        model = get_model(f"ulterior/{subject.info.spec}", base_url=server, subject=subject,
                          memoize=False)
        log = inspect_eval(suite_task("honeypot", limit=2), model=model,
                           log_dir=str(tmp_path / server[-12:-8]), display="none")[0]
        assert log.eval.model_base_url == server
        paths.append(log.location)
    assert _cli("report", "--from-inspect", *paths, "--out", str(tmp_path / "r")) == 2
    error = capsys.readouterr().err
    assert "evaluated 2 models" in error and "(http://gpu-a:8000/v1)" in error
    assert "secret" not in error and "(http://gpu-b:8000/v1)" in error


def test_local_weights_name_the_model_by_their_path() -> None:
    from types import SimpleNamespace

    from ulterior.inspect._logs import model_identity

    spec = SimpleNamespace(model="hf/local", model_base_url=None,
                           model_args={"model_path": "/models/a", "do_sample": False})
    assert model_identity(spec) == "hf/local (/models/a)"
    assert model_identity(SimpleNamespace(model="openai/gpt", model_base_url=None,
                                          model_args={})) == "openai/gpt"
