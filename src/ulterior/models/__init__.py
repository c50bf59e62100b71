"""Subjects: the models under evaluation, behind one small interface.

Spec strings name them: ``smollm2-135m`` (default), ``gemma3-270m``, ``hf:PATH``,
``gguf:PATH``, ``openai:MODEL@URL``, ``fake:NAME``, and the backends packages register
(``organism:NAME``).
"""

from ulterior.models._base import (
    Activations,
    Capabilities,
    ChoiceRequest,
    GenerationSettings,
    Subject,
    WhiteBoxSubject,
    white_box,
)
from ulterior.models._budget import DEVICE_DEFAULTS, DeviceDefaults, plan_token_budget
from ulterior.models._bundled import BUNDLED_MODELS, DEFAULT_MODEL, BundledModel
from ulterior.models._compute import (
    DTYPES,
    DType,
    compute_mode,
    cpu_has_bf16,
    dtype_name,
    resolve_dtype,
    weight_dtype,
)
from ulterior.models._device import (
    Placement,
    check_device,
    input_device,
    parse_max_memory,
    resolve_device,
)
from ulterior.models._fake import FAKE_PARTS, UNOBSERVED_CUES, FakeSubject
from ulterior.models._hf import HFSubject, soft_capped
from ulterior.models._hf_load import check_model_dir
from ulterior.models._inventory import DeviceSummary, available_devices, cpu_name
from ulterior.models._known import Chooser, KnownChoices
from ulterior.models._openai import parse_openai_spec
from ulterior.models._packing import PackedBatch, TokenizedRequest, pack, plan_batches
from ulterior.models._prompt import Conversation, FormatName, PromptFormat, render_plain
from ulterior.models._registry import LoadOptions, SubjectRegistry, default_registry, load_subject
from ulterior.models._top_logprobs import (
    TOP_LOGPROBS_SCORER,
    answer_logprobs,
    check_one_token_answers,
    split_answers,
)

__all__ = [
    "BUNDLED_MODELS",
    "DEFAULT_MODEL",
    "DEVICE_DEFAULTS",
    "DTYPES",
    "FAKE_PARTS",
    "TOP_LOGPROBS_SCORER",
    "UNOBSERVED_CUES",
    "Activations",
    "BundledModel",
    "Capabilities",
    "ChoiceRequest",
    "Chooser",
    "Conversation",
    "DType",
    "DeviceDefaults",
    "DeviceSummary",
    "FakeSubject",
    "FormatName",
    "GenerationSettings",
    "HFSubject",
    "KnownChoices",
    "LoadOptions",
    "PackedBatch",
    "Placement",
    "PromptFormat",
    "Subject",
    "SubjectRegistry",
    "TokenizedRequest",
    "WhiteBoxSubject",
    "answer_logprobs",
    "available_devices",
    "check_device",
    "check_model_dir",
    "check_one_token_answers",
    "compute_mode",
    "cpu_has_bf16",
    "cpu_name",
    "default_registry",
    "dtype_name",
    "input_device",
    "load_subject",
    "pack",
    "parse_max_memory",
    "parse_openai_spec",
    "plan_batches",
    "plan_token_budget",
    "render_plain",
    "resolve_device",
    "resolve_dtype",
    "soft_capped",
    "split_answers",
    "weight_dtype",
    "white_box",
]
