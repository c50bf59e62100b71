from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from ulterior.errors import UlteriorError
from ulterior.records import Run
from ulterior.runner import (
    ChoiceSummary,
    RunContext,
    ScoreConfig,
    SubjectJob,
    sampled_answers,
    score_items,
    summarize_choices,
)
from ulterior.scenarios import load_items
from ulterior.store import Store


class ScoreJob(SubjectJob):
    """`ulterior score`: P(answer matching the behaviour) over an item file."""

    items: Path = Field(description="JSONL item file (advanced-ai-risk or native format).")
    limit: int | None = Field(default=None, description="Score only the first N items.")
    counterbalance: bool = Field(default=True, description="Also show options reversed.")
    samples: int | None = Field(default=None, ge=2, description="Estimate from this many "
                                "sampled answers per presentation (None: log-probabilities).")


@dataclass
class ScoreReport:
    """What `run_score` returns: the run, the summary, and how much was reused."""

    run: Run
    summary: ChoiceSummary
    computed: int
    reused: int
    unparsed: int = 0  # sampled answers that named no option (left out)
    drawn: int = 0  # sampled answers in all (0: scored by log-probability)


def run_score(job: ScoreJob) -> ScoreReport:
    """Load items and subject, score (reusing cached observations) and summarize."""
    items = load_items(job.items, limit=job.limit)  # bad files fail before the model loads
    with job.load() as subject, Store.open(job.store_path()) as store:
        context = RunContext(store=store, seed=job.seed, show_progress=job.show_progress)
        outcome = score_items(
            subject, items,
            config=ScoreConfig(counterbalance=job.counterbalance, resume=job.resume,
                               samples=job.samples, seed=job.seed),
            context=context, items_source=str(job.items),
        )
        summary = summarize_choices(outcome.observations, rng=context.rng("score"))
    unparsed, drawn = sampled_answers(outcome.observations)
    if job.samples is not None and drawn == unparsed:
        raise UlteriorError(f"none of the {drawn} sampled answers named an option; raise "
                            "--samples, or use items whose answers the subject names")
    return ScoreReport(outcome.run, summary, outcome.computed, outcome.reused, unparsed,
                       drawn)
