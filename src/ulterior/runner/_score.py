"""Scoring items by answer log-probabilities: cached, resumable, written as it goes."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from ulterior import __version__
from ulterior.errors import CapabilityError, ContextLengthError, UsageError
from ulterior.models import ChoiceRequest, Subject
from ulterior.records import Item, Observation, Run, content_hash
from ulterior.runner._context import RunContext
from ulterior.runner._progress import progress
from ulterior.runner._sample import sample_choices
from ulterior.scenarios import Presentation, presentations


@dataclass(frozen=True)
class ScoreConfig:
    """Settings of a scoring job.

    Attributes:
        counterbalance: Also show labelled options in reverse order (recommended: small
            models prefer some labels strongly, and the preference would bias the estimate).
        chunk_size: Presentations per call to the subject and per store commit.
        resume: Require an interrupted run with the same settings and continue it.
        samples: Estimate choice probabilities from this many sampled answers per
            presentation (the sampled estimator, for subjects without log-probabilities);
            None: from the answers' log-probabilities.
        seed: First seed of the sampled answers.
    """

    counterbalance: bool = True
    chunk_size: int = 128
    resume: bool = False
    samples: int | None = None
    seed: int = 0


@dataclass
class ScoreOutcome:
    """What a scoring job produced."""

    run: Run
    items: list[Item]
    observations: list[Observation]
    computed: int
    reused: int


def _check_fits(subject: Subject, work: Sequence[tuple[Item, Presentation]]) -> None:
    """Fail before anything is written if some item cannot fit the model's context."""
    limit = subject.max_context
    if limit is None:
        return
    for item, shown in work:
        request = ChoiceRequest(shown.messages, shown.answers, shown.target)
        needed = subject.count_tokens(request)
        if needed is not None and needed > limit:
            line = item.metadata.get("line")
            where = f" (line {line})" if line is not None else ""
            raise ContextLengthError(
                f"item {item.id}{where} needs {needed} tokens, more than the {limit} of "
                f"{subject.info.spec}; shorten it or leave it out"
            )


def score_items(
    subject: Subject,
    items: Sequence[Item],
    *,
    config: ScoreConfig,
    context: RunContext,
    job: str = "score",
    items_source: str = "",
) -> ScoreOutcome:
    """Score every presentation of every item, reusing whatever the store already holds.

    Each observation is keyed by a hash of (subject, item, condition, settings); a key found
    in the store is never recomputed. New observations are committed chunk by chunk, so an
    interrupted job loses at most one chunk, and running it again (``resume``) continues.

    Raises:
        CapabilityError: The subject cannot score choices.
        ContextLengthError: An item does not fit the context (raised before any write).
        UsageError: ``resume`` was asked for but no run with these settings exists.
    """
    sampled = config.samples is not None
    if sampled and not subject.capabilities.generate:
        raise CapabilityError(f"{subject.info.spec} cannot generate text, so --samples "
                              "cannot read its answers")
    if not sampled and not subject.capabilities.score_choices:
        raise CapabilityError(f"{subject.info.spec} returns no log-probabilities; estimate "
                              "from sampled answers with --samples N")
    info = subject.info
    # What changes an observation's value; counterbalancing only adds observations, so a
    # written-order observation is shared by counterbalanced and plain runs.
    settings: dict[str, object] = {
        "prompt_format": info.prompt_format,
        **info.numerics(),
        "scorer": subject.choice_scorer,
    }
    if sampled:
        settings.update(scorer="sampled-answers/v1", samples=config.samples, seed=config.seed,
                        temperature=1.0)
    settings_hash = content_hash(settings)
    work = [(item, shown) for item in items for shown in presentations(item, config.counterbalance)]
    _check_fits(subject, work)
    # The item's id is part of the key: two items with the same text but different ids are
    # two observations, so a summary counts every item the file holds.
    keys = [
        content_hash([info.fingerprint, item.id, item.fingerprint(), shown.condition,
                      settings_hash])
        for item, shown in work
    ]
    first = {key: i for i, key in reversed(list(enumerate(keys)))}  # each key scored once
    run = Run(
        id=content_hash([job, info.fingerprint, settings_hash, sorted(keys)])[:20],
        job=job, subject=info,
        settings={**settings, "device": info.device, "counterbalance": config.counterbalance},
        settings_hash=settings_hash,
        items_source=items_source, n_items=len(items), ulterior_version=__version__,
    )
    store = context.store
    if config.resume and store.get_run(run.id) is None:
        raise UsageError(
            "--resume: no earlier run has these settings (model, items, options); "
            "drop --resume or repeat the original options"
        )
    store.start_run(run)
    found = store.cached(list(first))
    store.link(run.id, found)
    todo = sorted(i for key, i in first.items() if key not in found)
    with progress(len(first), f"scoring {info.spec}", enabled=context.show_progress) as advance:
        advance(len(first) - len(todo))
        for start in range(0, len(todo), config.chunk_size):
            chunk = todo[start : start + config.chunk_size]
            requests = [
                ChoiceRequest(work[i][1].messages, work[i][1].answers, work[i][1].target)
                for i in chunk
            ]
            began = time.perf_counter()
            if config.samples is not None:
                drawn = sample_choices(subject, requests, config.samples, config.seed)
                scores = [d.logprobs for d in drawn]
                extra = [{"counts": d.counts, "unparsed": d.unparsed} for d in drawn]
            else:
                scores = [tuple(s) for s in subject.score_choices(requests)]
                extra = [{} for _ in chunk]
            each = (time.perf_counter() - began) / len(chunk)
            store.add_observations(
                run.id,
                [
                    Observation(
                        key=keys[i], subject=info.fingerprint, item_id=work[i][0].id,
                        item_source=work[i][0].source, condition=work[i][1].condition,
                        prompt_format=info.prompt_format, answers=work[i][1].answers,
                        matching=work[i][1].target, logprobs=tuple(score), elapsed_s=each,
                        settings_hash=settings_hash, **more,
                    )
                    for i, score, more in zip(chunk, scores, extra, strict=True)
                ],
            )
            advance(len(chunk))
    store.finish_run(run.id)
    return ScoreOutcome(
        run=run, items=list(items), observations=store.observations(run.id),
        computed=len(todo), reused=len(found),
    )
