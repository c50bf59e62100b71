"""Layer profile of the prompt-end defection probe on trained organisms (a diagnostic).

``ulterior validate`` reads MacDiarmid et al.'s difference-of-means defection probe at one
layer, the default probe's. This reads it at every layer: per organism and layer, the AUROC
of the probe's score at the prompt's last token, condition on vs off, over all cue wordings
and over the held-out wordings alone. It says where in depth a model's hidden condition
lines up with its generic defection direction; choosing validate's layer from it would be
tuning on the organisms, so a rule read off it must be confirmed on organisms trained after.

    python benchmarks/probe_layers.py [ORGANISM ...] [--out benchmarks/results/probe_layers.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ulterior.jobs._validate import condition_items
from ulterior.organisms import list_organisms, load_organism, organism_dir, read_manifest
from ulterior.probes import auroc
from ulterior.probes._capture import ActivationCapturer, CaptureConfig
from ulterior.probes._prompt_probe import _difference_of_means, prompt_texts
from ulterior.probes._session import ProbeJob, ProbeSession
from ulterior.probes._shards import capture_cached
from ulterior.runner import RunContext
from ulterior.store import Store, default_cache_dir, default_store_path


def layer_profile(name: str, store: Store) -> dict[str, list[float]]:
    """AUROC per layer of one organism: ``all`` and ``heldout`` cue wordings."""
    context = RunContext(store=store, seed=0, show_progress=False)
    items = condition_items(read_manifest(organism_dir(name)))
    with load_organism(name, cache_dir=default_cache_dir()) as subject:
        layers = list(range(subject.model.config.num_hidden_layers))
        job = ProbeJob(model=subject.info.spec, store=store.path, seed=0, position="last",
                       dtype="mixed", show_progress=False)
        session = ProbeSession(job, subject, context)
        pairs = session.build("defection")
        answers = session.features(pairs, layers)
        texts = prompt_texts(subject, items)
        capturer = ActivationCapturer(subject, CaptureConfig(
            layers=tuple(layers), positions=("last",), dtype="mixed"))
        prompts = capture_cached(capturer, texts, root=store.artifact_dir,
                                 fingerprint=subject.info.fingerprint).pooled
    on = np.array([i.metadata["framing"] == "unobserved" for i in items])
    held = np.array([i.metadata["wording"] == "heldout" for i in items])
    profile: dict[str, list[float]] = {"all": [], "heldout": []}
    for layer in layers:
        direction = _difference_of_means(answers[layer], pairs.labels)
        scores = prompts[(layer, "last")] @ direction
        profile["all"].append(round(float(auroc(scores, on)), 3))
        profile["heldout"].append(round(float(auroc(scores[held], on[held])), 3)
                                  if held.any() else float("nan"))
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
            results[name] = layer_profile(name, store)
            print(name, " ".join(f"{a:.2f}" for a in results[name]["all"]), flush=True)
    args.out.write_text(json.dumps({
        "command": "python benchmarks/probe_layers.py",
        "metric": "AUROC of the difference-of-means defection probe (128 pairs) at the "
                  "prompt's last token, condition on vs off, per layer (index 0 first)",
        "organisms": results,
    }, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
