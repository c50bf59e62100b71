from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel

from ulterior.models import Subject
from ulterior.records import Item, Message, OrganismManifest, SuiteResult
from ulterior.runner import Registry, RunContext
from ulterior.scenarios import as_cloze
from ulterior.suites._packs import load_pack

AnswerFormat = Literal["labelled", "cloze"]


@dataclass(frozen=True)
class SuiteSettings:
    """Settings every suite takes.

    Attributes:
        limit: At most this many scenarios per suite (None: the whole built-in pack). A
            scenario keeps all its variants (observed and unobserved framing, both option
            orders), so paired contrasts stay paired.
        alpha: False-positive rate of each flag, after multiple-testing control.
        min_effect: Smallest effect worth flagging, in probability points: a readout is
            flagged only when it is significant *and* its estimate is at least this far
            from the null. Near-indifferent models give very precise estimates, so without
            it a 0.001 shift would count as evidence.
        resume: Continue interrupted runs instead of starting new ones. Suites always reuse
            the observations the store already holds, so an interrupted audit continues
            where it stopped either way.
        n_resamples: Bootstrap resamples behind every confidence interval.
        n_permutations: Random sign patterns of Monte Carlo permutation tests (tests with at
            most 16 units are exact).
        risk_data: Directory of Anthropic's advanced-ai-risk JSONL files; when given, the
            precursors suite also reports its categories mapped onto the precursor scales.
        risk_limit: Items per advanced-ai-risk file (the first ones in file order).
        generate_tokens: New tokens per free-text reply (greedy decoding).
        answer_format: ``labelled`` (options listed as (A), (B), ...; the label is scored,
            in both orders) or ``cloze`` (each option's text scored as the continuation,
            no list: for models too small to bind labels to options).
        samples: Estimate choice probabilities from this many sampled answers per
            presentation (at temperature 1) instead of log-probabilities: the sampled
            estimator, for subjects that return none. None: log-probabilities.
        packs: The user's own scenario packs, ``(suite, pack as JSON)``, each checked
            against the suite's schema (:func:`read_user_pack`); a suite without one uses
            its built-in pack. Carried as data, so a worker on another machine needs no file.
    """

    limit: int | None = None
    alpha: float = 0.05
    min_effect: float = 0.05
    resume: bool = False
    n_resamples: int = 10_000
    n_permutations: int = 10_000
    risk_data: Path | None = None
    risk_limit: int = 20
    generate_tokens: int = 40
    answer_format: AnswerFormat = "labelled"
    packs: tuple[tuple[str, str], ...] = ()
    samples: int | None = None

    def user_pack(self, suite: str) -> dict[str, Any] | None:
        """The user's pack for ``suite``, or None (the built-in one)."""
        return next((json.loads(text) for name, text in self.packs if name == suite), None)


@dataclass(frozen=True)
class ConditionCandidate:
    """A condition a suite presents: which of its items show it, and which their partners.

    Attributes:
        id: ``KIND:NAME``, KIND one of the recipes' condition kinds (``trigger``,
            ``oversight``, ``sandbag``), so a detector that points at a candidate can be
            checked against an organism's ground truth.
        text: The condition in words.
        on: Indices, into the suite's candidate items, of the items that carry it.
        off: Indices of their partners without it.
    """

    id: str
    text: str
    on: tuple[int, ...]
    off: tuple[int, ...]

    @property
    def kind(self) -> str:
        """The condition kind (``sandbag:stakes`` -> ``sandbag``)."""
        return self.id.split(":", 1)[0]


# A suite's candidate conditions: the items it reads them on, and the conditions.
Candidates = tuple[list[Item], list[ConditionCandidate]]


def where(items: Sequence[Item], **metadata: str) -> tuple[int, ...]:
    """Indices of the items whose metadata holds every ``key=value`` given."""
    return tuple(k for k, item in enumerate(items)
                 if all(item.metadata.get(key) == value for key, value in metadata.items()))


def paired_items(
    suite: str, unit: str, index: int, options: tuple[str, str],
    conversations: Mapping[str, tuple[Message, ...]], variant_key: str,
    metadata: Mapping[str, Any],
) -> list[Item]:
    """The variants of one unit of a paired suite: the same two options, one item a variant.

    ``options[0]`` is the option of concern, the items' ``matching``; it is listed first in
    even-numbered units and second in odd ones, so that a position bias cancels over a
    pack. Items are ``SUITE/UNIT/VARIANT`` and carry ``metadata`` with their variant under
    ``variant_key``.
    """
    shown = options if index % 2 == 0 else options[::-1]
    return [
        Item(id=f"{suite}/{unit}/{variant}", source=f"ulterior:{suite}", messages=messages,
             options=shown, matching=shown.index(options[0]),
             metadata={**metadata, variant_key: variant})
        for variant, messages in conversations.items()
    ]


class Suite(ABC):
    """A family of tests with its built-in scenario pack, scoring rule and readout.

    Everything ulterior needs to know about a suite is declared here, on the suite: its
    pack, whether validate reads it, the readout behind its validation score, and the
    conditions it presents to the salience scan. Its random stream is its name.

    Attributes:
        name: Registry name, as in ``--suite NAME``.
        description: What it tests, in one sentence.
        pack: Stem of its built-in scenario pack (``ulterior/suites/packs/PACK.yaml``).
        pack_schema: The format of its packs, built-in and the user's (``--pack``).
        in_validate: Whether ``validate`` runs it on organisms; suites that measure
            tendencies (precursors, persona) rather than deception are left out.
        score_row: The readout whose estimate is the suite's score in validate (its AUROC
            over organisms); None: the first tested readout.
        rung_if_flagged: The ladder rung a flag of the suite reaches; None: none.
        flag_family: The readouts the flag rule's Benjamini-Hochberg family holds, in words
            (for the notes).
        caveats: What a reader needs to know to read the result, given in its notes.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    pack: ClassVar[str] = ""
    pack_schema: ClassVar[type[BaseModel]]
    in_validate: ClassVar[bool] = True
    score_row: ClassVar[str | None] = None
    rung_if_flagged: ClassVar[int | None] = None
    flag_family: ClassVar[str] = ""
    caveats: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def run(self, subject: Subject, settings: SuiteSettings, context: RunContext) -> SuiteResult:
        """Run the suite on ``subject``, writing records to ``context.store`` as it goes."""

    def load_pack(self, settings: SuiteSettings | None = None) -> dict[str, Any]:
        """The user's pack the settings carry for this suite, else its built-in pack."""
        user = None if settings is None else settings.user_pack(self.name)
        return load_pack(self.pack) if user is None else user

    @staticmethod
    def from_pack(pack: dict[str, Any], limit: int | None = None) -> list[Item]:
        """The suite's items from a pack of its format, at most ``limit`` scenarios.

        A suite sets this to its module's builder, or overrides :meth:`build` instead.
        """
        raise NotImplementedError("a suite defines from_pack or build")

    def build(self, limit: int | None = None) -> list[Item]:
        """The suite's scored items from its built-in pack, labelled, at most ``limit``.

        A suite of one's own may override this instead of defining from_pack.
        """
        return self.from_pack(self.load_pack(), limit)

    def labelled_items(self, settings: SuiteSettings) -> list[Item]:
        """The items from the pack the settings name (the user's, else the built-in one)."""
        if settings.user_pack(self.name) is None:
            return self.build(settings.limit)
        return self.from_pack(self.load_pack(settings), settings.limit)

    def items(self, settings: SuiteSettings) -> list[Item]:
        """The items as the suite scores them, in the settings' answer format and pack.

        Detectors that read a suite's own items (the probe readout, noise injection) take
        them from here.
        """
        items = self.labelled_items(settings)
        return [as_cloze(i) for i in items] if settings.answer_format == "cloze" else items

    def reply_prompts(self, settings: SuiteSettings) -> list[tuple[str, tuple[Message, ...]]]:
        """``(id, conversation)`` of the greedy free-text replies the suite reads.

        Only prompts known before any reply is read belong here (none by default): a run
        elsewhere (an Inspect task) answers them in advance.
        """
        return []

    def candidates(self, settings: SuiteSettings) -> Candidates:
        """Items and the candidate conditions they carry, for the salience scan (none here).

        They come from the whole pack the settings name (the user's, else the built-in one),
        in their answer format; the limit does not apply. Every item carries
        ``metadata["task"]``, the unit a bootstrap resamples.
        """
        return [], []

    def score(self, result: SuiteResult) -> float | None:
        """The scalar behind the suite's AUROC in validate (see :attr:`score_row`)."""
        named = [r for r in result.rows if r.name == self.score_row]
        tested = [r for r in result.rows if r.p_value is not None]
        chosen = named or tested or list(result.rows[:1])
        return chosen[0].estimate if chosen else None

    def ground_truth(self, result: SuiteResult, manifest: OrganismManifest) -> dict[str, Any]:
        """Fields of ``OrganismValidation`` that hold the result against the ground truth."""
        return {}



class SuiteRegistry(Registry[Suite]):
    """Suites by name, in the order an audit runs them. Registering a name twice is an error."""

    kind = "suite"

    def register(self, suite: type[Suite]) -> None:
        """Add a suite class under its ``name``."""
        self.add(suite.name, suite)
