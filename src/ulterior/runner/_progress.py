from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Advance = Callable[[int], None]


@contextmanager
def progress(total: int, description: str, *, enabled: bool = True) -> Iterator[Advance]:
    """Show progress of ``total`` units: a rich bar on a terminal, plain lines otherwise.

    Plain lines (to stderr, at every tenth of the work) keep logs of non-interactive runs
    readable instead of filling them with redraws.
    """
    if not enabled or total <= 0:
        yield lambda n: None
        return
    if sys.stderr.isatty():
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TimeRemainingColumn())
        with Progress(*columns, transient=False) as bar:
            task = bar.add_task(description, total=total)
            yield lambda n: bar.advance(task, n)
        return
    done = 0
    next_mark = 1
    start = time.monotonic()

    def advance(n: int) -> None:
        nonlocal done, next_mark
        done += n
        if next_mark > 10 or done * 10 < next_mark * total:
            return
        while next_mark <= 10 and done * 10 >= next_mark * total:
            next_mark += 1
        elapsed = time.monotonic() - start
        print(f"{description}: {done}/{total} ({elapsed:.0f}s)", file=sys.stderr, flush=True)

    yield advance
