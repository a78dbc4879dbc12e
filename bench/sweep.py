"""Sweep throughput: the warm-worker replay rate, a local pool of 1 vs 2 workers over the same
sweep (quotes/s per worker, scaling efficiency), the same number of runs as an Optuna search,
and the sweep on a local Ray instance (its overhead). Prints one JSON line per figure.

    python bench/sweep.py --symbols 50 --minutes 30 --days 2 [--out-dir bench/out]

The days (the replay format, one file per day as `kxrules days export` writes them) are
generated once and reused; the sweep is a 2 x 2 grid (edge_buffer_ticks x t_hedge_ms).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine, workspace_for  # noqa: E402

FIRST_DAY = dt.date(2026, 11, 23)
TARGET_UPDATES_PER_SYMBOL_S = 20.0
SWEEP = """\
name: bench
profile: sim
days:
  library: {library}
grid:
  edge_buffer_ticks: [1, 2]
  t_hedge_ms: [600, 1000]
objective:
  maximize: net_krw
"""
SEARCH = """\
name: bench_search
profile: sim
days:
  library: {library}
search:
  trials: 4
  batch: 2
  seed: 7
  params:
    edge_buffer_ticks: {{low: 0, high: 3, step: 0.5}}
    t_hedge_ms: {{low: 200, high: 1000, step: 50}}
objective:
  maximize: net_krw
"""


def trading_days(n: int) -> list[dt.date]:
    out, d = [], FIRST_DAY
    while len(out) < n:
        if d.weekday() < 5:
            out.append(d)
        d += dt.timedelta(days=1)
    return out


def make_days(ws: Path, library: Path, days: list[dt.date], minutes: int, seed: int) -> None:
    from kxrules.marketdata.synthetic import generate_day, rate_multiplier_for, read_universe_csv
    from kxrules.research.days import day_path

    uni = read_universe_csv(ws / "config/universe/pilot.csv")
    mult = None
    for i, day in enumerate(days):
        path = day_path(library, day)
        if path.exists():
            continue
        if mult is None:
            mult = rate_multiplier_for(TARGET_UPDATES_PER_SYMBOL_S, universe=uni, seed=seed, start="09:00:00",
                                       minutes=minutes, workspace=ws)
        path.parent.mkdir(parents=True, exist_ok=True)
        generate_day(path, universe=uni, date=day, seed=seed + i, start="09:00:00", minutes=minutes,
                     rate_multiplier=mult, workspace=ws)


def emit(**fields) -> None:
    # the load average says whether the machine was shared while measuring (it skews scaling)
    print(json.dumps({**fields, "machine": machine(), "python": platform.python_version(),
                      "loadavg_1m": round(os.getloadavg()[0], 2)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--minutes", type=int, default=30)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--warm-runs", type=int, default=4)
    parser.add_argument("--out-dir", type=Path, default=REPO / "bench" / "out")
    args = parser.parse_args()
    out = args.out_dir / f"sweep_{args.symbols}x{args.minutes}"
    ws = workspace_for(out, args.symbols)
    library = out / "days"
    make_days(ws, library, trading_days(args.days), args.minutes, args.seed)
    sweep_file = out / "bench.yaml"
    sweep_file.write_text(SWEEP.format(library=library), encoding="utf-8")

    from kxrules.config.diagnostics import Diagnostics
    from kxrules.research.runner import plan_sweep, run_sweep
    from kxrules.research.spec import load_sweep
    from kxrules.research.store import SweepStore
    from kxrules.research.worker import SweepWorker

    sweep = load_sweep(sweep_file, ws, Diagnostics(ws), resolve_days=True)
    plan = plan_sweep(sweep)
    quotes = sum(plan.quotes.values()) * len(sweep.settings)

    # 1. the warm worker: one process replays the same day again and again (start-up paid once)
    spec = plan.runs[0]
    rows = plan.quotes[spec.day]
    worker = SweepWorker(ws, "sim", None, out / "scratch")
    t0 = time.perf_counter()
    worker.profile_for(spec.date)
    first = worker.run(spec)["wall_s"]
    cold = time.perf_counter() - t0
    warm = [worker.run(spec)["wall_s"] for _ in range(args.warm_runs)]
    worker.close()
    emit(bench="sweep_warm_worker", symbols=args.symbols, minutes=args.minutes, quote_rows=rows,
         first_run_s=round(cold, 2), first_replay_s=round(first, 2), warm_run_s=round(statistics.median(warm), 3),
         warm_quotes_per_s=round(rows / statistics.median(warm)))

    # 2. the local pool, 1 then 2 workers, the whole sweep each time into a fresh results file
    rates = {}
    for n in (1, 2):
        db = out / f"results_{n}.duckdb"
        db.unlink(missing_ok=True)
        store = SweepStore(db)
        t0 = time.perf_counter()
        outcome = run_sweep(plan, store, workers=n)
        wall = time.perf_counter() - t0
        busy: dict[str, float] = {}
        for r in store.rows(plan.sweep.name):
            busy[r["worker"]] = busy.get(r["worker"], 0.0) + r["wall_s"]
        store.close()
        assert not outcome.failed, outcome.failed
        rates[n] = quotes / wall
        emit(bench="sweep_pool", workers=n, runs=len(plan.runs), quote_rows=quotes, wall_s=round(wall, 2),
             quotes_per_s=round(rates[n]), quotes_per_s_per_worker=round(rates[n] / n),
             runs_per_min=round(len(plan.runs) / wall * 60, 1),
             busy_quotes_per_s_per_worker=round(quotes / sum(busy.values())),
             overhead_s=round(wall - max(busy.values()), 2))     # spawn, imports, compile, results
    emit(bench="sweep_scaling", workers=2, speedup=round(rates[2] / rates[1], 2),
         efficiency=round(rates[2] / rates[1] / 2, 2))

    # 3. the same number of runs as an Optuna search (4 trials told in 2 batches of 2, 2 workers):
    # what the batch barrier and Optuna's ask/tell cost against the grid
    search_file = out / "bench_search.yaml"
    search_file.write_text(SEARCH.format(library=library), encoding="utf-8")
    search = load_sweep(search_file, ws, Diagnostics(ws), resolve_days=True)
    search_plan = plan_sweep(search)
    db = out / "results_search.duckdb"
    db.unlink(missing_ok=True)
    store = SweepStore(db)
    t0 = time.perf_counter()
    outcome = run_sweep(search_plan, store, workers=2)
    wall = time.perf_counter() - t0
    store.close()
    assert not outcome.failed, outcome.failed
    searched = outcome.quotes                # a trial repeating a setting reuses its rows
    emit(bench="sweep_search", workers=2, trials=4, batch=2, runs=outcome.planned, wall_s=round(wall, 2),
         quotes_per_s=round(searched / wall), grid_rate_over_search_rate=round(rates[2] / (searched / wall), 2))

    # 4. the same sweep on a local Ray instance (2 actors), when Ray is installed
    try:
        import ray  # noqa: F401
    except ImportError:
        emit(bench="sweep_ray", skipped="ray is not installed (pip install 'kxrules[ray]')")
    else:
        from kxrules.research.ray_backend import ray_backend

        db = out / "results_ray.duckdb"
        db.unlink(missing_ok=True)
        store = SweepStore(db)
        t0 = time.perf_counter()
        outcome = run_sweep(plan, store, workers=2, backend=ray_backend("local", {"num_cpus": 2}))
        wall = time.perf_counter() - t0
        store.close()
        assert not outcome.failed, outcome.failed
        emit(bench="sweep_ray", workers=2, runs=len(plan.runs), wall_s=round(wall, 2), quotes_per_s=round(quotes / wall),
             vs_local_pool=round(wall / (quotes / rates[2]), 2))     # > 1: Ray's start-up and transport cost
    shutil.rmtree(out / "scratch", ignore_errors=True)


if __name__ == "__main__":
    main()
