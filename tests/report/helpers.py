"""Helpers of the report tests: render through the CLI, read the values the page exposes."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import typer
from typer.testing import CliRunner

from kxrules.cli.report_cmd import report

REPO = Path(__file__).resolve().parents[2]
DB = "kxrules.duckdb"


def report_app() -> typer.Typer:
    """`report` on a throwaway app (independent of its registration in kxrules.cli.app)."""
    app = typer.Typer()
    app.command("report")(report)

    @app.callback()
    def _root() -> None:
        pass
    return app


@dataclass
class Rendered:
    exit_code: int
    output: str
    html: str
    path: Path


def render(data_dir: Path, out: Path, *args: str) -> Rendered:
    result = CliRunner().invoke(report_app(), ["report", "--data-dir", str(data_dir), "--out", str(out),
                                               "--workspace", str(REPO), *args])
    html = out.read_text(encoding="utf-8") if out.exists() and result.exit_code == 0 else ""
    return Rendered(result.exit_code, result.output, html, out)


def values(html: str) -> dict[str, str]:
    """The first ``data-k``/``data-v`` pair of each key: the totals cards and SLO tiles come before
    the tables whose rows reuse the same keys."""
    out: dict[str, str] = {}
    for k, v in re.findall(r'data-k="([^"]+)" data-v="([^"]*)"', html):
        out.setdefault(k, v)
    return out
