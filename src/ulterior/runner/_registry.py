from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar, Generic, TypeVar

T = TypeVar("T")


@dataclass
class Registry(Generic[T]):
    """Named factories, kept in the order they were added; adding a name twice is an error.

    An object, not a module global: each job builds its own, and a user's registry can hold
    things of their own beside the built-in ones.
    """

    kind: ClassVar[str] = "entry"  # what is registered, for messages
    factories: dict[str, Callable[[], T]] = field(default_factory=dict)

    def add(self, name: str, factory: Callable[[], T]) -> None:
        """Register ``factory`` under ``name``."""
        if not name:
            raise ValueError(f"a {self.kind} needs a name")
        if name in self.factories:
            raise ValueError(f"{self.kind} '{name}' is already registered")
        self.factories[name] = factory

    def names(self) -> list[str]:
        """Registered names, in order."""
        return list(self.factories)

    def create(self, name: str) -> T:
        """Make the thing registered as ``name``; UsageError naming the choices if none is."""
        from ulterior.errors import UsageError

        if name not in self.factories:
            raise UsageError(f"unknown {self.kind} '{name}'; choose from "
                             f"{', '.join(self.names())}")
        return self.factories[name]()

    def __iter__(self) -> Iterator[T]:
        return (factory() for factory in self.factories.values())
