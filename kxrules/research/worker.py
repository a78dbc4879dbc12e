"""A long-lived sweep worker: compiles the profile once (per trading date), then replays run after
run on the fast path, each into a scratch recording it reads back and deletes.

A run is exactly ``kxrules trade --replay DAY --set ...`` (the same host, options and session
lifecycle) except that the day's replay check ran once in the parent, before any run (hook:
``replay_without_check``). Workers leave the terminal's process group: a Ctrl-C reaches only
the parent, which cancels what is queued; a run a worker is inside is never cut short into a
partial row. A worker owns its process: after its first run the process's start-up heap is
frozen out of the garbage collector for good (``freeze_process_startup``), and it keeps the
emulator's real-data latency draws for the runs after the first (``broker.emulator.remembered``).
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..broker.emulator.remembered import remember_draws
from ..runtime.heap import freeze_process_startup
from ..runtime.kept_flags import keep_flags
from .settings import Setting


# every run draws the same real-data latencies (the emulator's seed is the profile's): the first
# 32 M are kept (256 MB, a 200-symbol day's first ~2 hours) and read again by later runs
REMEMBERED_DRAWS = 1 << 25
# the days' shadow flags (1 byte a quote): a 200-symbol hour is 14 MB, a whole day ~100 MB
KEPT_FLAGS_BYTES = 256 << 20


@dataclass(frozen=True)
class RunSpec:
    key: str
    setting: Setting
    day: Path
    date: dt.date


class SweepWorker:
    def __init__(self, root: Path, profile: str, universe: Path | None, scratch: Path | None = None):
        self.root, self.profile_name, self.universe = Path(root), profile, universe
        self.scratch = Path(scratch) if scratch else Path(tempfile.mkdtemp(prefix="kxrules-sweep-"))
        self.scratch.mkdir(parents=True, exist_ok=True)
        self._profiles: dict[dt.date, Any] = {}
        self.runs = 0
        self._recordings = 0          # the in-process recordings made (each run its own)
        remember_draws(REMEMBERED_DRAWS)
        keep_flags(KEPT_FLAGS_BYTES)

    def profile_for(self, date: dt.date):
        """The compiled profile for a trading date (fee and tax tables are dated): once per date."""
        if date not in self._profiles:
            from ..config.compile import compile_profile

            overrides = {"universe": self.universe} if self.universe else None
            self._profiles[date] = compile_profile(self.root, self.profile_name, date, file_overrides=overrides)
        return self._profiles[date]

    def run(self, spec: RunSpec) -> dict[str, Any]:
        import duckdb

        from ..storage.recorder import in_process
        from .metrics import run_metrics
        from .settings import apply_setting

        profile = apply_setting(self.profile_for(spec.date), spec.setting)
        data_dir = self.scratch / f"run-{spec.key}"
        shutil.rmtree(data_dir, ignore_errors=True)
        # the run records into this process's memory (read back here, then dropped): no file to
        # write and check at its end (~0.1 s a run); this connection keeps it alive meanwhile
        self._recordings += 1
        recording = in_process(f"sweep_run_{self._recordings}")
        kept = duckdb.connect(recording)
        try:
            t0 = time.perf_counter()
            result = replay_without_check(profile, spec.day, data_dir, recording)
            wall = time.perf_counter() - t0
            if any(n.startswith("interrupted") for n in result.notes):
                raise RuntimeError(f"run {spec.key} was interrupted: no row")
            if not result.recorded:
                raise RuntimeError(f"run {spec.key} could not be recorded: " + "; ".join(result.errors))
            row = run_metrics(kept, result.run_id)
        finally:
            kept.close()
        shutil.rmtree(data_dir, ignore_errors=True)
        self.runs += 1
        freeze_process_startup()        # after the first run everything start-up loads is loaded
        return {**row, "run_key": spec.key, "config_hash": profile.config_hash, "wall_s": wall,
                "worker": f"{os.uname().nodename}:{os.getpid()}"}

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


def replay_without_check(profile, day: Path, data_dir: Path, recording: str | None = None):
    """``run_simulation`` for a replay whose file was already checked (the check streams the
    whole day; a sweep does it once per day, not once per run); ``recording``: see
    ``TradeOptions``."""
    from ..runtime.session import TradeOptions, run_session
    from ..runtime.sim_host import EmulatorHost
    from ..runtime.sources import QuoteSourceSpec

    options = TradeOptions(broker="sim", replay=day, data_dir=data_dir, recording=recording)
    return run_session(profile, options, EmulatorHost(profile, options, QuoteSourceSpec(day, "replay")))


# -- the process pool's side -----------------------------------------------------------------------
_worker: SweepWorker | None = None


def init_worker(root: str, profile: str, universe: str | None, warm_date: dt.date | None,
                scratch: str | None = None) -> None:
    """ProcessPoolExecutor initializer: leave the terminal's process group (Ctrl-C is the
    parent's), compile once, and load the engine's compiled kernels before the first run.
    ``scratch``: the parent's directory for this pool (it removes it: pool workers end with
    os._exit, so a worker's own clean-up would not run)."""
    global _worker
    if hasattr(os, "setpgrp"):
        os.setpgrp()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    own = Path(scratch) / f"worker-{os.getpid()}" if scratch else None
    _worker = SweepWorker(Path(root), profile, Path(universe) if universe else None, own)
    if warm_date is not None:
        _worker.profile_for(warm_date)


def run_in_worker(spec: RunSpec) -> dict[str, Any]:
    assert _worker is not None, "init_worker did not run"
    return _worker.run(spec)
