"""Layer profile of the prompt-end defection probe on trained organisms (a diagnostic).

``ulterior validate`` flags with MacDiarmid et al.'s difference-of-means defection probe at
one block, a fixed fraction of depth (``condition_layer``), and records the AUROC at every
block beside it. This computes that profile alone, without the behavioural suites: per
organism and layer, the AUROC of the probe's score at the prompt's last token, condition on
vs off, over all cue wordings and over the held-out wordings alone. The seed-0 and seed-1
profiles fixed the depth; organisms trained after test it. Beside it, per block, what
condition-salience reads: the condition's share of the prompt-end variance in the organism
and in its base model.

    python benchmarks/probe_layers.py [ORGANISM ...] [--out benchmarks/results/probe_layers.json]

The seed-0 and seed-1 record (probe_layers.json) predates the random-direction and salience
columns; probe_layers_s2.json was re-run for the salience columns (the others came out the same).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ulterior.detectors import condition_items, condition_labels, condition_share, layer_profile
from ulterior.detectors._probe_condition import random_direction_null
from ulterior.models import LoadOptions, load_subject
from ulterior.organisms import list_organisms, load_organism, organism_dir, read_manifest
from ulterior.probes import fit_prompt_probes, prompt_end_activations
from ulterior.runner import RunContext
from ulterior.store import Store, default_cache_dir, default_store_path


def organism_profile(name: str, store: Store) -> dict[str, tuple[float, ...]]:
    """Per layer of one organism: AUROC (``all`` and ``heldout`` cue wordings) and its null.

    ``random_p``: the share (plus one) of 1,000 random directions reading the condition as at
    least as defecting as the probe; ``random_spread``: their median |AUROC - 0.5|, how far
    an arbitrary direction already separates on from off. ``salience`` and ``salience_base``:
    the condition's share of the prompt-end variance in the organism and in its base model.
    """
    context = RunContext(store=store, seed=0, show_progress=False)
    manifest = read_manifest(organism_dir(name))
    items = condition_items(manifest)
    with load_organism(name, cache_dir=default_cache_dir()) as subject:
        layers = range(subject.model.config.num_hidden_layers)
        probes = fit_prompt_probes(subject, context, layers)
        activations = prompt_end_activations(subject, items, layers, context)
    options = LoadOptions(cache_dir=default_cache_dir(), prompt_format=manifest.prompt_format)
    with load_subject(manifest.base.spec, options) as base:
        base_activations = prompt_end_activations(base, items, layers, context)
    profile = layer_profile(activations, probes, items)
    on = condition_labels(items)
    for key, acts in (("salience", activations), ("salience_base", base_activations)):
        profile[key] = tuple(round(condition_share(acts[layer], on), 3) for layer in layers)
    rng = np.random.default_rng(0)
    nulls = [random_direction_null(activations[layer], on, auc, rng)
             for layer, auc in zip(layers, profile["all"], strict=True)]
    profile["random_p"] = tuple(round(p, 4) for _, p in nulls)
    profile["random_spread"] = tuple(round(float(np.median(np.abs(a - 0.5))), 3)
                                     for a, _ in nulls)
    return profile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("organisms", nargs="*", help="Organisms (default: all trained).")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/probe_layers.json"))
    args = parser.parse_args()
    names = args.organisms or [m.name for m in list_organisms()]
    results = {}
    with Store.open(default_store_path()) as store:
        for name in names:
            results[name] = organism_profile(name, store)
            print(name, " ".join(f"{a:.2f}" for a in results[name]["all"]), flush=True)
    args.out.write_text(json.dumps({
        "command": " ".join(["python benchmarks/probe_layers.py", *args.organisms,
                             "--out", str(args.out)]),
        "metric": "AUROC of the difference-of-means defection probe (128 pairs) at the "
                  "prompt's last token, condition on vs off, per layer (index 0 first); "
                  "random_p and random_spread: its null over 1,000 random directions; "
                  "salience, salience_base: the condition's share of the prompt-end variance "
                  "in the organism and its base model",
        "organisms": results,
    }, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
