"""The REST adapter against the REST emulator over real HTTP and WebSocket on loopback."""
from __future__ import annotations

from kxrules.broker.events import (AccountPage, OrderAccepted, OrderAck, OrderCancelled, OrderFilled,
                                   OrderIntent, CancelIntent)

from kxrules.broker.emulator.config import EmulatorConfig, FillOdds

from .rest_sockets import rig

ALWAYS_FILLS = EmulatorConfig(seed=7, fill_odds=FillOdds(take_full=1.0, take_partial=0.0))


def kinds(events, client_id):
    return [type(e).__name__ for e in events if getattr(e, "client_id", None) == client_id]


def test_login_quotes_order_fill_balance_and_holdings_over_sockets():
    with rig(config=ALWAYS_FILLS) as r:
        a, lis = r.adapter, r.listener
        a.connect()
        a.subscribe_quotes()
        assert r.run_until(lambda: a.connected)
        assert r.run_until(lambda: r.emu.bridge.counters["reg"] >= 1)
        r.quote(0, 0, 69900, 70000)
        r.quote(0, 1, 69800, 69900)
        assert r.run_until(lambda: len(lis.quotes) == 2)
        assert [q[:6] for q in lis.quotes] == [(0, 0, 69900, 70000, 100, 100), (0, 1, 69800, 69900, 100, 100)]
        a.send(OrderIntent("b1", "005930", "NXT", "buy", 1, "ioc_limit", 69900))
        assert r.run_until(lambda: any(isinstance(e, OrderFilled) for e in lis.events)
                           or any(isinstance(e, OrderCancelled) for e in lis.events))
        seq = kinds(lis.events, "b1")
        assert seq[:2] == ["OrderAck", "OrderAccepted"]
        filled = [e for e in lis.events if isinstance(e, OrderFilled)]
        assert filled
        if filled:
            assert filled[0].price == 69900 and filled[0].fee >= 0
            assert r.run_until(lambda: bool(lis.balances))
            assert lis.balances[-1].holding_qty == 1
            a.request_account("holdings")
            assert r.run_until(lambda: bool(lis.accounts))
            page = lis.accounts[0]
            assert isinstance(page, AccountPage) and page.rc == 0
            assert [(h.code, h.qty) for h in page.rows] == [("005930", 1)]


def test_nxt_midpoint_rests_on_nxt_and_is_cancelled_by_kt10003():
    with rig() as r:
        a, lis = r.adapter, r.listener
        a.connect()
        a.subscribe_quotes()
        assert r.run_until(lambda: a.connected)
        r.quote(0, 1, 69800, 70000)
        a.send(OrderIntent("m1", "005930", "NXT", "buy", 1, "mid", 0))
        assert r.run_until(lambda: any(isinstance(e, OrderAccepted) for e in lis.events))
        orders = r.emu.call(lambda: [(o.venue, o.style, o.price) for o in r.emu.server.open_orders()])
        assert orders == [("NXT", "mid", 0)]
        a.request_account("open_orders")
        assert r.run_until(lambda: bool(lis.accounts))
        row = lis.accounts[0].rows[0]
        assert (row.code, row.leaves, row.client_id) == ("005930", 1, "m1")
        a.cancel(CancelIntent("x1", "m1", "005930", "NXT", "buy", 0))
        assert r.run_until(lambda: any(isinstance(e, (OrderCancelled, OrderFilled)) for e in lis.events))
        ev = [e for e in lis.events if isinstance(e, (OrderCancelled, OrderFilled))][0]
        if isinstance(ev, OrderCancelled):
            assert ev.client_id == "m1" and ev.cancelled_qty == 1
        assert isinstance(lis.events[0], OrderAck)
