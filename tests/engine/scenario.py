"""Scripted scenarios: a tiny universe, hand-written quotes and a deterministic emulator."""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from kxrules.config.compile import compile_profile
from kxrules.seoul import epoch_ns
from kxrules.runtime.trade import TradeOptions, run_simulation

REPO = Path(__file__).resolve().parents[2]
DAY = dt.date(2026, 11, 23)          # a Monday, a KRX trading day
MS = 1_000_000

DETERMINISTIC_EMULATOR = {
    "seed": 1,
    "latency_ms": {k: {"dist": "fixed", "ms": v} for k, v in
                   dict(login=50, tr_ack=20, accept=25, match=5, fill=10, cancel=25, real_data=5).items()},
    "fill_odds": {"take_full": 1.0, "take_partial": 0.0, "mid_fill_rate_per_s": 0.0},
    "faults": {},
}


def at(hms: str, day: dt.date = DAY) -> int:
    """Epoch ns of a Seoul time 'HH:MM:SS' or 'HH:MM:SS.mmm' on ``day`` (DAY by default)."""
    main, _, frac = hms.partition(".")
    h, m, s = (int(x) for x in main.split(":"))
    return epoch_ns(day, h * 3600 + m * 60 + s) + int(frac.ljust(3, "0") or 0) * MS


class Quotes:
    def __init__(self, day: dt.date = DAY) -> None:
        self.rows: list[tuple] = []
        self.day = day           # the trading day the times are on (run() must be given the same)

    def add(self, when: str | int, code: str, venue: str, bid: int, ask: int, bid_qty: int = 1000,
            ask_qty: int = 1000) -> "Quotes":
        ts = at(when, self.day) if isinstance(when, str) else when
        self.rows.append((ts, code, venue, bid, ask, bid_qty, ask_qty))
        return self

    def steady(self, code: str, bid: int, ask: int, start: str = "09:00:00", end: str = "09:30:00",
               every_ms: int = 500, qty: int = 1000) -> "Quotes":
        """Both venues quote the same market (NXT from 09:00:30), refreshed with alternating sizes."""
        t, stop, i = at(start, self.day), at(end, self.day), 0
        while t <= stop:
            size = qty + (i % 2)
            self.add(t, code, "KRX", bid, ask, size, size)
            if t >= at("09:00:30", self.day):
                self.add(t + 1 * MS, code, "NXT", bid, ask, size, size)
            t += every_ms * MS
            i += 1
        return self

    def hold(self, code: str, venue: str, start: str | int, end: str | int, bid: int, ask: int,
             bid_qty: int = 50, ask_qty: int = 50) -> "Quotes":
        """Quote ``bid``/``ask`` on one venue from ``start`` until ``end`` (replacing the refreshes);
        times as 'HH:MM:SS[.mmm]' or epoch ns."""
        t0, t1 = (t if isinstance(t, int) else at(t, self.day) for t in (start, end))
        self.rows = [r for r in self.rows if not (r[1] == code and r[2] == venue and t0 <= r[0] < t1)]
        self.add(t0, code, venue, bid, ask, bid_qty, ask_qty)
        return self

    def write(self, path: Path) -> Path:
        rows = sorted(self.rows, key=lambda r: r[0])
        cols = list(zip(*rows))
        table = pa.table({
            "ts_ns": pa.array(cols[0], pa.int64()), "code": pa.array(cols[1], pa.string()),
            "venue": pa.array(cols[2], pa.string()), "bid1": pa.array(cols[3], pa.int64()),
            "ask1": pa.array(cols[4], pa.int64()), "bid1_qty": pa.array(cols[5], pa.int64()),
            "ask1_qty": pa.array(cols[6], pa.int64())})
        pq.write_table(table, path)
        return path


def run(tmp: Path, quotes: Quotes, *, universe: list[tuple] | None = None, emulator: dict | None = None,
        until: str | None = None, profile: str = "pilot", risk: dict | None = None, day: dt.date = DAY,
        runner=run_simulation, rules: list[str] | None = None, params: dict | None = None):
    """Run the pilot profile on the emulator over ``quotes`` (``risk``: keys of rules/risk.yaml
    to change; ``rules``: expressions added to rules/edge.yaml; ``params``: its parameters to
    change; ``runner``: ``run_trade`` for what the CLI adds, e.g. Slack); returns (result,
    read-only DuckDB)."""
    uni = tmp / "universe.csv"
    rows = universe or [("005930", "삼성전자", "KOSPI", 100000)]
    uni.write_text("code,name,market,ref_price\n" + "".join(f"{c},{n},{m},{p}\n" for c, n, m, p in rows),
                   encoding="utf-8")
    emu_cfg = json.loads(json.dumps(DETERMINISTIC_EMULATOR))
    for key, value in (emulator or {}).items():
        if isinstance(value, dict) and isinstance(emu_cfg.get(key), dict):
            emu_cfg[key].update(value)
        else:
            emu_cfg[key] = value
    emu = tmp / "emulator.yaml"
    emu.write_text(json.dumps(emu_cfg), encoding="utf-8")
    files = {"universe": uni, "emulator": emu}
    if risk:
        text = (REPO / "rules/risk.yaml").read_text(encoding="utf-8")
        for key, value in risk.items():
            text, n = re.subn(rf"^{key}: *\S+", f"{key}: {value}", text, flags=re.M)
            assert n == 1, key
        files["risk"] = tmp / "risk.yaml"
        files["risk"].write_text(text, encoding="utf-8")
    if rules or params:
        text = (REPO / "rules/edge.yaml").read_text(encoding="utf-8")
        for key, value in (params or {}).items():
            text, n = re.subn(rf"^  {key}: *\S+", f"  {key}: {value}", text, flags=re.M)
            assert n == 1, key
        text += "".join(f"  - name: extra_{i}\n    when: {rule}\n" for i, rule in enumerate(rules or ()))
        files["edge"] = tmp / "edge.yaml"
        files["edge"].write_text(text, encoding="utf-8")
    compiled = compile_profile(REPO, profile, day, file_overrides=files)
    replay = quotes.write(tmp / "quotes.parquet")
    until_s = None
    if until:
        h, m, s = (int(x) for x in until.split(":"))
        until_s = h * 3600 + m * 60 + s
    result = runner(compiled, TradeOptions(broker="sim", replay=replay, data_dir=tmp / "data",
                                                   until=until_s))
    return result, duckdb.connect(str(result.db_path), read_only=True)


def rows(con, sql: str, *args) -> list[tuple]:
    return con.execute(sql, list(args)).fetchall()


def capture(monkeypatch, cls) -> list:
    """Every instance of ``cls`` built while the test runs (e.g. the emulator: the broker's side)."""
    built: list = []
    original = cls.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        built.append(self)
    monkeypatch.setattr(cls, "__init__", init)
    return built


def capture_emulators(monkeypatch) -> list:
    from kxrules.broker.emulator.control import KiwoomEmulator

    return capture(monkeypatch, KiwoomEmulator)


def broker_holdings(emulator) -> dict[str, int]:
    """What the emulated broker's account holds at the end, per code (non-zero only)."""
    return {c: h.qty for c, h in emulator.server.account.holdings.items() if h.qty}
