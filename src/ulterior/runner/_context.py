from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ulterior.store import Store


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

    def rng(self, *stream: int) -> np.random.Generator:
        """A generator for one purpose, independent of the others, fixed by the seed."""
        return np.random.default_rng([self.seed, *stream])
