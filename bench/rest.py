"""Quote events per second through the REST emulator (real WebSocket on loopback) into the
REST adapter, and the latency the adapter adds per event (message in -> ``on_quote``), p50/p99.

    python bench/rest.py [--quotes 20000] [--symbols 50]

The emulator runs in its own thread (as in ``--emulator`` sessions) and publishes ``0D`` frames
as fast as its loop can; the adapter runs on this thread's loop. "end to end" is publish -> the
listener, through JSON, the socket and both event loops.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from kxrules import seoul  # noqa: E402
from kxrules.broker.emulator.config import EmulatorConfig  # noqa: E402
from kxrules.broker.rest import Credentials, KiwoomRestAdapter  # noqa: E402
from kxrules.broker.rest.clock import AsyncioClock, Timeline  # noqa: E402
from kxrules.broker.rest.emulator import RestEmulator  # noqa: E402
from kxrules.broker.rest.venues import load_rest_venue_map  # noqa: E402
from kxrules.broker.venues import load_venue_map_file  # noqa: E402

from _common import universe_rows  # noqa: E402

KEY, SECRET = "bench-appkey-0123456789abcdef", "bench-secret-0123456789abcdef"


class Sink:
    def __init__(self, n: int) -> None:
        self.added = np.zeros(n, dtype=np.int64)
        self.e2e = np.zeros(n, dtype=np.int64)
        self.n = 0
        self.msg_t0 = 0
        self.first = self.last = 0.0

    def on_quote(self, sym, venue, bid, ask, bq, aq, ts_ns) -> None:
        now = time.perf_counter_ns()
        if self.n == 0:
            self.first = time.perf_counter()
        if self.n < len(self.added):
            self.added[self.n] = now - self.msg_t0
            self.e2e[self.n] = ts_ns - bid_ts.get(bid, ts_ns)
        self.n += 1
        self.last = time.perf_counter()

    def __getattr__(self, name):           # every other listener event: ignored here
        return lambda *a, **k: None


bid_ts: dict[int, int] = {}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quotes", type=int, default=20_000)
    ap.add_argument("--symbols", type=int, default=50)
    args = ap.parse_args()
    rows = universe_rows(args.symbols)
    codes = [r[0] for r in rows]
    day = seoul.date_of(time.time_ns())
    timeline = Timeline(seoul.epoch_ns(day, 10 * 3600))
    venues, rest_venues = load_venue_map_file(), load_rest_venue_map()
    emu = RestEmulator(EmulatorConfig(seed=1), timeline, codes, {c: "KOSPI" for c in codes}, appkey=KEY,
                       secretkey=SECRET, venues=venues, rest_venues=rest_venues,
                       ref_prices={r[0]: r[3] for r in rows}, midnight_ns=seoul.midnight_ns(day)).start()
    loop = asyncio.new_event_loop()
    sink = Sink(args.quotes)
    adapter = KiwoomRestAdapter(base_url=emu.base_url, ws_url=emu.ws_url, credentials=Credentials(KEY, SECRET),
                                rest_venues=rest_venues, venues=venues, clock=AsyncioClock(loop, timeline),
                                listener=sink, codes=codes)
    inner = adapter._on_ws_message

    async def timed(ws, message):
        sink.msg_t0 = time.perf_counter_ns()
        await inner(ws, message)
    adapter._on_ws_message = timed   # type: ignore[method-assign]

    async def run() -> None:
        adapter.connect()
        adapter.subscribe_quotes()
        while emu.bridge.counters["reg"] < 1:
            await asyncio.sleep(0.01)
        clock = emu.bridge.clock

        def publish(start: int, count: int) -> None:
            for i in range(start, start + count):
                sym, venue = i % len(codes), (i // len(codes)) % 2
                bid = 1_000 + i                      # a unique bid identifies the quote
                ts = clock.now_ns()
                bid_ts[bid] = ts
                emu.bridge.publish_quote(sym, venue, bid, bid + 1, 10, 10, ts)
        sent = 0
        chunk = 500
        t0 = time.perf_counter()
        while sent < args.quotes:
            n = min(chunk, args.quotes - sent)
            emu.call(publish, sent, n)
            sent += n
            while sink.n < sent - 2 * chunk:        # keep at most two chunks in flight
                await asyncio.sleep(0.0005)
        while sink.n < args.quotes and time.perf_counter() - t0 < 60:
            await asyncio.sleep(0.001)

    loop.run_until_complete(run())
    adapter.close()
    loop.close()
    emu.stop()
    n = min(sink.n, args.quotes)
    rate = n / max(sink.last - sink.first, 1e-9)
    added = sink.added[:n] / 1000
    e2e = sink.e2e[:n] / 1e6
    print(f"REST emulator -> WebSocket -> KiwoomRestAdapter: {n:,} quotes, {args.symbols} symbols x 2 venues")
    print(f"  quote events/s: {rate:,.0f}")
    print(f"  adapter added latency per event (message in -> on_quote): p50 {np.percentile(added, 50):.1f} µs, "
          f"p99 {np.percentile(added, 99):.1f} µs")
    print(f"  end to end (publish -> on_quote, loopback, two loops): p50 {np.percentile(e2e, 50):.2f} ms, "
          f"p99 {np.percentile(e2e, 99):.2f} ms")


if __name__ == "__main__":
    main()
