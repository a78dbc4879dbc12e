"""Helpers shared by commands: dates in Seoul, workspace resolution, error exits."""
from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path
from typing import NoReturn

import typer

from .. import seoul


def today_in_seoul() -> dt.date:
    # the fixed KST offset, not zoneinfo: Windows (where the live control runs) ships no
    # time-zone database unless the tzdata package is installed
    return seoul.date_of(time.time_ns())


def parse_date(value: str | None) -> dt.date:
    if not value:
        return today_in_seoul()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"--date must be YYYY-MM-DD, got {value!r}")
        raise  # unreachable


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"kxrules: error: {message}", err=True)
    raise typer.Exit(code)


def workspace_root(explicit: Path | None) -> Path:
    from ..config.workspace import find_workspace

    return find_workspace(explicit)


def is_tty() -> bool:
    return sys.stdout.isatty()
