"""Batch feeding matches exactly like quote-by-quote feeding; broker state outlives the control."""
from __future__ import annotations

import numpy as np

from kxrules.broker import KiwoomAdapter
from kxrules.broker.emulator import KiwoomEmulator
from kxrules.broker.events import CancelIntent, OrderIntent

from .helpers import MS, S, VENUES, Recorder, kst, make_config, make_rig


def _quotes(seed: int, n: int, t0: int):
    """A random walk on two symbols x two venues, 5 ms apart."""
    rng = np.random.default_rng(seed)
    sym = rng.integers(0, 2, n)
    ven = rng.integers(0, 2, n)
    base = np.where(sym == 0, 70000, 200000)
    tick = np.where(sym == 0, 100, 500)
    steps = rng.integers(-1, 2, n)
    off = np.cumsum(steps) % 6 - 3
    bid = base + off * tick
    ask = bid + tick * rng.integers(1, 3, n)
    bq = rng.integers(1, 20, n)
    aq = rng.integers(1, 20, n)
    ts = t0 + np.arange(n, dtype=np.int64) * 5 * MS
    return sym, ven, bid, ask, bq, aq, ts


ORDERS = [  # (at ms after start, intent)
    (3, OrderIntent("A", "005930", "KRX", "buy", 30, "limit", 70000)),
    (41, OrderIntent("B", "005930", "NXT", "sell", 20, "limit", 70100)),
    (97, OrderIntent("C", "000660", "NXT", "buy", 5, "mid", 0)),
    (410, OrderIntent("D", "000660", "KRX", "buy", 25, "ioc_limit", 200500)),
    (733, OrderIntent("E", "005930", "KRX", "buy", 40, "market", 0)),
    (1510, OrderIntent("F", "000660", "NXT", "sell", 9, "limit", 199500)),
]


def _run(batched: bool, chunk: int = 37):
    cfg = make_config(seed=3, holdings={"005930": 50, "000660": 20},
                      fill_odds={"take_full": 0.7, "take_partial": 0.2, "mid_fill_rate_per_s": 3},
                      latency_ms={"match": {"dist": "lognormal", "median_ms": 8, "p99_ms": 40}})
    rig = make_rig(cfg, subscribe=False)
    t0 = rig.clock.now_ns() + S
    q = _quotes(5, 600, t0)
    for at_ms, intent in ORDERS:
        rig.clock.call_at(t0 + at_ms * MS, rig.adapter.send, intent)
    rig.clock.call_at(t0 + 2000 * MS, rig.adapter.cancel,
                      CancelIntent("X", "A", "005930", "KRX", "buy", 0))
    emu = rig.emu
    if batched:
        for i in range(0, len(q[0]), chunk):
            part = [a[i:i + chunk] for a in q]
            rig.run(int(part[6][0]) - 1)  # feed each chunk before the clock reaches it
            emu.feed_quote_batch(*part)
    else:
        for i in range(len(q[0])):
            rig.run(int(q[6][i]))
            emu.feed_quote(*(int(a[i]) for a in q))
    rig.run(t0 + 5 * S)
    return emu.server.fills, rig.rec.outcome(), emu.server.account.snapshot()


def test_batch_feed_gives_identical_matching():
    one_by_one = _run(batched=False)
    assert len(one_by_one[0]) >= 6  # the scenario really trades
    assert _run(batched=True) == one_by_one
    assert _run(batched=True, chunk=200) == one_by_one


def test_batch_fed_late_still_applies_in_time_order():
    rig = make_rig()
    t = rig.clock.now_ns()
    arr = lambda *v: np.array(v, dtype=np.int64)  # noqa: E731
    rig.emu.feed_quote_batch(arr(0, 0), arr(0, 0), arr(69900, 69800), arr(70000, 69900),
                             arr(5, 5), arr(5, 5), arr(t + 2 * S, t + S))  # unsorted
    assert rig.emu.server.exchange.top(0, 0) == (0, 0)  # not yet: still in the future
    rig.run(t + 3 * S)
    assert rig.emu.server.exchange.top(0, 0) == (69900, 70000)


def test_broker_state_survives_a_new_control():
    rig = make_rig(make_config(holdings={"005930": 10}))
    rig.quote(0, 0, 69900, 70000, 100, 100)
    rig.adapter.send(OrderIntent("b", "005930", "KRX", "buy", 5, "limit", 70000))
    rig.adapter.send(OrderIntent("r", "005930", "KRX", "buy", 3, "limit", 69000))
    rig.run_ms(500)
    server = rig.emu.server
    before = server.account.snapshot()
    assert before["holdings"]["005930"][0] == 15
    # the engine crashes; a new control logs in to the same broker
    rig.adapter.close()
    emu2 = KiwoomEmulator(server.cfg, rig.clock, server.codes, server.markets, venues=VENUES,
                          server=server)
    rec2 = Recorder()
    ad2 = KiwoomAdapter(emu2, VENUES, rig.clock, rec2, server.codes)
    ad2.connect()
    rig.run_ms(500)
    assert rec2.connections[-1].connected
    assert server.account.snapshot() == before
    assert [o.order_no for o in server.open_orders()] == [2]
    # the old control gets nothing any more; the resting order still fills at the broker
    emu2.feed_quote(0, 0, 68900, 69000, 10, 10, rig.clock.now_ns())
    rig.run_ms(500)
    assert server.account.holding("005930").qty == 18
    assert rec2.balances[-1].holding_qty == 18
    assert rig.rec.balances[-1].holding_qty == 15


def test_emulator_reads_its_profile_yaml():
    from kxrules.broker.emulator import load_emulator_config
    from kxrules.config.workspace import bundled_workspace

    cfg = load_emulator_config(bundled_workspace() / "config" / "sim" / "default.yaml")
    assert cfg.latency_ms.tr_ack.dist == "lognormal"
    assert [s.code for s in cfg.sessions["NXT"]] == list("PQRSTUVW")
    assert kst("15:20:00") - kst("09:00:30") > 0
