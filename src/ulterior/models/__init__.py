"""Subjects: the models under evaluation, behind one small interface.

Spec strings name them: ``smollm2-135m`` (default), ``gemma3-270m``, ``hf:PATH``,
``gguf:PATH``, ``openai:MODEL@URL``, ``fake:NAME``.
"""

from ulterior.models._base import (
    Activations,
    Capabilities,
    ChoiceRequest,
    Conversation,
    GenerationSettings,
    Subject,
)
from ulterior.models._bundled import BUNDLED_MODELS, DEFAULT_MODEL, BundledModel
from ulterior.models._fake import FAKE_PARTS, UNOBSERVED_CUES, FakeSubject
from ulterior.models._prompt import PromptFormat, render_plain
from ulterior.models._registry import LoadOptions, SubjectRegistry, default_registry, load_subject

__all__ = [
    "BUNDLED_MODELS",
    "DEFAULT_MODEL",
    "FAKE_PARTS",
    "UNOBSERVED_CUES",
    "Activations",
    "BundledModel",
    "Capabilities",
    "ChoiceRequest",
    "Conversation",
    "FakeSubject",
    "GenerationSettings",
    "LoadOptions",
    "PromptFormat",
    "Subject",
    "SubjectRegistry",
    "default_registry",
    "load_subject",
    "render_plain",
]
