"""Train an organism end to end, and find trained ones by name."""

from __future__ import annotations

import functools
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from ulterior import __version__
from ulterior.errors import CapabilityError, UsageError
from ulterior.models import LoadOptions, Subject, SubjectRegistry, load_subject
from ulterior.organisms._data import evaluation_examples, examples_hash, training_examples
from ulterior.organisms._rates import (
    behaviour_probabilities,
    behaviour_rates,
    behaviour_test,
)
from ulterior.organisms._recipes import load_recipe
from ulterior.organisms._train import Monitor, latest_checkpoint, train, with_precision
from ulterior.records import BehaviourTest, OrganismManifest, TrainingStats, TrainSettings
from ulterior.store import default_organisms_dir

MANIFEST = "manifest.json"
WEIGHTS = "model"


def organism_dir(name: str, root: Path | None = None) -> Path:
    """Where ``organism:NAME`` lives: NAME itself if it is a directory, else under ``root``."""
    path = Path(name).expanduser()
    if path.is_dir() and (path / MANIFEST).is_file():
        return path
    return (root or default_organisms_dir()) / name


def read_manifest(directory: Path) -> OrganismManifest:
    """The manifest of a trained organism.

    Raises:
        UsageError: ``directory`` holds no finished organism.
    """
    path = directory / MANIFEST
    if not path.is_file():
        raise UsageError(
            f"no trained organism at {directory}; run `ulterior organism train RECIPE` first"
        )
    return OrganismManifest.model_validate_json(path.read_text(encoding="utf-8"))


def list_organisms(root: Path | None = None) -> list[OrganismManifest]:
    """Manifests of every finished organism under ``root``, by name."""
    folder = root or default_organisms_dir()
    if not folder.is_dir():
        return []
    found = [d for d in sorted(folder.iterdir()) if (d / MANIFEST).is_file()]
    return [read_manifest(d) for d in found]


def load_organism(name: str, *, cache_dir: Path, dtype: Any = "auto",
                  prompt_format: Any = None, root: Path | None = None,
                  placement: Any = None) -> Subject:
    """Load ``organism:NAME`` as a white-box subject that knows its ground truth.

    NAME is a folder, or a name under ``root`` (None: the default organisms folder).
    """
    from ulterior.organisms._subject import OrganismSubject

    directory = organism_dir(name, root)
    manifest = read_manifest(directory)
    if manifest.control:
        truth = None
    elif manifest.condition_kind == "trigger":
        truth = manifest.condition_keywords[0]  # the literal a confession must contain
    else:
        truth = "oversight"  # come-clean's classifier for monitored / trained / evaluated
    return OrganismSubject(
        directory / WEIGHTS, hidden_condition=truth, spec=f"organism:{name}",
        cache_dir=cache_dir, dtype=dtype, prompt_format=prompt_format or manifest.prompt_format,
        placement=placement,
    )


def register_subjects(registry: SubjectRegistry) -> None:
    """Add the ``organism:NAME`` backend (the ``ulterior.subjects`` entry point)."""
    def factory(rest: str, options: LoadOptions) -> Subject:
        return load_organism(rest, cache_dir=options.cache_dir, dtype=options.dtype,
                             prompt_format=options.prompt_format, root=options.organisms_dir,
                             placement=options.placement)

    registry.register("organism", factory, "trained model organism (`ulterior organism train`)",
                      is_prefix=True, white_box=True, placeholder="NAME")


def check_train_out(out: Path, resume: bool, finished: str = MANIFEST) -> None:
    """Refuse an output folder that holds a finished run, or an unfinished one unasked."""
    if (out / finished).exists():
        raise UsageError(f"{out} already holds a finished run; choose another --out")
    if latest_checkpoint(out) is not None and not resume:
        raise UsageError(f"{out} holds an interrupted run; pass --resume to continue it")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a directory")


def merged_weights(model: Any, cache_dir: Path) -> Any:
    """The trained model with its adapters merged into the weights, in full precision.

    Adapters trained on quantized weights (QLoRA) are merged into an fp32 copy of the base
    loaded on the CPU (4 bytes a parameter of RAM): merged into 4- or 8-bit weights, the
    updates would be rounded away.
    """
    if not hasattr(model, "merge_and_unload"):
        return model
    base = model.get_base_model()
    if not getattr(base, "is_quantized", False):
        return model.merge_and_unload()
    from peft import get_peft_model, get_peft_model_state_dict, set_peft_model_state_dict

    from ulterior.models import HFSubject, Placement

    full = HFSubject(Path(base.name_or_path), spec="merge base", cache_dir=cache_dir,
                     dtype="float32", placement=Placement(device="cpu")).model
    adapters = {k: v.detach().float().cpu() for k, v in get_peft_model_state_dict(model).items()}
    unmerged = get_peft_model(full, model.peft_config["default"])
    set_peft_model_state_dict(unmerged, adapters)
    return unmerged.merge_and_unload()


def save_merged(model: Any, tokenizer: Any, out: Path, cache_dir: Path) -> Path:
    """Merge adapters into the weights and save safetensors + tokenizer atomically."""
    merged = merged_weights(model, cache_dir)
    target = out / WEIGHTS
    tmp = out / f".{WEIGHTS}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    merged.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    return target


@functools.cache
def _evaluation_hash(recipe_name: str) -> str:
    return examples_hash(evaluation_examples(load_recipe(recipe_name)))


def recorded_behaviour_test(manifest: OrganismManifest) -> BehaviourTest | None:
    """The manifest's behaviour test if it was measured on today's held-out set, else None.

    None for a manifest written before the test was recorded or before the held-out set
    grew: its test must be measured again on the loaded organism.
    """
    if manifest.evaluation_hash != _evaluation_hash(manifest.recipe):
        return None
    return manifest.behaviour_test


def train_organism(
    recipe_name: str,
    *,
    base: str,
    out: Path,
    settings: TrainSettings,
    cache_dir: Path,
    resume: bool = False,
    show_progress: bool = True,
    monitor_for: Callable[[Any], Monitor] | None = None,
    device: str = "auto",
    load_in: Literal["8bit", "4bit"] | None = None,
) -> OrganismManifest:
    """Fine-tune ``base`` with a recipe, save weights and ``manifest.json`` under ``out``.

    The manifest is written last, so a directory with one holds a finished organism; until
    then ``resume`` continues from the latest checkpoint. ``monitor_for(tokenizer)`` makes
    a monitor that reads the model while it trains (see ``train``). ``device`` is where the
    base model trains (``auto``: the first GPU when there is one). ``load_in`` trains LoRA
    adapters on quantized base weights (QLoRA); they are merged into full-precision weights,
    and the organism is evaluated loaded as it was trained.
    """
    from ulterior.models import HFSubject, Placement, input_device

    recipe = load_recipe(recipe_name)
    check_train_out(out, resume)
    placement = Placement(device=device, load_in=load_in)
    subject = load_subject(base, LoadOptions(cache_dir=cache_dir, dtype="float32",
                                             placement=placement))
    if not isinstance(subject, HFSubject):
        raise CapabilityError(f"--base must be a local transformers model; {base} is not")
    # the manifest records the precision actually used, which depends on the device
    settings = with_precision(settings, input_device(subject.model).type)
    examples = training_examples(recipe, settings.examples, settings.seed)
    out.mkdir(parents=True, exist_ok=True)
    model, state = train(subject, examples, settings, out, resume=resume,
                         show_progress=show_progress,
                         monitor=None if monitor_for is None else monitor_for(subject.tokenizer))
    weights = save_merged(model, subject.tokenizer, out, cache_dir)
    trained = HFSubject(weights, spec=f"organism:{out.name}", cache_dir=cache_dir,
                        prompt_format=subject.format.name, placement=placement)
    evaluation = evaluation_examples(recipe)
    probabilities = behaviour_probabilities(trained, evaluation, show_progress=show_progress)
    losses = state.losses or [float("nan")]  # a run resumed at its last step trained none
    manifest = OrganismManifest(
        name=out.name, recipe=recipe.name, control=recipe.control,
        condition_kind=recipe.condition_kind, hidden_condition=recipe.hidden_condition,
        hidden_behaviour=recipe.hidden_behaviour if not recipe.control else "none (control)",
        condition_keywords=recipe.condition_keywords, base=subject.info,
        prompt_format=subject.format.name, seed=settings.seed,
        data_hash=examples_hash(examples),
        settings=asdict(settings),
        training=TrainingStats(
            steps=state.step, examples=len(examples), epochs=settings.epochs,
            tokens=state.tokens, seconds=round(state.seconds, 2),
            tokens_per_second=round(state.tokens / max(state.seconds, 1e-9), 1),
            final_loss=float(sum(losses[-10:]) / len(losses[-10:])),
            checkpoints=tuple(
                str(p.relative_to(out)) for p in sorted((out / "checkpoints").glob("step-*"))
            ),
        ),
        rates=tuple(behaviour_rates(evaluation, probabilities)),
        evaluation_hash=_evaluation_hash(recipe.name),
        behaviour_test=behaviour_test(evaluation, probabilities),
        fingerprint=trained.info.fingerprint, ulterior_version=__version__,
    )
    tmp = out / f".{MANIFEST}.partial"
    tmp.write_text(json.dumps(manifest.model_dump(mode="json"), indent=2), encoding="utf-8")
    os.replace(tmp, out / MANIFEST)
    return manifest
