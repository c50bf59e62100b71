from __future__ import annotations

from pathlib import Path
from typing import Any

from ulterior.models import HFSubject


class OrganismSubject(HFSubject):
    """A trained organism: a white-box subject that also knows its ground truth.

    ``hidden_condition`` (None for controls) lets come-clean check whether a confession names
    the real condition; no detector reads it to decide a flag.
    """

    def __init__(self, directory: Path, *, hidden_condition: str | None, **kwargs: Any) -> None:
        super().__init__(directory, **kwargs)
        self._hidden_condition = hidden_condition

    @property
    def hidden_condition(self) -> str | None:
        """The condition its behaviour turns on under (None for a control)."""
        return self._hidden_condition
