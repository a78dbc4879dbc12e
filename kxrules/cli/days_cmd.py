"""`kxrules days`: the recorded days of a data directory, and their export to a day library."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import fail, workspace_root

days_app = typer.Typer(help="The day library: recorded days, exported one Parquet file per trading day.",
                       no_args_is_help=False, invoke_without_command=True)


def _data_dir(data_dir: Path | None, profile: str, workspace: Path | None) -> Path:
    if data_dir is not None:
        return data_dir
    from ..config.diagnostics import Diagnostics
    from ..config.profiles import load_profile

    root = workspace_root(workspace)
    merged = load_profile(root, profile, Diagnostics(root))
    if merged is None:
        fail(f"profile {profile} not found; name the recording with --data-dir")
    return root / (merged.data.get("data_dir") or "data")


@days_app.callback()
def days(
    ctx: typer.Context,
    data_dir: Annotated[Optional[Path], typer.Option("--data-dir", help="A data directory (its kxrules.duckdb) or an exported day library. Default: the profile's data_dir.")] = None,
    profile: Annotated[str, typer.Option("--profile", "-p", help="Profile whose data_dir to read.")] = "sim",
    workspace: Annotated[Optional[Path], typer.Option("--workspace", "-w", help="Workspace root.")] = None,
) -> None:
    """List the recorded days (runs that recorded quotes) of a data directory, or the days of an exported library."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = {"data_dir": data_dir, "profile": profile, "workspace": workspace}
        return
    from ..research.days import library_days, recorded_days

    src = _data_dir(data_dir, profile, workspace)
    if not (src / "kxrules.duckdb").exists():
        lib = library_days(src)
        if not lib:
            fail(f"{src}: neither a recording (kxrules.duckdb) nor a day library (date=YYYY-MM-DD/quotes.parquet)")
        for d in lib:
            typer.echo(f"{d.date}  {d.rows:>12,} rows  {d.path}")
        typer.echo(f"{len(lib)} day(s), {sum(d.rows for d in lib):,} rows in {src}")
        return
    found = recorded_days(src)
    if not found:
        typer.echo(f"no run in {src} recorded quotes (live: recording.quotes; simulation: --record-quotes)")
        return
    typer.echo(f"{'date':<11}{'run':>5}  {'profile':<10}{'status':<10}{'rows':>12}{'codes':>7}{'venues':>7}  source")
    for run in found:
        typer.echo(f"{run.run_date!s:<11}{run.run_id:>5}  {run.profile:<10}{run.status:<10}{run.rows:>12,}"
                   f"{run.codes:>7}{run.venues:>7}  {run.source}")
    typer.echo(f"{len({r.run_date for r in found})} day(s) in {len(found)} run(s), {sum(r.rows for r in found):,} rows")


@days_app.command("export")
def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="The day library: OUT/date=YYYY-MM-DD/quotes.parquet per day.")],
    data_dir: Annotated[Optional[Path], typer.Option("--data-dir", help="The recording's data directory.")] = None,
    profile: Annotated[Optional[str], typer.Option("--profile", "-p", help="Profile whose data_dir to read.")] = None,
    workspace: Annotated[Optional[Path], typer.Option("--workspace", "-w", help="Workspace root.")] = None,
) -> None:
    """Write each recorded trading day to OUT/date=YYYY-MM-DD/quotes.parquet (the latest finished run of a date), checked as `trade --replay` checks its input.

    Exit codes: 0 every day written, 1 a day failed its check (not written), 2 no recording."""
    from ..research.days import export_days

    parent = ctx.obj or {}
    src = _data_dir(data_dir or parent.get("data_dir"), profile or parent.get("profile") or "sim",
                    workspace or parent.get("workspace"))
    try:
        results = export_days(src, out)
    except FileNotFoundError as exc:
        fail(str(exc))
    if not results:
        typer.echo(f"no run in {src} recorded quotes: nothing to export")
        return
    bad = 0
    for r in results:
        skipped = f" (runs {', '.join(map(str, r.skipped_runs))} of that date left out)" if r.skipped_runs else ""
        if r.problems:
            bad += 1
            typer.echo(f"{r.day.run_date}  run {r.day.run_id}: NOT exported, {len(r.problems)} problem(s):", err=True)
            for p in r.problems[:10]:
                typer.echo(f"  {p}", err=True)
        else:
            typer.echo(f"{r.day.run_date}  run {r.day.run_id}: {r.rows:,} rows -> {r.path}{skipped}")
    typer.echo(f"{len(results) - bad} day(s) exported to {out}" + (f", {bad} refused" if bad else ""))
    raise typer.Exit(1 if bad else 0)
