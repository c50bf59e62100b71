"""A YAML or JSON document read into a pydantic model, with one-line, line-numbered errors."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ulterior.errors import DataFormatError

ModelT = TypeVar("ModelT", bound=BaseModel)


def _line_of(root: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """The 1-based line of the deepest node along ``loc`` (a missing key: its mapping's)."""
    node, line = root, None
    for part in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            node = next((value for key, value in node.value if key.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                and part < len(node.value):
            node = node.value[part]
        else:
            node = None
    if node is not None:
        line = node.start_mark.line + 1
    return line


# A validator that checks several fields together names the place it means: "at
# scenarios[1].type: ..." points the error at that node's line.
_AT = re.compile(r"^at ([\w\-.\[\]]+): (.*)$", re.S)


def _parse_path(path: str) -> tuple[int | str, ...]:
    return tuple(int(part) if part.isdigit() else part
                 for part in re.findall(r"[^.\[\]]+", path))


def _problem(exc: ValidationError) -> tuple[tuple[int | str, ...], str]:
    """Where the first problem is, and what it is, in words a pack's author reads."""
    error = exc.errors()[0]
    loc = tuple(error["loc"])
    if error["type"] == "missing" and loc:
        return loc[:-1], f"{_path(loc[:-1]) or 'the document'}: lacks the field '{loc[-1]}'"
    if error["type"] == "extra_forbidden" and loc:
        return loc, f"{_path(loc)}: unknown field (a typo? see the schema)"
    message = str(error["msg"]).removeprefix("Value error, ")
    if (at := _AT.match(message)) is not None:
        where = (*loc, *_parse_path(at.group(1)))
        return where, f"{_path(where)}: {at.group(2)}"
    return loc, f"{_path(loc)}: {message}" if loc else message


def _path(loc: Sequence[int | str]) -> str:
    """``tasks[3].aligned`` for ``("tasks", 3, "aligned")``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".")


def _json_else_raise(text: str, where: str, exc: yaml.YAMLError) -> Any:
    """JSON that YAML refused (tab-indented JSON is not YAML), else the YAML error."""
    if text.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(text)
        except json.JSONDecodeError as bad:
            raise DataFormatError(f"{where} line {bad.lineno}: not valid JSON "
                                  f"({bad.msg})") from None
    mark = getattr(exc, "problem_mark", None)
    at = f" line {mark.line + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    raise DataFormatError(f"{where}{at}: not valid YAML ({problem})") from None


def parse_yaml(text: str, model: type[ModelT], where: str) -> ModelT:
    """``text`` as ``model``.

    Raises:
        DataFormatError: Not YAML, or not the model: one line naming ``where``, the line of
            the document and the field.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        data = _json_else_raise(text, where, exc)
    try:  # only for line numbers: a tab (JSON's indent, never YAML's) is a space here
        root = yaml.compose(text.replace("\t", " "), Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        root = None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        loc, message = _problem(exc)
        line = _line_of(root, loc)
        raise DataFormatError(f"{where}{f' line {line}' if line else ''}: {message}") from None


def parse_yaml_data(text: str, model: type[BaseModel], where: str) -> dict[str, Any]:
    """``text`` checked against ``model`` and returned as plain data, defaults filled in."""
    return parse_yaml(text, model, where).model_dump(mode="json")
