from __future__ import annotations

import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ulterior.store import Store

U = TypeVar("U")
R = TypeVar("R")

# A unit of work: a picklable description of the unit, and a module-level function that runs
# it against a store and returns its result (records). Module-level, so that a Ray worker
# finds it by name.
Work = Callable[[U, Store], R]


class Resources(BaseModel):
    """What one unit of work reserves on a Ray cluster (the local executor ignores it)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    cpus: float = Field(default=1.0, ge=0, description="CPU cores per unit.")
    gpus: float = Field(default=0.0, ge=0, description="GPUs per unit (fractions share one).")
    memory: int | None = Field(
        default=None, ge=1, description="Memory per unit in bytes (None: no reservation).")


class Executor(ABC):
    """Runs units of work and hands their results to the driver as each finishes.

    Use it as a context manager: an executor that started a cluster stops it on exit.

    Attributes:
        name: How the command line names it.
        distributed: Whether units run on other processes, so that smaller units spread
            the work wider (a job then splits its grid finer).
    """

    name: str = ""
    distributed: bool = False

    @abstractmethod
    def run(self, work: Work[U, R], units: Sequence[U], store: Store, *,
            description: str = "units", show_progress: bool = True
            ) -> Iterator[tuple[int, R]]:
        """Run ``work(unit, store)`` for every unit; yield ``(index, result)`` as each ends.

        By the time a result is yielded, every run and observation its unit recorded is in
        ``store``. A unit whose worker died is run again; its records are stored once.
        """

    def run_without_store(self, work: Work[U, R], units: Sequence[U], *,
                          description: str = "units", show_progress: bool = True
                          ) -> Iterator[tuple[int, R]]:
        """:meth:`run` for units that record nothing (simulations, training runs).

        They get a scratch store that is discarded afterwards.
        """
        with tempfile.TemporaryDirectory(prefix="ulterior-scratch-") as folder, \
                Store.open(Path(folder) / "scratch.sqlite") as store:
            yield from self.run(work, units, store, description=description,
                                show_progress=show_progress)

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the executor started."""
