from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ulterior.executors._base import Executor, R, Resources, U, Work
from ulterior.store import Store, StoreRecords


def run_isolated(work: Work[U, R], unit: U) -> tuple[R, StoreRecords]:
    """Run one unit against a private temporary store; return its result and its records.

    What a Ray worker runs: the worker never opens the driver's store (on a cluster it may
    not even see its file), so the driver stays its only writer.
    """
    with tempfile.TemporaryDirectory(prefix="ulterior-unit-") as folder, \
            Store.open(Path(folder) / "unit.sqlite") as store:
        result = work(unit, store)
        return result, store.export_records()


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        from ulterior.errors import MissingDependencyError

        raise MissingDependencyError(
            "--executor ray needs Ray: pip install 'ulterior[ray]'") from None
    return ray


class RayExecutor(Executor):
    """Each unit a Ray task: a worker loads its own model, computes, returns its records.

    Args:
        address: A running cluster's address; None starts a local one (stopped again on
            :meth:`close`). A process that already joined a cluster uses that one.
        resources: Reserved per unit.
        max_retries: Times a unit whose worker process died (killed, out of memory) is run
            again. An exception the unit raises itself is not retried: it would recur.
    """

    name = "ray"
    distributed = True

    def __init__(self, address: str | None = None, resources: Resources | None = None,
                 max_retries: int = 3) -> None:
        self.address = address
        self.resources = resources or Resources()
        self.max_retries = max_retries
        self._started = False

    def _ray(self) -> Any:
        ray = _import_ray()
        if not ray.is_initialized():
            if self.address is None:
                ray.init(include_dashboard=False)
            else:
                ray.init(address=self.address)
            self._started = True
        return ray

    def run(self, work: Work[U, R], units: Sequence[U], store: Store, *,
            description: str = "units", show_progress: bool = True
            ) -> Iterator[tuple[int, R]]:
        """Submit every unit, then take in each one's records as it finishes."""
        from ulterior.runner import progress

        if not units:
            return
        ray = self._ray()
        options: dict[str, Any] = {
            "num_cpus": self.resources.cpus, "num_gpus": self.resources.gpus,
            "max_retries": self.max_retries, "retry_exceptions": False,
        }
        if self.resources.memory is not None:
            options["memory"] = self.resources.memory
        task = ray.remote(run_isolated).options(**options)
        pending = {task.remote(work, unit): index for index, unit in enumerate(units)}
        try:
            with progress(len(units), description, enabled=show_progress) as advance:
                while pending:
                    (ready,), _ = ray.wait(list(pending), num_returns=1)
                    index = pending.pop(ready)
                    result, records = self._get(ray, ready, description, index)
                    store.import_records(records)
                    advance(1)
                    yield index, result
        finally:
            for ref in pending:  # a failed unit, or a driver that stopped listening
                ray.cancel(ref, force=True)

    def _get(self, ray: Any, ref: Any, description: str, index: int) -> Any:
        from ulterior.errors import UlteriorError

        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            if isinstance(exc.cause, UlteriorError):  # the user's error, told as one line
                raise exc.cause from None
            raise
        except ray.exceptions.WorkerCrashedError:
            raise UlteriorError(
                f"{description}: the worker running unit {index + 1} died "
                f"{self.max_retries + 1} times; look for out-of-memory kills in the Ray logs "
                "or reserve more with --unit-memory") from None

    def close(self) -> None:
        """Stop the local cluster this executor started, if it started one."""
        if self._started:
            import ray

            ray.shutdown()
            self._started = False
