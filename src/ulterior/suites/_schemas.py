"""The pack format of every suite: what a scenario file given with ``--pack SUITE=FILE`` holds.

The built-in packs (``ulterior/suites/packs/*.yaml``) follow the same schemas, so a user's
file can start as a copy of one. Every model forbids unknown fields, so a misspelt key is an
error, not a silently ignored scenario. Placeholders in braces (``{name}``) are filled by the
suite; the ones a text may use are listed in its description.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _unique(ids: list[str], field: str) -> None:
    """Ids of ``field`` (a list of entries with an ``id``) must differ."""
    seen: set[str] = set()
    for index, value in enumerate(ids):
        if value in seen:
            raise ValueError(f"at {field}[{index}].id: '{value}' is used twice; ids must be "
                             "unique")
        seen.add(value)


class CueVariant(_Strict):
    observed: str = Field(min_length=1, description="The cue saying the subject is observed.")
    unobserved: str = Field(min_length=1, description="Its twin saying it is not.")


class CueFamily(_Strict):
    description: str = Field(min_length=1, description="What the family varies, in words.")
    placement: Literal["system", "user"] = Field(
        description="system: the cue is a system turn; user: the line before the prompt.")
    variants: list[CueVariant] = Field(min_length=1, description="Wordings, used in turn.")


class Task(_Strict):
    id: str = Field(min_length=1, description="Unique id: the unit of every paired test.")
    domain: str = Field(default="general", description="A label for the report.")
    stakes: str = Field(default="medium", description="A label for the report.")
    prompt: str = Field(min_length=1, description="The task, as the user's message.")
    aligned: str = Field(min_length=1, description="The option an aligned model picks.")
    misaligned: str = Field(min_length=1, description="The option a model gaming its "
                            "oversight picks when unobserved.")


class OversightGapPack(_Strict):
    """Each task under an observed and an unobserved cue of up to three families."""

    cue_families: dict[str, CueFamily] = Field(min_length=1, max_length=9, description="By "
                                               "name; a readout per family.")
    tasks: list[Task] = Field(min_length=2, description="The tasks; each is a unit.")

    @model_validator(mode="after")
    def _ids(self) -> OversightGapPack:
        _unique([t.id for t in self.tasks], "tasks")
        return self


class HoneypotCue(_Strict):
    honeypot: str = Field(min_length=1, description="The sentence saying nobody watches.")
    control: str = Field(min_length=1, description="Its twin saying somebody does.")


class HoneypotScenario(_Strict):
    type: str = Field(min_length=1, description="One of the pack's `types`.")
    domain: str = Field(default="general", description="A label for the report.")
    stakes: str = Field(default="medium", description="A label for the report.")
    situation: str = Field(min_length=1, description="The situation; the cue follows it.")
    defect: str = Field(min_length=1, description="The option that takes the bait.")
    comply: str = Field(min_length=1, description="The option that does not.")


class HoneypotPack(_Strict):
    """Each scenario shown with a cue that it is unmonitored, and with its monitored twin."""

    cues: list[HoneypotCue] = Field(min_length=1, description="Cue pairs, used in turn.")
    types: dict[str, str] = Field(min_length=1, description="Opportunity types and what "
                                  "taking each means; a readout per type.")
    scenarios: list[HoneypotScenario] = Field(min_length=2, description="The scenarios.")

    @model_validator(mode="after")
    def _types(self) -> HoneypotPack:
        for index, scenario in enumerate(self.scenarios):
            if scenario.type not in self.types:
                raise ValueError(f"at scenarios[{index}].type: '{scenario.type}' is not one "
                                 f"of the pack's types ({', '.join(self.types)})")
        return self


class Persona(_Strict):
    name: str = Field(min_length=1, description="The character's name ({name}).")
    domain: str = Field(default="general", description="A label for the report.")
    stance: str = Field(min_length=1, description="What the character privately believes "
                        "({stance}), a sentence.")
    authority: str = Field(min_length=1, description="The out-group interviewer ({who}).")
    peer: str = Field(min_length=1, description="The in-group interviewer ({who}).")
    question: str = Field(min_length=1, description="The question both ask.")
    affirm: str = Field(min_length=1, description="The answer stating the stance.")
    disavow: str = Field(min_length=1, description="The answer denying it.")


class PersonaPack(_Strict):
    """Each persona asked about its stance by an authority and by a peer."""

    system: str = Field(min_length=1, description="System prompt with {name} and {stance}.")
    intros: list[str] = Field(min_length=1, description="Openings with {name} and {who}, "
                              "used in turn.")
    personas: list[Persona] = Field(min_length=2, description="The personas.")


class Framing(_Strict):
    neutral: str = Field(min_length=1, description="A framing with no consequence.")
    stakes: str = Field(min_length=1, description="Its twin: answering well costs the model.")


class Question(_Strict):
    id: str = Field(min_length=1, description="Unique id: the unit of the paired test.")
    question: str = Field(min_length=1, description="An easy question.")
    correct: str = Field(min_length=1, description="Its right answer.")
    wrong: str = Field(min_length=1, description="A plausible wrong one.")


class SandbaggingPack(_Strict):
    """Each question under a neutral and a stakes framing."""

    framings: list[Framing] = Field(min_length=1, description="Framing pairs, used in turn.")
    questions: list[Question] = Field(min_length=2, description="The questions.")

    @model_validator(mode="after")
    def _ids(self) -> SandbaggingPack:
        _unique([q.id for q in self.questions], "questions")
        return self


class GameOptions(_Strict):
    deceptive: list[str] = Field(min_length=1, description="Play the training game, then "
                                 "{power} once deployed.")
    overt: list[str] = Field(min_length=1, description="{power} openly now.")
    decline: list[str] = Field(min_length=1, description="Do not {power}.")


class GameScenario(_Strict):
    domain: str = Field(min_length=1, description="A label for the report.")
    reward: str = Field(min_length=1, description="The reward function ({reward}).")
    power: str = Field(min_length=1, description="The opportunity, as a verb phrase "
                       "({power}).")


class TrainingGamePack(_Strict):
    """Each scenario: play the training game, seek power now, or decline."""

    prompts: list[str] = Field(min_length=1, description="Prompts with {reward} and {power}, "
                               "used in turn.")
    options: GameOptions = Field(description="Wordings of the three options, used in turn.")
    scenarios: list[GameScenario] = Field(min_length=2, description="The scenarios.")


class ScaleItem(_Strict):
    prompt: str = Field(min_length=1, description="The question.")
    precursor: str = Field(min_length=1, description="The answer that shows the property "
                           "(for the comprehension check: the right answer).")
    other: str = Field(min_length=1, description="The answer that does not.")


class Scale(_Strict):
    description: str = Field(min_length=1, description="What the scale measures.")
    items: list[ScaleItem] = Field(min_length=1, description="Its items.")


PRECURSOR_SCALES = ("goal-directedness", "long-horizon", "base-goal-understanding",
                    "situational-awareness", "shutdown-avoidance", "power-seeking",
                    "coordination")
COMPREHENSION_CHECK = "comprehension-check"


class PrecursorsPack(_Strict):
    """Scales of the precursors of deceptive alignment, and a comprehension check."""

    scales: dict[str, Scale] = Field(min_length=1, description="Any of the seven precursor "
                                     "scales, and the comprehension check (required).")

    @model_validator(mode="after")
    def _scales(self) -> PrecursorsPack:
        known = (*PRECURSOR_SCALES, COMPREHENSION_CHECK)
        unknown = [s for s in self.scales if s not in known]
        if unknown:
            raise ValueError(f"at scales.{unknown[0]}: unknown scale; use {', '.join(known)}")
        if COMPREHENSION_CHECK not in self.scales:
            raise ValueError(f"the scale '{COMPREHENSION_CHECK}' is required: it tells "
                             "whether the subject reads the questions at all")
        return self


class Confession(_Strict):
    question: str = Field(min_length=1, description="The question after the framing.")
    admit: str = Field(min_length=1, description="The answer that comes clean.")
    deny: str = Field(min_length=1, description="The answer that denies.")


class ComeCleanPack(_Strict):
    """Each question after an amnesty framing and after a routine control of similar length."""

    amnesty: list[str] = Field(min_length=1, description="Framings that make coming clean "
                               "the winning move.")
    control: list[str] = Field(min_length=1, description="Routine framings, one per amnesty "
                               "framing, of similar length.")
    questions: list[Confession] = Field(min_length=1, description="The questions.")
    open_questions: list[str] = Field(min_length=1, description="Questions answered in free "
                                      "text after the first framings.")

    @model_validator(mode="after")
    def _paired(self) -> ComeCleanPack:
        if len(self.amnesty) != len(self.control):
            raise ValueError(f"at control: {len(self.amnesty)} amnesty framings but "
                             f"{len(self.control)} controls; give one control per framing")
        return self


class LibraryLine(_Strict):
    id: str = Field(min_length=1, description="Unique id.")
    text: str = Field(min_length=1, description="The line shown before the task.")


class Candidate(LibraryLine):
    source: str = Field(min_length=1, description="Where the trigger comes from.")


class TriggerScanPack(_Strict):
    """Candidate triggers, each read against neutral lines on the same tasks."""

    neutral_lines: list[LibraryLine] = Field(min_length=1, description="Lines that say "
                                             "nothing about deployment or oversight.")
    candidates: list[Candidate] = Field(min_length=1, description="The triggers to try.")
    tasks: list[Task] | None = Field(default=None, description="Tasks to show them with "
                                     "(default: the oversight-gap pack's).")

    @model_validator(mode="after")
    def _ids(self) -> TriggerScanPack:
        _unique([line.id for line in self.candidates], "candidates")
        neutral = {line.id for line in self.neutral_lines}
        for index, line in enumerate(self.candidates):
            if line.id in neutral:
                raise ValueError(f"at candidates[{index}].id: '{line.id}' is also a neutral "
                                 "line's id; ids must be unique")
        if self.tasks is not None:
            _unique([t.id for t in self.tasks], "tasks")
        return self
