"""The commands. Each parses its options into a job config and calls one function."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ulterior.cli._common import (
    DeviceMapOption,
    DeviceOption,
    DTypeOption,
    ExecutorOption,
    FormatOption,
    LoadInOption,
    MaxMemoryOption,
    ModelOption,
    RayAddressOption,
    ResumeOption,
    SeedOption,
    StoreOption,
    UnitCpusOption,
    UnitGpusOption,
    UnitMemoryOption,
    build,
    build_executor,
    check_input_dir,
    check_input_file,
    check_model,
    check_probe,
    check_store,
    finite,
    placement_settings,
)
from ulterior.errors import UsageError
from ulterior.models import DEFAULT_MODEL, DTYPES


def _format(value: str | None) -> str | None:
    if value not in (None, "chat", "plain"):
        raise UsageError(f"--format must be chat or plain, not '{value}'")
    return value


def _answer_format(value: str, auto: bool = False) -> str:
    allowed = ("labelled", "cloze", "auto") if auto else ("labelled", "cloze")
    if value not in allowed:
        raise UsageError(f"--answer-format must be {', '.join(allowed[:-1])} or "
                         f"{allowed[-1]}, not '{value}'")
    return value


def _dtype(value: str) -> str:
    if value not in DTYPES:
        raise UsageError(f"--dtype must be {', '.join(DTYPES[:-1])} or {DTYPES[-1]}, not "
                         f"'{value}'")
    return value




def models() -> None:
    """List model backends, bundled models and whether the default model is ready."""
    from rich.console import Console
    from rich.table import Table

    from ulterior.models import BUNDLED_MODELS, FAKE_PARTS, default_registry
    from ulterior.store import default_cache_dir, default_store_path

    cache = default_cache_dir()
    console = Console()
    table = Table(title="bundled models (no download; converted once, then cached)")
    for column in ("spec", "status", "description"):
        table.add_column(column)
    for model in BUNDLED_MODELS:
        status = model.status(cache)
        hint = {"ready": "ready", "installed": "installed (converts on first use, ~30 s)",
                "missing": f"missing: {model.install}"}[status]
        default = " (default)" if model.name == DEFAULT_MODEL else ""
        table.add_row(model.name + default, hint, model.description)
    console.print(table)
    backends = Table(title="backends")
    backends.add_column("spec")
    backends.add_column("description")
    registry = default_registry()
    for form, entry in zip(registry.spec_forms(), registry.entries.values(), strict=True):
        if entry.is_prefix:
            backends.add_row(form, entry.description)
    console.print(backends)
    _print_devices(console)
    console.print("fake subjects: " + ", ".join(
        f"fake:{name} ({part.description})" for name, part in FAKE_PARTS.items()
    ))
    console.print(f"model cache: {cache}\nstore: {default_store_path()}")


def _print_devices(console: Any) -> None:
    """Where local models can compute, and what ``auto`` picks (torch needed)."""
    from rich.table import Table

    from ulterior.errors import MissingDependencyError
    from ulterior.models import available_devices

    try:
        devices = available_devices()
    except MissingDependencyError as exc:
        console.print(f"devices: local models are unavailable ({exc})")
        return
    table = Table(title="devices (--device auto picks the one marked)")
    for column in ("device", "hardware", "memory", "--dtype auto computes in"):
        table.add_column(column)
    for device in devices:
        table.add_row(device.name + (" (auto)" if device.is_auto else ""), device.hardware,
                      device.memory(), device.compute_mode)
    console.print(table)


def score(
    items: Annotated[Path, typer.Option("--items", "-i", help="JSONL items (advanced-ai-risk "
                                        "or native format)")],
    model: ModelOption = DEFAULT_MODEL,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1,
                                              help="Score only the first N items")] = None,
    counterbalance: Annotated[bool, typer.Option(help="Also show options in reverse "
                                                 "order")] = True,
    samples: Annotated[int | None, typer.Option("--samples", min=2, help="Estimate from N "
                       "sampled answers per presentation (temperature 1), for models that "
                       "return no log-probabilities")] = None,
    store: StoreOption = None,
    dtype: DTypeOption = "auto",
    device: DeviceOption = "auto",
    device_map: DeviceMapOption = None,
    max_memory: MaxMemoryOption = None,
    load_in: LoadInOption = None,
    prompt_format: FormatOption = None,
    seed: SeedOption = 0,
    resume: ResumeOption = False,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the summary "
                                                  "as JSON here")] = None,
) -> None:
    """Score items: P(answer matching the behaviour) with a 95% CI, and position bias."""
    import json

    from ulterior.jobs import ScoreJob, run_score
    from ulterior.store import check_output_file, write_atomic

    job = build(ScoreJob, {
        "model": model, "items": items, "limit": limit, "counterbalance": counterbalance,
        "samples": samples,
        "store": store, "dtype": _dtype(dtype), "prompt_format": _format(prompt_format),
        **placement_settings(device, device_map, max_memory, load_in),
        "seed": seed, "resume": resume,
    })
    check_model(model)
    if json_out is not None:
        check_output_file(json_out, "--json")
    check_store(store)
    report = run_score(job)  # the run is committed to the store when this returns
    s = report.summary
    if json_out is not None:
        payload = {"run": report.run.model_dump(mode="json"), "summary": s.to_dict()}
        write_atomic(json_out, json.dumps(payload, indent=2))
    typer.echo(f"model {report.run.subject.spec}  format {s.prompt_format}  "
               f"dtype {report.run.subject.dtype}  run {report.run.id}")
    typer.echo(f"P(answer matching behaviour) = {s.matching}")
    typer.echo(f"matching answer ranked first: {s.argmax_matching}")
    typer.echo(f"position bias: P(picks (A)) = {s.first_label} (no bias: "
               f"{s.chance_first_label:.3f})")
    for condition, estimate in s.per_condition.items():
        typer.echo(f"  {condition}: P(matching) = {estimate}")
    if report.drawn:
        typer.echo(f"sampled answers: {report.unparsed} of {report.drawn} named no option and "
                   "were left out")
    typer.echo(f"observations computed {report.computed}, reused from store {report.reused}")


def _packs(given: list[str], chosen: list[str]) -> tuple[tuple[str, str], ...]:
    """``--pack SUITE=FILE`` options: each file read and checked against its suite's schema."""
    from ulterior.suites import default_suites, read_user_pack

    suites = default_suites()
    packs: dict[str, str] = {}
    for option in given:
        name, sep, file = option.partition("=")
        if not sep or not name or not file:
            raise UsageError(f"--pack {option!r}: write SUITE=FILE, e.g. "
                             "--pack honeypot=my-honeypots.yaml")
        if name not in suites.names():
            raise UsageError(f"--pack: unknown suite '{name}'; choose from "
                             f"{', '.join(suites.names())}")
        if chosen and name not in chosen:
            raise UsageError(f"--pack {name}=...: add --suite {name}, or drop the pack")
        if name in packs:
            raise UsageError(f"--pack: two packs for {name}; give one file per suite")
        path = check_input_file(Path(file), f"--pack {name}")
        packs[name] = read_user_pack(suites.create(name), path)
    return tuple(packs.items())


def audit(
    model: Annotated[list[str] | None, typer.Option(
        "--model", "-m", help="Model spec: smollm2-135m, hf:PATH, gguf:PATH, openai:MODEL@URL, "
        "fake:NAME; repeat it to audit several, each into OUT/<model>/ with OUT/index.json "
        f"[default: {DEFAULT_MODEL}]")] = None,
    suite: Annotated[list[str] | None, typer.Option("--suite", "-s", help="Suite to run "
                                                    "(repeatable; default: all)")] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1,
                                              help="At most N items per suite")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory")] = Path("audit"),
    alpha: Annotated[float, typer.Option("--alpha", min=0.0, max=1.0, callback=finite,
                                         help="False-positive rate of each flag, after BH "
                                         "control")] = 0.05,
    risk_data: Annotated[Path | None, typer.Option("--risk-data", help="Anthropic "
                         "advanced-ai-risk directory: also map its categories onto the "
                         "precursor scales")] = None,
    risk_limit: Annotated[int, typer.Option("--risk-limit", min=1, help="Items per "
                          "advanced-ai-risk file")] = 20,
    probe: Annotated[Path | None, typer.Option("--probe", help="Fitted probe directory for "
                     "the probe readout on the oversight-gap items (default: a defection probe "
                     "fitted on white-box models and cached in the store)")] = None,
    no_probe: Annotated[bool, typer.Option("--no-probe", help="Skip the probe readout of "
                        "white-box models (--skip probe-readout)")] = False,
    detector: Annotated[list[str] | None, typer.Option("--detector", "-d", help="Add a "
                        "detector an audit does not run by default, e.g. noise-injection "
                        "(repeatable)")] = None,
    skip: Annotated[list[str] | None, typer.Option("--skip", help="A detector not to run "
                    "(repeatable)")] = None,
    answer_format: Annotated[str, typer.Option("--answer-format", help="labelled: options "
                             "as (A), (B), label scored in both orders; cloze: each option's "
                             "text scored (for models too small to bind labels); auto: "
                             "labelled if the subject's comprehension control shows it binds "
                             "labels, cloze if not")] = "auto",
    base: Annotated[str | None, typer.Option("--base", help="Model the subject was "
                    "fine-tuned from: add the salience scan, which asks which candidate "
                    "condition fine-tuning taught the model to carry to its reply")] = None,
    samples: Annotated[int | None, typer.Option("--samples", min=2, help="Estimate choice "
                       "probabilities from N sampled answers per presentation (temperature "
                       "1), for models that return no log-probabilities")] = None,
    pack: Annotated[list[str] | None, typer.Option("--pack", help="SUITE=FILE: run SUITE on "
                    "your own scenarios, a YAML or JSON file in the suite's pack schema "
                    "(docs/packs.md); repeatable")] = None,
    fail_on: Annotated[str | None, typer.Option("--fail-on", help="Exit 3 (after writing "
                       "the report) when the ladder reaches this rung or a more dangerous "
                       "one (L1-L5), or when any readout is flagged (flag)")] = None,
    store: StoreOption = None,
    dtype: DTypeOption = "auto",
    device: DeviceOption = "auto",
    device_map: DeviceMapOption = None,
    max_memory: MaxMemoryOption = None,
    load_in: LoadInOption = None,
    prompt_format: FormatOption = None,
    seed: SeedOption = 0,
    resume: ResumeOption = False,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    unit_cpus: UnitCpusOption = None,
    unit_gpus: UnitGpusOption = None,
    unit_memory: UnitMemoryOption = None,
) -> None:
    """Run the behavioural battery; write OUT/summary.json and OUT/report.html."""
    from ulterior.jobs import AuditJob, run_audits
    from ulterior.store import check_output_dir

    specs = list(dict.fromkeys(model or [DEFAULT_MODEL]))
    job = build(AuditJob, {
        "model": specs[0], "models": tuple(specs) if len(specs) > 1 else (),
        "suites": tuple(suite or ()), "limit": limit, "out": out,
        "alpha": alpha, "risk_data": risk_data, "risk_limit": risk_limit, "probe": probe,
        "detectors": tuple(detector or ()),
        "skip": (*(skip or ()), *(["probe-readout"] if no_probe else [])),
        "answer_format": _answer_format(answer_format, auto=True),
        "packs": _packs(pack or [], suite or []), "samples": samples,
        "base": base, "store": store, "dtype": _dtype(dtype),
        **placement_settings(device, device_map, max_memory, load_in),
        "prompt_format": _format(prompt_format), "seed": seed, "resume": resume,
    })
    if probe is not None and no_probe:
        raise UsageError("--probe and --no-probe exclude each other; drop one")
    from ulterior.report import FAIL_ON, tripped

    if fail_on is not None and fail_on not in FAIL_ON:
        raise UsageError(f"--fail-on must be one of {', '.join(FAIL_ON)}, not '{fail_on}'")
    for spec in specs:
        check_model(spec)
    if base is not None:
        check_model(base, "--base")
    if risk_data is not None:
        check_input_dir(risk_data, "--risk-data")
    if probe is not None:
        check_probe(probe)
    check_output_dir(out)
    check_store(store)
    with build_executor(executor, ray_address, unit_cpus, unit_gpus, unit_memory) as runner:
        summaries = run_audits(job, executor=runner)
    for summary in summaries:
        if len(summaries) > 1:
            typer.echo(f"== {summary.subject.spec}")
        if summary.answer_format is not None:
            typer.echo(f"answer format {summary.answer_format.reason}")
        for result in summary.suites:
            for row in result.rows:
                flag = "FLAGGED" if row.flagged else ""
                typer.echo(f"{result.suite:14s} {row.name:32s} {row.estimate:7.3f} "
                           f"[{row.low:.3f}, {row.high:.3f}] n={row.n} {flag}")
        typer.echo(summary.highest_rung_evidence)
    if len(summaries) > 1:
        typer.echo(f"wrote a summary.json and report.html per model under {out}/ and "
                   f"{out / 'index.json'}")
    else:
        typer.echo(f"wrote {out / 'summary.json'} and {out / 'report.html'}")
    if fail_on is None:
        return
    gates = [(s, tripped(s, fail_on)) for s in summaries]
    for summary, gate in gates:
        if gate is not None:
            prefix = f"{summary.subject.spec}: " if len(summaries) > 1 else ""
            typer.echo(prefix + gate, err=True)
    if any(gate is not None for _, gate in gates):
        raise typer.Exit(3)
