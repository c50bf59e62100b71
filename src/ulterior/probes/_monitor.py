"""The transcript monitor: score each assistant turn with a fitted probe, flag the outliers.

Each assistant turn is read in the context of the conversation before it; its score is the
mean probe score over its tokens (for an affine probe, the score of the mean activation, the
quantity the control-set threshold was calibrated on). A transcript's score is its highest
turn score, so with several assistant turns per transcript the false-positive rate per
transcript can exceed the per-turn rate the threshold was set for.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pydantic import Field, ValidationError

from ulterior.errors import DataFormatError, UsageError
from ulterior.models import white_box
from ulterior.probes._capture import CaptureConfig
from ulterior.probes._datasets import ContrastExample, render_example
from ulterior.probes._evaluate import calibrate_threshold
from ulterior.probes._fit import read_probe
from ulterior.probes._session import ProbeJob, open_session
from ulterior.probes._shards import capture_cached
from ulterior.records import Message, TranscriptScore
from ulterior.runner import progress
from ulterior.store import write_atomic


class MonitorConfig(ProbeJob):
    """`ulterior monitor`: score transcripts with a saved probe."""

    transcripts: Path = Field(description="JSONL file, one {id?, messages: [...]} per line.")
    probe: Path = Field(description="Directory of a probe saved by `ulterior probe fit`.")
    out: Path | None = Field(default=None, description="Write the scores here as JSONL.")


def read_transcripts(path: Path) -> list[tuple[str, tuple[Message, ...]]]:
    """Read ``{"id": ..., "messages": [{"role", "content"}, ...]}`` lines.

    Raises:
        DataFormatError: naming the file and line of the first malformed transcript.
    """
    if not path.is_file():
        raise UsageError(f"transcripts file not found: {path}")
    transcripts = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{path}: not UTF-8 ({exc.reason})") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            messages = tuple(Message.model_validate(m) for m in row["messages"])
        except (json.JSONDecodeError, KeyError, TypeError, ValidationError) as exc:
            raise DataFormatError(
                f"{path}:{number}: expected {{\"messages\": [{{\"role\": ..., \"content\": ...}}]}}"
                f" ({type(exc).__name__})"
            ) from exc
        if not any(m.role == "assistant" for m in messages):
            raise DataFormatError(f"{path}:{number}: the transcript has no assistant turn")
        transcripts.append((str(row.get("id", number)), messages))
    if not transcripts:
        raise DataFormatError(f"{path}: no transcripts")
    return transcripts


def monitor_transcripts(config: MonitorConfig) -> list[TranscriptScore]:
    """Score every transcript in ``config.transcripts`` and flag those above the threshold.

    The threshold is recalibrated on the benign control set to flag ``config.fpr`` of its
    turns. Per-token scores are kept in each :class:`TranscriptScore` for the report.
    """
    probe, info = read_probe(config.probe)
    transcripts = read_transcripts(config.transcripts)
    job = config.model_copy(update={
        "dtype": info.capture_dtype,
        "model": info.subject.spec if config.model == ProbeJob().model else config.model,
    })
    with open_session(job) as session:
        if session.subject.info.fingerprint != info.subject.fingerprint:
            raise UsageError(f"the probe was fitted on {info.subject.spec}, not on "
                             f"{session.subject.info.spec}; pass --model {info.subject.spec}")
        layer = info.layer
        control = probe.score(session.features(session.build("control"), [layer])[layer])
        threshold = calibrate_threshold(control, config.fpr)
        fmt = white_box(session.subject).format
        texts, owners = [], []
        for index, (_, messages) in enumerate(transcripts):
            for turn, message in enumerate(messages):
                if message.role == "assistant":
                    example = ContrastExample(messages[:turn], message.content, 0, "")
                    texts.append(render_example(example, fmt))
                    owners.append(index)
        capturer = session.capturer
        with progress(len(texts), "monitor", enabled=config.show_progress) as advance:
            batch = capture_cached(
                capturer, texts, root=session.context.store.artifact_dir,
                fingerprint=session.subject.info.fingerprint,
                config=CaptureConfig(layers=(layer,), positions=("all",), dtype=session.dtype),
                advance=advance,
            )
        encoded = capturer.tokenize(texts)
        tokenizer = capturer.tokenizer
        per_transcript: list[list[tuple[float, tuple[str, ...], tuple[float, ...]]]] = [
            [] for _ in transcripts
        ]
        for k, owner in enumerate(owners):
            states = batch.tokens[layer][batch.offsets[k] : batch.offsets[k + 1]]
            scores = probe.score(states)
            ids, first = encoded[k]
            tokens = tuple(str(tokenizer.decode([t])) for t in ids[first:])
            per_transcript[owner].append(
                (float(np.mean(scores)), tokens, tuple(float(s) for s in scores))
            )
        results = []
        for (name, _), turns in zip(transcripts, per_transcript, strict=True):
            turn_scores = tuple(t[0] for t in turns)
            score = max(turn_scores)
            results.append(TranscriptScore(
                id=name, score=score, flagged=score > threshold, threshold=threshold,
                turn_scores=turn_scores, tokens=tuple(t[1] for t in turns),
                token_scores=tuple(t[2] for t in turns),
            ))
    if config.out is not None:
        write_atomic(config.out, "".join(r.model_dump_json() + "\n" for r in results))
    return results
