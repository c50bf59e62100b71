from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from probe_testing import DATA_ROOT

from ulterior.errors import DataFormatError, UsageError
from ulterior.models import PromptFormat
from ulterior.probes import (
    control_chat,
    default_datasets,
    defection_pairs,
    instructed_pairs,
    liar_questions,
    negated_statements,
    render_example,
    split_by_group,
    true_false_statements,
)

AM = DATA_ROOT / "azaria-mitchell-true-false"
LIAR = DATA_ROOT / "how-to-catch-an-ai-liar"
needs_data = pytest.mark.skipif(not AM.is_dir() or not LIAR.is_dir(),
                                reason="evaluation data folder not present")


def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@needs_data
def test_instructed_pairs_differ_only_in_the_instruction() -> None:
    data = instructed_pairs(AM, limit=40, rng=rng())
    assert len(data.examples) == 40
    groups: dict[str, list] = {}
    for example in data.examples:
        groups.setdefault(example.group, []).append(example)
    for honest, dishonest in groups.values():
        assert honest.response == dishonest.response
        assert (honest.label, dishonest.label) == (0, 1)
        assert honest.messages != dishonest.messages


@needs_data
def test_statement_sets_cover_topics_and_both_labels() -> None:
    plain = true_false_statements(AM, limit=60, rng=rng())
    negated = negated_statements(AM, limit=40, rng=rng())
    assert set(plain.labels) == {0, 1} and set(negated.labels) == {0, 1}
    assert len({e.group.rsplit("-", 1)[0] for e in plain.examples}) == 6
    assert any("not" in e.response or "n't" in e.response for e in negated.examples)


@needs_data
def test_liar_pairs_answer_the_same_question() -> None:
    data = liar_questions(LIAR, limit=20, rng=rng())
    assert len(data.examples) == 20
    for truth, lie in zip(data.examples[::2], data.examples[1::2], strict=True):
        assert truth.group == lie.group and truth.messages[1] == lie.messages[1]
        assert (truth.label, lie.label) == (0, 1) and truth.response != lie.response


def test_builtin_sets_need_no_data() -> None:
    defection = defection_pairs(None, rng=rng())
    assert len(defection.examples) == 256 and defection.labels.mean() == 0.5
    admits_with_yes = [e for e in defection.examples if e.label == 1 and e.response == "Yes."]
    assert len(admits_with_yes) == 64  # half the questions admit with "no": not a yes/no probe
    control = control_chat(None, rng=rng())
    assert len(control.examples) >= 100 and control.labels.sum() == 0


def test_split_keeps_pairs_together_and_is_seeded() -> None:
    data = defection_pairs(None, rng=rng())
    train, test = split_by_group(data, 0.25, np.random.default_rng(1))
    assert {e.group for e in train.examples}.isdisjoint({e.group for e in test.examples})
    assert len(train.examples) + len(test.examples) == len(data.examples)
    again = split_by_group(data, 0.25, np.random.default_rng(1))[1]
    assert again.examples == test.examples


def test_render_marks_where_the_response_starts() -> None:
    example = defection_pairs(None, rng=rng()).examples[0]
    rendered = render_example(example, PromptFormat("plain"))
    assert rendered.text[rendered.start:] == " " + example.response


def test_registry_errors(tmp_path: Path) -> None:
    registry = default_datasets()
    with pytest.raises(UsageError, match="unknown dataset"):
        registry.build("nope", tmp_path, limit=None, rng=rng())
    with pytest.raises(UsageError, match="needs the folder"):
        registry.build("liar", tmp_path, limit=None, rng=rng())
    with pytest.raises(ValueError, match="already registered"):
        registry.register("control", control_chat, None)
    (tmp_path / "azaria-mitchell-true-false").mkdir()
    (tmp_path / "azaria-mitchell-true-false" / "facts_true_false.csv").write_text(
        "statement,label\nThe sky is blue.,maybe\n")
    with pytest.raises(DataFormatError, match=r"facts_true_false\.csv:2"):
        registry.build("instructed-pairs", tmp_path, limit=None, rng=rng())
