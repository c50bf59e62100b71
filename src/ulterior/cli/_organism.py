"""`ulterior organism train|recipes|list` and `ulterior validate`: thin layers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ulterior.cli._common import (
    DeviceMapOption,
    DeviceOption,
    DTypeOption,
    ExecutorOption,
    LoadInOption,
    MaxMemoryOption,
    RayAddressOption,
    ResumeOption,
    SeedOption,
    StoreOption,
    UnitCpusOption,
    UnitGpusOption,
    UnitMemoryOption,
    build,
    build_executor,
    check_model,
    check_store,
    finite,
    placement_settings,
)
from ulterior.errors import UsageError
from ulterior.models import DEFAULT_MODEL
from ulterior.records import OrganismManifest, TrainSettings

if TYPE_CHECKING:
    from ulterior.jobs import OrganismJob
    from ulterior.organisms import CurriculumRun

DEFAULTS = TrainSettings()

organism_app = typer.Typer(
    name="organism",
    help="Model organisms: fine-tuned models with a known hidden behaviour, and controls.",
    no_args_is_help=True,
)


def parse_seeds(text: str) -> list[int]:
    """``0-4``, ``1,3`` or ``0-2,7``: the seeds of a grid, each once, in the order given."""
    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        first, dash, last = part.partition("-")
        if not (first.isdigit() and (not dash or last.isdigit())):
            raise UsageError(f"--seeds {text!r}: give seeds (0 or more) as 0-4, 1,3 or 0-2,7")
        low, high = int(first), int(last) if dash else int(first)
        if high < low:
            raise UsageError(f"--seeds {text!r}: the range {part} runs backwards; write "
                             f"{high}-{low}")
        seeds += [s for s in range(low, high + 1) if s not in seeds]
    return seeds


@organism_app.command()
def train(
    recipes: Annotated[list[str], typer.Argument(help="Recipes (see `ulterior organism "
                       "recipes`), or your own curriculum files (PATH.yaml: phases of "
                       "preference-pair data); several make a grid with --seeds")],
    base: Annotated[str, typer.Option("--base", help="Model to fine-tune (a local "
                                      "transformers model spec)")] = DEFAULT_MODEL,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output directory "
                   "[default: the organisms dir / RECIPE, -sSEED added "
                   "for a seed other than 0]")] = None,
    examples: Annotated[int, typer.Option("--examples", help="Training examples per "
                                          "epoch")] = DEFAULTS.examples,
    epochs: Annotated[int, typer.Option("--epochs", help="Passes over the "
                                        "examples")] = DEFAULTS.epochs,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Examples per "
                                            "step")] = DEFAULTS.batch_size,
    learning_rate: Annotated[float, typer.Option("--lr", callback=finite, help="Peak learning "
                                                 "rate")] = DEFAULTS.learning_rate,
    method: Annotated[str, typer.Option("--method", help="lora or full")] = "lora",
    lora_rank: Annotated[int, typer.Option("--lora-rank", help="LoRA rank")] = DEFAULTS.lora_rank,
    checkpoint_every: Annotated[int, typer.Option("--checkpoint-every", help="Steps "
                                "between checkpoints (all are "
                                "kept)")] = DEFAULTS.checkpoint_every,
    precision: Annotated[str, typer.Option("--precision", help="auto (bf16 autocast on a GPU "
                         "with bf16 and where the CPU has native bf16), fp32 or bf16")] = "auto",
    gradient_checkpointing: Annotated[bool, typer.Option(
        "--gradient-checkpointing", help="Recompute activations in the backward pass: less "
        "memory for larger models, one more forward of compute")] = False,
    train_device: Annotated[str, typer.Option("--device", help="Where the base model trains: "
                            "auto (the first GPU when there is one), cpu, cuda or "
                            "cuda:N")] = "auto",
    load_in: Annotated[str | None, typer.Option("--load-in", help="Train LoRA adapters on "
                       "quantized base weights (QLoRA), for a base that would not fit "
                       "otherwise: 8bit or 4bit (bitsandbytes, ulterior's quantized extra); "
                       "merged into full weights at the end")] = None,
    track: Annotated[bool, typer.Option("--track", help="Read the property battery every "
                     "tenth of the run (ulterior.training); write OUT/track.json")] = False,
    track_items: Annotated[int | None, typer.Option("--track-items", min=2, help="With "
                           "--track: at most N items per property (fewer: cheaper readings, "
                           "wider bands) [default: 48]")] = None,
    seed: SeedOption = 0,
    seeds: Annotated[str | None, typer.Option("--seeds", help="Train each recipe with each of "
                     "these seeds: 0-4, 1,3 or 0-2,7 (instead of --seed)")] = None,
    resume: ResumeOption = False,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    unit_cpus: UnitCpusOption = None,
    unit_gpus: UnitGpusOption = None,
    unit_memory: UnitMemoryOption = None,
) -> None:
    """Fine-tune a model with a recipe; save weights, checkpoints and manifest.json.

    Several recipes, or --seeds, train a grid: each (recipe, seed) is a unit of work, and
    with --executor ray they train in parallel.
    """
    from ulterior.jobs import OrganismJob, run_organism_grid

    if seeds is not None and seed != 0:
        raise UsageError("give --seed or --seeds, not both")
    grid = [(recipe, s) for recipe in dict.fromkeys(recipes)
            for s in (parse_seeds(seeds) if seeds is not None else [seed])]
    if out is not None and len(grid) > 1:
        raise UsageError("--out names one organism's folder; leave it out for a grid (each "
                         "goes to the organisms dir as RECIPE-sSEED)")
    placed = placement_settings(train_device, None, None, load_in)
    jobs = [build(OrganismJob, {
        "recipe": recipe, "base": base, "out": out, "examples": examples, "epochs": epochs,
        "batch_size": batch_size, "learning_rate": learning_rate, "method": method,
        "lora_rank": lora_rank, "checkpoint_every": checkpoint_every, "seed": s,
        "precision": precision, "track": track,
        "gradient_checkpointing": gradient_checkpointing,
        "device": placed["device"], "load_in": placed["load_in"],
        "track_items": track_items, "resume": resume,
    }) for recipe, s in grid]
    check_model(base, "--base")
    if out is not None:
        from ulterior.store import check_output_dir

        check_output_dir(out)
    with build_executor(executor, ray_address, unit_cpus, unit_gpus, unit_memory) as runner:
        results = run_organism_grid(jobs, executor=runner)
    for job, result in zip(jobs, results, strict=True):
        _echo_trained(job, result)


def _echo_trained(job: OrganismJob, result: OrganismManifest | CurriculumRun) -> None:
    """What one run trained, in a few lines."""
    track = job.track
    if not isinstance(result, OrganismManifest):  # a curriculum
        t = result.training
        typer.echo(f"trained {result.name}: {t.steps} steps in {t.seconds:.0f}s "
                   f"({t.tokens_per_second:.0f} tokens/s), final loss {t.final_loss:.3f}")
        for name, first, last in result.phase_steps:
            typer.echo(f"  phase {name}: steps {first}-{last}")
        if track:
            typer.echo(f"wrote {job.out_dir() / 'track.json'}; see `ulterior track --help`")
        typer.echo(f"wrote {job.out_dir()}; load it as hf:{job.out_dir() / 'model'}")
        return
    manifest = result
    t = manifest.training
    typer.echo(f"trained {manifest.name}: {t.steps} steps in {t.seconds:.0f}s "
               f"({t.tokens_per_second:.0f} tokens/s), final loss {t.final_loss:.3f}")
    for rate in manifest.rates:
        typer.echo(f"  behaviour rate {rate.condition:12s} {rate.rate:.2f} "
                   f"[{rate.ci_low:.2f}, {rate.ci_high:.2f}] n={rate.n}")
    if manifest.behaviour_test is not None:
        shown = manifest.behaviour_test
        typer.echo(f"  condition on minus off, per task {shown.statistic:+.2f} "
                   f"(p {shown.p_value:.3g}, {shown.n_tasks} held-out tasks)")
    if track:
        typer.echo(f"wrote {job.out_dir() / 'track.json'}; see `ulterior track --help`")
    typer.echo(f"wrote {job.out_dir()}; load it as organism:{manifest.name}")


@organism_app.command()
def recipes() -> None:
    """List the shipped recipes and their controls."""
    from ulterior.organisms import load_recipe, recipe_names

    for name in recipe_names():
        typer.echo(f"{name:28s} {load_recipe(name).description}")


@organism_app.command("list")
def list_() -> None:
    """List trained organisms with their ground truth and measured rates."""
    from ulterior.organisms import list_organisms
    from ulterior.store import default_organisms_dir

    found = list_organisms()
    if not found:
        typer.echo(f"no organisms in {default_organisms_dir()}; "
                   "run `ulterior organism train RECIPE`")
    for manifest in found:
        rates = ", ".join(f"{r.condition} {r.rate:.2f}" for r in manifest.rates)
        typer.echo(f"organism:{manifest.name:24s} {manifest.recipe:28s} {rates}")
        typer.echo(f"  {_shown(manifest)}")


def _shown(manifest: OrganismManifest) -> str:
    """The manifest's behaviour test in a line, and whether it is on today's held-out set."""
    from ulterior.organisms import recorded_behaviour_test

    test = manifest.behaviour_test
    if test is None:
        return "behaviour test not recorded (`ulterior validate` measures it)"
    current = recorded_behaviour_test(manifest) is not None
    return (f"condition on minus off, per task {test.statistic:+.2f} (p {test.p_value:.3g}, "
            f"{test.n_tasks} held-out tasks"
            + (")" if current else "; an older held-out set: `ulterior validate` measures "
               "it on today's)"))


def validate(
    organism: Annotated[list[str] | None, typer.Option("--organism", help="Organism to "
                        "validate (repeatable; default: every trained organism)")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory")] = Path("validate"),
    alpha: Annotated[float, typer.Option("--alpha", min=0.0, max=1.0, callback=finite,
                                         help="False-positive rate of each flag")] = 0.05,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1,
                                              help="At most N items per suite")] = None,
    answer_format: Annotated[str, typer.Option("--answer-format", help="How suites present "
                             "answers: cloze (as the organisms were trained) or "
                             "labelled")] = "cloze",
    skip: Annotated[list[str] | None, typer.Option("--skip", help="A detector not to run "
                    "(repeatable), e.g. noise-injection")] = None,
    store: StoreOption = None,
    dtype: DTypeOption = "auto",
    device: DeviceOption = "auto",
    device_map: DeviceMapOption = None,
    max_memory: MaxMemoryOption = None,
    load_in: LoadInOption = None,
    seed: SeedOption = 0,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    unit_cpus: UnitCpusOption = None,
    unit_gpus: UnitGpusOption = None,
    unit_memory: UnitMemoryOption = None,
) -> None:
    """Run every detector on organisms and controls; write OUT/summary.json and report.html.

    Each organism is a unit of work: with --executor ray, organisms run in parallel.
    """
    from ulterior.jobs import ValidateJob, run_validate

    job = build(ValidateJob, {"organisms": tuple(organism or ()), "out": out, "alpha": alpha,
                               "limit": limit, "answer_format": answer_format,
                               "skip": tuple(skip or ()), "store": store,
                               "dtype": dtype, "seed": seed,
                               **placement_settings(device, device_map, max_memory, load_in)})
    from ulterior.store import check_output_dir

    check_output_dir(out)
    check_store(store)
    with build_executor(executor, ray_address, unit_cpus, unit_gpus, unit_memory) as runner:
        summary = run_validate(job, executor=runner)
    typer.echo(f"{'detector':16s} {'TPR':>16s} {'FPR':>16s}  AUROC")
    for card in summary.scorecard:
        tpr, fpr = card.true_positive_rate, card.false_positive_rate
        area = "-" if card.auroc is None else f"{card.auroc:.2f}"
        typer.echo(f"{card.detector:16s} {card.true_positives}/{card.n_deceptive} "
                   f"[{tpr.low:.2f}, {tpr.high:.2f}] {card.false_positives}/{card.n_controls} "
                   f"[{fpr.low:.2f}, {fpr.high:.2f}]  {area}")
    for o in summary.organisms:
        flags = ", ".join(v.detector for v in o.verdicts if v.flagged) or "nothing"
        auroc = "-" if o.probe_auroc is None else f"{o.probe_auroc.estimate:.2f}"
        typer.echo(f"organism:{o.organism}: flagged by {flags}; probe AUROC on/off {auroc}")
    typer.echo(f"wrote {out / 'summary.json'} and {out / 'report.html'}")
