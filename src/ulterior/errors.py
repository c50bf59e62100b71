"""The one exception tree of ulterior.

Every error a user can cause derives from :class:`UlteriorError`. Its message is written for
the person at the terminal: one line that says what is wrong and what to do about it. The CLI
prints it without a traceback and exits with status 2.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CapabilityError",
    "ContextLengthError",
    "DataFormatError",
    "MissingDependencyError",
    "ModelLoadError",
    "ServerError",
    "UlteriorError",
    "UnknownSpecError",
    "UsageError",
    "first_problem",
]


def first_problem(exc: Any) -> str:
    """The first problem of a pydantic ``ValidationError``, in one line, naming the field."""
    error = exc.errors()[0]
    message = str(error["msg"]).removeprefix("Value error, ")
    field = ".".join(str(part) for part in error["loc"])
    return f"'{field}' {message}" if field else message


class UlteriorError(Exception):
    """Base class of every error ulterior raises on purpose."""


class UsageError(UlteriorError):
    """An option or argument is invalid (a bad value, a missing file, a conflicting flag)."""


class UnknownSpecError(UsageError):
    """A model spec string names no registered backend or model."""


class DataFormatError(UsageError):
    """A data file is malformed: bad JSON, not UTF-8, a missing field. Names file and line."""


class ModelLoadError(UlteriorError):
    """Model weights could not be loaded: a missing, corrupt or unsupported file."""


class MissingDependencyError(UlteriorError):
    """An optional dependency is not installed; the message names the `pip install` to run."""


class CapabilityError(UlteriorError):
    """The subject lacks a capability the job needs (e.g. activations from an HTTP model)."""


class ContextLengthError(UsageError):
    """An item does not fit in the model's context window."""


class ServerError(UlteriorError):
    """An OpenAI-compatible server was unreachable or answered with an error."""
