"""Helpers shared by commands: dates in Seoul, workspace resolution, error exits."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import typer

SEOUL = ZoneInfo("Asia/Seoul")


def today_in_seoul() -> dt.date:
    return dt.datetime.now(SEOUL).date()


def parse_date(value: str | None) -> dt.date:
    if not value:
        return today_in_seoul()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"--date must be YYYY-MM-DD, got {value!r}")
        raise  # unreachable


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"kxrules: error: {message}", err=True)
    raise typer.Exit(code)


def workspace_root(explicit: Path | None) -> Path:
    from ..config.workspace import find_workspace

    return find_workspace(explicit)


def is_tty() -> bool:
    return sys.stdout.isatty()
