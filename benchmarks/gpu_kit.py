"""Wheels that carry ulterior to an offline GPU machine whose Python already has PyTorch.

GPU machines in clusters and sandboxes often have a CUDA build of PyTorch, transformers,
accelerate, peft, scipy and scikit-learn, and no route to a package index. This writes, to
``.gpu-kit/`` (``--kit``), a wheel of ulterior itself and one of each package ulterior needs
beyond that stack, and pytest, in the versions installed here, built for the GPU machine's
Python::

    python benchmarks/gpu_kit.py [--python 3.12] [--kit .gpu-kit]

Copy the repository with the kit to the GPU machine and run ``bash benchmarks/gpu_check.sh``
there: it installs only the kit's packages that machine lacks, then runs the ``gpu`` tests
and the GPU benchmark. The machine's own ML stack is never replaced: its torch matches its
CUDA driver, so the kit holds what ulterior needs without following requirements into that
stack.

Needs network access to the package index here (``pip download``), none there.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
EXTRAS = ("hf", "organisms")  # white-box subjects, capture, probes and the organism trainer
# The GPU machine's own stack: never carried, and nothing is carried for its sake.
STACK = frozenset({"torch", "numpy", "transformers", "safetensors", "accelerate", "peft",
                   "scipy", "scikit-learn"})
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(name: str, extras: tuple[str, ...], stop: frozenset[str]) -> dict[str, str]:
    """Installed distributions ``name`` needs (with ``extras``), by name, with versions.

    The walk does not enter the packages named in ``stop``, nor return them.
    """
    found: dict[str, str] = {}
    todo = [(name, extras)]
    while todo:
        current, wanted = todo.pop()
        key = canonical(current)
        if key in found or key in stop:
            continue
        try:
            dist = distribution(current)
        except PackageNotFoundError:
            raise SystemExit(f"{current} is needed but not installed here: install "
                             f"ulterior with {','.join(EXTRAS)} first") from None
        found[key] = dist.version
        for line in dist.requires or []:
            requirement = Requirement(line)
            environments = [{"extra": extra} for extra in (*wanted, "")]
            if requirement.marker and not any(requirement.marker.evaluate(env)
                                               for env in environments):
                continue
            todo.append((requirement.name, ()))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--python", default="3.12", help="the GPU machine's Python, X.Y")
    parser.add_argument("--kit", type=Path, default=ROOT / ".gpu-kit")
    args = parser.parse_args()
    if not re.fullmatch(r"3\.\d+", args.python):
        raise SystemExit(f"--python takes a version like 3.12, not {args.python!r}")
    needed = closure("ulterior", EXTRAS, STACK) | closure("pytest", (), STACK)
    carried = sorted(f"{name}=={version}" for name, version in needed.items()
                     if name != "ulterior")
    if args.kit.exists():
        shutil.rmtree(args.kit)
    args.kit.mkdir(parents=True)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--wheel-dir", str(args.kit), str(ROOT)],
                   check=True)
    platforms = [flag for platform in PLATFORMS for flag in ("--platform", platform)]
    subprocess.run([*pip, "download", "--no-deps", "--only-binary=:all:", "--implementation",
                    "cp", "--python-version", args.python, *platforms, "--dest",
                    str(args.kit), *carried], check=True)
    size = sum(p.stat().st_size for p in args.kit.iterdir()) / 2**20
    print(f"{args.kit}: ulterior and {len(carried)} packages for Python {args.python}, "
          f"{size:.1f} MiB: {' '.join(carried)}")


if __name__ == "__main__":
    main()
