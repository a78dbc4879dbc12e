"""DuckDB recording of a run: one file per data directory, every row tagged with ``run_id``.

Durable mode (live trading) inserts and commits each order, order event and fill as it happens:
a crash loses nothing already reported by the broker. Buffered mode (simulation) keeps rows in
columnar buffers and bulk-inserts them through Arrow. Quotes and telemetry are always buffered
(DuckDB's executemany manages ~1.3 k rows/s; Arrow inserts manage millions).

DuckDB locks the file against other processes while a run writes it: read it after the run ends
(or copy the file); `kxrules report` does exactly that. Opening a file another process holds
raises :class:`RecordingUnavailable` (the host turns it into a usage error before trading).

Recording never raises out of an engine callback: a write that fails (disk full or read-only,
the file locked, any DuckDB error) marks the recorder ``failed``, keeps the rows in memory and
calls ``on_failure`` once, so the host can disarm and wind down. ``finish_run`` writes everything
still pending and the run's row in one transaction, retried once on a fresh connection; signals
arriving meanwhile are deferred until it is done. Whatever could not be written is listed in
``lost``. A run whose process died (status still ``running``) is closed as ``killed`` by the next
recorder that opens the file (``ended_at`` stays NULL: when it died is not known).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import re
import signal as signals
import threading
from pathlib import Path
from typing import Any, Callable

import duckdb
import numpy as np
import pyarrow as pa

from ..market import VENUES
from .jsontext import detail_json, raw_json
from .schema import MIGRATIONS, SCHEMA_VERSION, TABLES

DB_NAME = "kxrules.duckdb"
FLUSH_ROWS = 50_000

DURABLE_TABLES = ("order_events", "fills", "alerts", "events", "operator_commands")
RECORDING_ERRORS = (duckdb.Error, OSError)

_ORDER_COLS = ["run_id", "client_id", "pair_id", "role", "code", "venue", "side", "qty", "style", "price",
               "cancel_of", "sent_ns", "send_rc", "ack_ns", "accepted_ns", "order_no", "status",
               "filled_qty", "avg_price", "fees_krw", "tax_krw", "late", "message"]


def in_process(name: str) -> str:
    """The DuckDB name of a recording kept in this process's memory (a sweep worker's scratch
    run: no file to write at its end, read back while one connection to it is open)."""
    return f":memory:{name}"


def connect(data_dir: Path, *, read_only: bool = False, database: str | None = None) -> duckdb.DuckDBPyConnection:
    """The recording in ``data_dir``, or ``database`` (``in_process``) instead."""
    path = Path(data_dir) / DB_NAME
    if not read_only and database is None:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(database or str(path), read_only=read_only)
    if not read_only:
        for name, cols in TABLES.items():
            con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({cols})")
        for statement in MIGRATIONS:            # a recording from an older version
            con.execute(statement)
    return con


class RecordingUnavailable(Exception):
    """The recording cannot be opened for writing (another process holds it, read-only, ...)."""


def _brief(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__


def open_problem(data_dir: Path, exc: BaseException) -> str:
    """What to tell an operator whose recording could not be opened."""
    text = str(exc)
    if "lock" in text.lower():
        pid = re.search(r"PID (\d+)", text)
        who = f" (pid {pid.group(1)})" if pid else ""
        return (f"data directory {data_dir} is in use by another kxrules process{who}; "
                f"choose another --data-dir or wait for it to finish")
    return f"cannot write the recording in {data_dir}: {_brief(exc)}"


@contextlib.contextmanager
def deferred_signals():
    """SIGINT/SIGTERM arriving inside the block are held and delivered after it (to the handler
    that was installed before), so a second Ctrl-C cannot tear a write in two. Off the main
    thread (where handlers cannot be installed) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    names = [signals.SIGINT] + ([signals.SIGTERM] if hasattr(signals, "SIGTERM") else [])
    previous = {}
    for sig in names:
        previous[sig] = signals.signal(sig, lambda signum, _frame: held.append(signum))
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signals.signal(sig, handler)
        for signum in held:
            handler = previous.get(signum)
            if callable(handler):
                handler(signum, None)
            elif handler == signals.SIG_DFL:
                signals.raise_signal(signum)


_ARROW_TYPES = {"BIGINT": pa.int64(), "INTEGER": pa.int32(), "VARCHAR": pa.string(), "BOOLEAN": pa.bool_(),
                "DOUBLE": pa.float64()}


@functools.cache
def _arrow_types(table: str) -> dict[str, pa.DataType | None]:
    """Each column's arrow type (None where the rows' own values decide)."""
    cols = [c.strip().split() for c in TABLES[table].replace("\n", " ").split(",")]
    return {c[0]: _ARROW_TYPES.get(c[1]) for c in cols}


def _arrow_column(values: tuple | list, type_: pa.DataType | None) -> pa.Array:
    """A buffered column as arrow, of its table's type: an untyped ``pa.array`` of Python values
    tries ``import pandas`` on every call (pyarrow 26), ~0.3 ms each where pandas is missing;
    values that do not fit the declared type are left to arrow's inference and DuckDB's cast."""
    if type_ is not None:
        try:
            return pa.array(values, type_)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            pass
    return pa.array(values) if any(x is not None for x in values) else pa.nulls(len(values))


class Recorder:
    def __init__(self, data_dir: Path, codes: tuple[str, ...], *, durable: bool,
                 on_failure: Callable[[str], None] | None = None, database: str | None = None):
        self.data_dir = Path(data_dir)
        self.database = database          # instead of the data directory's file (``in_process``)
        self.path = Path(database) if database else self.data_dir / DB_NAME
        try:
            self.con = connect(self.data_dir, database=database)
            self.run_id = int(self.con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM runs").fetchone()[0])
            # this process holds the file's lock: a run still 'running' belongs to a dead process
            self.killed_runs = [int(r[0]) for r in self.con.execute(
                "UPDATE runs SET status = 'killed' WHERE status = 'running' RETURNING run_id").fetchall()]
        except RECORDING_ERRORS as exc:
            with contextlib.suppress(Exception):
                self.con.close()
            raise RecordingUnavailable(open_problem(self.data_dir, exc)) from exc
        self.codes = codes
        self._code_dict = pa.array(list(codes), pa.string())
        self._venue_dict = pa.array(list(VENUES), pa.string())
        self.durable = durable
        self.on_failure = on_failure
        self.failed: str | None = None          # the first recording failure, if any
        self.errors: list[str] = []             # every failure, in order
        self.lost: list[str] = []               # what finish_run could not write
        self.incomplete: str | None = None      # the written rows do not match the engine's counts
        self._rows: dict[str, list[tuple]] = {t: [] for t in TABLES}
        self._quote_cols: list[list] = [[] for _ in range(7)]
        self._quote_chunks: list[tuple] = []
        self._orders: dict[str, Any] = {}
        # an observer of the rows as they are recorded (the ops view's event feed), on the engine's
        # thread: ``tap(table, row)``; it only keeps references
        self.tap: Callable[[str, tuple], None] | None = None

    # -- failures -----------------------------------------------------------------------------
    def _fail(self, what: str, exc: BaseException) -> None:
        reason = f"{what}: {_brief(exc)}"
        self.errors.append(reason)
        if self.failed is None:
            self.failed = reason
            if self.on_failure is not None:
                self.on_failure(reason)

    def _try(self, what: str, fn: Callable, *args) -> bool:
        try:
            fn(*args)
        except RECORDING_ERRORS as exc:
            self._fail(what, exc)
            return False
        return True

    # -- run ----------------------------------------------------------------------------------
    def start_run(self, *, profile: str, broker: str, mode: str, seed: int | None, source: str,
                  run_date: dt.date, config_hash: str, config: dict) -> int:
        """Write the run's row (status ``running``). Raises :class:`RecordingUnavailable`: this
        happens before trading, where failing is still safe."""
        try:
            self.con.execute(
                "INSERT INTO runs (run_id, profile, broker, mode, sim_seed, source, run_date, started_at, "
                "config_hash, config_json, status, schema_version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [self.run_id, profile, broker, mode, seed, source, run_date, dt.datetime.now(),
                 config_hash, json.dumps(config, ensure_ascii=False, default=str), "running", SCHEMA_VERSION])
        except RECORDING_ERRORS as exc:
            raise RecordingUnavailable(open_problem(self.data_dir, exc)) from exc
        return self.run_id

    def run_server(self, server: str) -> None:
        """The Kiwoom server the broker logged in to ("paper" | "real"): written at once, so a
        run that dies still says where it traded."""
        self._try("recording the server", self.con.execute,
                  "UPDATE runs SET server = ? WHERE run_id = ?", [server, self.run_id])

    def finish_run(self, status: str, exit_code: int, summary: dict) -> bool:
        """Write every pending row, the orders' final state and the run's row in one transaction
        (signals deferred meanwhile); on failure retry once on a fresh connection. Returns whether
        it was written; if not, ``lost`` says what is missing and the run's row is marked
        ``recording_failed`` if even that can be written."""
        summary_json = json.dumps(summary, ensure_ascii=False, default=str)
        with deferred_signals():
            for attempt in (1, 2):
                kept = self._pending()
                try:
                    self.con.execute("BEGIN TRANSACTION")
                    self.flush()
                    self.con.execute("UPDATE runs SET ended_at = ?, status = ?, exit_code = ?, summary_json = ? "
                                     "WHERE run_id = ?", [dt.datetime.now(), status, exit_code, summary_json,
                                                          self.run_id])
                    self.con.execute("COMMIT")
                    return True
                except RECORDING_ERRORS as exc:
                    with contextlib.suppress(*RECORDING_ERRORS):
                        self.con.execute("ROLLBACK")
                    self._restore(kept)
                    self._fail("writing the end of the run" + (" (retried)" if attempt == 2 else ""), exc)
                    if attempt == 1:
                        self._reconnect()
            self.lost = self._describe_pending()
            self._try("marking the run as recording_failed", self.con.execute,
                      "UPDATE runs SET status = 'recording_failed', exit_code = ?, summary_json = ? WHERE run_id = ?",
                      [exit_code, summary_json, self.run_id])
            return False

    def _reconnect(self) -> None:
        with contextlib.suppress(Exception):
            self.con.close()
        try:
            self.con = connect(self.data_dir, database=self.database)
        except RECORDING_ERRORS as exc:
            self._fail("reopening the recording", exc)

    def _pending(self) -> tuple:
        """The buffered rows (references), to put back if a transaction is rolled back."""
        return ({t: list(rows) for t, rows in self._rows.items()}, list(self._quote_chunks),
                [list(c) for c in self._quote_cols])

    def _restore(self, kept: tuple) -> None:
        self._rows, self._quote_chunks, self._quote_cols = kept[0], kept[1], kept[2]

    def _describe_pending(self) -> list[str]:
        out = [f"{len(rows):,} {table} rows" for table, rows in self._rows.items() if rows]
        quotes = sum(len(c[0]) for c in self._quote_chunks) + len(self._quote_cols[0])
        if quotes:
            out.append(f"{quotes:,} quotes rows")
        if self._orders:
            out.append(f"the final state of {len(self._orders):,} orders"
                       + ("" if self.durable else " (no orders row of this run was written)"))
        out.append("the run's end (status, exit code, summary)")
        return out

    def row_counts(self, tables: tuple[str, ...]) -> dict[str, int | None]:
        """Rows of this run per table, as written (None where it cannot be read)."""
        out: dict[str, int | None] = {}
        for table in tables:
            try:
                out[table] = int(self.con.execute(f"SELECT count(*) FROM {table} WHERE run_id = ?",
                                                  [self.run_id]).fetchone()[0])
            except RECORDING_ERRORS:
                out[table] = None
        return out

    def mark_incomplete(self, exit_code: int, reason: str) -> None:
        """The run's rows do not match what the engine did: say so in the run's row."""
        self.incomplete = reason
        self._fail("checking the recording", RuntimeError(reason))
        self._try("marking the run as recording_incomplete", self.con.execute,
                  "UPDATE runs SET status = 'recording_incomplete', exit_code = ? WHERE run_id = ?",
                  [exit_code, self.run_id])

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.con.close()

    # -- rows -------------------------------------------------------------------------------
    def _row(self, table: str, row: tuple) -> None:
        if self.tap is not None:
            self.tap(table, row)
        if self.durable and table in DURABLE_TABLES and self.failed is None:
            marks = ",".join("?" * (len(row) + 1))
            if self._try(f"writing {table}", self.con.execute, f"INSERT INTO {table} VALUES ({marks})",
                         [self.run_id, *row]):
                return
        buf = self._rows[table]
        buf.append(row)
        if len(buf) >= FLUSH_ROWS and self.failed is None:
            self._try(f"writing {table}", self._flush_table, table)

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

    def pair_open_at_end(self, pair) -> None:
        """A pair still live when the run ended: its state then as ``final_state``, ``ended_ns``
        NULL, and no booked PnL (gross, net, bps and time unhedged NULL; its fills are in
        ``fills``)."""
        s = pair.signal
        self._row("pairs", (pair.pair_id, pair.code, VENUES[s.buy_venue], VENUES[s.sell_venue], pair.qty,
                            s.buy_price, s.sell_price, s.net_edge_krw, pair.started_ns, pair.first_fill_ns,
                            pair.flat_ns, None, pair.state, pair.entry_filled, pair.hedged,
                            pair.buy_value, pair.sell_value, None, pair.fees, pair.tax,
                            None, None, None, pair.used_ioc, pair.unresolved))

    def order_sent(self, rec) -> None:
        self._orders[rec.client_id] = rec
        if self.durable and self.failed is None:
            self._try("writing orders", self._insert_order, rec)

    def order_final(self, rec) -> None:
        self._orders[rec.client_id] = rec
        if self.durable and self.failed is None:
            self._try("writing orders", self._in_transaction, self._rewrite_order, rec)

    def _in_transaction(self, fn: Callable, *args) -> None:
        """``fn``'s statements as one: a process killed between them leaves all or none (an order's
        row deleted and not yet written again would free its client id for ``--resume``)."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            fn(*args)
            self.con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(*RECORDING_ERRORS):
                self.con.execute("ROLLBACK")
            raise

    def _insert_order(self, rec) -> None:
        self.con.execute(f"INSERT INTO orders VALUES ({','.join('?' * len(_ORDER_COLS))})", self._order_row(rec))

    def _rewrite_order(self, rec) -> None:
        self.con.execute("DELETE FROM orders WHERE run_id = ? AND client_id = ?", [self.run_id, rec.client_id])
        self._insert_order(rec)
    def _order_row(self, rec) -> list:
        return [self.run_id, rec.client_id, rec.pair.pair_id if rec.pair is not None else None, rec.role,
                rec.code, rec.venue, rec.side, rec.qty, rec.style, rec.price, rec.cancel_of, rec.sent_ns,
                rec.send_rc, rec.ack_ns, rec.accepted_ns, rec.order_no, rec.status, rec.filled,
                rec.avg_price, rec.fees, rec.tax, rec.late, rec.message]

    def order_event(self, now: int, rec, event: str, *, qty: int = 0, message: str = "",
                    raw: dict | None = None, late: bool = False) -> None:
        self._row("order_events", (now, rec.client_id, event, rec.order_no, qty, message, late,
                                   raw_json(raw) if raw else None))

    def fill(self, now: int, rec, ev, fee: int, tax: int) -> None:
        self._row("fills", (now, rec.client_id, rec.pair.pair_id if rec.pair is not None else None, rec.role,
                            rec.code, rec.venue, rec.side, ev.price, ev.qty, ev.exec_id, fee, tax,
                            ev.fee, ev.tax))

    def transition(self, now: int, pair_id: int, trigger: str, source: str, dest: str, *,
                   ignored: bool = False) -> None:
        self._row("transitions", (now, pair_id, trigger, source, dest, ignored))

    def telemetry(self, ts_ns: int, metric: str, value: float) -> None:
        self._row("telemetry", (ts_ns, metric, value))

    def alert(self, ts_ns: int, kind: str, message: str) -> None:
        self._row("alerts", (ts_ns, kind, message))

    def operator_command(self, ts_ns: int, who: str, command: str, code: str | None, done: bool,
                         outcome: str, received_ns: int) -> None:
        self._row("operator_commands", (ts_ns, received_ns, who, command, code, done, outcome))

    def _event(self, ts_ns: int, kind: str, code: str | None, detail: dict) -> None:
        self._row("events", (ts_ns, kind, code, detail_json(detail)))

    def balance(self, ev) -> None:
        self._event(ev.ts_ns, "balance", ev.code, {"holding": ev.holding_qty, "orderable": ev.orderable_qty,
                                                    "avg_price": ev.avg_price})

    def position_event(self, ts_ns: int, kind: str, code: str | None, detail: dict) -> None:
        """Broker truth: baselines, reconciliations, position breaks and adjustments, frozen symbols."""
        self._event(ts_ns, kind, code, detail)

    def mute_event(self, ts_ns: int, kind: str, code: str, detail: dict) -> None:
        """A symbol muted or unmuted (``symbol_muted`` / ``symbol_unmuted``): the reason and its source."""
        self._event(ts_ns, kind, code, detail)

    def window_closed(self, ts_ns: int, cancelled: list[str]) -> None:
        """The guard window's end: the client ids of the resting orders the engine cancelled."""
        self._event(ts_ns, "window_closed", None, {"cancelled": cancelled})

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
        if len(cols[0]) >= FLUSH_ROWS and self.failed is None:
            self._try("writing quotes", self._flush_quotes)

    def quotes(self, ts_ns, sym, venue, bid, ask, bid_qty, ask_qty) -> None:
        self._quote_chunks.append((ts_ns, sym, venue, bid, ask, bid_qty, ask_qty))
        if self.failed is None and sum(len(c[0]) for c in self._quote_chunks) >= FLUSH_ROWS:
            self._try("writing quotes", self._flush_quotes)

    def _flush_quotes(self) -> None:
        chunks = list(self._quote_chunks)
        if self._quote_cols[0]:
            chunks.append(tuple(np.asarray(c, dtype=np.int64) for c in self._quote_cols))
        if not chunks:
            return
        ts, sym, venue, bid, ask, bq, aq = (np.concatenate([c[i] for c in chunks]) for i in range(7))
        n = len(ts)
        quote_tbl = pa.table({
            "run_id": pa.array(np.full(n, self.run_id, dtype=np.int32)),
            "ts_ns": ts,
            "code": pa.DictionaryArray.from_arrays(pa.array(sym.astype(np.int32)), self._code_dict),
            "venue": pa.DictionaryArray.from_arrays(pa.array(venue.astype(np.int32)), self._venue_dict),
            "bid1": bid, "ask1": ask, "bid1_qty": bq, "ask1_qty": aq,
        })
        self._insert_arrow(quote_tbl, "INSERT INTO quotes SELECT run_id, ts_ns, CAST(code AS VARCHAR), "
                           "CAST(venue AS VARCHAR), bid1, ask1, bid1_qty, ask1_qty FROM kx_rows")
        self._quote_chunks = []                 # only once written: a failed insert keeps them
        self._quote_cols = [[] for _ in range(7)]

    # -- flushing ---------------------------------------------------------------------------
    def _insert_arrow(self, data: pa.Table, sql: str) -> None:
        """Run ``sql`` reading ``data`` as the view ``kx_rows`` (registered, not found by DuckDB's
        frame-inspecting replacement scan)."""
        self.con.register("kx_rows", data)
        try:
            self.con.execute(sql)
        finally:
            with contextlib.suppress(Exception):
                self.con.unregister("kx_rows")

    def _flush_table(self, table: str) -> None:
        rows = self._rows[table]
        if not rows:
            return
        types = _arrow_types(table)
        arrow = pa.table({"run_id": pa.array([self.run_id] * len(rows), pa.int32()),
                          **{name: _arrow_column(values, types[name])
                             for name, values in zip(list(types)[1:], zip(*rows))}})
        names = ", ".join(types)
        self._insert_arrow(arrow, f"INSERT INTO {table} ({names}) SELECT {names} FROM kx_rows")
        self._rows[table] = []

    def flush(self) -> None:
        """Write every buffered row and the orders' final state; raises on failure (mid-run the
        recorder flushes through ``_try``; ``finish_run`` wraps this in a transaction)."""
        for table in self._rows:
            self._flush_table(table)
        self._flush_quotes()
        if not self.durable and self._orders:
            self.con.execute("DELETE FROM orders WHERE run_id = ?", [self.run_id])
            rows = [self._order_row(r) for r in self._orders.values()]
            types = _arrow_types("orders")
            arrow = pa.table({c: _arrow_column(values, types[c]) for c, values in zip(_ORDER_COLS, zip(*rows))})
            self._insert_arrow(arrow, f"INSERT INTO orders ({', '.join(_ORDER_COLS)}) "
                                      f"SELECT {', '.join(_ORDER_COLS)} FROM kx_rows")
        elif self.durable:
            for rec in self._orders.values():
                self._rewrite_order(rec)
