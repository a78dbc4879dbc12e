"""`kxrules report`: the end-of-day HTML summary of a recorded run (and its totals on stdout)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import fail


def report(
    run: Annotated[str, typer.Option("--run", help="'latest' or a run id from the recording.")] = "latest",
    data_dir: Annotated[Optional[Path], typer.Option("--data-dir", help="Directory holding kxrules.duckdb (default: the profile's data_dir).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="HTML file to write (default: DATA_DIR/report-DATE-runN.html).")] = None,
    open_: Annotated[bool, typer.Option("--open", help="Open the report in the default browser.")] = False,
    pairs: Annotated[Optional[str], typer.Option("--pairs", help="Pair ids to draw timelines for, comma-separated (default: the worst).")] = None,
    profile: Annotated[str, typer.Option("--profile", "-p", help="Profile whose data_dir is the default.")] = "pilot",
    workspace: Annotated[Optional[Path], typer.Option("--workspace", "-w", help="Workspace root (its reports/ holds the templates).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the text summary.")] = False,
    sweep: Annotated[Optional[str], typer.Option("--sweep", help="Report a sweep instead of a run: its id (the sweep file's name).", rich_help_panel="Sweeps")] = None,
    db: Annotated[Optional[Path], typer.Option("--db", help="The sweep results file (default: sweeps/ID.yaml's profile's data_dir/sweeps.duckdb, else DATA_DIR/sweeps.duckdb).", rich_help_panel="Sweeps")] = None,
) -> None:
    """Render one self-contained HTML report (inline CSS and SVG, no network) from the DuckDB recording, and print the day's totals as plain text.

    Exit codes: 0 written, 2 no such data directory, recording or run (or a template error)."""
    import time

    from ..config.workspace import find_workspace
    from ..report.build import collect
    from ..report.render import text_summary, write
    from ..report.source import ReportError

    started = time.perf_counter()
    root = find_workspace(workspace)
    if sweep is not None:
        _sweep_report(root, sweep, db, data_dir, profile, out, open_)
        return
    wanted = None
    if pairs:
        try:
            wanted = [int(p) for p in pairs.replace(" ", "").split(",") if p]
        except ValueError:
            fail(f"--pairs must be pair ids separated by commas, got {pairs!r}")
    if data_dir is None:
        data_dir = _profile_data_dir(root, profile)
    try:
        data = collect(data_dir, run, wanted)
        target = out or (Path(data_dir) / f"report-{data.run.run_date}-run{data.run.run_id}.html")
        path = write(data, target, root)
    except ReportError as exc:
        fail(str(exc))
        return
    if not quiet:
        typer.echo(text_summary(data))
    typer.echo(f"report written to {path} ({time.perf_counter() - started:.1f} s)")
    if open_:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())


def _profile_data_dir(root: Path, profile: str) -> Path:
    from ..config.diagnostics import Diagnostics
    from ..config.profiles import load_profile

    diags = Diagnostics(root)
    merged = load_profile(root, profile, diags)
    if merged is None:
        fail(f"profile {profile} not found in {root}; pass --data-dir DIR")
    rel = (merged.data or {}).get("data_dir") or "data"
    return (root / rel).resolve()


def _sweep_report(root: Path, sweep_id: str, db: Path | None, data_dir: Path | None, profile: str,
                  out: Path | None, open_: bool) -> None:
    from ..research.sweep_report import SweepReportError, load, render

    if db is None:
        db = _sweep_db(root, sweep_id) if data_dir is None else Path(data_dir) / "sweeps.duckdb"
        if db is None:
            db = _profile_data_dir(root, profile) / "sweeps.duckdb"
    try:
        rep = load(db, sweep_id)
    except SweepReportError as exc:
        fail(str(exc))
        return
    target = out or (Path(db).parent / f"sweep-{sweep_id}.html")
    path = render(rep, target, root)
    best = rep.ranked[0] if rep.ranked else None
    if best is not None:
        typer.echo(f"best: {best.setting} ({rep.metric} {best.value:,.0f}" if best.value is not None else
                   f"best: {best.setting} (", nl=False)
        typer.echo(f", {'constraints hold' if best.feasible else 'NO setting meets the constraints'})")
    typer.echo(f"sweep report written to {path}")
    if open_:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())


def _sweep_db(root: Path, sweep_id: str) -> Path | None:
    """The results file of the workspace's sweep file with this id, if there is one."""
    from ..config.diagnostics import Diagnostics
    from ..research.runner import default_store_path
    from ..research.spec import load_sweep, sweep_files

    for path in sweep_files(root):
        spec = load_sweep(path, root, Diagnostics(root))
        if spec is not None and spec.name == sweep_id:
            return default_store_path(spec)
    return None
