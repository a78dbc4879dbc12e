"""The REST adapter against the REST emulator over real HTTP and WebSocket on loopback."""
from __future__ import annotations

from kxrules.broker.events import (AccountPage, OrderAccepted, OrderAck, OrderCancelled, OrderFilled, OrderRejected,
                                   OrderIntent, CancelIntent)

from kxrules.broker.emulator.config import EmulatorConfig, FillOdds

from kxrules.broker.rest import protocol as P

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


def test_kt10003_cancels_the_remainder_of_a_partly_filled_order_and_says_how_many():
    with rig(config=ALWAYS_FILLS) as r:
        a, lis = r.adapter, r.listener
        _up(r)
        r.quote(0, 0, 69800, 70000)
        a.send(OrderIntent("b1", "005930", "KRX", "buy", 5, "limit", 69900))
        assert r.run_until(lambda: any(isinstance(e, OrderAccepted) for e in lis.events))
        r.quote(0, 0, 69800, 69900, 10, 2)          # 2 of 5 fill
        assert r.run_until(lambda: sum(e.qty for e in lis.events if isinstance(e, OrderFilled)) == 2)
        # kt10003 as the adapter sends it (its own ack may come from the Chejan first, so ask directly)
        body = P.cancel_body("KRX", a.order_no("b1"), "005930", 0)
        rc, _, reply, _ = r.loop.run_until_complete(a._call(P.API_CANCEL, P.PATH_ORDER, body))
        assert (rc, reply["cncl_qty"]) == (0, "3")      # "0" asked for the remainder: 3 shares
        assert r.run_until(lambda: any(isinstance(e, OrderCancelled) for e in lis.events))
        (done,) = [e for e in lis.events if isinstance(e, OrderCancelled)]
        assert (done.client_id, done.cancelled_qty) == ("b1", 3)
        assert r.emu.call(lambda: r.emu.server.account.reserved_cash) == 0


def _up(r):
    a = r.adapter
    a.connect()
    a.subscribe_quotes()
    assert r.run_until(lambda: a.connected)
    assert r.run_until(lambda: r.emu.bridge.counters["reg"] >= 1)


def test_the_token_is_renewed_before_it_expires_mid_session_and_the_socket_stays_up():
    with rig(config=ALWAYS_FILLS, token_lifetime_s=1.5, renew_before_s=1) as r:
        _up(r)
        a = r.adapter
        first = a.tokens.issued
        assert r.run_until(lambda: a.tokens.issued >= first + 2, timeout_s=5)
        assert a.counters["token_renewed_ahead"] >= 2 and a.connected
        assert [e.connected for e in r.listener.conn] == [True]
        r.quote(0, 0, 69900, 70000)
        a.send(OrderIntent("b1", "005930", "KRX", "buy", 1, "ioc_limit", 70000))
        assert r.run_until(lambda: any(isinstance(e, OrderFilled) for e in r.listener.events))


def test_an_expired_token_is_8005_and_the_adapter_renews_and_repeats_the_call():
    with rig() as r:
        _up(r)
        a = r.adapter
        issued = a.tokens.issued
        r.emu.call(r.emu.auth.expire_all)            # the server forgets every token it issued
        a.request_account("holdings")
        assert r.run_until(lambda: bool(r.listener.accounts))
        assert r.listener.accounts[0].rc == 0
        assert a.counters["token_refused"] == 1 and a.tokens.issued == issued + 1


def test_1700_rate_limit_replies_for_orders_and_queries():
    with rig() as r:
        _up(r)
        a, lis = r.adapter, r.listener
        r.quote(0, 0, 69900, 70000)
        for i in range(6):                            # 5 orders a second: the sixth is refused
            a.send(OrderIntent(f"o{i}", "005930", "KRX", "buy", 1, "limit", 60000))
        assert r.run_until(lambda: sum(isinstance(e, (OrderAck, OrderRejected)) for e in lis.events) >= 6)
        rejected = [e for e in lis.events if isinstance(e, OrderRejected)]
        assert [(e.stage, e.code) for e in rejected] == [("send", 1700)]
        r.emu.app.state.faults.rate_limit_next = 1
        a.request_account("open_orders")
        assert r.run_until(lambda: bool(lis.accounts))
        assert lis.accounts[0].rc == 1700 and lis.accounts[0].rows == []


def test_a_websocket_drop_is_reported_then_the_adapter_logs_in_again_and_registers_again():
    with rig() as r:
        _up(r)
        lis = r.listener
        r.emu.call(r.emu.bridge.drop_connection)
        assert r.run_until(lambda: len(lis.conn) >= 3 and lis.conn[-1].connected)
        assert [e.connected for e in lis.conn] == [True, False, True]
        assert r.run_until(lambda: r.emu.bridge.counters["reg"] >= 2)
        r.quote(1, 1, 179900, 180000)
        assert r.run_until(lambda: any(q[:2] == (1, 1) for q in lis.quotes))


def test_an_order_accepted_with_the_socket_down_is_learned_filled_from_the_account_trs():
    with rig(config=ALWAYS_FILLS) as r:
        _up(r)
        a, lis = r.adapter, r.listener
        r.quote(0, 0, 69800, 70000)
        # the socket goes and logins are refused: no order events, no balances from here on
        r.emu.call(lambda: setattr(r.emu.server, "reconnect_ns", None))
        r.emu.call(r.emu.bridge.drop_connection)
        assert r.run_until(lambda: not a.connected)
        a.send(OrderIntent("b1", "005930", "KRX", "buy", 1, "limit", 69900))
        assert r.run_until(lambda: any(isinstance(e, OrderAck) for e in lis.events))
        a.request_account("open_orders")
        assert r.run_until(lambda: len(lis.accounts) == 1)
        assert [(o.client_id, o.leaves) for o in lis.accounts[0].rows] == [("b1", 1)]
        r.quote(0, 0, 69800, 69900)                  # the ask comes down to the resting bid: filled
        assert r.run_until(lambda: r.emu.call(lambda: len(r.emu.server.fills)) == 1)
        a.request_account("open_orders")
        a.request_account("holdings")
        assert r.run_until(lambda: len(lis.accounts) == 3)
        pages = {p.kind: p for p in lis.accounts[1:]}
        assert pages["open_orders"].rows == []
        assert [(h.code, h.qty, h.avg_price) for h in pages["holdings"].rows] == [("005930", 1, 69900)]
        assert not any(isinstance(e, OrderFilled) for e in lis.events) and not lis.balances
        assert r.emu.bridge.counters["undelivered_00"] >= 1


def test_vi_and_session_frames_and_server_pings_are_answered():
    with rig() as r:
        r.emu.app.state.faults.ping_s = 0.05
        _up(r)
        a, lis = r.adapter, r.listener
        r.emu.call(r.emu.bridge.publish_vi, "000660", True)
        r.emu.call(r.emu.bridge.publish_session, "R")
        assert r.run_until(lambda: len(lis.sessions) == 2)
        vi, session = lis.sessions
        assert (vi.code, vi.active) == ("000660", True)
        assert (session.venue, session.code215) == ("NXT", "R")
        assert r.run_until(lambda: r.emu.bridge.counters["ping_echoed"] >= 2)
        assert a.counters["ping"] >= 2


def test_the_market_wide_session_frame_reaches_a_socket_that_registered_nothing():
    with rig() as r:
        a, lis = r.adapter, r.listener
        a.connect()                          # logged in, no REG sent
        assert r.run_until(lambda: a.connected)
        r.emu.call(r.emu.bridge.publish_vi, "000660", True)        # per code: needs a registration
        r.emu.call(r.emu.bridge.publish_session, "S")
        assert r.run_until(lambda: len(lis.sessions) == 1)
        assert [(s.venue, s.code215) for s in lis.sessions] == [("NXT", "S")]
        assert r.emu.bridge.counters["reg"] == 0 and r.emu.bridge.counters["undelivered_1h"] == 1


def test_the_end_of_a_session_unregisters_and_revokes_the_token():
    with rig() as r:
        _up(r)
        a = r.adapter
        assert r.emu.call(lambda: len(r.emu.auth.tokens)) == 1
        r.loop.run_until_complete(a.aclose())
        assert a.counters["token_revoked"] == 1
        assert r.emu.call(lambda: len(r.emu.auth.tokens)) == 0


def test_debug_logging_shows_no_token_or_key(caplog):
    import logging

    with caplog.at_level(logging.DEBUG):
        with rig() as r:
            _up(r)
            r.adapter.request_account("holdings")
            assert r.run_until(lambda: bool(r.listener.accounts))
            tokens = list(r.emu.call(lambda: list(r.emu.auth.tokens)))
    text = "\n".join(rec.getMessage() for rec in caplog.records)
    from .rest_sockets import APPKEY, SECRET
    for secret in (APPKEY, SECRET, *tokens):
        assert secret not in text


def test_close_is_bounded_when_a_task_outlives_its_cancellation():
    """A session's end never hangs on the adapter: a task that does not end when cancelled (a
    socket read that saw the peer's close waits, shielded, for the connection to be lost) is
    left to the loop's close and counted; the socket is dropped on the way."""
    import asyncio
    import time

    with rig() as r:
        a = r.adapter
        a.connect()
        assert r.run_until(lambda: a.connected)
        never = r.loop.create_future()

        async def stuck() -> None:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:      # as a library that closes politely on cancel
                await never
        a._spawn(stuck())
        r.run_until(lambda: False, timeout_s=0.05)        # the task starts and sleeps
        t0 = time.monotonic()
        a.close()
        assert time.monotonic() - t0 < 3 * 2.0 + 2
        assert a.counters["close_tasks_stuck"] == 1
        assert not a.connected
