"""DuckDB recording of a run: one file per data directory, every row tagged with ``run_id``.

Durable mode (live trading) inserts and commits each order, order event and fill as it happens:
a crash loses nothing already reported by the broker. Buffered mode (simulation) keeps rows in
columnar buffers and bulk-inserts them through Arrow. Quotes and telemetry are always buffered
(DuckDB's executemany manages ~1.3 k rows/s; Arrow inserts manage millions).

DuckDB locks the file against other processes while a run writes it: read it after the run ends
(or copy the file); `kxrules report` does exactly that.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from .schema import SCHEMA_VERSION, TABLES

DB_NAME = "kxrules.duckdb"
FLUSH_ROWS = 50_000
VENUES = ("KRX", "NXT")

_ORDER_COLS = ["run_id", "client_id", "pair_id", "role", "code", "venue", "side", "qty", "style", "price",
               "cancel_of", "sent_ns", "send_rc", "ack_ns", "accepted_ns", "order_no", "status",
               "filled_qty", "avg_price", "fees_krw", "tax_krw", "late", "message"]


def connect(data_dir: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    path = Path(data_dir) / DB_NAME
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    if not read_only:
        for name, cols in TABLES.items():
            con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({cols})")
    return con


def _columns(table: str) -> list[str]:
    return [c.strip().split()[0] for c in TABLES[table].replace("\n", " ").split(",")]


class Recorder:
    def __init__(self, data_dir: Path, codes: tuple[str, ...], *, durable: bool):
        self.con = connect(data_dir)
        self.path = Path(data_dir) / DB_NAME
        self.codes = codes
        self._code_dict = pa.array(list(codes), pa.string())
        self._venue_dict = pa.array(list(VENUES), pa.string())
        self.durable = durable
        self.run_id = int(self.con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM runs").fetchone()[0])
        self._rows: dict[str, list[tuple]] = {t: [] for t in TABLES}
        self._quote_cols: list[list] = [[] for _ in range(7)]
        self._quote_chunks: list[tuple] = []
        self._orders: dict[str, Any] = {}

    # -- run ----------------------------------------------------------------------------------
    def start_run(self, *, profile: str, broker: str, mode: str, seed: int | None, source: str,
                  run_date: dt.date, config_hash: str, config: dict) -> int:
        self.con.execute(
            "INSERT INTO runs (run_id, profile, broker, mode, sim_seed, source, run_date, started_at, "
            "config_hash, config_json, status, schema_version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [self.run_id, profile, broker, mode, seed, source, run_date, dt.datetime.now(),
             config_hash, json.dumps(config, ensure_ascii=False, default=str), "running", SCHEMA_VERSION])
        return self.run_id

    def finish_run(self, status: str, exit_code: int, summary: dict) -> None:
        self.flush()
        self.con.execute("UPDATE runs SET ended_at = ?, status = ?, exit_code = ?, summary_json = ? WHERE run_id = ?",
                         [dt.datetime.now(), status, exit_code, json.dumps(summary, ensure_ascii=False, default=str),
                          self.run_id])

    def close(self) -> None:
        self.con.close()

    # -- rows -------------------------------------------------------------------------------
    def _row(self, table: str, row: tuple) -> None:
        if self.durable and table in ("order_events", "fills", "alerts", "events"):
            marks = ",".join("?" * (len(row) + 1))
            self.con.execute(f"INSERT INTO {table} VALUES ({marks})", [self.run_id, *row])
            return
        buf = self._rows[table]
        buf.append(row)
        if len(buf) >= FLUSH_ROWS:
            self._flush_table(table)

    def signals(self, now: int, rows: list[list[int]], reasons: list, pair_ids: list) -> None:
        """``rows``: a SignalBatch's rows as Python ints (evaluator.COLUMNS order)."""
        for (sym, bv, qts, bp, sp, bq, sq, qty, gross, cost, net), reason, pair_id in zip(rows, reasons, pair_ids):
            self._row("signals", (now, qts, self.codes[sym], VENUES[bv], VENUES[1 - bv], bp, sp, bq, sq,
                                  qty, gross, cost, net, reason is None, reason, pair_id))

    def pair_finished(self, pair) -> None:
        s = pair.signal
        bps = (pair.net_krw * 10_000 / pair.buy_value) if pair.buy_value else None
        self._row("pairs", (pair.pair_id, pair.code, VENUES[s.buy_venue], VENUES[s.sell_venue], pair.qty,
                            s.buy_price, s.sell_price, s.net_edge_krw, pair.started_ns, pair.first_fill_ns,
                            pair.flat_ns, pair.ended_ns, pair.state, pair.entry_filled, pair.hedged,
                            pair.buy_value, pair.sell_value, pair.gross_krw, pair.fees, pair.tax,
                            pair.net_krw, bps, pair.unhedged_ms, pair.used_ioc, pair.unresolved))

    def order_sent(self, rec) -> None:
        self._orders[rec.client_id] = rec
        if self.durable:
            self.con.execute(f"INSERT INTO orders VALUES ({','.join('?' * len(_ORDER_COLS))})",
                             self._order_row(rec))

    def order_final(self, rec) -> None:
        self._orders[rec.client_id] = rec
        if self.durable:
            self.con.execute("DELETE FROM orders WHERE run_id = ? AND client_id = ?", [self.run_id, rec.client_id])
            self.con.execute(f"INSERT INTO orders VALUES ({','.join('?' * len(_ORDER_COLS))})",
                             self._order_row(rec))

    def _order_row(self, rec) -> list:
        return [self.run_id, rec.client_id, rec.pair.pair_id if rec.pair is not None else None, rec.role,
                rec.code, rec.venue, rec.side, rec.qty, rec.style, rec.price, rec.cancel_of, rec.sent_ns,
                rec.send_rc, rec.ack_ns, rec.accepted_ns, rec.order_no, rec.status, rec.filled,
                rec.avg_price, rec.fees, rec.tax, rec.late, rec.message]

    def order_event(self, now: int, rec, event: str, *, qty: int = 0, message: str = "",
                    raw: dict | None = None, late: bool = False) -> None:
        self._row("order_events", (now, rec.client_id, event, rec.order_no, qty, message, late,
                                   json.dumps(raw, ensure_ascii=False) if raw else None))

    def fill(self, now: int, rec, ev, fee: int, tax: int) -> None:
        self._row("fills", (now, rec.client_id, rec.pair.pair_id if rec.pair is not None else None, rec.role,
                            rec.code, rec.venue, rec.side, ev.price, ev.qty, ev.exec_id, fee, tax,
                            ev.fee, ev.tax))

    def transition(self, now: int, pair_id: int, trigger: str, source: str, dest: str) -> None:
        self._row("transitions", (now, pair_id, trigger, source, dest))

    def telemetry(self, ts_ns: int, metric: str, value: float) -> None:
        self._row("telemetry", (ts_ns, metric, value))

    def alert(self, ts_ns: int, kind: str, message: str) -> None:
        self._row("alerts", (ts_ns, kind, message))

    def _event(self, ts_ns: int, kind: str, code: str | None, detail: dict) -> None:
        self._row("events", (ts_ns, kind, code, json.dumps(detail, ensure_ascii=False, default=str)))

    def balance(self, ev) -> None:
        self._event(ev.ts_ns, "balance", ev.code, {"holding": ev.holding_qty, "orderable": ev.orderable_qty,
                                                    "avg_price": ev.avg_price})

    def auto_pause(self, ts_ns: int, on: bool) -> None:
        self._event(ts_ns, "auto_pause", None, {"on": on})

    def session_event(self, ev, changed) -> None:
        self._event(ev.ts_ns, "fid215", None, {"venue": ev.venue, "code": ev.code215, "effect": changed})

    def vi_event(self, ev) -> None:
        self._event(ev.ts_ns, "vi", ev.code, {"active": ev.active})

    def connection_event(self, ev) -> None:
        self._event(ev.ts_ns, "connection", None, {"connected": ev.connected, "err_code": ev.err_code})

    def unknown_event(self, ev) -> None:
        self._event(getattr(ev, "ts_ns", 0), "unknown_order_event", None,
                    {"type": type(ev).__name__, "client_id": getattr(ev, "client_id", None)})

    # -- quotes (columnar) ------------------------------------------------------------------
    def quote(self, ts_ns: int, sym: int, venue: int, bid: int, ask: int, bid_qty: int, ask_qty: int) -> None:
        cols = self._quote_cols
        cols[0].append(ts_ns)
        cols[1].append(sym)
        cols[2].append(venue)
        cols[3].append(bid)
        cols[4].append(ask)
        cols[5].append(bid_qty)
        cols[6].append(ask_qty)
        if len(cols[0]) >= FLUSH_ROWS:
            self._flush_quotes()

    def quotes(self, ts_ns, sym, venue, bid, ask, bid_qty, ask_qty) -> None:
        self._quote_chunks.append((ts_ns, sym, venue, bid, ask, bid_qty, ask_qty))
        if sum(len(c[0]) for c in self._quote_chunks) >= FLUSH_ROWS:
            self._flush_quotes()

    def _flush_quotes(self) -> None:
        chunks = list(self._quote_chunks)
        if self._quote_cols[0]:
            chunks.append(tuple(np.asarray(c, dtype=np.int64) for c in self._quote_cols))
            self._quote_cols = [[] for _ in range(7)]
        self._quote_chunks = []
        if not chunks:
            return
        ts, sym, venue, bid, ask, bq, aq = (np.concatenate([c[i] for c in chunks]) for i in range(7))
        n = len(ts)
        quote_tbl = pa.table({  # noqa: F841 - DuckDB reads it by name (replacement scan)
            "run_id": pa.array(np.full(n, self.run_id, dtype=np.int32)),
            "ts_ns": ts,
            "code": pa.DictionaryArray.from_arrays(pa.array(sym.astype(np.int32)), self._code_dict),
            "venue": pa.DictionaryArray.from_arrays(pa.array(venue.astype(np.int32)), self._venue_dict),
            "bid1": bid, "ask1": ask, "bid1_qty": bq, "ask1_qty": aq,
        })
        self.con.execute("INSERT INTO quotes SELECT run_id, ts_ns, CAST(code AS VARCHAR), "
                         "CAST(venue AS VARCHAR), bid1, ask1, bid1_qty, ask1_qty FROM quote_tbl")

    # -- flushing ---------------------------------------------------------------------------
    def _flush_table(self, table: str) -> None:
        rows = self._rows[table]
        if not rows:
            return
        cols = _columns(table)[1:]
        data = {name: [r[i] for r in rows] for i, name in enumerate(cols)}
        arrow = pa.table({"run_id": pa.array([self.run_id] * len(rows), pa.int32()),  # noqa: F841 (SQL)
                          **{k: pa.array(v) if any(x is not None for x in v) else pa.nulls(len(v))
                             for k, v in data.items()}})
        names = ", ".join(_columns(table))
        self.con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM arrow")
        self._rows[table] = []

    def flush(self) -> None:
        for table in self._rows:
            self._flush_table(table)
        self._flush_quotes()
        if not self.durable and self._orders:
            self.con.execute("DELETE FROM orders WHERE run_id = ?", [self.run_id])
            rows = [self._order_row(r) for r in self._orders.values()]
            arrow = pa.table({c: pa.array([r[i] for r in rows]) if any(r[i] is not None for r in rows)  # noqa: F841
                              else pa.nulls(len(rows)) for i, c in enumerate(_ORDER_COLS)})   # (read by the SQL below)
            self.con.execute(f"INSERT INTO orders ({', '.join(_ORDER_COLS)}) "
                             f"SELECT {', '.join(_ORDER_COLS)} FROM arrow")
        elif self.durable:
            for rec in self._orders.values():
                self.order_final(rec)
