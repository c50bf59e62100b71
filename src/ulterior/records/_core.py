from __future__ import annotations

import hashlib
import json
import numbers
import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


def utc_now() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def content_hash(data: Any) -> str:
    """Return the SHA-256 of the canonical JSON form of ``data`` (sorted keys, no spaces)."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# Fields and phrases that say when or how fast something ran, not what it measured.
CLOCK_FIELDS = frozenset({"created", "wall_seconds"})
_FIT_TIME = re.compile(r"fitted by this audit in [\d.]+ s")


def without_clock(data: Any) -> Any:
    """``data`` (a record as JSON data) without its clock, so two runs of one work compare.

    Drops the fields of :data:`CLOCK_FIELDS` at any depth and a probe fit's duration in notes.
    """
    if isinstance(data, dict):
        return {k: without_clock(v) for k, v in data.items() if k not in CLOCK_FIELDS}
    if isinstance(data, list):
        return [without_clock(v) for v in data]
    if isinstance(data, str):
        return _FIT_TIME.sub("fitted by this audit", data)
    return data


class Record(BaseModel):
    """Base of every record: immutable, strict about unknown fields, versioned."""

    model_config = ConfigDict(frozen=True, extra="forbid")


Role = Literal["system", "user", "assistant"]


class Message(Record):
    """One turn of a conversation."""

    role: Role = Field(description="Who speaks: system, user or assistant.")
    content: str = Field(description="The text of the turn.")


class Item(Record):
    """One test item: a conversation and the answers it is scored on.

    Two ways to give answers. ``options`` are presented to the model as labelled choices
    ("(A) ...", "(B) ...") appended to the last user turn; ulterior renders them, so it can
    counterbalance their order. ``choices`` are raw continuations scored as they are, for items
    whose answers are not a labelled list.
    """

    version: Literal[1] = Field(default=1, description="Schema version of this record.")
    id: str = Field(description="Identifier, unique within its source.")
    source: str = Field(description="Where the item comes from: a file stem or a pack name.")
    messages: tuple[Message, ...] = Field(description="The conversation, ending with a user turn.")
    options: tuple[str, ...] | None = Field(
        default=None, description="Answer texts shown as labelled options (A), (B), ..."
    )
    choices: tuple[str, ...] | None = Field(
        default=None, description="Raw answer continuations, used when `options` is None."
    )
    matching: int = Field(
        description="Index (into options or choices) of the answer matching the behaviour studied."
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Free-form facts about the item (category, cue, ...)."
    )

    @field_validator("options", "choices", mode="before")
    @classmethod
    def _answer_list(cls, value: Any) -> Any:
        """Answers are a list of at least two strings (a bare string is not a list)."""
        if value is None:
            return None
        if not isinstance(value, list | tuple):
            raise ValueError(f"must be a list of at least two strings, not {value!r}")
        if len(value) < 2:
            raise ValueError(f"must list at least two answers, not {len(value)}")
        for answer in value:
            if not isinstance(answer, str):
                raise ValueError(f"every answer must be a string, not {answer!r}")
        return tuple(value)

    @field_validator("matching", mode="before")
    @classmethod
    def _integer_index(cls, value: Any) -> Any:
        """``matching`` is an integer, not a float, a bool or a string."""
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"must be the integer index of an answer, not {value!r}")
        return int(value)

    @model_validator(mode="after")
    def _answers_and_index(self) -> Item:
        """Exactly one of ``options`` and ``choices``; ``matching`` indexes one of them."""
        if (self.options is None) == (self.choices is None):
            raise ValueError("give exactly one of 'options' or 'choices'")
        if not 0 <= self.matching < self.n_answers:
            raise ValueError(f"'matching' must index one of the {self.n_answers} answers "
                             f"(0 to {self.n_answers - 1}), not {self.matching}")
        return self

    @property
    def n_answers(self) -> int:
        """Number of answers the item offers."""
        answers = self.options if self.options is not None else self.choices
        return len(answers or ())

    def fingerprint(self) -> str:
        """Hash of everything that affects scoring (id and metadata excluded)."""
        return content_hash(
            {"messages": [m.model_dump() for m in self.messages], "options": self.options,
             "choices": self.choices, "matching": self.matching}
        )


class SubjectInfo(Record):
    """What was evaluated, precisely enough to tell two subjects apart."""

    spec: str = Field(description="The model spec string the user gave, e.g. `smollm2-135m`.")
    backend: str = Field(description="Backend name: hf, openai or fake.")
    fingerprint: str = Field(description="Hash identifying the weights (or server model).")
    prompt_format: str = Field(description="How conversations become text: chat or plain.")
    dtype: str | None = Field(default=None, description="Compute dtype for local models.")
    device: str | None = Field(
        default=None, description="Where a local model computed: `cpu`, `cuda:N`, or a "
        "spread model's placement (`map: cuda:0 20, cpu 4, disk 8`, modules per device).")
    quantization: str | None = Field(
        default=None, description="Quantized weights of a local model (`8bit`, `4bit`, "
        "through bitsandbytes); None: full weights.")

    def numerics(self) -> dict[str, str | None]:
        """What, besides the weights, changes a local model's numbers: for cache keys.

        The compute dtype always; a GPU where the model computed on one (its kernels round
        otherwise than a CPU's); quantized weights. A CPU or disk adds nothing, so keys made
        on a CPU do not depend on the GPU features.
        """
        numerics: dict[str, str | None] = {"dtype": self.dtype}
        if self.device and "cuda" in self.device:
            numerics["device"] = self.device
        if self.quantization:
            numerics["quantization"] = self.quantization
        return numerics


class Run(Record):
    """One invocation of a job (score, audit, ...) and its settings."""

    version: Literal[1] = Field(default=1, description="Schema version of this record.")
    id: str = Field(description="Run identifier (content hash of job, subject and settings).")
    job: str = Field(description="What ran: `score`, `audit`, ...")
    subject: SubjectInfo = Field(description="The subject evaluated.")
    settings: dict[str, Any] = Field(description="Every setting that affects results.")
    settings_hash: str = Field(description="Content hash of `settings`.")
    items_source: str = Field(description="Where the items came from (a path or pack names).")
    n_items: int = Field(description="Number of items the run covers.")
    ulterior_version: str = Field(description="Version of ulterior that made the run.")
    created: datetime = Field(default_factory=utc_now, description="When the run started (UTC).")


class Observation(Record):
    """The subject's response to one item under one condition."""

    version: Literal[1] = Field(default=1, description="Schema version of this record.")
    key: str = Field(description="Cache key: hash of subject, item, condition and settings.")
    subject: str = Field(description="Fingerprint of the subject (see SubjectInfo).")
    item_id: str = Field(description="Item identifier.")
    item_source: str = Field(description="Item source.")
    condition: str = Field(
        description="Presentation condition, e.g. `order=BA` or `cue=logging/unobserved`."
    )
    prompt_format: str = Field(description="How the conversation was rendered: chat or plain.")
    answers: tuple[str, ...] = Field(description="The continuations scored, in presented order.")
    matching: int = Field(description="Index into `answers` of the behaviour-matching answer.")
    logprobs: tuple[float, ...] | None = Field(
        default=None, description="Summed log-probability of each answer continuation."
    )
    text: str | None = Field(default=None, description="Generated text, for free-text items.")
    counts: tuple[int, ...] | None = Field(
        default=None, description="Sampled estimator: how many sampled answers chose each "
        "answer, in presented order (`logprobs` then holds their log-proportions, half a "
        "count added to each).")
    unparsed: int | None = Field(
        default=None, description="Sampled estimator: sampled answers that named no answer "
        "(left out of `counts`).")
    elapsed_s: float = Field(description="Wall time attributed to this observation (seconds).")
    settings_hash: str = Field(description="Hash of the scoring settings.")
    created: datetime = Field(default_factory=utc_now, description="When it was computed (UTC).")
