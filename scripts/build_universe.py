"""Rebuild config/universe/*.csv from the public NXT market-monitor snapshot (developer tool).

Reads ../shared/data/nxt_market_monitor_2026 (not shipped): the NXT-eligible list of 2026-08-12,
the KIS KRX master of that day (reference price = previous KRX close) and the NXT quote snapshot
at 10:01 (cumulative NXT traded value, used to rank liquidity for the pilot list).
Only facts are kept: code, name, listing market, reference price.
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared/data/nxt_market_monitor_2026"
PILOT_SIZE = 50

sys.path.insert(0, str(ROOT))
from kxrules.money.ticks import on_grid  # noqa: E402


def read(name: str) -> list[dict[str, str]]:
    with open(SRC / name, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def main() -> None:
    master = {r["symbol"]: r for r in read("krx_master_kis_20260812.csv")}
    snapshot = {r["stock_code"]: r for r in read("nxt_quote_snapshot_20260812_1001.csv")}
    rows = []
    for r in read("nxt_eligible_universe_20260812.csv"):
        code = r["stock_code"]
        if r["tradable_market"] != "전체" or code not in master:
            continue
        ref = int(master[code]["reference_price"])
        if not on_grid(ref):
            continue
        amount = int(snapshot.get(code, {}).get("cumulative_amount") or 0)
        rows.append({"code": code, "name": r["stock_name"].strip(), "market": r["market"],
                     "ref_price": ref, "_amount": amount})
    rows.sort(key=lambda r: r["code"])
    out = ROOT / "config/universe"
    write(out / "nxt_eligible.csv", rows)
    liquid = sorted(rows, key=lambda r: -r["_amount"])[:PILOT_SIZE]
    write(out / "pilot.csv", sorted(liquid, key=lambda r: r["code"]))
    print(f"nxt_eligible.csv: {len(rows)} rows; pilot.csv: {len(liquid)} rows")


def write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("# NXT-eligible stocks on 2026-08-12 (NXT 매매체결대상, tradable); ref_price = KRX reference price that day.\n")
        w = csv.DictWriter(fh, fieldnames=["code", "name", "market", "ref_price"], extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
