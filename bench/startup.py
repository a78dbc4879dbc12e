"""Start-up costs: `kxrules validate` and profile compilation for 200 and 2,000 symbols, and
`kxrules --help`. Prints one JSON line per figure (best of --repeat runs).

    python bench/startup.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import workspace_for  # noqa: E402

DAY = "2026-11-23"


def best(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode not in (0,):
            raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stdout[-500:]} {proc.stderr[-500:]}")
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    exe = [sys.executable, "-m", "kxrules"]
    print(json.dumps({"bench": "startup", "what": "kxrules --help", "s": round(best(exe + ["--help"], args.repeat), 3)}))
    with tempfile.TemporaryDirectory() as tmp:
        for n in (200, 2000):
            ws = workspace_for(Path(tmp), n)
            s = best(exe + ["validate", "--profile", "pilot", "--workspace", str(ws), "--date", DAY], args.repeat)
            print(json.dumps({"bench": "startup", "what": "validate", "symbols": n, "s": round(s, 3)}))
            from kxrules.config.compile import compile_profile

            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                compile_profile(ws, "pilot", dt.date.fromisoformat(DAY))
                times.append(time.perf_counter() - t0)
            print(json.dumps({"bench": "startup", "what": "compile (in process, warm imports)", "symbols": n,
                              "s": round(min(times), 3)}), flush=True)


if __name__ == "__main__":
    main()
