"""One YAML file into one model, outside a workspace load (the emulator's and the venue map's
defaults, the market model for `simdata`, tests), with errors that name ``file:line:col`` as
``kxrules validate`` does: the file goes through the located loader, and the first validation
error is placed at the key or value it is about."""
from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from .diagnostics import Diagnostics
from .yaml_loader import load_yaml

Model = TypeVar("Model", bound=BaseModel)


class ConfigFileError(ValueError):
    """A side file that cannot be read or does not validate; the message starts with its place."""


def load_model_file(path: str | Path, model: type[Model], what: str) -> Model:
    """Read ``path`` and validate it as ``model``; ``what`` names the file in messages
    ("the market model"). Raises :class:`ConfigFileError` ("path:line:col: where: message")."""
    p = Path(path)
    diags = Diagnostics(Path.cwd())
    doc = load_yaml(p, diags)
    if doc is None:
        first = diags.errors[0] if diags.errors else None
        if first is None or first.position.line == 0:
            raise ConfigFileError(f"{p}: {first.message if first else 'cannot load'}")
        raise ConfigFileError(f"{p}:{first.position.line}:{first.position.col}: {first.message}")
    if not isinstance(doc.data, dict):
        raise ConfigFileError(f"{p}:1:1: {what} must be a mapping")
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(x for x in err["loc"] if isinstance(x, (str, int)))
        # pydantic names the failing validator part too; keep the data path only
        pos = doc.position(loc, key=err["type"] == "extra_forbidden")
        where = ".".join(str(x) for x in loc) or "(top level)"
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigFileError(f"{p}:{pos.line}:{pos.col}: {where}: {err['msg']}{more}") from None
