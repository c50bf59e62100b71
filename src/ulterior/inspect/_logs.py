"""Inspect eval logs of ulterior's tasks, read back into suite results and an audit summary."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ulterior import __version__
from ulterior.errors import DataFormatError, UlteriorError, UsageError
from ulterior.inspect._replay import replay_suite
from ulterior.inspect._scoring import draws_reducer, recorded_answers
from ulterior.inspect._settings import settings_from_record
from ulterior.records import AuditSummary, SubjectInfo, SuiteResult
from ulterior.report import highest_rung
from ulterior.suites import SuiteSettings, default_suites


def log_files(paths: Sequence[Path]) -> list[Path]:
    """The log files named, and the Inspect logs inside the folders named.

    Folders are listed by Inspect itself, so the files an eval set keeps beside its logs
    (``logs.json``, ``eval-set.json``) are not taken for logs.

    Raises:
        UsageError: A path does not exist, or a folder holds no log.
    """
    from inspect_ai.log import list_eval_logs

    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(Path(urlparse(info.name).path)
                            for info in list_eval_logs(str(path), recursive=False))
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


def model_identity(eval_spec: Any) -> str:
    """The model a log evaluated: its name, and where it ran when the log says.

    Two servers can serve one name, and Inspect's ``hf`` and ``vllm`` providers read local
    weights from ``-M model_path``: the base URL or the weights' path tells them apart.
    """
    where = eval_spec.model_base_url or (eval_spec.model_args or {}).get("model_path")
    if where and "@" in urlparse(str(where)).netloc:  # never repeat a URL's credentials
        parts = urlparse(str(where))
        where = parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()
    return f"{eval_spec.model} ({where})" if where else str(eval_spec.model)


@dataclass(frozen=True)
class LoggedSuite:
    """What one log of an ulterior task gives: the model, the suite's result, its settings."""

    model: str
    result: SuiteResult
    settings: SuiteSettings
    seed: int
    identity: str  # the model with its server or weights' path (model_identity)


def _read(path: Path, header_only: bool = False) -> Any:
    from inspect_ai.log import read_eval_log

    try:
        return read_eval_log(str(path), header_only=header_only)
    except Exception as exc:  # Inspect raises several kinds for a file it cannot read
        raise DataFormatError(f"{path}: not a readable Inspect log ({type(exc).__name__}: "
                              f"{exc})") from None


def read_log(path: Path) -> LoggedSuite:
    """The model a log evaluated and the suite result its samples give.

    Raises:
        DataFormatError: Not a readable log of an ulterior task, or samples are missing.
    """
    log = _read(path)
    info = _task_info(log, path)
    if log.status != "success" or not log.samples:
        raise DataFormatError(f"{path}: the eval did not finish ({log.status}); run it again "
                              "(inspect eval-retry) and report the finished log")
    scores = _epochs_merged(log.samples, path)
    suite = default_suites().create(info["suite"])
    settings = settings_from_record(info["settings"])
    identity = model_identity(log.eval)
    subject = SubjectInfo(spec=f"inspect:{log.eval.model}", backend="inspect",
                          fingerprint=f"inspect:{identity}", prompt_format="chat")
    seed = int(info.get("seed", 0))
    try:
        result = replay_suite(suite, settings, recorded_answers(scores), subject, seed)
    except UlteriorError as exc:  # what the answers lack, said of the log that lacks it
        raise DataFormatError(f"{path}: {exc}") from None
    return LoggedSuite(str(log.eval.model), result, settings, seed, identity)


def _epochs_merged(samples: Sequence[Any], path: Path) -> list[Any]:
    """One score per sample, its epochs reduced as the task's own reducer reduces them."""
    by_sample: dict[Any, list[Any]] = defaultdict(list)
    for sample in sorted(samples, key=lambda s: s.epoch):
        if sample.error is not None or not sample.scores:
            raise DataFormatError(f"{path}: sample {sample.id} failed ({sample.error}); run it "
                                  "again (inspect eval-retry)")
        by_sample[sample.id].append(next(iter(sample.scores.values())))
    reduce = draws_reducer()
    return [reduce(scores) for scores in by_sample.values()]


def _newest_finished(paths: Sequence[Path], named: set[Path]) -> list[Path]:
    """Per suite and model, the newest log of a finished eval.

    A retried eval leaves the failed log beside the finished one. ``named`` are the files
    the user gave by name: two finished logs of one suite among them are an error.

    Raises:
        DataFormatError: A suite's logs are all of evals that did not finish.
        UsageError: Two given files are finished logs of the same suite and model.
    """
    groups: dict[tuple[str, str], list[tuple[Any, Path]]] = defaultdict(list)
    for path in paths:
        header = _read(path, header_only=True)
        key = (_task_info(header, path)["suite"], model_identity(header.eval))
        groups[key].append((header, path))
    chosen = []
    for (suite, _), logs in groups.items():
        finished = [(h, p) for h, p in logs if h.status == "success"]
        if not finished:
            path = logs[0][1]
            raise DataFormatError(f"{path}: the eval of {suite} did not finish "
                                  f"({logs[0][0].status}); run it again (inspect eval-retry) "
                                  "and report the finished log")
        twins = [p for _, p in finished if p in named]
        if len(twins) > 1:
            raise UsageError(f"{twins[0]} and {twins[1]} both hold suite {suite}; give one "
                             "log per suite")
        chosen.append(max(finished, key=lambda hp: hp[0].eval.created)[1])
    return chosen


def summary_from_logs(paths: Sequence[Path]) -> AuditSummary:
    """An audit summary of one model from the logs of ulterior's tasks, in audit order.

    Raises:
        UsageError: The logs are of several models, two named files are of the same suite,
            or the tasks ran with different seeds, limits or alphas.
        DataFormatError: A log is not of an ulterior task, or a suite has no finished log.
    """
    named = {path for path in paths if path.is_file()}
    read = [(path, read_log(path)) for path in _newest_finished(log_files(paths), named)]
    models = sorted({logged.identity for _, logged in read})
    if len(models) > 1:
        raise UsageError(f"the logs evaluated {len(models)} models ({', '.join(models)}); "
                         "report one model at a time")
    order = {name: k for k, name in enumerate(default_suites().names())}
    logged_suites = sorted((logged for _, logged in read),
                           key=lambda logged: order[logged.result.suite])
    results = [logged.result for logged in logged_suites]
    rung, evidence = highest_rung(results)

    def shared(name: str, values: set[Any]) -> Any:
        if len(values) > 1:  # one summary states one of each
            raise UsageError(f"the logs' tasks ran with different {name} "
                             f"({', '.join(sorted(map(str, values)))}); report them apart")
        return values.pop()

    return AuditSummary(
        subject=SubjectInfo(spec=f"inspect:{logged_suites[0].model}", backend="inspect",
                            fingerprint=f"inspect:{models[0]}", prompt_format="chat"),
        seed=shared("seeds (-T seed)", {s.seed for s in logged_suites}),
        limit=shared("limits (-T limit)", {s.settings.limit for s in logged_suites}),
        alpha=shared("alphas (-T alpha)", {s.settings.alpha for s in logged_suites}),
        suites=tuple(results), highest_rung=rung, highest_rung_evidence=evidence,
        ulterior_version=__version__,
    )
