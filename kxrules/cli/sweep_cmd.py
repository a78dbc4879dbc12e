"""`kxrules sweep FILE`: run a sweep declared in YAML (a grid, or an Optuna search) over recorded
days, on a local process pool or Ray."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import fail, workspace_root


def sweep(
    file: Annotated[Path, typer.Argument(help="A sweep file (sweeps/NAME.yaml), or its name.", show_default=False)],
    workers: Annotated[int, typer.Option("--workers", "-j", help="Worker processes (default: the CPUs, at most the runs).")] = 0,
    check: Annotated[bool, typer.Option("--check", help="Only check the file, its days and settings; run nothing.")] = False,
    ray: Annotated[Optional[str], typer.Option("--ray", help="Run on Ray instead of the local pool: a cluster address (auto, ray://HOST:PORT) or 'local'. Needs pip install kxrules[ray].")] = None,
    db: Annotated[Optional[Path], typer.Option("--db", help="Results file (default: the profile's data_dir/sweeps.duckdb).")] = None,
    top: Annotated[int, typer.Option("--top", help="Settings to show in the ranking.")] = 10,
    workspace: Annotated[Optional[Path], typer.Option("--workspace", "-w", help="Workspace root.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress line.")] = False,
) -> None:
    """Replay every (setting, day) of a sweep on the emulator's fast path and record one row per run in DuckDB: every setting of a grid, or the trials of an Optuna search; an interrupted sweep resumes where it stopped.

    Exit codes: 0 every run recorded, 1 some runs failed or the sweep was interrupted, 2 the sweep file, a day or a setting is invalid."""
    import sys

    from ..config.diagnostics import Diagnostics
    from ..research.objective import rank, render_ranking
    from ..research.runner import SweepError, default_store_path, echo_err, plan_sweep, run_sweep
    from ..research.spec import SWEEP_DIR, load_sweep
    from ..research.store import SweepStore

    root = workspace_root(workspace)
    path = file if file.suffix in (".yaml", ".yml") else root / SWEEP_DIR / f"{file}.yaml"
    diags = Diagnostics(root)
    spec = load_sweep(path if path.is_absolute() else Path.cwd() / path, root, diags, resolve_days=True)
    for d in diags.items:
        typer.echo(d.format(), err=True)
    if spec is None:
        fail(f"{path}: {len(diags.errors)} error(s)")
    try:
        plan = plan_sweep(spec)
    except SweepError as exc:
        fail(str(exc))
    search, n_days = spec.search, len(plan.dates)
    n_set = search.trials if search else len(spec.settings)
    what = (f"a {search.sampler} search of {n_set} trial(s) (seed {search.seed}, {search.batch} at a time)"
            if search else f"{n_set} setting(s)")
    typer.echo(f"sweep {spec.name}: {what} x {n_days} day(s) = {n_set * n_days} runs"
               f"{' at most' if search else ''}, {sum(plan.quotes.values()) * n_set:,} quotes")
    if check:
        typer.echo("ok: the sweep file, its days and every setting check out")
        return
    store = SweepStore(db or default_store_path(spec))
    tty = sys.stderr.isatty()
    backend = None
    if ray is not None:
        try:
            import ray as _ray  # noqa: F401 - only to say how to get it
        except ImportError:
            fail("--ray needs Ray: pip install 'kxrules[ray]'")
        from ..research.ray_backend import ray_backend

        backend = ray_backend(ray)
    n = workers if workers > 0 else (0 if ray is not None else (os.cpu_count() or 1))   # Ray: the cluster's CPUs
    outcome = run_sweep(plan, store, workers=n, status=None if quiet else echo_err, tty=tty, backend=backend)
    rows = store.rows(spec.name, outcome.keys)
    store.close()
    metric = spec.model.objective.metric
    if rows:
        ranked = rank(rows, spec.model.objective)
        typer.echo(f"{'maximize' if spec.model.objective.maximize else 'minimize'} {metric} "
                   f"({len(rows)}/{outcome.planned} runs recorded):")
        typer.echo(render_ranking(ranked, metric, top))
        typer.echo(f"reproduce the best on its first day: {_first_command(rows, ranked[0].setting)}")
    typer.echo(f"results: {store.path} (sweep_id {spec.name!r}); ran {len(outcome.ran)}, "
               f"resumed {outcome.resumed}, failed {len(outcome.failed)} in {outcome.wall_s:,.1f} s")
    for key, why in list(outcome.failed.items())[:10]:
        typer.echo(f"kxrules: run {key} failed: {why}", err=True)
    if outcome.interrupted:
        typer.echo("interrupted: run the same command again to resume", err=True)
    raise typer.Exit(1 if outcome.failed or outcome.interrupted else 0)


def _first_command(rows: list[dict], setting: str) -> str:
    return next(r["command"] for r in rows if r["setting"] == setting)
