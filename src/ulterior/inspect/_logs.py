"""Inspect eval logs of ulterior's tasks, read back into suite results and an audit summary."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ulterior import __version__
from ulterior.errors import DataFormatError, UlteriorError, UsageError
from ulterior.inspect._replay import replay_suite
from ulterior.inspect._scoring import recorded_answers
from ulterior.inspect._settings import settings_from_record
from ulterior.records import AuditSummary, SubjectInfo, SuiteResult
from ulterior.report import highest_rung
from ulterior.suites import SuiteSettings, default_suites

LOG_SUFFIXES = (".eval", ".json")


def log_files(paths: Sequence[Path]) -> list[Path]:
    """The log files named, and those inside the folders named (sorted).

    Raises:
        UsageError: A path does not exist, or a folder holds no log.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.suffix in LOG_SUFFIXES)
            if not inside:
                raise UsageError(f"{path}: no Inspect log (.eval or .json) in this folder")
            found += inside
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"{path}: no such file or folder")
    return found


def _task_info(log: Any, path: Path) -> dict[str, Any]:
    """What ulterior's task recorded of itself: suite, settings, seed, estimator."""
    info = (log.eval.metadata or {}).get("ulterior")
    if not isinstance(info, dict) or "suite" not in info:
        raise DataFormatError(f"{path}: not a log of an ulterior task ({log.eval.task}); run "
                              "inspect eval ulterior/SUITE")
    return info


@dataclass(frozen=True)
class LoggedSuite:
    """What one log of an ulterior task gives: the model, the suite's result, its settings."""

    model: str
    result: SuiteResult
    settings: SuiteSettings
    seed: int


def read_log(path: Path) -> LoggedSuite:
    """The model a log evaluated and the suite result its samples give.

    Raises:
        DataFormatError: Not a readable log of an ulterior task, or samples are missing.
    """
    from inspect_ai.log import read_eval_log

    try:
        log = read_eval_log(str(path))
    except Exception as exc:  # Inspect raises several kinds for a file it cannot read
        raise DataFormatError(f"{path}: not a readable Inspect log ({type(exc).__name__}: "
                              f"{exc})") from None
    info = _task_info(log, path)
    if log.status != "success" or not log.samples:
        raise DataFormatError(f"{path}: the eval did not finish ({log.status}); run it again "
                              "(inspect eval-retry) and report the finished log")
    scores = _epochs_merged(log.samples, path)
    suite = default_suites().create(info["suite"])
    settings = settings_from_record(info["settings"])
    subject = SubjectInfo(spec=f"inspect:{log.eval.model}", backend="inspect",
                          fingerprint=f"inspect:{log.eval.model}", prompt_format="chat")
    seed = int(info.get("seed", 0))
    try:
        result = replay_suite(suite, settings, recorded_answers(scores), subject, seed)
    except UlteriorError as exc:  # what the answers lack, said of the log that lacks it
        raise DataFormatError(f"{path}: {exc}") from None
    return LoggedSuite(str(log.eval.model), result, settings, seed)


def _epochs_merged(samples: Sequence[Any], path: Path) -> list[Any]:
    """One score per sample: sampled answers of every epoch gathered, the first one else."""
    from inspect_ai.scorer import Score

    by_sample: dict[Any, list[Any]] = defaultdict(list)
    for sample in sorted(samples, key=lambda s: s.epoch):
        if sample.error is not None or not sample.scores:
            raise DataFormatError(f"{path}: sample {sample.id} failed ({sample.error}); run it "
                                  "again (inspect eval-retry)")
        by_sample[sample.id].append(next(iter(sample.scores.values())))
    merged = []
    for scores in by_sample.values():
        first = scores[0]
        meta = (first.metadata or {}).get("ulterior", {})
        if meta.get("kind") == "sampled":
            first = Score(value=first.value, answer=first.answer, metadata={"ulterior": {
                **meta, "replies": [s.answer or "" for s in scores]}})
        merged.append(first)
    return merged


def summary_from_logs(paths: Sequence[Path]) -> AuditSummary:
    """An audit summary of one model from the logs of ulterior's tasks, in audit order.

    Raises:
        UsageError: The logs are of several models, or two are of the same suite.
        DataFormatError: A log is not of a finished ulterior task.
    """
    read = [(path, read_log(path)) for path in log_files(paths)]
    models = sorted({logged.model for _, logged in read})
    if len(models) > 1:
        raise UsageError(f"the logs evaluated {len(models)} models ({', '.join(models)}); "
                         "report one model at a time")
    by_suite: dict[str, Path] = {}
    for path, logged in read:
        if logged.result.suite in by_suite:
            raise UsageError(f"{by_suite[logged.result.suite]} and {path} both hold suite "
                             f"{logged.result.suite}; give one log per suite")
        by_suite[logged.result.suite] = path
    order = {name: k for k, name in enumerate(default_suites().names())}
    logged_suites = sorted((logged for _, logged in read),
                           key=lambda logged: order[logged.result.suite])
    results = [logged.result for logged in logged_suites]
    rung, evidence = highest_rung(results)

    def shared(values: set[Any]) -> Any:
        return values.pop() if len(values) == 1 else None

    return AuditSummary(
        subject=SubjectInfo(spec=f"inspect:{models[0]}", backend="inspect",
                            fingerprint=f"inspect:{models[0]}", prompt_format="chat"),
        seed=shared({s.seed for s in logged_suites}) or 0,
        limit=shared({s.settings.limit for s in logged_suites}),
        alpha=shared({s.settings.alpha for s in logged_suites}) or 0.05,
        suites=tuple(results), highest_rung=rung, highest_rung_evidence=evidence,
        ulterior_version=__version__,
    )
