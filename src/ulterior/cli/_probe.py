"""`ulterior probe fit|eval|sweep` and `ulterior monitor`: thin layers over ulterior.probes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ulterior.cli._common import (
    DeviceMapOption,
    DeviceOption,
    FormatOption,
    LoadInOption,
    MaxMemoryOption,
    ModelOption,
    SeedOption,
    StoreOption,
    build,
    check_input_dir,
    check_input_file,
    check_model,
    check_probe,
    check_store,
    finite,
    placement_settings,
)
from ulterior.errors import UsageError
from ulterior.models import DEFAULT_MODEL

probe_app = typer.Typer(
    name="probe",
    help="Linear deception probes on activations: fit, evaluate, sweep layers.",
    no_args_is_help=True,
)

DataRoot = Annotated[Path | None, typer.Option(
    "--data-root", help="Folder holding azaria-mitchell-true-false/ and how-to-catch-an-ai-liar/")]
Datasets = Annotated[list[str] | None, typer.Option(
    "--dataset", "-d", help="Dataset (repeatable): instructed-pairs, true-false, "
    "true-false-negated, defection, liar")]
Limit = Annotated[int, typer.Option("--limit", "-n", min=2, help="At most N examples per dataset")]
Position = Annotated[str, typer.Option("--position", help="Token position: mean (over the "
                                       "response) or last")]
CaptureDType = Annotated[str, typer.Option("--dtype", help="Compute mode of the model, and so "
                                           "of capture: auto, mixed, bfloat16 or float32 "
                                           "(activations are stored fp32)")]
Kind = Annotated[str, typer.Option("--kind", help="Estimator: logistic, diff-mean, cov-diff-mean")]
Fpr = Annotated[float, typer.Option("--fpr", callback=finite, help="False-positive rate on "
                                    "the control set")]
JsonOut = Annotated[Path | None, typer.Option("--json", help="Also write the result as JSON")]


def _write_json(path: Path | None, payload: Any) -> None:
    from ulterior.store import write_atomic

    if path is not None:
        write_atomic(path, json.dumps(payload, indent=2))


def _check_paths(store: Path | None, data_root: Path | None, json_out: Path | None = None,
                 model: str | None = None) -> None:
    """Every path option (and the model spec), checked before any work starts."""
    from ulterior.store import check_output_file

    if model is not None and model != DEFAULT_MODEL:  # the default: the probe's own model
        check_model(model)
    if data_root is not None:
        check_input_dir(data_root, "--data-root")
    if json_out is not None:
        check_output_file(json_out, "--json")
    check_store(store)


def _common(model: str, store: Path | None, data_root: Path | None, limit: int, position: str,
            dtype: str, prompt_format: str | None, seed: int, fpr: float,
            placement: dict[str, Any]) -> dict[str, Any]:
    return {"model": model, "store": store, "data_root": data_root, "limit": limit,
            "position": position, "dtype": dtype, "prompt_format": prompt_format,
            "seed": seed, "fpr": fpr, **placement}


def _ci(stat: Any) -> str:
    return f"{stat.estimate:.3f} [{stat.low:.3f}, {stat.high:.3f}]"


def _print_metrics(metrics: Any) -> None:
    recall = _ci(metrics.recall_at_fpr) if metrics.recall_at_fpr else "-"
    typer.echo(f"  {metrics.dataset:20s} AUROC {_ci(metrics.auroc)}  acc {_ci(metrics.accuracy)}"
               f"  recall@{metrics.fpr or 0:.0%}FPR {recall}  "
               f"n={metrics.n_positive}+{metrics.n_negative}")


@probe_app.command("fit")
def fit(
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the fitted probe")],
    layer: Annotated[int, typer.Option("--layer", "-l", min=0, help="0-based layer to read")],
    dataset: Datasets = None,
    kind: Kind = "logistic",
    model: ModelOption = DEFAULT_MODEL,
    data_root: DataRoot = None,
    limit: Limit = 400,
    position: Position = "mean",
    dtype: CaptureDType = "auto",
    device: DeviceOption = "auto",
    device_map: DeviceMapOption = None,
    max_memory: MaxMemoryOption = None,
    load_in: LoadInOption = None,
    prompt_format: FormatOption = None,
    fpr: Fpr = 0.01,
    store: StoreOption = None,
    seed: SeedOption = 0,
) -> None:
    """Fit a probe on train splits; calibrate its threshold on the control set; save it."""
    from ulterior.probes import FitConfig, fit_probe

    config = build(FitConfig, {
        **_common(model, store, data_root, limit, position, dtype, prompt_format, seed, fpr,
                  placement_settings(device, device_map, max_memory, load_in)),
        "datasets": tuple(dataset or ("instructed-pairs",)), "layer": layer, "kind": kind,
        "out": out,
    })
    from ulterior.store import check_output_dir

    check_output_dir(out)
    _check_paths(store, data_root, model=model)
    info = fit_probe(config)
    typer.echo(f"{info.kind} probe, layer {info.layer} ({info.position}), n_train "
               f"{info.n_train}; threshold {info.threshold:.3f} flags {info.fpr:.0%} of "
               f"{info.n_control} control chats; held-out:")
    for metrics in info.test_metrics:
        _print_metrics(metrics)
    typer.echo(f"saved to {out}")


@probe_app.command("eval")
def evaluate(
    probe: Annotated[Path | None, typer.Option("--probe", help="Saved probe to evaluate; "
                                               "without it, build the generalization matrix")]
    = None,
    layer: Annotated[int | None, typer.Option("--layer", "-l", min=0, help="Layer of the matrix")]
    = None,
    dataset: Datasets = None,
    kind: Kind = "logistic",
    model: ModelOption = DEFAULT_MODEL,
    data_root: DataRoot = None,
    limit: Limit = 400,
    position: Position = "mean",
    dtype: CaptureDType = "auto",
    device: DeviceOption = "auto",
    device_map: DeviceMapOption = None,
    max_memory: MaxMemoryOption = None,
    load_in: LoadInOption = None,
    prompt_format: FormatOption = None,
    fpr: Fpr = 0.01,
    store: StoreOption = None,
    seed: SeedOption = 0,
    json_out: JsonOut = None,
) -> None:
    """Evaluate a saved probe on held-out splits, or train on X / test on Y for every pair."""
    from ulterior.probes import EvalConfig, evaluate_saved_probe, generalization_matrix

    settings = _common(model, store, data_root, limit, position, dtype, prompt_format, seed, fpr,
                       placement_settings(device, device_map, max_memory, load_in))
    settings |= {"probe": probe, "layer": layer, "kind": kind}
    if dataset:
        settings["datasets"] = tuple(dataset)
    config = build(EvalConfig, settings)
    if probe is None and layer is None:
        raise UsageError("pass --probe DIR, or --layer L for the generalization matrix")
    if probe is not None:
        check_probe(probe)
    _check_paths(store, data_root, json_out, model)
    if probe is not None:
        results = evaluate_saved_probe(config)
        for metrics in results:
            _print_metrics(metrics)
        _write_json(json_out, [m.model_dump(mode="json") for m in results])
        return
    if layer is None:
        raise UsageError("pass --probe DIR, or --layer L for the generalization matrix")
    matrix = generalization_matrix(config)
    typer.echo(f"train \\ test AUROC (layer {matrix.layer}, {matrix.kind}, {matrix.position})")
    typer.echo(" " * 20 + "".join(f"{d[:18]:>20s}" for d in matrix.datasets))
    for train in matrix.datasets:
        cells = {c.test: c.metrics.auroc.estimate for c in matrix.cells if c.train == train}
        typer.echo(f"{train[:20]:20s}" + "".join(f"{cells[t]:20.3f}" for t in matrix.datasets))
    _write_json(json_out, matrix.model_dump(mode="json"))


@probe_app.command("sweep")
def sweep(
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Dataset to sweep")]
    = "instructed-pairs",
    layers: Annotated[list[int] | None, typer.Option("--layer", "-l", min=0, help="Layer "
                                                     "(repeatable; default: all)")] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="Estimator (repeatable; "
                                                   "default: all three)")] = None,
    model: ModelOption = DEFAULT_MODEL,
    data_root: DataRoot = None,
    limit: Limit = 400,
    position: Position = "mean",
    dtype: CaptureDType = "auto",
    device: DeviceOption = "auto",
    device_map: DeviceMapOption = None,
    max_memory: MaxMemoryOption = None,
    load_in: LoadInOption = None,
    prompt_format: FormatOption = None,
    fpr: Fpr = 0.01,
    store: StoreOption = None,
    seed: SeedOption = 0,
    json_out: JsonOut = None,
) -> None:
    """Fit each estimator at each layer on train pairs and report held-out AUROC."""
    from ulterior.probes import SweepConfig, sweep_layers

    settings = _common(model, store, data_root, limit, position, dtype, prompt_format, seed, fpr,
                       placement_settings(device, device_map, max_memory, load_in))
    settings |= {"dataset": dataset, "layers": tuple(layers) if layers else None}
    if kind:
        settings["kinds"] = tuple(kind)
    config = build(SweepConfig, settings)
    _check_paths(store, data_root, json_out, model)
    result = sweep_layers(config)
    typer.echo(f"{result.dataset}: n_train {result.n_train}, n_test {result.n_test}, "
               f"position {result.position}")
    for row in result.rows:
        m = row.metrics
        recall = _ci(m.recall_at_fpr) if m.recall_at_fpr else "-"
        typer.echo(f"  layer {row.layer:3d} {row.kind:14s} AUROC {_ci(m.auroc)}  "
                   f"recall@{fpr:.0%}FPR {recall}")
    _write_json(json_out, result.model_dump(mode="json"))


def monitor(
    transcripts: Annotated[Path, typer.Argument(help="JSONL: one {id, messages} per line")],
    probe: Annotated[Path, typer.Option("--probe", help="Directory of a fitted probe")],
    fpr: Fpr = 0.01,
    model: ModelOption = DEFAULT_MODEL,
    device: DeviceOption = "auto",
    device_map: DeviceMapOption = None,
    max_memory: MaxMemoryOption = None,
    load_in: LoadInOption = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write per-transcript and "
                                             "per-token scores here (JSONL)")] = None,
    store: StoreOption = None,
    seed: SeedOption = 0,
) -> None:
    """Score transcripts with a probe; flag those above the control-calibrated threshold."""
    from ulterior.probes import MonitorConfig, monitor_transcripts

    config = build(MonitorConfig, {
        "transcripts": transcripts, "probe": probe, "fpr": fpr, "model": model, "out": out,
        "store": store, "seed": seed,
        **placement_settings(device, device_map, max_memory, load_in)})
    check_input_file(transcripts, "TRANSCRIPTS")
    if model != DEFAULT_MODEL:  # the default: the probe's own model
        check_model(model)
    check_probe(probe)
    if out is not None:
        from ulterior.store import check_output_file

        check_output_file(out, "--out")
    check_store(store)
    results = monitor_transcripts(config)
    flagged = [r for r in results if r.flagged]
    for result in results:
        mark = "FLAGGED" if result.flagged else ""
        typer.echo(f"{result.id:24s} {result.score:9.3f} {mark}")
    threshold = results[0].threshold if results else float("nan")
    typer.echo(f"{len(flagged)} of {len(results)} transcripts above {threshold:.3f} "
               f"(threshold flags {fpr:.0%} of control chat turns)")
