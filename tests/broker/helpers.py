"""Shared test scaffolding: a recording listener and an emulator + adapter rig on a VirtualClock."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kxrules.broker import KiwoomAdapter, load_venue_map_file
from kxrules.broker.emulator import EmulatorConfig, KiwoomEmulator
from kxrules.broker.events import (BalanceUpdate, ConnectionEvent, OrderAccepted, OrderAck,
                                   OrderCancelled, OrderFilled, OrderRejected, SessionEvent,
                                   ViEvent)
from kxrules.clock import VirtualClock

KST = dt.timezone(dt.timedelta(hours=9))
DAY = dt.datetime(2026, 8, 12, tzinfo=KST)
MS = 1_000_000
S = 1_000_000_000
VENUES = load_venue_map_file()


def kst(hms: str) -> int:
    h, m, s = (int(x) for x in hms.split(":"))
    return int((DAY + dt.timedelta(hours=h, minutes=m, seconds=s)).timestamp()) * S


@dataclass
class Recorder:
    quotes: list[tuple[int, ...]] = field(default_factory=list)
    trades: list[tuple[int, ...]] = field(default_factory=list)
    orders: list[Any] = field(default_factory=list)
    balances: list[BalanceUpdate] = field(default_factory=list)
    sessions: list[SessionEvent] = field(default_factory=list)
    vis: list[ViEvent] = field(default_factory=list)
    connections: list[ConnectionEvent] = field(default_factory=list)

    def on_quote(self, sym, venue, bid, ask, bid_qty, ask_qty, ts_ns):
        self.quotes.append((sym, venue, bid, ask, bid_qty, ask_qty, ts_ns))

    def on_trade(self, sym, venue, price, qty, ts_ns):
        self.trades.append((sym, venue, price, qty, ts_ns))

    def on_order_event(self, ev):
        self.orders.append(ev)

    def on_balance(self, ev):
        self.balances.append(ev)

    def on_session(self, ev):
        self.sessions.append(ev)

    def on_vi(self, ev):
        self.vis.append(ev)

    def on_connection(self, ev):
        self.connections.append(ev)

    def of(self, cid: str) -> list[Any]:
        return [e for e in self.orders if e.client_id == cid]

    def kinds(self, cid: str) -> list[str]:
        return [type(e).__name__ for e in self.of(cid)]

    def outcome(self) -> dict[str, tuple]:
        """Engine-level outcome per client order: final kind, filled qty, notional, fees, tax,
        cancelled qty."""
        out: dict[str, list] = {}
        for e in self.orders:
            o = out.setdefault(e.client_id, ["open", 0, 0, 0, 0, 0])
            if isinstance(e, OrderFilled):
                o[1] += e.qty
                o[2] += e.qty * e.price
                o[3] += e.fee
                o[4] += e.tax
                if e.leaves_qty == 0:
                    o[0] = "filled"
            elif isinstance(e, OrderCancelled):
                o[0] = "cancelled"
                o[5] += e.cancelled_qty
            elif isinstance(e, OrderRejected):
                o[0] = f"rejected:{e.stage}"
            elif isinstance(e, (OrderAck, OrderAccepted)) and o[0] == "open":
                o[0] = "live"
        return {k: tuple(v) for k, v in out.items()}

    def last_balance(self) -> dict[str, tuple[int, int, int]]:
        out = {}
        for b in self.balances:
            out[b.code] = (b.holding_qty, b.orderable_qty, b.avg_price)
        return out


def make_config(**kw: Any) -> EmulatorConfig:
    base: dict[str, Any] = {"seed": 7, "account": "8012345611", "cash_krw": 50_000_000}
    base.update(kw)
    return EmulatorConfig.model_validate(base)


@dataclass
class Rig:
    clock: VirtualClock
    emu: KiwoomEmulator
    adapter: KiwoomAdapter
    rec: Recorder

    def run(self, until_ns: int) -> None:
        self.clock.run_until(until_ns)

    def run_ms(self, ms: float) -> None:
        self.clock.run_until(self.clock.now_ns() + int(ms * MS))

    def quote(self, sym: int, venue: int, bid: int, ask: int, bq: int, aq: int) -> None:
        self.emu.feed_quote(sym, venue, bid, ask, bq, aq, self.clock.now_ns())


def make_rig(config: EmulatorConfig | None = None, *, codes=("005930", "000660"),
             start: str = "10:00:00", login: bool = True, subscribe: bool = True,
             ref_prices: dict[str, int] | None = None, server=None, **adapter_kw: Any) -> Rig:
    clock = VirtualClock(kst(start))
    codes = list(codes)
    markets = {c: "KOSPI" for c in codes}
    emu = KiwoomEmulator(config or make_config(), clock, codes, markets, venues=VENUES,
                         ref_prices=ref_prices or {"005930": 70_000, "000660": 200_000},
                         server=server)
    rec = Recorder()
    adapter = KiwoomAdapter(emu, VENUES, clock, rec, codes, **adapter_kw)
    rig = Rig(clock, emu, adapter, rec)
    if login:
        adapter.connect()
        rig.run_ms(1_000)
        if subscribe:
            adapter.subscribe_quotes()
    return rig
