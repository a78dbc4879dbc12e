"""Two short recorded days of a small universe, their exported day library, a 2-day x 4-setting
sweep over it and a 6-trial Optuna search, each on a local pool of two workers (built once per session)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

from kxrules.config.compile import compile_profile
from kxrules.config.diagnostics import Diagnostics
from kxrules.marketdata.synthetic import generate_day, select_universe
from kxrules.research.days import export_days
from kxrules.research.runner import plan_sweep, run_sweep
from kxrules.research.spec import load_sweep
from kxrules.research.store import SweepStore
from kxrules.runtime.trade import TradeOptions, run_simulation

REPO = Path(__file__).resolve().parents[2]
DAYS = (dt.date(2026, 11, 23), dt.date(2026, 11, 24))


@dataclass
class Recorded:
    universe: Path
    data_dir: Path          # a recording holding both days' quotes
    library: Path           # its export: date=YYYY-MM-DD/quotes.parquet
    sources: list[Path]     # the generated days that were replayed and recorded


@pytest.fixture(scope="session")
def recorded(tmp_path_factory) -> Recorded:
    tmp = tmp_path_factory.mktemp("research")
    universe = select_universe("pilot", 10, workspace=REPO)
    uni = tmp / "universe.csv"
    uni.write_text("code,name,market,ref_price\n" + "".join(
        f"{c},{n},{m},{p}\n" for c, n, m, p in zip(universe.codes, universe.names, universe.markets,
                                                    universe.ref_prices)), encoding="utf-8")
    data_dir, sources = tmp / "data", []
    for i, day in enumerate(DAYS):
        src = tmp / f"source_{day}.parquet"
        # four busy minutes: enough crossings for pairs under every setting of the test grid
        generate_day(src, universe=universe, date=day, seed=20 + i, start="09:00:00", minutes=4,
                     rate_multiplier=3.0, workspace=REPO)
        profile = compile_profile(REPO, "sim", day, file_overrides={"universe": uni})
        run_simulation(profile, TradeOptions(broker="sim", replay=src, data_dir=data_dir, record_quotes=True))
        sources.append(src)
    library = tmp / "days"
    assert all(not r.problems for r in export_days(data_dir, library))
    return Recorded(uni, data_dir, library, sources)


GRID = """\
name: parity
profile: sim
universe: {universe}
days:
  library: {library}
grid:
  edge_buffer_ticks: [0, 1]
  t_hedge_ms: [100, 1000]
objective:
  maximize: net_krw
  constraints:
    unhedged_p95_ms: {{max: 1000}}
"""
SEARCH = """\
name: search
profile: sim
universe: {universe}
days:
  library: {library}
search:
  trials: 6
  batch: 3
  seed: {seed}
  startup_trials: 3      # the second batch is TPE's, modelled on the first (and its constraint)
  params:
    edge_buffer_ticks: {{low: 0, high: 2, step: 0.5}}
    t_hedge_ms: {{low: 100, high: 1000, step: 100}}
objective:
  maximize: net_krw
  constraints:
    unhedged_p95_ms: {{max: 1000}}
"""
VOLATILE = {"wall_s", "worker", "finished_at"}


def _plan(recorded, tmp: Path, template: str = GRID, **fmt):
    path = tmp / "parity.yaml"
    path.write_text(template.format(universe=recorded.universe, library=recorded.library, **fmt), encoding="utf-8")
    diags = Diagnostics(REPO)
    sweep = load_sweep(path, REPO, diags, resolve_days=True)
    assert sweep is not None, [d.format() for d in diags.items]
    return plan_sweep(sweep)


def _table(store: SweepStore, keys: set[str], sweep_id: str) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in VOLATILE} for r in store.rows(sweep_id, keys)]


@pytest.fixture(scope="session")
def swept(recorded, tmp_path_factory):
    """The whole sweep, uninterrupted, on a local pool of two workers."""
    tmp = tmp_path_factory.mktemp("sweep")
    plan = _plan(recorded, tmp)
    store = SweepStore(tmp / "results.duckdb")
    outcome = run_sweep(plan, store, workers=2)
    table = _table(store, plan.keys, plan.sweep.name)
    store.close()
    return plan, outcome, table, tmp / "results.duckdb"


@pytest.fixture(scope="session")
def searched(recorded, tmp_path_factory):
    """The search (seed 3), uninterrupted, on a local pool of two workers."""
    tmp = tmp_path_factory.mktemp("search")
    plan = _plan(recorded, tmp, SEARCH, seed=3)
    store = SweepStore(tmp / "results.duckdb")
    outcome = run_sweep(plan, store, workers=2)
    table, trials = _table(store, outcome.keys, plan.sweep.name), store.trials(plan.sweep.name)
    store.close()
    return plan, outcome, table, trials, tmp / "results.duckdb"
