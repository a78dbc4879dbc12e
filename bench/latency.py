"""The engine's own added latency, quote in → SendOrder, and the seeded pilot day's entry fill rate.

    python bench/latency.py [--symbols 200] [--minutes 390] [--seed 7] [--pilot-seed 7] [--out-dir bench/out]
                            [--charge cpu|wall] [--batch-interval-ms MS] [--skip-pilot]
    python bench/latency.py --ops-viewer [--pairs 3] [--minutes 60]    # without / with the ops view and a viewer

1. A synthetic day (``--minutes`` from 09:00; 390 = the whole day) for ``--symbols`` symbols is
   replayed through the faithful path (every quote a real-data string through the emulated control
   and the adapter, as live) on a clock whose timer callbacks take the wall time they really take:
   virtual time, except that a callback advances the clock by the CPU time it takes (``--charge
   wall``: the wall time, which on a shared machine also counts other jobs) and the next one waits
   for it (one thread, as in live trading). The latency of each entry is then its
   ``SendOrder`` time minus the receipt of the quote that made its symbol worth a look (the
   ``signals.quote_ts_ns`` of its signal), read from the recording: waiting by design (a batch grid)
   and the computing both count. Target: p99 ≤ 1 ms.
2. The pilot profile's synthetic day (``kxrules trade -p pilot --broker sim --synthetic --seed 7
   --speed max``) on the ordinary virtual clock: entries sent, entries filled, fill rate.

With ``--ops-viewer``, part 1 runs ``--pairs`` pairs of days, one without the ops view and one
with it and a viewer reading its live stream from its own process (as a browser would), in ABBA
order, and prints each kind's percentiles and the differences of the medians.

Prints one JSON line. It reads only the recording's tables, so ``PYTHONPATH=<an older checkout>``
measures that version the same way (the "before" figures). The machine's other load shows up in
the wall-time part: say what else ran.
"""
from __future__ import annotations

import argparse
import datetime as dt
import heapq
import json
import os
import platform
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine, workspace_for  # noqa: E402

import duckdb  # noqa: E402

from kxrules.clock import VirtualClock  # noqa: E402

DAY = dt.date(2026, 11, 23)


class CostedClock(VirtualClock):
    """Virtual time in which every timer callback takes the time it really takes: while one runs,
    ``now_ns`` moves with ``spent_ns`` from the callback's start; a timer due before the previous
    callback finished starts when it finished. Between callbacks (the host feeding the emulated
    exchange) time stands still, so only the client side's work is charged.

    ``spent_ns`` is the thread's CPU time by default: on a shared machine the wall clock also
    charges the scheduler handing the core to another job (4 ms ticks here), which is not the
    engine's latency; ``--charge wall`` charges it anyway."""

    spent_ns = staticmethod(time.thread_time_ns)

    def __init__(self, start_ns: int = 0):
        super().__init__(start_ns)
        self._firing = False
        self._mark = 0
        self._busy_until = start_ns

    def now_ns(self) -> int:
        if self._firing:
            return self._now + (self.spent_ns() - self._mark)
        return self._now

    def call_later(self, delay_ms: float, fn, *args):
        return self.call_at(self.now_ns() + int(delay_ms * 1_000_000), fn, *args)

    def run_until(self, until_ns: int) -> int:
        fired = 0
        heap = self._heap
        while heap and heap[0][0] <= until_ns:
            when, _, handle = heapq.heappop(heap)
            if handle.cancelled:
                continue
            self._now = max(when, self._busy_until)
            self._firing = True
            self._mark = self.spent_ns()
            try:
                handle.fn(*handle.args)
            finally:
                self._busy_until = self.now_ns()
                self._firing = False
            fired += 1
        if until_ns > self._now:
            self._now = until_ns
        return fired


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    import numpy as np

    a = np.asarray(values)
    return {"n": len(a), "p50": round(float(np.percentile(a, 50)), 4), "p99": round(float(np.percentile(a, 99)), 4),
            "max": round(float(a.max()), 4)}


def engine_latency(args, *, view: bool = False) -> dict:
    from kxrules.config.compile import compile_profile
    from kxrules.marketdata.synthetic import generate_day, read_universe_csv
    from kxrules.broker.emulator.build import emulator_for, session_start_ns
    from kxrules.runtime.session import run_session
    from kxrules.runtime.sim_host import EmulatorHost
    from kxrules.runtime.sources import QuoteSourceSpec
    from kxrules.runtime.trade import TradeOptions

    out = args.out_dir
    ws = workspace_for(out, args.symbols)
    if args.batch_interval_ms is not None:
        edge = ws / "rules/edge.yaml"
        edge.write_text(re.sub(r"(?m)^batch_interval_ms: \S+", f"batch_interval_ms: {args.batch_interval_ms}",
                               edge.read_text(encoding="utf-8")), encoding="utf-8")
    quotes = out / f"latency_{args.symbols}x{args.minutes}_seed{args.seed}.parquet"
    if not quotes.exists():
        generate_day(quotes, universe=read_universe_csv(ws / "config/universe/pilot.csv"), date=DAY,
                     seed=args.seed, start="09:00:00", minutes=args.minutes, workspace=REPO)
    profile = compile_profile(ws, "sim", DAY)
    data_dir = out / f"latency_run_{args.symbols}x{args.minutes}"
    shutil.rmtree(data_dir, ignore_errors=True)
    options = TradeOptions(broker="sim", replay=quotes, data_dir=data_dir, replay_path="faithful")
    viewer = None
    if view:
        from kxrules.ops.view import OpsOptions

        port = free_port()
        os.environ["KXRULES_OPS_SECRET"] = secrets.token_urlsafe(24)
        options.ops = OpsOptions(port=port)
        viewer = subprocess.Popen([sys.executable, str(Path(__file__).parent / "_viewer.py"), str(port)],
                                  stdout=subprocess.PIPE, text=True)

    class CostedHost(EmulatorHost):
        def open_broker(self):
            clock = CostedClock(session_start_ns(self.profile))
            if args.charge == "wall":
                clock.spent_ns = time.perf_counter_ns
            return clock, emulator_for(self.profile, clock, self.seed)

    t0 = time.perf_counter()
    host = CostedHost(profile, options, QuoteSourceSpec(quotes, "replay"))
    res = run_session(profile, options, host)
    wall = time.perf_counter() - t0
    snapshots = int(viewer.communicate(timeout=60)[0]) if viewer is not None else None
    con = duckdb.connect(str(res.db_path), read_only=True)
    lat = [r[0] for r in con.execute("""
        SELECT (o.sent_ns - s.quote_ts_ns) / 1e6 FROM orders o JOIN signals s USING (run_id, pair_id)
        WHERE o.role = 'entry' AND o.sent_ns IS NOT NULL""").fetchall()]
    con.close()
    return {"symbols": args.symbols, "minutes": args.minutes, "charged": args.charge,
            "batch_interval_ms": profile.edge.batch_interval_ms, "wall_s": round(wall, 1),
            "exit_code": res.exit_code, "quote_to_send_ms": percentiles(lat),
            **({"ops_view": True, "snapshots_seen": snapshots} if view else {})}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def viewer_pairs(args) -> dict:
    """``--pairs`` days without and with the ops view (ABBA); the medians' differences."""
    runs: dict[bool, list[dict]] = {False: [], True: []}
    for i in range(args.pairs):
        for view in ((False, True) if i % 2 == 0 else (True, False)):
            run = engine_latency(args, view=view)
            print(json.dumps({"bench": "latency_run", **run}), flush=True)
            runs[view].append(run["quote_to_send_ms"])

    def median(view: bool, key: str) -> float:
        return statistics.median(r[key] for r in runs[view])
    out = {"pairs": args.pairs, "load_avg_1m": round(os.getloadavg()[0], 2)}
    for key in ("p50", "p99"):
        off, on = median(False, key), median(True, key)
        out.update({f"{key}_ms_without": off, f"{key}_ms_with_viewer": on,
                    f"{key}_difference_pct": round(100 * (on - off) / off, 2)})
    return out


def pilot_fill_rate(args) -> dict:
    from kxrules.config.compile import compile_profile
    from kxrules.runtime.trade import TradeOptions, run_simulation

    profile = compile_profile(REPO, "pilot", DAY)
    data_dir = args.out_dir / "latency_pilot_day"
    shutil.rmtree(data_dir, ignore_errors=True)
    res = run_simulation(profile, TradeOptions(broker="sim", synthetic_seed=args.pilot_seed, data_dir=data_dir))
    con = duckdb.connect(str(res.db_path), read_only=True)
    (sent, filled, pairs, done, net), = con.execute("""
        SELECT count(*) FILTER (WHERE role = 'entry' AND sent_ns IS NOT NULL),
               count(*) FILTER (WHERE role = 'entry' AND filled_qty > 0),
               (SELECT count(*) FROM pairs), (SELECT count(*) FROM pairs WHERE final_state = 'PAIRED_DONE'),
               (SELECT sum(net_krw) FROM pairs WHERE final_state = 'PAIRED_DONE')
        FROM orders""").fetchall()
    con.close()
    return {"seed": args.pilot_seed, "entries_sent": sent, "entries_filled": filled,
            "fill_rate": round(filled / sent, 4) if sent else None, "pairs": pairs, "pairs_done": done,
            "net_krw_done": net, "exit_code": res.exit_code}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--symbols", type=int, default=200)
    parser.add_argument("--minutes", type=int, default=390)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pilot-seed", type=int, default=7)
    parser.add_argument("--skip-pilot", action="store_true", help="only the latency")
    parser.add_argument("--batch-interval-ms", type=float, help="instead of rules/edge.yaml's (the 'before' figure: 10)")
    parser.add_argument("--charge", choices=("cpu", "wall"), default="cpu",
                        help="what a callback costs: the engine thread's CPU time, or wall time (counts other jobs)")
    parser.add_argument("--ops-viewer", action="store_true",
                        help="pairs of days without / with the ops view and a connected viewer")
    parser.add_argument("--pairs", type=int, default=3, help="with --ops-viewer")
    parser.add_argument("--out-dir", type=Path, default=REPO / "bench" / "out")
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    import kxrules

    result = {"bench": "latency", "kxrules": str(Path(kxrules.__file__).parent), "machine": machine(),
              "python": platform.python_version()}
    if args.ops_viewer:
        result["engine_with_and_without_viewer"] = viewer_pairs(args)
    else:
        result["engine"] = engine_latency(args)
    if not args.skip_pilot:
        result["pilot_day"] = pilot_fill_rate(args)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
