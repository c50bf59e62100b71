from __future__ import annotations

import sys

import typer

from ulterior.cli._commands import audit, models, score
from ulterior.cli._organism import organism_app, validate
from ulterior.cli._probe import monitor, probe_app
from ulterior.cli._simulate import simulate_app

app = typer.Typer(
    name="ulterior",
    help="Look for evidence of deceptive alignment in language models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(models)
app.command()(score)
app.command()(audit)
app.command()(monitor)
app.command()(validate)
app.add_typer(probe_app, name="probe", help="Linear deception probes on activations.")
app.add_typer(organism_app, name="organism", help="Model organisms with known hidden behaviour.")
app.add_typer(simulate_app, name="simulate", help="Simulate training/deployment regimes.")


def main() -> None:
    """Entry point: run the CLI; print ulterior's errors as one line and exit 2."""
    from ulterior.errors import UlteriorError

    try:
        app(standalone_mode=False)
    except UlteriorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except typer.Abort:
        print("aborted", file=sys.stderr)
        raise SystemExit(130) from None
    except Exception as exc:
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            raise SystemExit(exc.exit_code) from None
        raise
