"""Shared helpers for the benchmarks: workspaces and universes of any size."""
from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path

from kxrules.marketdata.synthetic import read_universe_csv

REPO = Path(__file__).resolve().parents[1]


def universe_rows(n: int) -> list[tuple[str, str, str, int]]:
    """``n`` symbols: the NXT-eligible list, then synthetic codes cloned from it (for 2,000)."""
    uni = read_universe_csv(REPO / "config/universe/nxt_eligible.csv")
    rows = list(zip(uni.codes, uni.names, uni.markets, uni.ref_prices))
    out = rows[:n]
    i = 0
    while len(out) < n:
        code, name, market, ref = rows[i % len(rows)]
        out.append((f"Z{len(out):05d}", f"{name}#{len(out)}", market, ref))
        i += 1
    return out


def write_universe(path: Path, n: int) -> Path:
    path.write_text("code,name,market,ref_price\n" + "".join(
        f"{c},{nm},{m},{p}\n" for c, nm, m, p in universe_rows(n)), encoding="utf-8")
    return path


def workspace_for(tmp: Path, n_symbols: int) -> Path:
    """A copy of the shipped workspace with enough market-data screens for ``n_symbols``, made
    afresh each time (a copy kept from an earlier run would measure yesterday's rules)."""
    ws = tmp / f"ws{n_symbols}"
    shutil.rmtree(ws, ignore_errors=True)
    for sub in ("rules", "sessions", "config", "reports"):
        shutil.copytree(REPO / sub, ws / sub)
    screens = -(-2 * n_symbols // 100)
    venues = ws / "config/venues/kiwoom.yaml"
    text = venues.read_text(encoding="utf-8")
    start = text.index("  market_data: [")
    end = text.index("]", start) + 1
    listed = ", ".join(f'"{6000 + i}"' for i in range(max(screens, 1)))
    venues.write_text(text[:start] + f"  market_data: [{listed}]" + text[end:], encoding="utf-8")
    write_universe(ws / "config/universe/pilot.csv", n_symbols)
    (ws / "config/overrides/pilot.yaml").write_text("symbols: {}\n", encoding="utf-8")
    return ws


def machine() -> str:
    """What the figures were measured on, e.g. 'x86_64 2 cpu'."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{platform.machine()} {cpus} cpu"
