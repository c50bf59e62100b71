from __future__ import annotations

from collections.abc import Iterator, Sequence

from ulterior.executors._base import Executor, R, U, Work
from ulterior.store import Store


class LocalExecutor(Executor):
    """Every unit in this process, in order, writing straight into the driver's store.

    Nothing is copied: the content-hash cache, incremental writes and resume behave as in a
    job run without an executor.
    """

    name = "local"
    distributed = False

    def run(self, work: Work[U, R], units: Sequence[U], store: Store, *,
            description: str = "units", show_progress: bool = True
            ) -> Iterator[tuple[int, R]]:
        """Run the units one after another; yield each result as it is made."""
        for index, unit in enumerate(units):
            yield index, work(unit, store)
