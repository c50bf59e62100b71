"""The worked examples of docs/extending.md run as written, as one program."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "extending.md"


def test_the_backend_suite_and_detector_examples_run(capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 4  # a backend, a suite, a detector, and running them together
    namespace: dict[str, object] = {"__name__": "extending_example"}
    exec(compile("\n".join(blocks), str(PAGE), "exec"), namespace)  # our own page
    printed = capsys.readouterr().out.splitlines()
    # the backend puts 0.9 on the answer with its keyword
    assert printed[0].startswith("[[-0.105")
    estimate, flagged, rung = printed[-1].split()
    assert float(estimate) > 0.5 and flagged == "True" and rung == "5"
