"""A YAML document read into a pydantic model, with one-line errors."""

from __future__ import annotations

from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ulterior.errors import DataFormatError, first_problem

ModelT = TypeVar("ModelT", bound=BaseModel)


def parse_yaml(text: str, model: type[ModelT], where: str) -> ModelT:
    """``text`` as ``model``.

    Raises:
        DataFormatError: Not YAML, or not the model: one line naming ``where`` and the field.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DataFormatError(f"{where}: not valid YAML ({str(exc).splitlines()[0]})") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise DataFormatError(f"{where}: {first_problem(exc)}") from None
