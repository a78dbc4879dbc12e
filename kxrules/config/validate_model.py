"""Validate plain YAML data with a pydantic model and report errors at their file:line:col."""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from .diagnostics import Diagnostics, Position

M = TypeVar("M", bound=BaseModel)

_RANGE_TYPES = {
    "greater_than", "greater_than_equal", "less_than", "less_than_equal", "literal_error",
    "enum", "too_short", "too_long", "out_of_range", "rate_range",
    "string_too_short", "string_too_long", "multiple_of",
}
_SPECIFIC_CODES = {"rate_precision": "KX704", "rate_negative": "KX704", "search_space": "KX963"}


class Locator(Protocol):
    def locate(self, loc: tuple, *, key: bool = False) -> tuple[Path, Position]: ...


def _clean_loc(loc: tuple, data: Any) -> tuple:
    """Keep the loc parts that address data; drop pydantic labels (union members, '[key]').

    A key that is missing from a mapping is kept (as the last part) so the caller can name it;
    a part that is not a key with more parts after it is a label (a tagged union's member).
    """
    out: list = []
    node = data
    for i, part in enumerate(loc):
        if isinstance(node, dict):
            if part not in node and i + 1 < len(loc):
                continue
            out.append(part) if part != "[key]" else None
            if part not in node:
                break
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
    return tuple(out)


def _known_fields(model: type[BaseModel], acc: set[str] | None = None) -> set[str]:
    acc = set() if acc is None else acc
    for name, field in model.model_fields.items():
        acc.add(field.alias or name)
        for arg in _nested_models(field.annotation):
            if arg.__name__ not in acc:
                acc.add(arg.__name__)
                _known_fields(arg, acc)
    return acc


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    stack = [annotation]
    while stack:
        a = stack.pop()
        if isinstance(a, type) and issubclass(a, BaseModel):
            found.append(a)
        for sub in getattr(a, "__args__", ()) or ():
            stack.append(sub)
    return found


def validate_model(model: type[M], data: Any, where: Locator, diags: Diagnostics,
                   *, what: str = "") -> M | None:
    """Validate ``data`` with ``model``; on failure add one located diagnostic per error."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        known = sorted(k for k in _known_fields(model) if not k[:1].isupper())
        for err in exc.errors(include_url=False):
            loc = _clean_loc(tuple(err["loc"]), data)
            dotted = ".".join(str(p) for p in loc) or (what or "document")
            kind = err["type"]
            if kind == "extra_forbidden":
                path, pos = where.locate(loc, key=True)
                name = str(loc[-1]) if loc else "?"
                hint = difflib.get_close_matches(name, known, n=1)
                suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
                diags.add(path, pos, "KX101", f"unknown key '{dotted}'{suggestion}")
            elif kind == "missing":
                path, pos = where.locate(loc[:-1])
                diags.add(path, pos, "KX102", f"missing required key '{dotted}'")
            else:
                path, pos = where.locate(loc)
                code = _SPECIFIC_CODES.get(kind) or ("KX104" if kind in _RANGE_TYPES else "KX103")
                diags.add(path, pos, code, f"{dotted}: {err['msg']}")
        return None
