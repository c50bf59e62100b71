from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence

import typer

from ulterior.cli._commands import audit, models, score
from ulterior.cli._organism import organism_app, validate
from ulterior.cli._probe import monitor, probe_app
from ulterior.cli._report import report
from ulterior.cli._simulate import simulate_app
from ulterior.cli._track import track

PROG = "ulterior"
INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C

app = typer.Typer(
    name=PROG,
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
app.command()(track)
app.command()(report)
app.add_typer(probe_app, name="probe", help="Linear deception probes on activations.")
app.add_typer(organism_app, name="organism", help="Model organisms with known hidden behaviour.")
app.add_typer(simulate_app, name="simulate", help="Simulate training/deployment regimes.")


def _is(exc: BaseException, name: str) -> bool:
    """Whether ``exc`` is a click exception called ``name``, from any copy of click.

    Older typer (0.15, 0.20) raises the exceptions of the ``click`` package; newer versions
    (0.29) those of the copy they bundle (``typer._click``). Matching the class name along
    the MRO catches both without importing either.
    """
    return any(cls.__name__ == name and "click" in cls.__module__
               for cls in type(exc).__mro__)


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def _usage_line(exc: BaseException) -> str:
    """Click's message for a usage error, on one line, with where to read the help."""
    message = _one_line(exc.format_message())  # type: ignore[attr-defined]
    message = message.replace(" (env var: 'None')", "")  # typer 0.2x with click 8.2
    ctx = getattr(exc, "ctx", None)
    path = getattr(ctx, "command_path", None) or PROG
    return f"{message.rstrip('.')}; see `{path} --help`"


def _command_has(args: Sequence[str], option: str) -> bool:
    """Whether the command that ``args`` invoke takes ``option``."""
    command = typer.main.get_command(app)
    for arg in args:
        sub = getattr(command, "commands", {}).get(arg)
        if sub is None:
            if not arg.startswith("-"):
                break
            continue
        command = sub
    return any(option in getattr(p, "opts", ()) for p in getattr(command, "params", ()))


def _interrupted(args: Sequence[str]) -> str:
    """One line for Ctrl-C: how to carry on."""
    if _command_has(args, "--resume"):
        again = [PROG, *args] + ([] if "--resume" in args else ["--resume"])
        return f"interrupted; what finished is stored; continue with: {shlex.join(again)}"
    return "interrupted before the results were saved; run the same command again"


def _fail(message: str, code: int = 2) -> SystemExit:
    print(f"error: {message}", file=sys.stderr)
    return SystemExit(code)


def main(args: Sequence[str] | None = None) -> None:
    """Entry point: run the CLI with ``args`` (default: ``sys.argv[1:]``).

    Every error a user can cause ends the same way, whatever the version of typer and click:
    one line on stderr and exit status 2. Ctrl-C prints how to continue and exits 130. A
    bare group command prints its help and exits 0.

    Raises:
        SystemExit: Always, with the exit status.
    """
    from ulterior.errors import UlteriorError

    argv = list(sys.argv[1:] if args is None else args)
    try:
        code = app(args=argv, prog_name=PROG, standalone_mode=False)
    except UlteriorError as exc:
        raise _fail(_one_line(str(exc))) from None
    except KeyboardInterrupt:
        code = INTERRUPTED
    except Exception as exc:
        if _is(exc, "NoArgsIsHelpError"):  # click >= 8.2: the help, as asked for
            text = exc.format_message()  # type: ignore[attr-defined]  # the help, if not shown
            if text.strip():
                print(text)
            raise SystemExit(0) from None
        if _is(exc, "UsageError"):
            raise _fail(_usage_line(exc)) from None
        if _is(exc, "Abort"):  # click < 8.2 turns Ctrl-C into Abort
            code = INTERRUPTED
        elif _is(exc, "ClickException"):
            raise _fail(_one_line(exc.format_message())) from None  # type: ignore[attr-defined]
        elif isinstance(exc, OSError) and exc.filename is not None:
            raise _fail(f"{exc.strerror or exc}: {exc.filename}") from None
        else:
            raise
    if code == INTERRUPTED:
        print(_interrupted(argv), file=sys.stderr)
    raise SystemExit(code if isinstance(code, int) else 0)
