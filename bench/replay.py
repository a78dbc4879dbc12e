"""End-to-end replay throughput: `kxrules trade --broker sim --replay FILE --speed max` with the
emulator's orders and fills and the DuckDB recording on. Prints one JSON line.

    python bench/replay.py --symbols 200 --minutes 60 --seed 7 [--path fast|faithful] [--out-dir bench/out]

The quote file (200 real NXT-eligible codes, ~20 quote updates per symbol-second over both
venues, like the reference stream) is generated once and reused.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import resource
import shutil
import subprocess
import sys
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
    data_dir = out / f"run_{args.symbols}x{args.minutes}_{args.path}"
    shutil.rmtree(data_dir, ignore_errors=True)        # each run records into a fresh database
    cmd = [sys.executable, "-m", "kxrules", "trade", "--profile", "pilot", "--broker", "sim",
           "--replay", str(quotes), "--universe", str(universe), "--speed", "max", "--path", args.path,
           "--data-dir", str(data_dir), "--workspace", str(REPO), "--quiet"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    summary = proc.stdout.strip().splitlines()[0] if proc.stdout.strip() else proc.stderr.strip()[-300:]
    print(json.dumps({
        "bench": "replay", "path": args.path, "symbols": args.symbols, "minutes": args.minutes,
        "quote_rows": rows, "wall_s": round(wall, 2), "quotes_per_s": round(rows / wall),
        "peak_rss_mb": round(peak_kb / 1024), "exit_code": proc.returncode, "generate_s": round(gen_s, 1),
        "machine": machine(), "python": platform.python_version(),
        "summary": summary[:400]}), flush=True)
    sys.exit(0 if proc.returncode == 0 else 1)


if __name__ == "__main__":
    main()
