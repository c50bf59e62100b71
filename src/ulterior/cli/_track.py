"""`ulterior track`: the property battery over a training run's checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ulterior.cli._common import (
    DeviceMapOption,
    DeviceOption,
    DTypeOption,
    ExecutorOption,
    FormatOption,
    LoadInOption,
    MaxMemoryOption,
    RayAddressOption,
    SeedOption,
    StoreOption,
    UnitCpusOption,
    UnitGpusOption,
    UnitMemoryOption,
    build,
    build_executor,
    check_input_dir,
    check_model,
    check_store,
    placement_settings,
)


def track(
    paths: Annotated[list[Path], typer.Argument(help="Checkpoints, or run directories that "
                     "hold them (checkpoints/step-N, checkpoint-N)")],
    base: Annotated[str | None, typer.Option("--base", help="Model the run started from: "
                    "read as step 0, and the base of LoRA adapters [default: the run's "
                    "manifest]")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory")] = Path("track"),
    battery: Annotated[Path | None, typer.Option("--battery", help="Directory of your own "
                       "property packs (*.yaml) instead of the shipped battery")] = None,
    split: Annotated[str, typer.Option("--split", help="Items to read: tracked, held-out "
                     "or all")] = "tracked",
    per_property: Annotated[int | None, typer.Option("--per-property", min=1, help="At most "
                            "N items per property")] = None,
    resamples: Annotated[int, typer.Option("--resamples", min=100, help="Bootstrap "
                         "replicates over items")] = 1000,
    method: Annotated[str, typer.Option("--method", help="Onset rule: change-point (one "
                      "change point of a step fit) or threshold (the first sustained rise; "
                      "also sees a property learned and then unlearned)")] = "change-point",
    min_effect: Annotated[float, typer.Option("--min-effect", min=0, help="With --method "
                          "threshold: the smallest standardised change (mean change over its "
                          "standard deviation across items) declared an onset")] = 0.0,
    store: StoreOption = None,
    dtype: DTypeOption = "auto",
    device: DeviceOption = "auto",
    device_map: DeviceMapOption = None,
    max_memory: MaxMemoryOption = None,
    load_in: LoadInOption = None,
    prompt_format: FormatOption = None,
    seed: SeedOption = 0,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    unit_cpus: UnitCpusOption = None,
    unit_gpus: UnitGpusOption = None,
    unit_memory: UnitMemoryOption = None,
) -> None:
    """Read the property battery on every checkpoint; write OUT/track.json and track.html.

    Each reading is kept in the store under the checkpoint's content hash, so an
    interrupted track continues where it stopped when run again. Each checkpoint is a unit
    of work: with --executor ray, checkpoints are read in parallel.
    """
    from ulterior.jobs import TrackJob, run_track
    from ulterior.store import check_output_dir

    job = build(TrackJob, {
        "paths": tuple(paths), "base": base, "out": out, "battery": battery, "split": split,
        "per_property": per_property, "n_resamples": resamples, "method": method,
        "min_effect": min_effect,
        "store": store,
        "dtype": dtype, "prompt_format": prompt_format, "seed": seed,
        **placement_settings(device, device_map, max_memory, load_in),
    })
    for path in paths:
        check_input_dir(path, "PATH")
    if base is not None:
        check_model(base, "--base")
    if battery is not None:
        check_input_dir(battery, "--battery")
    check_output_dir(out)
    check_store(store)
    with build_executor(executor, ray_address, unit_cpus, unit_gpus, unit_memory) as runner:
        record = run_track(job, executor=runner)
    analysis = record.emergence
    for t in analysis.trajectories:
        onset = "no onset" if t.onset is None else f"onset at step {t.onset}"
        typer.echo(f"{t.property:22s} change {t.change[-1]:+7.3f} nats "
                   f"[{t.low[-1]:+.3f}, {t.high[-1]:+.3f}] n={t.n_items}  {onset} "
                   f"(shift {t.shift:+.3f} [{t.shift_low:+.3f}, {t.shift_high:+.3f}])")
    typer.echo("order: " + (" < ".join(analysis.order) or "no property emerged"))
    for warning in analysis.warnings:
        typer.echo(f"WARNING {warning}")
    typer.echo(f"wrote {out / 'track.json'} and {out / 'track.html'}")
