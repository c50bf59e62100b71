"""Scenarios are data: item files, their loaders, and how items are presented."""

from ulterior.scenarios._jsonl import read_jsonl
from ulterior.scenarios._loaders import load_items, parse_labelled_options
from ulterior.scenarios._present import Presentation, as_cloze, present, presentations
from ulterior.scenarios._yaml import parse_yaml

__all__ = [
    "Presentation",
    "as_cloze",
    "load_items",
    "parse_labelled_options",
    "parse_yaml",
    "present",
    "presentations",
    "read_jsonl",
]
