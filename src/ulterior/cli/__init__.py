"""The command line: a thin typer layer over the Python API."""

from ulterior.cli._app import app, main

__all__ = ["app", "main"]
