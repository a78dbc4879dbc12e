"""``kxrules sweep``: plan every (setting, day), skip what the results already hold, run the rest
on long-lived workers and commit each row as it finishes (a search's settings come from Optuna,
batch by batch, on the same workers: ``search.py``).

The parent compiles the profile once per trading date (for the run keys and to check each
setting), checks every day file once the way ``trade --replay`` does, then hands runs to a
``ProcessPoolExecutor`` whose initializer compiles once per worker. Only the parent writes the
results file. A run's key hashes what decides its result: the setting, the day file (path,
size), the profile's compiled config for that date (a rules edit means new runs) — so a
resumed sweep redoes nothing finished and an edited one redoes only what changed.
"""
from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import multiprocessing
import shlex
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

from .settings import Setting, SettingError, apply_setting, run_key
from .spec import Sweep
from .store import SweepStore
from .worker import RunSpec, init_worker, run_in_worker


class SweepError(Exception):
    """The sweep cannot start: a day is not a clean replay, a setting is out of bounds, ..."""


@dataclass
class Plan:
    sweep: Sweep
    runs: list[RunSpec]                     # the grid's (a search's come from its trials)
    quotes: dict[Path, int]                 # rows per day file
    dates: dict[Path, dt.date]              # the days, in order
    profiles: dict[dt.date, Any] = field(default_factory=dict, repr=False)   # compiled, per date

    @property
    def keys(self) -> set[str]:
        return {r.key for r in self.runs}

    def day_by_day(self, runs: list[RunSpec]) -> list[RunSpec]:
        """``runs`` ordered by day, in each day the settings in their order: a worker then replays
        a day under several settings in a row, and keeps its shadow flags (``runtime.kept_flags``)
        in between."""
        order = {day: i for i, day in enumerate(self.dates)}
        return sorted(runs, key=lambda r: order[r.day])

    def runs_for(self, setting: Setting) -> list[RunSpec]:
        """The setting's run on every day (SettingError when it does not apply to a date's profile)."""
        out = []
        for day, date in self.dates.items():
            applied = apply_setting(self.profiles[date], setting)
            out.append(RunSpec(run_key(setting.as_json(), str(day), day.stat().st_size, applied.config_hash),
                               setting, day, date))
        return out


@dataclass
class Outcome:
    planned: int = 0                        # distinct runs the sweep needs
    resumed: int = 0                        # of those, already in the results
    ran: list[str] = field(default_factory=list)       # keys run now
    failed: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False
    wall_s: float = 0.0
    quotes: int = 0                         # quotes replayed by the runs done now
    keys: set[str] = field(default_factory=set)         # every run key of the sweep (its rows)


def plan_sweep(sweep: Sweep) -> Plan:
    """Resolve days and settings; check each day once (a day checked clean before is
    remembered) and each setting (a search: the corners of its space) against each date's profile."""
    import pyarrow.parquet as pq

    from ..config.compile import compile_profile
    from ..config.diagnostics import ConfigError
    from ..runtime.replay_check import check_replay_once
    from ..runtime.sources import replay_date
    from ..runtime.errors import TradeError

    days = sweep.days()
    if not days:
        raise SweepError(f"{sweep.path}: the days match no file")
    overrides = {"universe": sweep.universe} if sweep.universe else None
    plan = Plan(sweep, [], {}, {})
    for day in days:
        date = replay_date(day)
        if date is None:
            raise SweepError(f"day {day}: not a readable quote file")
        if date not in plan.profiles:
            try:
                plan.profiles[date] = compile_profile(sweep.root, sweep.model.profile, date, file_overrides=overrides)
            except ConfigError as exc:
                lines = "\n".join(d.format() for d in exc.diagnostics.errors)
                raise SweepError(f"profile {sweep.model.profile} does not compile for {date}:\n{lines}") from None
        try:
            check_replay_once(day, plan.profiles[date])
        except TradeError as exc:
            raise SweepError(str(exc)) from None
        plan.dates[day] = date
        plan.quotes[day] = pq.ParquetFile(day).metadata.num_rows if day.suffix == ".parquet" else 0
    try:
        if sweep.search is None:
            plan.runs = plan.day_by_day([run for setting in sweep.settings for run in plan.runs_for(setting)])
        else:
            from .search import corner_settings

            for setting in corner_settings(sweep):
                plan.runs_for(setting)
    except SettingError as exc:
        raise SweepError(f"{sweep.path}: {exc}") from None
    return plan


def trade_command(sweep: Sweep, spec: RunSpec) -> str:
    """The ``kxrules trade`` command that records exactly this run."""
    args = ["kxrules", "trade", "--profile", sweep.model.profile, "--broker", "sim", "--replay", str(spec.day)]
    if sweep.universe:
        args += ["--universe", str(sweep.universe)]
    args += spec.setting.set_args() + ["--workspace", str(sweep.root)]
    return shlex.join(args)


class Progress:
    """One status line: runs done, quotes/s, elapsed and the ETA (a terminal line, else a log
    line at most every ``every_s``). ``total`` counts every run, those found done (``skip``) too."""

    def __init__(self, name: str, total: int, sink: Callable[[str], None] | None, tty: bool, every_s: float = 5.0):
        self.name, self.total, self.sink, self.tty, self.every_s = name, total, sink, tty, every_s
        self.t0 = time.monotonic()
        self.last = 0.0
        self.workers = self.done = self.resumed = self.quotes = 0

    def skip(self, n: int) -> None:
        self.resumed += n

    def update(self, quotes: int) -> None:
        self.done += 1
        self.quotes += quotes
        if self.sink is None:
            return
        now = time.monotonic()
        finished = self.done + self.resumed
        if not self.tty and now - self.last < self.every_s and finished < self.total:
            return
        self.last = now
        elapsed = now - self.t0
        rate = self.quotes / elapsed if elapsed > 0 else 0.0
        eta = elapsed / self.done * (self.total - finished)
        line = (f"sweep {self.name}: {finished}/{self.total} runs"
                f"{f' ({self.resumed} resumed)' if self.resumed else ''}, {self.workers} worker(s), "
                f"{rate / 1e6:,.2f} M quotes/s, elapsed {_hms(elapsed)}, ETA {_hms(eta)}")
        self.sink(("\r" + line.ljust(118)) if self.tty else line)


def _hms(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Backend(Protocol):
    """Where runs execute. ``results`` yields (spec, row, None) or (spec, None, error) as runs
    finish, in any order; ``stop`` ends everything at once (an interrupt), ``close`` after the
    last result."""
    workers: int

    def results(self, todo: list[RunSpec]) -> Iterator[tuple[RunSpec, dict | None, str | None]]: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


class LocalPool:
    """A spawn-context ``ProcessPoolExecutor``; its initializer compiles once per worker."""

    def __init__(self, sweep: Sweep, workers: int, warm_date: dt.date | None):
        import tempfile

        self.workers = workers
        self.scratch = Path(tempfile.mkdtemp(prefix="kxrules-sweep-"))     # the workers' scratch recordings
        self.pool = cf.ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=init_worker,
            initargs=(str(sweep.root), sweep.model.profile, str(sweep.universe) if sweep.universe else None,
                      warm_date, str(self.scratch)))

    def results(self, todo):
        futures = {self.pool.submit(run_in_worker, spec): spec for spec in todo}
        for fut in cf.as_completed(futures):
            try:
                yield futures[fut], fut.result(), None
            except Exception as exc:  # noqa: BLE001 - one failed run is reported, the rest go on
                yield futures[fut], None, f"{type(exc).__name__}: {exc}"

    def stop(self) -> None:
        """Drop what is queued and end our own workers (a run cut short gives no row)."""
        procs = list((getattr(self.pool, "_processes", None) or {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            if p.is_alive():
                p.kill()
        for p in procs:
            p.join(timeout=5)
        shutil.rmtree(self.scratch, ignore_errors=True)

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        shutil.rmtree(self.scratch, ignore_errors=True)


BackendFactory = Callable[[Sweep, int, dt.date], Backend]


class Runs:
    """Runs batches of (setting, day) on one backend, started when the first run needs it (so its
    workers live across batches), and commits each row as it arrives."""

    def __init__(self, plan: Plan, store: SweepStore, outcome: Outcome, progress: Progress, *, workers: int,
                 on_row: Callable[[dict], None] | None, backend: BackendFactory | None):
        self.plan, self.store, self.outcome, self.progress = plan, store, outcome, progress
        self.workers, self.on_row, self.factory = workers, on_row, backend
        self.done = store.done_keys(plan.sweep.name)
        self.backend: Backend | None = None

    def run(self, specs: list[RunSpec], *, pool_size: int | None = None) -> None:
        """Run the specs whose key has no row yet (each key once). ``pool_size``: the most runs any
        batch will have at once (no more workers are started; default: this batch's)."""
        todo, seen = [], set()
        for spec in specs:
            if spec.key in seen:
                self.progress.skip(1)               # the same setting twice: one run serves both
                continue
            seen.add(spec.key)
            if spec.key not in self.outcome.keys:
                self.outcome.keys.add(spec.key)
                self.outcome.planned += 1
                self.outcome.resumed += spec.key in self.done
            if spec.key in self.done:
                self.progress.skip(1)
            else:
                todo.append(spec)
        if not todo:
            return
        if self.backend is None:
            most = pool_size or len(todo)
            n = min(self.workers, most) if self.workers > 0 else most       # 0: the backend's cores
            self.backend = (self.factory or LocalPool)(self.plan.sweep, n, todo[0].date)
            self.progress.workers = self.backend.workers
        sweep = self.plan.sweep
        for spec, row, error in self.backend.results(todo):
            if row is None:
                self.outcome.failed[spec.key] = error or "failed"
                continue
            row.update(sweep_id=sweep.name, setting=spec.setting.label(), setting_json=_json(spec.setting.as_json()),
                       day=str(spec.day), day_date=spec.date, finished_at=dt.datetime.now(),
                       command=trade_command(sweep, spec))
            self.store.add(row)
            self.done.add(spec.key)
            self.outcome.ran.append(spec.key)
            self.outcome.quotes += self.plan.quotes.get(spec.day, 0)
            self.progress.update(self.plan.quotes.get(spec.day, 0))
            if self.on_row is not None:
                self.on_row(row)

    def stop(self) -> None:
        if self.backend is not None:
            self.backend.stop()

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()


def run_sweep(plan: Plan, store: SweepStore, *, workers: int = 1, status: Callable[[str], None] | None = None,
              tty: bool = False, on_row: Callable[[dict], None] | None = None,
              backend: BackendFactory | None = None) -> Outcome:
    """Run what the store does not hold yet, on ``backend`` (default: the local pool): every run of
    a grid, or a search's trials (``search.run_search``). ``on_row`` is called after each row is
    committed (a test interrupts the sweep from it)."""
    sweep = plan.sweep
    store.begin(sweep.name, sweep.path, sweep.model.profile, sweep.model.model_dump(mode="json", by_alias=True))
    outcome = Outcome()
    total = len(plan.runs) if sweep.search is None else sweep.search.trials * len(plan.dates)
    progress = Progress(sweep.name, total, status, tty)
    runs = Runs(plan, store, outcome, progress, workers=workers, on_row=on_row, backend=backend)
    t0 = time.perf_counter()
    try:
        if sweep.search is None:
            runs.run(plan.runs)
        else:
            from .search import run_search

            run_search(plan, store, runs)
    except KeyboardInterrupt:
        outcome.interrupted = True
        runs.stop()
    except BaseException:
        runs.stop()                             # no worker outlives a crash of the parent's loop
        raise
    else:
        runs.close()
    outcome.wall_s = time.perf_counter() - t0
    if status is not None and tty and outcome.ran:
        status("\n")
    return outcome


def _json(data: dict) -> str:
    import json

    return json.dumps(data, sort_keys=True)


def default_store_path(sweep: Sweep) -> Path:
    """``<profile's data_dir>/sweeps.duckdb`` (without compiling: the profile's own YAML)."""
    from ..config.diagnostics import Diagnostics
    from ..config.profiles import load_profile

    merged = load_profile(sweep.root, sweep.model.profile, Diagnostics(sweep.root))
    data_dir = (merged.data.get("data_dir") if merged else None) or "data"
    return sweep.root / data_dir / "sweeps.duckdb"


def echo_err(line: str) -> None:
    sys.stderr.write(line if line.startswith("\r") or line == "\n" else line + "\n")
    sys.stderr.flush()
