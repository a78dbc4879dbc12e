"""The recording's tables. Every row carries ``run_id``; times are epoch nanoseconds (UTC)."""

SCHEMA_VERSION = 3     # 2: runs.server; 3: operator_commands (a new table: created where missing)

#: what brings a recording written by an older version up to this one (idempotent)
MIGRATIONS = (
    "ALTER TABLE runs ADD COLUMN IF NOT EXISTS server VARCHAR",
    "ALTER TABLE transitions ADD COLUMN IF NOT EXISTS ignored BOOLEAN",   # events a machine ignored
)

#: tables a recording of an older version may lack (a reader treats them as empty)
ADDED_TABLES = frozenset({"operator_commands"})

TABLES = {
    "runs": """
        run_id INTEGER PRIMARY KEY, profile VARCHAR, broker VARCHAR, mode VARCHAR,
        sim_seed BIGINT, source VARCHAR, run_date DATE, started_at TIMESTAMP, ended_at TIMESTAMP,
        config_hash VARCHAR, config_json VARCHAR, status VARCHAR, exit_code INTEGER,
        summary_json VARCHAR, schema_version INTEGER, server VARCHAR""",
    "signals": """
        run_id INTEGER, ts_ns BIGINT, quote_ts_ns BIGINT, code VARCHAR, buy_venue VARCHAR,
        sell_venue VARCHAR, buy_price BIGINT, sell_price BIGINT, buy_qty_visible BIGINT,
        sell_qty_visible BIGINT, qty BIGINT, gross_edge_krw BIGINT, cost_krw BIGINT,
        net_edge_krw BIGINT, admitted BOOLEAN, refuse_reason VARCHAR, pair_id BIGINT""",
    "pairs": """
        run_id INTEGER, pair_id BIGINT, code VARCHAR, buy_venue VARCHAR, sell_venue VARCHAR,
        qty BIGINT, signal_buy_price BIGINT, signal_sell_price BIGINT, signal_net_krw BIGINT,
        started_ns BIGINT, first_fill_ns BIGINT, flat_ns BIGINT, ended_ns BIGINT,
        final_state VARCHAR, entry_filled BIGINT, hedged BIGINT, buy_value BIGINT,
        sell_value BIGINT, gross_krw BIGINT, fees_krw BIGINT, tax_krw BIGINT, net_krw BIGINT,
        net_bps DOUBLE, unhedged_ms DOUBLE, used_ioc BOOLEAN, unresolved BOOLEAN""",
    "orders": """
        run_id INTEGER, client_id VARCHAR, pair_id BIGINT, role VARCHAR, code VARCHAR,
        venue VARCHAR, side VARCHAR, qty BIGINT, style VARCHAR, price BIGINT,
        cancel_of VARCHAR, sent_ns BIGINT, send_rc INTEGER, ack_ns BIGINT, accepted_ns BIGINT,
        order_no VARCHAR, status VARCHAR, filled_qty BIGINT, avg_price BIGINT, fees_krw BIGINT,
        tax_krw BIGINT, late BOOLEAN, message VARCHAR""",
    "order_events": """
        run_id INTEGER, ts_ns BIGINT, client_id VARCHAR, event VARCHAR, order_no VARCHAR,
        qty BIGINT, message VARCHAR, late BOOLEAN, raw_json VARCHAR""",
    "fills": """
        run_id INTEGER, ts_ns BIGINT, client_id VARCHAR, pair_id BIGINT, role VARCHAR,
        code VARCHAR, venue VARCHAR, side VARCHAR, price BIGINT, qty BIGINT, exec_id VARCHAR,
        fee_krw BIGINT, tax_krw BIGINT, broker_fee_krw BIGINT, broker_tax_krw BIGINT""",
    "transitions": """
        run_id INTEGER, ts_ns BIGINT, pair_id BIGINT, trigger VARCHAR, source VARCHAR, dest VARCHAR,
        ignored BOOLEAN""",
    "quotes": """
        run_id INTEGER, ts_ns BIGINT, code VARCHAR, venue VARCHAR, bid1 BIGINT, ask1 BIGINT,
        bid1_qty BIGINT, ask1_qty BIGINT""",
    "telemetry": """
        run_id INTEGER, ts_ns BIGINT, metric VARCHAR, value DOUBLE""",
    "events": """
        run_id INTEGER, ts_ns BIGINT, kind VARCHAR, code VARCHAR, detail VARCHAR""",
    "alerts": """
        run_id INTEGER, ts_ns BIGINT, kind VARCHAR, message VARCHAR""",
    # the ops view's controls: who asked, when (the engine clock; received: wall time), what, outcome
    "operator_commands": """
        run_id INTEGER, ts_ns BIGINT, received_ns BIGINT, who VARCHAR, command VARCHAR,
        code VARCHAR, done BOOLEAN, outcome VARCHAR""",
}
