"""Events through the gateway on loopback: how many per second, and the latency it adds.

A producer process plays the gateway: a stand-in control fires 주식호가잔량 events on its
thread, the gateway's own capture reads them inside the event, its Outbox and sender thread ship
them. This process plays the engine: ``RemoteControl`` replays them into the real
``KiwoomAdapter``, which parses them into ``on_quote``. Latency is from the capture (inside the
control's event) to ``on_quote``, on one machine's monotonic clock. Two runs: flat out (throughput;
coalescing counted) and paced at a steady rate below it (added latency).

    python bench/gateway.py [--events 200000] [--paced-rate 20000]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import time

SECRET = b"bench-gateway-secret-0123456789"
CODES = [f"{i:06d}" for i in range(100, 300)]
BURST = 10                      # paced mode: events fired back to back, then a sleep


class BurstControl:
    """Just enough of the control for capture: a real-data signal and its getter."""

    def __init__(self) -> None:
        from kxrules.broker.ocx import Signal

        self.OnEventConnect, self.OnReceiveTrData, self.OnReceiveMsg = Signal(), Signal(), Signal()
        self.OnReceiveRealData, self.OnReceiveChejanData = Signal(), Signal()
        self._cur: dict[int, str] = {}

    def GetCommRealData(self, code: str, fid: int) -> str:
        return self._cur.get(fid, "")

    def fire(self, key: str, i: int) -> None:
        self._cur = {41: f"+{70100 + i % 50 * 100}", 51: f"+{70000 + i % 50 * 100}", 61: str(10 + i % 7), 71: str(20 + i % 5)}
        self.OnReceiveRealData.emit(key, "주식호가잔량", "")


def gateway_process(port_q, n: int, rate: float | None) -> None:
    from kxrules.gateway.capture import ControlCapture
    from kxrules.gateway.outbox import Outbox
    from kxrules.gateway.live import LiveGateway
    from kxrules.gateway.wire import Connection, handshake_server, listen
    import threading

    from kxrules.gateway.live import tune_thread_switching

    tune_thread_switching()
    listener = listen()
    port_q.put(listener.getsockname()[1])
    sock, _ = listener.accept()
    conn = Connection(sock)
    handshake_server(conn, SECRET)
    conn.make_nonblocking()
    outbox = Outbox(stamp=True, send_now=conn.try_send)
    control = BurstControl()
    ControlCapture(control, outbox.put_record)
    sender = threading.Thread(target=LiveGateway._send_loop, args=(conn, outbox), daemon=True)
    sender.start()
    conn.recv()                                   # the engine is ready
    keys = [c + sfx for c in CODES for sfx in ("", "_NX")]
    start = time.perf_counter()
    for i in range(n):
        if rate is not None and i % BURST == 0:
            # a control thread is idle between events (Qt waits on COM): sleep, never spin
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        control.fire(keys[i % len(keys)], i)
    outbox.put_frame({"t": "done", "coalesced": outbox.coalesced, "seconds": time.perf_counter() - start})
    outbox.close()
    sender.join()
    conn.recv()


class Listener:
    def __init__(self) -> None:
        self.arrived: list[int] = []

    def on_quote(self, sym, venue, bid, ask, bid_qty, ask_qty, ts_ns) -> None:
        self.arrived.append(time.perf_counter_ns())

    def __getattr__(self, name):
        return lambda *a, **k: None


def engine_side(n: int, rate: float | None) -> dict:
    from kxrules.broker.adapter import KiwoomAdapter
    from kxrules.broker.venues import load_venue_map_file
    from kxrules.clock import WallClock
    from kxrules.gateway.remote import RemoteControl
    from kxrules.gateway.wire import connect

    port_q: mp.Queue = mp.Queue()
    proc = mp.Process(target=gateway_process, args=(port_q, n, rate))
    proc.start()
    conn = connect("127.0.0.1", port_q.get(timeout=30), SECRET)
    control = RemoteControl(conn)
    listener = Listener()
    KiwoomAdapter(control, load_venue_map_file(), WallClock(), listener, CODES)
    stamps: list[int] = []
    conn.send({"t": "go"})
    done = None
    while done is None:
        frame = conn.recv()
        if frame.get("t") == "events":
            stamps.extend(frame["at"])
            control.deliver(frame["ev"])
        elif frame.get("t") == "done":
            done = frame
    conn.send({"t": "bye"})
    proc.join(30)
    lat = sorted(a - s for a, s in zip(listener.arrived, stamps))
    span = (listener.arrived[-1] - stamps[0]) / 1e9
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] / 1000   # noqa: E731
    return {"events_sent": n, "events_delivered": len(listener.arrived), "coalesced": done["coalesced"],
            "captured_per_s": round(n / done["seconds"]), "delivered_per_s": round(len(listener.arrived) / span), "added_latency_us_p50": round(pct(0.50), 1),
            "added_latency_us_p99": round(pct(0.99), 1), "producer_s": round(done["seconds"], 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--paced-rate", type=float, default=20_000)
    args = ap.parse_args()
    machine = f"{platform.machine()} {os.cpu_count()} cpu"
    for mode, rate in (("flat_out", None), ("paced", args.paced_rate)):
        n = args.events if rate is None else min(args.events, int(rate * 5))
        print(json.dumps({"bench": "gateway", "mode": mode, "rate": rate, **engine_side(n, rate),
                          "machine": machine, "python": platform.python_version()}))


if __name__ == "__main__":
    main()
