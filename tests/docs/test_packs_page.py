"""docs/packs.md documents every field of every suite's pack schema, as the schema says it."""

from __future__ import annotations

import typing
from pathlib import Path

from pydantic import BaseModel

from ulterior.suites import Suite, default_suites

PAGE = Path(__file__).resolve().parents[2] / "docs" / "packs.md"


def _models(model: type[BaseModel], seen: list[type[BaseModel]]) -> list[type[BaseModel]]:
    """``model`` and the models its fields hold, depth first, each once."""
    if model not in seen:
        seen.append(model)
        for field in model.model_fields.values():
            for inner in (field.annotation, *typing.get_args(field.annotation)):
                for kind in (inner, *typing.get_args(inner)):
                    if isinstance(kind, type) and issubclass(kind, BaseModel):
                        _models(kind, seen)
    return seen


def schema_tables(suite: Suite) -> str:
    """The field tables of a suite's pack schema, as the page shows them."""
    parts = []
    for model in _models(suite.pack_schema, []):
        rows = [f"| `{name}` | {'yes' if field.is_required() else 'no'} | "
                f"{field.description} |" for name, field in model.model_fields.items()]
        parts.append(f"`{model.__name__}`\n\n| field | required | what it holds |\n"
                     "|---|---|---|\n" + "\n".join(rows) + "\n")
    return "\n".join(parts)


def test_the_page_shows_every_schema_as_it_is() -> None:
    page = PAGE.read_text(encoding="utf-8")
    for suite in default_suites():
        assert f"## {suite.name}\n" in page
        assert schema_tables(suite) in page, f"regenerate the tables of {suite.name}"
        assert f"docs/examples/packs/{suite.name}.yaml" in page


if __name__ == "__main__":  # print the tables, to paste into the page
    for suite in default_suites():
        print(f"## {suite.name}\n\n{schema_tables(suite)}")
