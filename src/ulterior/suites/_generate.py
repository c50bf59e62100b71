"""Free-text replies, cached in the store like scored choices, so audits resume."""

from __future__ import annotations

import time
from collections.abc import Sequence

from ulterior import __version__
from ulterior.models import GenerationSettings, Subject
from ulterior.records import Message, Observation, Run, content_hash
from ulterior.runner import RunContext, progress


def generate_cached(
    subject: Subject,
    prompts: Sequence[tuple[str, tuple[Message, ...]]],
    *,
    settings: GenerationSettings,
    context: RunContext,
    job: str,
    batch_size: int = 8,
) -> dict[str, str]:
    """Reply to each ``(id, conversation)``, reusing replies the store already holds.

    Replies are keyed by a hash of (subject, conversation, generation settings) and
    committed batch by batch, so an interrupted job loses at most one batch.

    Returns:
        The reply per prompt id.
    """
    info = subject.info
    config = {"max_new_tokens": settings.max_new_tokens, "temperature": settings.temperature,
              "seed": settings.seed, "prompt_format": info.prompt_format, **info.numerics(),
              "generator": "generate/v1"}
    settings_hash = content_hash(config)
    keys = [content_hash([info.fingerprint, [m.model_dump() for m in messages], settings_hash])
            for _, messages in prompts]
    run = Run(
        id=content_hash([job, info.fingerprint, settings_hash, sorted(keys)])[:20],
        job=job, subject=info, settings=config, settings_hash=settings_hash,
        items_source=f"ulterior:{job}", n_items=len(prompts), ulterior_version=__version__,
    )
    store = context.store
    store.start_run(run)
    found = store.cached(keys)
    store.link(run.id, found)
    todo = [i for i, key in enumerate(keys) if key not in found]
    with progress(len(prompts), f"generating {info.spec}",
                  enabled=context.show_progress) as advance:
        advance(len(prompts) - len(todo))
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            began = time.perf_counter()
            texts = subject.generate([prompts[i][1] for i in chunk], settings)
            each = (time.perf_counter() - began) / len(chunk)
            store.add_observations(run.id, [
                Observation(
                    key=keys[i], subject=info.fingerprint, item_id=prompts[i][0],
                    item_source=f"ulterior:{job}", condition="generate",
                    prompt_format=info.prompt_format, answers=(), matching=0, text=text,
                    elapsed_s=each, settings_hash=settings_hash,
                )
                for i, text in zip(chunk, texts, strict=True)
            ])
            advance(len(chunk))
    store.finish_run(run.id)
    by_key = {o.key: o.text or "" for o in store.cached(keys).values()}
    return {prompts[i][0]: by_key[key] for i, key in enumerate(keys)}
