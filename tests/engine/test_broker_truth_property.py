"""Broker truth under compound faults: seeded sessions × fault mixes, each checked at its end.

Whatever the faults, at the end of every session: the engine's position per symbol equals what
the emulated broker's account holds; no pair sent more orders than ``max_orders_per_pair``; no
second held more than 5 order calls; every order is in a final state; and the summary and exit
code tell the truth (flat only when the broker's account is flat). 50 sessions run in CI; the
``slow`` marker adds 200 more (``pytest -m slow``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ruamel.yaml import YAML

from kxrules.config.compile import compile_profile
from kxrules.engine.engine import Engine
from kxrules.money.ticks import tick_size
from kxrules.runtime.summary import max_calls_in_window
from kxrules.runtime.trade import TradeOptions, run_simulation

from .scenario import DAY, MS, Quotes, at, broker_holdings, capture, capture_emulators

REPO = Path(__file__).resolve().parents[2]
UNIVERSE = [("000660", "SK하이닉스", "KOSPI", 1_425_000), ("005930", "삼성전자", "KOSPI", 100_000),
            ("068270", "셀트리온", "KOSPI", 180_000)]
FINAL = {"filled", "cancelled", "rejected", "confirmed"}
MIXES = {
    "rejects": {"reject_rate": 0.15, "exchange_reject_rate": 0.1},
    "lost_acks": {"tr_ack_drop_rate": 0.2, "tr_ack_late_rate": 0.2, "tr_ack_late_ms": 600},
    "chejan": {"chejan_late_rate": 0.3, "chejan_late_ms": 400, "duplicate_chejan_rate": 0.2,
               "reorder": {"msg_before_tr": 0.5, "chejan_before_tr": 0.3, "balance_before_fill": 0.5}},
    "lost_chejan": {"chejan_drop_rate": 0.1, "tr_ack_drop_rate": 0.05},
    "disconnect": {"disconnect_at": "09:07:00", "reconnect_after_s": 20, "reject_rate": 0.05},
    "everything": {"reject_rate": 0.1, "exchange_reject_rate": 0.05, "tr_ack_drop_rate": 0.1,
                   "tr_ack_late_rate": 0.1, "chejan_late_rate": 0.1, "duplicate_chejan_rate": 0.1,
                   "chejan_drop_rate": 0.05, "query_drop_rate": 0.1,
                   "reorder": {"chejan_before_tr": 0.2, "balance_before_fill": 0.3}},
}
CASES = [(seed, sorted(MIXES)[seed % len(MIXES)]) for seed in range(1, 251)]
START, END = "09:05:00", "09:11:00"


def gappy_market(seed: int, start: str = START, end: str = END) -> Quotes:
    """Steady quotes on three symbols and, every few seconds, a gap on one of them: the rich
    venue's bid 4 ticks over the cheap venue's ask for 30-400 ms, in either direction; after a
    third of them the rich venue's bid vanishes for a while (the hedge finds nothing to hit)."""
    rng = np.random.default_rng(seed)
    q = Quotes()
    for code, _, _, ref in UNIVERSE:
        tick = tick_size(ref)
        q.steady(code, ref - tick, ref, start="09:00:00", end=end, every_ms=1000)
    t = at(start)
    while t < at(end) - 20_000 * MS:
        code, _, _, ref = UNIVERSE[rng.integers(len(UNIVERSE))]
        tick = tick_size(ref)
        rich, cheap = ("NXT", "KRX") if rng.random() < 0.5 else ("KRX", "NXT")
        lasts = int(rng.integers(30, 400)) * MS
        q.hold(code, rich, t, t + lasts, ref + 4 * tick, ref + 5 * tick)
        if rng.random() < 0.33:
            gone = int(rng.integers(500, 4000)) * MS
            q.hold(code, rich, t + lasts, t + lasts + gone, 0, ref + tick, 0, 1000)
        t += int(rng.integers(2_000, 8_000)) * MS
    return q


def session(tmp: Path, seed: int, faults: dict, monkeypatch) -> tuple:
    uni = tmp / "universe.csv"
    uni.write_text("code,name,market,ref_price\n" + "".join(f"{c},{n},{m},{p}\n" for c, n, m, p in UNIVERSE),
                   encoding="utf-8")
    yaml = YAML()
    emu = yaml.load((REPO / "config/sim/default.yaml").read_text(encoding="utf-8"))
    emu["seed"] = seed
    for key, value in faults.items():
        if isinstance(value, dict):
            emu["faults"][key].update(value)
        else:
            emu["faults"][key] = value
    with (tmp / "emulator.yaml").open("w", encoding="utf-8") as fh:
        yaml.dump(emu, fh)
    profile = compile_profile(REPO, "pilot", DAY, file_overrides={"universe": uni, "emulator": tmp / "emulator.yaml"})
    emulators = capture_emulators(monkeypatch)
    engines: list[Engine] = capture(monkeypatch, Engine)
    replay = gappy_market(seed).write(tmp / "quotes.parquet")
    result = run_simulation(profile, TradeOptions(broker="sim", replay=replay, data_dir=tmp / "data"))
    return profile, result, engines[0], emulators[0]


def check(profile, result, engine, emulator) -> None:
    ex = engine.execution
    held = broker_holdings(emulator)
    engine_position = {c: q for c, q in zip(profile.codes, ex.position) if q}
    assert engine_position == held, "the engine's position must be the broker's"
    per_pair: dict[int, int] = {}
    for o in ex.orders.values():
        if o.pair is not None:
            per_pair[o.pair.pair_id] = per_pair.get(o.pair.pair_id, 0) + 1
    assert max(per_pair.values(), default=0) <= profile.risk.max_orders_per_pair
    sent = [o.sent_ns for o in ex.orders.values() if o.sent_ns]
    assert max_calls_in_window(sent) <= 5
    assert {o.status for o in ex.orders.values()} <= FINAL, "every order ends in a final state"
    assert engine.truth.counters["over_limit"] == 0, "account TRs stay within Kiwoom's limits (no -200)"
    s = result.summary
    assert s.flat == (not held and s.broker_confirmed and not s.unresolved_breaks)
    assert s.positions_left == (held if s.broker_confirmed else s.positions_left)
    assert result.exit_code == (0 if s.flat and s.ended_normally else 1)


@pytest.mark.parametrize("seed,mix", CASES[:50], ids=[f"{s}-{m}" for s, m in CASES[:50]])
def test_the_broker_and_the_engine_agree_at_the_end(tmp_path, monkeypatch, seed, mix):
    check(*session(tmp_path, seed, MIXES[mix], monkeypatch))


@pytest.mark.slow
@pytest.mark.parametrize("seed,mix", CASES[50:], ids=[f"{s}-{m}" for s, m in CASES[50:]])
def test_the_broker_and_the_engine_agree_at_the_end_many_more(tmp_path, monkeypatch, seed, mix):
    check(*session(tmp_path, seed, MIXES[mix], monkeypatch))
