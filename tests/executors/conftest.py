"""A local Ray cluster of two CPUs, shared by the Ray tests of this folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    try:
        import ray
    except ImportError:
        pytest.skip("ray is not installed (pip install 'ulterior[ray]')")
    # Workers import this folder's helpers (a unit that kills its worker) by module name.
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": f"{TESTS}:{TESTS / 'executors'}"}})
    yield ray
    ray.shutdown()
