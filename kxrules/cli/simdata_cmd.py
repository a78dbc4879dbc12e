"""`kxrules simdata`: write a synthetic KRX/NXT trading day in the replay quote format."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer

DEFAULT_SIM_DATE = "2026-11-23"  # a Monday


def _fail(message: str) -> NoReturn:
    typer.echo(f"kxrules: error: {message}", err=True)
    raise typer.Exit(2)


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def simdata(
    out: Annotated[Path, typer.Option("--out", "-o", help="Parquet file to write.",
                                      show_default=False)],
    symbols: Annotated[Optional[int], typer.Option(
        "--symbols", "-n", help="Use the first N codes of the universe (pilot is topped up "
                                "from nxt_eligible when N is larger).")] = None,
    universe: Annotated[str, typer.Option(
        "--universe", "-u", help="Universe name (config/universe/NAME.csv) or CSV path.")] = "pilot",
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same inputs, same file.")] = 0,
    date: Annotated[str, typer.Option("--date", help="Trading date YYYY-MM-DD.")] = DEFAULT_SIM_DATE,
    start: Annotated[Optional[str], typer.Option(
        "--start", help="Start time HH:MM:SS KST (default: first session open, 09:00:00).")] = None,
    minutes: Annotated[Optional[float], typer.Option(
        "--minutes", help="Length in minutes (default: to the last session close).")] = None,
    rate_multiplier: Annotated[float, typer.Option(
        "--rate-multiplier", help="Scale both venues' update rates (e.g. 2.7 for ~20/s per "
                                  "symbol).")] = 1.0,
    market: Annotated[Optional[Path], typer.Option(
        "--market", help="Market model YAML (default: config/sim/market.yaml).")] = None,
    workspace: Annotated[Optional[Path], typer.Option(
        "--workspace", "-w", help="Workspace root (default: nearest with config/profiles).")] = None,
) -> None:
    """Generate a synthetic trading day (a latent price per symbol, KRX and NXT quotes around it, injected cross-venue gaps) as a Parquet quote file for replay."""
    try:
        day = dt.date.fromisoformat(date)
    except ValueError:
        _fail(f"--date must be YYYY-MM-DD, got {date!r}")
    if day.weekday() >= 5:
        typer.echo(f"kxrules: warning: {day} is a {day:%A}, not a trading day", err=True)
    if symbols is not None and symbols <= 0:
        _fail("--symbols must be positive")
    if minutes is not None and minutes <= 0:
        _fail("--minutes must be positive")
    if rate_multiplier <= 0:
        _fail("--rate-multiplier must be positive")

    from ..config.workspace import find_workspace
    from ..marketdata.sim_config import load_market_config
    from ..seoul import parse_hms
    from ..marketdata.synthetic import day_window, generate_day, select_universe

    if start is not None:
        try:
            parse_hms(start)
        except ValueError as exc:
            _fail(f"--start: {exc}")
    root = find_workspace(workspace)
    market_path = market or root / "config" / "sim" / "market.yaml"
    try:
        cfg = load_market_config(market_path)
    except ValueError as exc:
        _fail(f"market model: {exc}")
    try:
        uni = select_universe(universe, symbols, root)
        day_window(cfg, start, minutes)
    except (OSError, ValueError) as exc:
        _fail(str(exc))
    if out.exists() and out.is_dir():
        _fail(f"--out {out} is a directory")

    kwargs: dict[str, Any] = dict(universe=uni, date=day, seed=seed, config=cfg, start=start, minutes=minutes,
                                  rate_multiplier=rate_multiplier)
    try:
        if sys.stdout.isatty():
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            with Progress(TextColumn("simdata"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                          TimeElapsedColumn(), transient=True) as bar:
                task = bar.add_task("write", total=1.0)
                result = generate_day(out, progress=lambda f: bar.update(task, completed=f),
                                      **kwargs)
        else:
            result = generate_day(out, **kwargs)
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror or exc}")
    except ValueError as exc:
        _fail(str(exc))
    typer.echo(f"wrote {result.rows:,} rows, {result.symbols} symbols, {_size(result.bytes)} "
               f"to {result.path} in {result.seconds:.1f} s")
