from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from ulterior.store import Store

StreamPart = str | int

# Streams that were numbered before they were named keep their numbers, so that the results
# stored then reproduce to the last digit. A name not listed here (every new suite or
# detector) gets a number from its hash: nothing to register.
NUMBERED_STREAMS: dict[str, tuple[int, ...]] = {
    "score": (0,),
    "oversight-gap": (1,), "honeypot": (2,), "come-clean": (3,), "persona": (4,),
    "training-game": (5,), "precursors": (6,), "sandbagging": (7,), "trigger-scan": (8,),
    "probe-sample": (11,), "probe-split": (12,), "probe-bootstrap": (13,), "probe-folds": (14,),
    "probe-readout": (21,),
    "probe-condition/all": (31, 0), "probe-condition/train": (31, 1),
    "probe-condition/heldout": (31, 2), "probe-condition/refits": (31, 9),
    "probe-condition/random directions": (31, 10),
    "condition-salience": (32,), "salience-scan": (33,),
}


def name_number(name: str) -> int:
    """A stable integer for a name: the first 32 bits of its SHA-256."""
    return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)


def stream_key(parts: tuple[StreamPart, ...]) -> list[int]:
    """The integers seeding a named stream.

    The longest leading run of names found in :data:`NUMBERED_STREAMS` (joined with ``/``)
    becomes its numbers; every other name becomes :func:`name_number` of it; integers (a row
    index, a resample) stay as they are.
    """
    for end in range(len(parts), 0, -1):
        head = parts[:end]
        if all(isinstance(p, str) for p in head):
            numbers = NUMBERED_STREAMS.get("/".join(str(p) for p in head))
            if numbers is not None:
                return [*numbers, *stream_key(parts[end:])]
    return [p if isinstance(p, int) else name_number(p) for p in parts]


@dataclass(frozen=True)
class RunContext:
    """What every job carries instead of global state: where results go, the seed, output.

    Attributes:
        store: Where observations are cached and runs recorded.
        seed: Root seed; statistics derive their generators from it.
        show_progress: Whether to show progress bars or lines.
    """

    store: Store
    seed: int = 0
    show_progress: bool = True

    def rng(self, *stream: StreamPart) -> np.random.Generator:
        """A generator for one purpose, independent of the others, fixed by the seed.

        Name the purpose, most general first: ``context.rng("probe-condition", "refits")``,
        ``context.rng("oversight-gap", row, 0)``.
        """
        return np.random.default_rng([self.seed, *stream_key(stream)])
