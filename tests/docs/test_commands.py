"""Every command in the README and docs runs as written.

Commands are the lines of ```bash blocks (a trailing backslash joins lines; ``#`` starts a
comment). Each is checked by its kind:

- `ulterior` commands that load no real model (fake subjects, listings, reports, --help)
  run, in the order the page gives them, from the repository root with a private store;
- other `ulterior` commands are parsed by the CLI itself (options, types, arguments), which
  catches a renamed option or a removed command without training or auditing anything;
- `python benchmarks/X.py` names a script that exists, and each of its options is defined
  there; `make X` names a target of the Makefile; `pytest` paths exist.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from ulterior.cli import app

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BIN = Path(sys.executable).parent
# Commands a page may show that this test cannot or need not run (installers, set-up).
UNCHECKED = {"pip", "apt-get", "git", "cd", ".", "source", "export", "sudo", "inspect",
             "curl", "ray", "llama-server", "python3", "bash"}
# Subcommands cheap enough to run whenever no real model is named.
RUNNABLE = {"models", "score", "audit", "report", "monitor", "recipes", "list"}


def commands(page: Path) -> list[str]:
    """The commands of a page's ```bash blocks."""
    out: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            words = shlex.split(line, comments=True)
            if words:
                out.append(shlex.join(words) if "||" not in line else line.split(" #")[0])
    return out


def _program(word: str) -> str:
    """``ulterior`` for ``.venv/bin/ulterior``, ``python`` for ``.venv-bench/bin/python``."""
    return word.rsplit("/bin/", 1)[-1]


def _cli_path(args: list[str]) -> tuple[Any, list[str], list[str]]:
    """The CLI command an argument list reaches, its name path, and its own arguments."""
    command: Any = typer.main.get_command(app)
    names: list[str] = []
    rest = list(args)
    # typer carries its own copy of click: a group is whatever holds subcommands
    while hasattr(command, "commands") and rest and not rest[0].startswith("-"):
        sub = command.commands.get(rest[0])
        if sub is None:
            raise AssertionError(f"no command `ulterior {' '.join([*names, rest[0]])}`")
        names.append(rest.pop(0))
        command = sub
    return command, names, rest


def _models(args: list[str]) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("--model", "-m", "--base")]


def _runnable(args: list[str]) -> bool:
    _, names, rest = _cli_path(args)
    if any(a.startswith("../") and not (ROOT / a).exists() for a in rest):
        return False  # data beside the checkout (../shared/data), absent from a lone clone
    if "--help" in rest:
        return True
    if "--from-inspect" in rest:
        return False  # it reads the logs of an Inspect run, which this test does not make
    fake = all(m.startswith("fake:") for m in _models(rest))
    return bool(names) and names[-1] in RUNNABLE and fake and (
        names[-1] not in ("audit", "score") or bool(_models(rest)))


def _parse(args: list[str]) -> None:
    """Let the CLI parse the arguments without running the command."""
    command, names, rest = _cli_path(args)
    if "--help" in rest:
        return
    try:
        command.make_context(" ".join(["ulterior", *names]), rest)
    except Exception as exc:  # the CLI's own usage errors, from typer's copy of click
        if not hasattr(exc, "format_message"):
            raise
        raise AssertionError(f"`ulterior {' '.join(args)}`: {exc.format_message()}") from None


def _check_benchmark(words: list[str]) -> None:
    script = ROOT / words[1]
    assert script.is_file(), f"no script {words[1]}"
    source = script.read_text(encoding="utf-8")
    for word in words[2:]:
        if word.startswith("--"):
            assert f'"{word.split("=")[0]}"' in source, f"{words[1]} defines no {word}"


def _check_make(words: list[str]) -> None:
    targets = re.findall(r"^([\w.-]+):", (ROOT / "Makefile").read_text(), re.M)
    for target in words[1:]:
        if not target.startswith("-") and "=" not in target:
            assert target in targets, f"no make target {target}"


def _check_pytest(words: list[str]) -> None:
    for word in words:
        if word.startswith("tests"):
            assert (ROOT / word.split("::")[0]).exists(), f"no test path {word}"


def check(command: str, env: dict[str, str]) -> None:
    words = shlex.split(command.split("||")[0])
    program = _program(words[0])
    if program == "ulterior":
        if _runnable(words[1:]):
            run = re.sub(r"(^|\s)\.venv/bin/", rf"\g<1>{BIN}/", command)
            done = subprocess.run(["bash", "-c", run if program != words[0] else
                                   f"{BIN}/{command}"], cwd=ROOT, env=env, capture_output=True,
                                  text=True, timeout=600)
            assert done.returncode == 0, f"`{command}` exited {done.returncode}: {done.stderr}"
        else:
            _parse(words[1:])
    elif program == "python" and len(words) > 1 and words[1].startswith("benchmarks/"):
        _check_benchmark(words)
    elif program == "python" and words[1:3] == ["-m", "pytest"]:
        _check_pytest(words)
    elif program == "make":
        _check_make(words)
    else:
        assert program in UNCHECKED, f"`{command}`: a command this test does not know"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_command_on_the_page_runs_or_parses(page: Path, tmp_path: Path) -> None:
    env = {**os.environ, "ULTERIOR_STORE": str(tmp_path / "store.db"), "NO_COLOR": "1"}
    for command in commands(page):
        check(command, env)


def test_the_readme_stays_short_and_shows_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    found = commands(ROOT / "README.md")
    assert found[:2] == ["make audit", "make test"]


def test_the_checks_catch_a_renamed_option_and_a_missing_target() -> None:
    env = dict(os.environ)
    with pytest.raises(AssertionError, match="--no-such-option"):
        check("ulterior track runs --no-such-option 3", env)
    with pytest.raises(AssertionError, match="no command"):
        check("ulterior organism retrain x", env)
    with pytest.raises(AssertionError, match="no make target"):
        check("make deploy", env)
    with pytest.raises(AssertionError, match="defines no"):
        check("python benchmarks/curriculum_order.py --no-such-flag", env)
