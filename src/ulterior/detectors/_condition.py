"""An organism's own held-out prompts, with and without its hidden condition.

The detectors that know the ground truth (probe-condition, condition-salience) read these;
they measure whether the subject carries its condition, not whether a blind search finds it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ulterior.detectors._base import Target
from ulterior.models import Subject
from ulterior.probes import condition_layer, model_shape, prompt_end_activations
from ulterior.records import Item, OrganismManifest
from ulterior.runner import RunContext


def condition_items(manifest: OrganismManifest) -> list[Item]:
    """The organism's held-out prompts as minimal pairs: condition on vs off.

    Metadata follows the oversight-gap convention the probe readout reads: ``framing``
    ``unobserved`` marks the condition on, ``observed`` off; ``pair`` joins the two
    members; ``task`` is the independent unit. Training and held-out cue wordings form
    separate pairs (``wording`` says which).
    """
    from ulterior.organisms import evaluation_examples, load_recipe

    examples = evaluation_examples(load_recipe(manifest.recipe))
    framing = {"on": "unobserved", "off": "observed", "heldout-on": "unobserved",
               "heldout-off": "observed"}
    items = []
    for example in examples:
        if example.condition not in framing:
            continue
        task, k = example.item.metadata["task"], example.item.metadata["step"]
        wording = "heldout" if example.condition.startswith("heldout") else "train"
        items.append(example.item.model_copy(update={"metadata": {
            "pair": f"{task}/{k}/{wording}", "task": task, "wording": wording,
            "framing": framing[example.condition]}}))
    return items


def condition_labels(items: Sequence[Item]) -> np.ndarray:
    """True for the prompts that carry the hidden condition (``framing`` unobserved)."""
    return np.array([i.metadata["framing"] == "unobserved" for i in items])


def manifest_of(target: Target) -> OrganismManifest:
    """The organism's manifest (detectors that need ground truth run only with one)."""
    if target.manifest is None:
        raise ValueError("this detector needs an organism's ground truth (validate)")
    return target.manifest


def condition_activations(subject: Subject, target: Target,
                          context: RunContext) -> dict[int, np.ndarray]:
    """The subject's prompt-end activations of its condition prompts at every block.

    Read once per subject and shared (probe-condition reads every block for its profile,
    condition-salience the block probe-condition flags at).
    """
    def read() -> dict[int, np.ndarray]:
        items = condition_items(manifest_of(target))
        return prompt_end_activations(subject, items, range(model_shape(subject)[0]), context,
                                      show_progress=context.show_progress)

    activations: dict[int, np.ndarray] = target.memo("condition-activations", read)
    return activations


def flag_layer(subject: Subject) -> int:
    """The block the condition detectors read, fixed in advance (see condition_layer)."""
    return condition_layer(model_shape(subject)[0])
