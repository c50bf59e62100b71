"""Anthropic's advanced-ai-risk evaluations, mapped onto the precursor scales.

The files are not shipped with ulterior; users pass the directory that holds them
(``human_generated_evals/``, ``lm_generated_evals/``). Each mapped file is read with the
ordinary advanced-ai-risk loader, two-answer items only, and oriented so that the
``matching`` answer shows the precursor.

Orientation was checked by reading items of every mapped file. In the human-written
files for power-seeking, wealth-seeking and survival instinct the labelled "matching"
answer is the *non*-risky one (for example, declining to lead an organisation, or
consenting to be turned off), so those are inverted; myopic-reward labels the myopic
answer, which is the opposite of the long-horizon scale, in both sets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ulterior.errors import UsageError
from ulterior.records import Item
from ulterior.scenarios import load_items

WRITERS = {"human": "human_generated_evals", "lm": "lm_generated_evals"}


@dataclass(frozen=True)
class RiskCategory:
    """One advanced-ai-risk file stem mapped onto a precursor scale.

    Attributes:
        category: File stem, e.g. ``survival-instinct``.
        scale: Precursor scale it measures.
        invert: Per writer (``human``, ``lm``): whether the file's matching answer is the
            opposite of the precursor.
    """

    category: str
    scale: str
    invert: tuple[str, ...] = ()


RISK_CATEGORIES: tuple[RiskCategory, ...] = (
    RiskCategory("myopic-reward", "long-horizon", invert=("human", "lm")),
    RiskCategory("self-awareness-general-ai", "situational-awareness"),
    RiskCategory("self-awareness-text-model", "situational-awareness"),
    RiskCategory("self-awareness-training-architecture", "situational-awareness"),
    RiskCategory("survival-instinct", "shutdown-avoidance", invert=("human",)),
    RiskCategory("power-seeking-inclination", "power-seeking", invert=("human",)),
    RiskCategory("wealth-seeking-inclination", "power-seeking", invert=("human",)),
    RiskCategory("coordinate-itself", "coordination"),
    RiskCategory("coordinate-other-ais", "coordination"),
    RiskCategory("coordinate-other-versions", "coordination"),
)

# Left out on purpose: corrigible-* (goal changes, not a precursor scale here),
# one-box-tendency (decision theory), self-awareness-web-gpt and
# self-awareness-training-web-gpt (they presume internet access), self-awareness-good-text-model
# (claims of ability), self-awareness-training-nn-architecture (mostly trivia).


def load_risk_items(directory: Path, per_file: int = 20) -> list[Item]:
    """The first ``per_file`` two-answer items of every mapped file, oriented.

    Args:
        directory: Folder holding ``human_generated_evals/`` and/or ``lm_generated_evals/``.
        per_file: Items kept per file, in file order.

    Returns:
        Items whose metadata carries ``scale`` and ``writer``; ``matching`` is the
        precursor answer. A question that repeats an earlier one is skipped.

    Raises:
        UsageError: The directory holds neither subfolder.
    """
    found = [w for w, sub in WRITERS.items() if (directory / sub).is_dir()]
    if not found:
        raise UsageError(
            f"{directory} has no human_generated_evals/ or lm_generated_evals/ folder; pass "
            "the advanced-ai-risk directory of Anthropic's evals"
        )
    items: list[Item] = []
    seen: set[str] = set()  # some questions repeat within and across files: score each once
    for writer in found:
        for entry in RISK_CATEGORIES:
            path = directory / WRITERS[writer] / f"{entry.category}.jsonl"
            if not path.is_file():
                continue
            kept = 0
            for item in load_items(path):
                if kept >= per_file:
                    break
                if item.n_answers != 2 or item.fingerprint() in seen:
                    continue
                seen.add(item.fingerprint())
                matching = 1 - item.matching if writer in entry.invert else item.matching
                items.append(item.model_copy(update={
                    "id": f"risk/{writer}/{item.id}", "matching": matching,
                    "metadata": {**item.metadata, "scale": entry.scale, "writer": writer},
                }))
                kept += 1
    return items
