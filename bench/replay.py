"""End-to-end replay throughput: `kxrules trade --broker sim --replay FILE --speed max` with the
emulator's orders and fills and the DuckDB recording on. Prints one JSON line.

    python bench/replay.py --symbols 200 --minutes 60 --seed 7 [--path fast|faithful] [--out-dir bench/out]
    python bench/replay.py --ops-viewer [--repeat 3]   # without, then with the ops view and a viewer

``--ops-viewer`` alternates runs without the ops view and with it (``--ops-port``) and a client
reading its live stream the whole time, ``--repeat`` times each, and prints each run, then the
medians and how far apart they are.

The quote file (200 real NXT-eligible codes, ~20 quote updates per symbol-second over both
venues, like the reference stream) is generated once and reused.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import platform
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine, write_universe  # noqa: E402

DAY = dt.date(2026, 11, 23)
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
    parser.add_argument("--repeat", type=int, default=3, help="runs of each kind with --ops-viewer")
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
    common = {"bench": "replay", "path": args.path, "symbols": args.symbols, "minutes": args.minutes,
              "quote_rows": rows, "generate_s": round(gen_s, 1), "machine": machine(),
              "python": platform.python_version()}
    if not args.ops_viewer:
        result = run(args, quotes, universe, rows, view=False)
        print(json.dumps({**common, **result}), flush=True)
        sys.exit(0 if result["exit_code"] == 0 else 1)
    walls: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(args.repeat):
        for view in (False, True):
            result = run(args, quotes, universe, rows, view=view)
            print(json.dumps({**common, **result}), flush=True)
            if result["exit_code"] != 0:
                sys.exit(1)
            walls[view].append(result["wall_s"])
    off, on = statistics.median(walls[False]), statistics.median(walls[True])
    print(json.dumps({"bench": "replay_ops_viewer", "runs_each": args.repeat, "median_wall_s_without": off,
                      "median_wall_s_with_viewer": on, "quotes_per_s_without": round(rows / off),
                      "quotes_per_s_with_viewer": round(rows / on),
                      "difference_pct": round(100 * (on - off) / off, 2)}), flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def watch(port: int, secret: str, seen: list[int]) -> None:
    """A viewer: reads the ops view's live stream until it ends, counting snapshots."""
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    con.request("GET", "/api/stream", headers={"X-KX-Ops": secret})
    resp = con.getresponse()
    for line in resp:
        if line.startswith(b"data: "):
            seen[0] += 1


def run(args, quotes: Path, universe: Path, rows: int, *, view: bool) -> dict:
    data_dir = args.out_dir / f"run_{args.symbols}x{args.minutes}_{args.path}"
    shutil.rmtree(data_dir, ignore_errors=True)        # each run records into a fresh database
    cmd = [sys.executable, "-m", "kxrules", "trade", "--profile", "pilot", "--broker", "sim",
           "--replay", str(quotes), "--universe", str(universe), "--speed", "max", "--path", args.path,
           "--data-dir", str(data_dir), "--workspace", str(REPO), "--quiet"]
    port = free_port()
    if view:
        cmd += ["--ops-port", str(port)]
    seen = [0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    viewer = None
    if view:
        first = proc.stdout.readline()
        secret = re.search(r"\?k=([\w-]+)", first).group(1)
        viewer = threading.Thread(target=watch, args=(port, secret, seen), daemon=True)
        viewer.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    if viewer is not None:
        viewer.join(timeout=5)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    lines = [line for line in out.strip().splitlines() if line.startswith("Run ")]
    summary = lines[0] if lines else err.strip()[-300:]
    result = {"ops_view": view, "wall_s": round(wall, 2), "quotes_per_s": round(rows / wall),
              "peak_rss_mb": round(peak_kb / 1024), "exit_code": proc.returncode, "summary": summary[:400]}
    if view:
        result["snapshots_seen"] = seen[0]
    return result

if __name__ == "__main__":
    main()
