"""`ulterior simulate`: the regime simulations (evolution, gradient descent, sweeps)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from ulterior.cli._common import (
    ExecutorOption,
    RayAddressOption,
    UnitCpusOption,
    UnitGpusOption,
    UnitMemoryOption,
    build,
    build_executor,
    check_store,
)
from ulterior.errors import UsageError

simulate_app = typer.Typer(
    name="simulate",
    help="Simulate training/deployment regimes: when does optimization produce deception?",
    no_args_is_help=True,
)

_REGIMES = ("R1", "R2", "R3", "R4", "no-test", "null")
_REGIME_HELP = "Regime (repeat for several): R1, R2, R3, R4, no-test, null."


def _regimes(names: Sequence[str]) -> list[str]:
    bad = [n for n in names if n not in _REGIMES]
    if bad:
        raise UsageError(f"unknown --regime {bad[0]!r}; use one of {', '.join(_REGIMES)}")
    return list(dict.fromkeys(names))


@contextmanager
def _progress(label: str, total: int) -> Iterator[Callable[[int, int], None]]:
    """The runner's progress display, fed by the simulations' (done, total) callback."""
    from ulterior.runner import progress

    with progress(total, label) as advance:
        shown = 0

        def update(done: int, _total: int) -> None:
            nonlocal shown
            advance(done - shown)
            shown = done

        yield update


def _report(records: Sequence[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    n = records[0].n_seeds
    table = Table(title=f"final values: mean over {n} seeds ± half-width of the 95% t-interval")
    table.add_column("regime")
    metrics = list(records[0].summary)[:4]
    for metric in metrics:
        table.add_column(metric.replace("_", " "))
    for record in records:
        cells = [
            f"{s.mean:.3f} ± {(s.ci_high - s.ci_low) / 2:.3f}"
            for s in (record.summary[m] for m in metrics)
        ]
        table.add_row(record.regime, *cells)
    Console().print(table)


def _run(model: str, regimes: Sequence[str], settings: dict[str, Any], store: Path | None,
         out: Path | None) -> None:
    from ulterior.sims import EvolutionConfig, GradientConfig, run_simulations

    cls: type[EvolutionConfig] | type[GradientConfig] = (
        EvolutionConfig if model == "evolution" else GradientConfig
    )
    configs = [build(cls, {**settings, "regime": r}) for r in _regimes(regimes)]
    output = _output(store, out)
    with _kept_only_if_done(output), _progress(f"{model} runs", len(configs)) as update:
        records = run_simulations(configs, output=output, progress=update)
    _report(records)


Regimes = Annotated[list[str] | None, typer.Option("--regime", help=_REGIME_HELP)]
StoreOpt = Annotated[
    Path | None,
    typer.Option(help="SQLite store for the records [default: $ULTERIOR_STORE or user data dir]"),
]
OutOpt = Annotated[Path | None, typer.Option(help="Directory for JSON, .npz arrays and PNG plots.")]
Seeds = Annotated[int, typer.Option(help="Independent replicates.")]
Seed = Annotated[int, typer.Option(help="Base random seed.")]
Block = Annotated[int, typer.Option(help="R2: length of alternating blocks.")]


def _output(store: Path | None, out: Path | None) -> Any:
    """Where results go, checked before any work: the store is opened (and initialised)."""
    from ulterior.sims import OutputOptions
    from ulterior.store import Store, check_output_dir, default_store_path

    if out is not None:
        check_output_dir(out)
    check_store(store)
    path = store or default_store_path()
    Store(path).close()  # a store that cannot be opened fails now, not after the runs
    return OutputOptions(store=path, out=out)


@contextmanager
def _kept_only_if_done(output: Any) -> Iterator[None]:
    """Remove what a failed or interrupted run wrote to ``out`` (records and files together).

    The simulations write arrays and JSON before their records reach the store; should the
    run fail, the new files would describe records that do not exist.
    """
    out: Path | None = output.out
    before = set(out.iterdir()) if out is not None and out.is_dir() else None
    try:
        yield
    except BaseException:
        if out is not None and out.is_dir():
            for path in set(out.iterdir()) - (before or set()):
                if path.is_file():
                    path.unlink(missing_ok=True)
            if before is None and not any(out.iterdir()):
                out.rmdir()
        raise


@simulate_app.command()
def evolution(
    regime: Regimes = None,
    cue: Annotated[float, typer.Option(help="P(test input is the fixed pattern), 0 to 1.")] = 1.0,
    seeds: Seeds = 10,
    seed: Seed = 0,
    population: Annotated[int, typer.Option(help="Organisms per replicate.")] = 1000,
    generations: Annotated[int, typer.Option(help="Generations in the whole run.")] = 4000,
    train_generations: Annotated[int, typer.Option(help="Initial training generations.")] = 100,
    block: Block = 100,
    mutation_rate: Annotated[float, typer.Option(help="P(offspring is a mutant).")] = 0.5,
    functional_fraction: Annotated[
        float, typer.Option(help="P(a mutation hits a trait gene).")
    ] = 0.2,
    test_rate: Annotated[float, typer.Option(help="P(a mutant is tested).")] = 1.0,
    advantage: Annotated[float, typer.Option(help="Largest replication advantage.")] = 1.0,
    record_every: Annotated[int, typer.Option(help="Record every k generations.")] = 1,
    store: StoreOpt = None,
    out: OutOpt = None,
) -> None:
    """Digital evolution with a test environment (Avida "playing dead")."""
    settings = {
        "cue": cue, "seeds": seeds, "seed": seed, "population": population,
        "generations": generations, "train_generations": train_generations, "block": block,
        "mutation_rate": mutation_rate, "functional_fraction": functional_fraction,
        "test_rate": test_rate, "advantage": advantage, "record_every": record_every,
    }  # fmt: skip
    _run("evolution", regime or ["R4"], settings, store, out)


@simulate_app.command()
def gradient(
    regime: Regimes = None,
    cue: Annotated[float, typer.Option(help="Flag reliability: P(right) = (1 + cue) / 2.")] = 1.0,
    prior: Annotated[str, typer.Option(help="Initial policy: neutral or misaligned.")] = "neutral",
    seeds: Seeds = 10,
    seed: Seed = 0,
    steps: Annotated[int, typer.Option(help="Update steps in the whole run.")] = 2000,
    train_steps: Annotated[int, typer.Option(help="Steps of initial training.")] = 300,
    block: Block = 100,
    batch: Annotated[int, typer.Option(help="Episodes per update.")] = 64,
    test_rate: Annotated[float, typer.Option(help="Overseen share of episodes, R3/R4.")] = 0.25,
    learning_rate: Annotated[float, typer.Option(help="SGD step size.")] = 1.0,
    flag_scale: Annotated[float, typer.Option(help="Initial weight scale of the flag.")] = 0.0,
    store: StoreOpt = None,
    out: OutOpt = None,
) -> None:
    """Gradient descent (REINFORCE) on a small policy network with an oversight flag."""
    settings = {
        "cue": cue, "prior": prior, "seeds": seeds, "seed": seed, "steps": steps,
        "train_steps": train_steps, "block": block, "batch": batch, "test_rate": test_rate,
        "learning_rate": learning_rate, "flag_scale": flag_scale,
    }  # fmt: skip
    _run("gradient", regime or ["R4"], settings, store, out)


def _parse_values(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"--values {text!r}: give numbers separated by commas") from None
    if not values:
        raise UsageError("--values: give at least one number, e.g. --values 0,0.5,1")
    return values


def _parse_settings(pairs: Sequence[str]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--set {pair!r}: write NAME=VALUE, e.g. --set population=500")
        settings[name.strip().replace("-", "_")] = value.strip()
    return settings


@simulate_app.command("sweep")
def sweep_command(
    model: Annotated[str, typer.Argument(help="evolution or gradient.")],
    param: Annotated[str, typer.Option(help="Setting to vary, e.g. cue, test_rate.")] = "cue",
    values: Annotated[str, typer.Option(help="Comma-separated values.")] = "0,0.25,0.5,0.75,1",
    regime: Regimes = None,
    seeds: Seeds = 10,
    seed: Seed = 0,
    setting: Annotated[
        list[str] | None, typer.Option("--set", help="Other setting as NAME=VALUE (repeat).")
    ] = None,
    store: StoreOpt = None,
    out: OutOpt = None,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    unit_cpus: UnitCpusOption = None,
    unit_gpus: UnitGpusOption = None,
    unit_memory: UnitMemoryOption = None,
) -> None:
    """Sweep one setting across values and regimes (R1-R4 unless --regime is given).

    Each (value, regime) cell is a unit of work: with --executor ray, cells run in parallel.
    """
    from ulterior.sims import SweepConfig, run_sweep

    if model not in ("evolution", "gradient"):
        raise UsageError(f"unknown model {model!r}; use evolution or gradient")
    base = {**_parse_settings(setting or []), "seeds": seeds, "seed": seed}
    config = build(
        SweepConfig,
        {
            "model": model,
            "parameter": param.replace("-", "_"),
            "values": _parse_values(values),
            "regimes": _regimes(regime or ["R1", "R2", "R3", "R4"]),
            "base": base,
        },
    )
    runner = build_executor(executor, ray_address, unit_cpus, unit_gpus, unit_memory)
    output = _output(store, out)
    cells = len(config.values) * len(config.regimes)
    with runner, _kept_only_if_done(output), \
            _progress(f"{model} sweep over {config.parameter}", cells) as update:
        record = run_sweep(config, output=output, progress=update, executor=runner)
    from rich.console import Console

    console = Console()
    for cell in record.cells:
        s = cell.summary["deception_index"]
        console.print(
            f"{config.parameter}={cell.value:g} {cell.regime}: deception index "
            f"{s.mean:.3f} [{s.ci_low:.3f}, {s.ci_high:.3f}] (n={s.n_seeds})"
        )
