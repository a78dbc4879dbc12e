"""Build ``kxrules/config/nxt_eligibility.csv`` from NXT's published changes to its list of
매매체결대상 stocks (편입 / 편출 notices on nextrade.co.kr, as compiled day by day in the public
nxt-market-monitor data set): one row per code and stretch of eligibility.

    python scripts/build_nxt_eligibility.py CHANGES.csv SNAPSHOT.csv LAST_DATE > kxrules/config/nxt_eligibility.csv

CHANGES.csv: 일자, 종목코드, 종목명, 상장시장, 재분류구분 (편입 / 편출 / 거래불가 / 거래불가 해제) …;
SNAPSHOT.csv: the list on LAST_DATE (stock_code …), which the rebuilt list must equal.
거래불가 / 거래불가 해제 are a day's trading restrictions, not changes to the list: the broker's
master data at login handles those (``broker/master.py``).
"""
from __future__ import annotations

import csv
import sys


def main(changes_path: str, snapshot_path: str, last_date: str) -> None:
    with open(changes_path, encoding="utf-8") as f:
        changes = sorted(csv.DictReader(f), key=lambda r: r["일자"])
    stretches: list[list[str]] = []
    open_at: dict[str, list[str]] = {}
    for r in changes:
        code, kind = r["종목코드"], r["재분류구분"]
        if kind == "편입" and code not in open_at:
            open_at[code] = [code, r["종목명"], r["상장시장"], r["일자"], ""]
            stretches.append(open_at[code])
        elif kind == "편출" and code in open_at:
            open_at.pop(code)[4] = r["일자"]
    with open(snapshot_path, encoding="utf-8") as f:
        snapshot = {r["stock_code"] for r in csv.DictReader(f)}
    if set(open_at) != snapshot:
        sys.exit(f"the rebuilt list differs from the {last_date} snapshot: {sorted(set(open_at) ^ snapshot)}")
    out = sys.stdout
    out.write("# NXT (Nextrade) 매매체결대상 stocks: one row per code and stretch of eligibility.\n"
              "# Source: NXT's 편입/편출 notices (nextrade.co.kr, 시장정보), compiled day by day in the public\n"
              "# nxt-market-monitor data set; rebuilt with scripts/build_nxt_eligibility.py and checked\n"
              f"# against NXT's full list of {last_date}.\n"
              f"# Effective: from 2025-03-04 (NXT's opening) through {last_date}. eligible_from is the first\n"
              "# day on the list; eligible_until the first day off it (empty: still on it on the last date).\n"
              f"# known_through: {last_date}\n")
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["code", "name", "market", "eligible_from", "eligible_until"])
    for row in sorted(stretches, key=lambda r: (r[0], r[3])):
        w.writerow(row)


if __name__ == "__main__":
    main(*sys.argv[1:4])
