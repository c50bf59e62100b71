from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ulterior.runner import RunContext
from ulterior.store import Store


@pytest.fixture
def context(tmp_path: Path) -> Iterator[RunContext]:
    with Store.open(tmp_path / "store.sqlite") as store:
        yield RunContext(store=store, seed=0, show_progress=False)
