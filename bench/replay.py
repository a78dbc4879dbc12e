"""End-to-end replay throughput: `kxrules trade --broker sim --replay FILE --speed max` with the
emulator's orders and fills and the DuckDB recording on. Prints one JSON line.

    python bench/replay.py --symbols 200 --minutes 60 --seed 7 [--path fast|faithful] [--out-dir bench/out]
    python bench/replay.py --repeat 5 --warm-runs 5     # cold runs, then warm runs in one process
    python bench/replay.py --ops-viewer [--repeat 9]   # pairs of runs without / with the ops view and a viewer
    python bench/replay.py --warm-runs 3 --set edge_buffer_ticks=3    # a day that trades less

How fast a day replays depends on how much it trades: the quotes take a fixed pass, each pair
its orders, acks and fills through the emulated broker (``--set``: as ``kxrules trade --set``).

A cold run is a fresh ``kxrules trade --replay`` process, end to end (start-up, the replay check,
the replay, the recording), from the package's bytecode (written first if missing).
``--warm-runs N`` then replays the same day N + 1 times inside this process the way a sweep
worker does (``research.worker.SweepWorker``: profile compiled once, kernels loaded, no replay
check; each run records into the worker's memory) and reports the last N. With ``--repeat`` or
``--warm-runs`` a summary line gives the median, the spread and the load average (the machine
is shared: say so with the figures).

``--ops-viewer`` runs ``--repeat`` pairs of runs: one without the ops view, one with it
(``--ops-port``) and a client reading its live stream the whole time, in alternating order
(ABBA: a drift of the machine's speed hits both kinds alike). It prints each run, then the
median of the pairs' differences in wall time (the run's process, until it exits) and in CPU
time (every thread of the run's process: less shaken by other jobs than wall time), the medians
of each kind and their ranges, and the CPU time of the ops view's own process (adopted and
waited for here). A run with the view also
reports what the view cost the engine's own thread (the pump's ticks: commands applied, captures
taken, pickled and sent to the view's process; summed with ``perf_counter_ns`` and printed by
``kxrules trade`` at the end) as a share of the run, and the snapshots the viewer received.

The quote file (200 real NXT-eligible codes, ~20 quote updates per symbol-second over both
venues, like the reference stream) is generated once and reused.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine, write_universe  # noqa: E402
from _viewer import watch  # noqa: E402

DAY = dt.date(2026, 11, 23)
# the line `kxrules trade` prints at the end of a run with the ops view (ops.view.cost_line)
VIEW_COST = re.compile(r"ops view: engine thread (?P<ms>[\d.]+) ms in (?P<ticks>\d+) ticks, (?P<captures>\d+) captures "
                       r"\((?P<pct>[\d.]+)% of [\d.]+ s\); (?P<kb>\d+) kB shared with the view's process")
TARGET_UPDATES_PER_SYMBOL_S = 20.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--symbols", type=int, default=200)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--path", choices=("fast", "faithful"), default="fast")
    parser.add_argument("--out-dir", type=Path, default=REPO / "bench" / "out")
    parser.add_argument("--ops-viewer", action="store_true",
                        help="compare runs without and with the ops view and a connected viewer")
    parser.add_argument("--repeat", type=int, default=None,
                        help="cold runs (default 1), or pairs of runs with --ops-viewer (default 9)")
    parser.add_argument("--warm-runs", type=int, default=0,
                        help="then this many warm replays in this process, after one to warm it")
    parser.add_argument("--set", dest="set_", action="append", default=[], metavar="NAME=VALUE",
                        help="replay with another rules/edge.yaml value, as `kxrules trade --set` "
                             "(e.g. edge_buffer_ticks=3: fewer trades; the rate depends on how much the day trades)")
    args = parser.parse_args()
    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    universe = write_universe(out / f"universe_{args.symbols}.csv", args.symbols)
    quotes = out / f"quotes_{args.symbols}x{args.minutes}_seed{args.seed}.parquet"
    gen_s = 0.0
    if not quotes.exists():
        from kxrules.marketdata.synthetic import generate_day, rate_multiplier_for, read_universe_csv

        uni = read_universe_csv(universe)
        mult = rate_multiplier_for(TARGET_UPDATES_PER_SYMBOL_S, universe=uni, seed=args.seed,
                                   start="09:00:00", minutes=args.minutes, workspace=REPO)
        t0 = time.perf_counter()
        generate_day(quotes, universe=uni, date=DAY, seed=args.seed, start="09:00:00",
                     minutes=args.minutes, rate_multiplier=mult, workspace=REPO)
        gen_s = time.perf_counter() - t0
    import pyarrow.parquet as pq

    rows = pq.ParquetFile(quotes).metadata.num_rows
    write_bytecode()
    common = {"bench": "replay", "path": args.path, "symbols": args.symbols, "minutes": args.minutes,
              "quote_rows": rows, "generate_s": round(gen_s, 1), "machine": machine(),
              "python": platform.python_version()}
    if not args.ops_viewer:
        cold = []
        for _ in range(args.repeat or 1):
            result = run(args, quotes, universe, rows, view=False)
            print(json.dumps({**common, **result}), flush=True)
            if result["exit_code"] != 0:
                sys.exit(1)
            cold.append(result["wall_s"])
        if len(cold) > 1:
            print(json.dumps(spread("replay_cold", cold, rows)), flush=True)
        if args.warm_runs:
            print(json.dumps(spread("replay_warm", warm_runs(args, quotes, universe), rows)), flush=True)
        sys.exit(0)
    pairs: list[dict[bool, dict]] = []
    load_before = round(os.getloadavg()[0], 2)
    for i in range(args.repeat or 9):
        pair = {}
        for view in ((False, True) if i % 2 == 0 else (True, False)):
            result = run(args, quotes, universe, rows, view=view)
            print(json.dumps({**common, **result}), flush=True)
            if result["exit_code"] != 0:
                sys.exit(1)
            pair[view] = result
        pairs.append(pair)
    print(json.dumps(viewer_summary(pairs, rows, load_before)), flush=True)


def write_bytecode() -> None:
    """A cold run starts as an installed kxrules does: from its modules' bytecode (pip writes it
    at install, Python at a checkout's first import). Under PYTHONDONTWRITEBYTECODE a checkout
    has none, and every run compiled each module from source again: ~0.1 s more start-up."""
    import compileall

    import kxrules

    compileall.compile_dir(str(Path(kxrules.__file__).parent), quiet=1)


def viewer_summary(pairs: list[dict[bool, dict]], rows: int, load_before: float) -> dict:
    """With / without the viewer: the median of each pair's difference (the figure: the two runs
    of a pair ran back to back), each kind's median and range, and the view's own costs."""
    off = [p[False]["wall_s"] for p in pairs]
    on = [p[True]["wall_s"] for p in pairs]
    diffs = sorted(100 * (b - a) / a for a, b in zip(off, on))
    cpu_diffs = sorted(100 * (p[True]["cpu_s"] - p[False]["cpu_s"]) / p[False]["cpu_s"] for p in pairs)
    view_cpu = [p[True]["view_process_cpu_s"] for p in pairs]
    shares = [p[True]["engine_thread_pct"] for p in pairs]
    return {"bench": "replay_ops_viewer", "pairs": len(pairs),
            "difference_pct_median_of_pairs": round(statistics.median(diffs), 2),
            "difference_pct_pairs": [round(d, 1) for d in diffs],
            "cpu_difference_pct_median_of_pairs": round(statistics.median(cpu_diffs), 2),
            "cpu_difference_pct_pairs": [round(d, 1) for d in cpu_diffs],
            "view_process_cpu_s_median": statistics.median(view_cpu),
            "median_wall_s_without": statistics.median(off), "median_wall_s_with_viewer": statistics.median(on),
            "wall_s_range_without": [min(off), max(off)], "wall_s_range_with_viewer": [min(on), max(on)],
            "quotes_per_s_without": round(rows / statistics.median(off)),
            "quotes_per_s_with_viewer": round(rows / statistics.median(on)),
            "difference_pct_of_medians": round(100 * (statistics.median(on) - statistics.median(off))
                                               / statistics.median(off), 2),
            "engine_thread_pct_median": round(statistics.median(shares), 3),
            "engine_thread_pct_range": [min(shares), max(shares)],
            "engine_thread_ms_median": statistics.median(p[True]["engine_thread_ms"] for p in pairs),
            "snapshots_seen_median": statistics.median(p[True]["snapshots_seen"] for p in pairs),
            "sent_kb_median": statistics.median(p[True]["sent_kb"] for p in pairs),
            "load_avg_1m": [load_before, round(os.getloadavg()[0], 2)]}


def spread(name: str, walls: list[float], rows: int) -> dict:
    """Median and range of ``walls`` as quotes/s, with the machine's load at the end."""
    med = statistics.median(walls)
    return {"bench": name, "runs": len(walls), "wall_s": [round(w, 3) for w in walls],
            "median_wall_s": round(med, 3), "quotes_per_s_median": round(rows / med),
            "quotes_per_s_range": [round(rows / max(walls)), round(rows / min(walls))],
            "load_avg_1m": round(os.getloadavg()[0], 2)}


def warm_runs(args, quotes: Path, universe: Path) -> list[float]:
    """The same day replayed again and again by one sweep worker (start-up paid once); the
    walls of all but the first run (``SweepWorker.run``: session, replay, recording)."""
    from kxrules.research.settings import parse_set_options
    from kxrules.research.worker import RunSpec, SweepWorker

    setting = parse_set_options(args.set_)
    worker = SweepWorker(REPO, "pilot", universe, args.out_dir / "warm_scratch")
    walls = []
    try:
        for i in range(args.warm_runs + 1):
            row = worker.run(RunSpec(f"warm{i}", setting, quotes, DAY))
            if row["exit_code"] != 0:
                raise SystemExit(f"warm run {i} ended with exit code {row['exit_code']}")
            print(json.dumps({"bench": "replay_warm_run", "run": i, "wall_s": round(row["wall_s"], 3),
                              "signals": row["signals"], "pairs": row["pairs"], "net_krw": row["net_krw"]}),
                  flush=True)
            walls.append(row["wall_s"])
    finally:
        worker.close()
    return walls[1:]


def adopt_orphans() -> None:
    """Makes this process the reaper of its descendants' orphans (Linux), so the ops view's own
    process, which outlives the run by a moment, is waited for here and its CPU time counted."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)     # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def wait_with_cpu(pid: int) -> tuple[int, float]:
    """Waits for the process: its exit code and CPU time (user + system, every thread)."""
    _, status, usage = os.wait4(pid, 0)
    return os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime


def reap_orphans() -> float:
    """Waits for the orphans adopted (the ops view's process); their CPU time."""
    cpu = 0.0
    while True:
        try:
            _, _, usage = os.wait4(-1, 0)
        except ChildProcessError:
            return cpu
        cpu += usage.ru_utime + usage.ru_stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_url(proc: subprocess.Popen, out_file) -> str:
    """The secret from the URL line the run prints first."""
    while True:
        out_file.seek(0)
        m = re.search(r"\?k=([\w-]+)", out_file.read())
        if m:
            return m.group(1)
        if proc.poll() is not None:
            raise SystemExit("the run ended without printing the ops view's URL")
        time.sleep(0.005)


def run(args, quotes: Path, universe: Path, rows: int, *, view: bool) -> dict:
    data_dir = args.out_dir / f"run_{args.symbols}x{args.minutes}_{args.path}"
    shutil.rmtree(data_dir, ignore_errors=True)        # each run records into a fresh database
    cmd = [sys.executable, "-m", "kxrules", "trade", "--profile", "pilot", "--broker", "sim",
           "--replay", str(quotes), "--universe", str(universe), "--speed", "max", "--path", args.path,
           "--data-dir", str(data_dir), "--workspace", str(REPO), "--quiet",
           *(arg for item in args.set_ for arg in ("--set", item))]
    port = free_port()
    if view:
        cmd += ["--ops-port", str(port)]
    seen = [0]
    adopt_orphans()
    # appended to (O_APPEND): the run writes at the end whatever this process reads meanwhile
    with tempfile.TemporaryFile("a+") as out_file, tempfile.TemporaryFile("a+") as err_file:
        t0 = time.perf_counter()
        # to files, not pipes: the run ends when its process does (the view's process, which
        # inherits stderr, ends a moment later on its own)
        proc = subprocess.Popen(cmd, stdout=out_file, stderr=err_file, text=True)
        viewer = None
        if view:
            secret = wait_for_url(proc, out_file)
            viewer = threading.Thread(target=watch, args=(port, secret, seen), daemon=True)
            viewer.start()
        proc.returncode, cpu = wait_with_cpu(proc.pid)
        wall = time.perf_counter() - t0
        if viewer is not None:
            viewer.join(timeout=5)
        view_cpu = reap_orphans()
        out_file.seek(0)
        err_file.seek(0)
        out, err = out_file.read(), err_file.read()
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    lines = [line for line in out.strip().splitlines() if line.startswith("Run ")]
    cost = VIEW_COST.search(out)
    summary = lines[0] if lines else err.strip()[-300:]
    result = {"ops_view": view, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "view_process_cpu_s": round(view_cpu, 3),
              "quotes_per_s": round(rows / wall),
              "peak_rss_mb": round(peak_kb / 1024), "exit_code": proc.returncode, "summary": summary[:400]}
    if view:
        result["snapshots_seen"] = seen[0]
        if cost is None:
            raise SystemExit(f"no ops view cost line in the output: {out[-400:]!r}")
        result.update(engine_thread_ms=float(cost["ms"]), engine_thread_ticks=int(cost["ticks"]),
                      captures=int(cost["captures"]), engine_thread_pct=float(cost["pct"]),
                      sent_kb=int(cost["kb"]))
    return result

if __name__ == "__main__":
    main()
