"""The same seed and market file through the OCX emulator (virtual clock) and through the REST
emulator (real sockets, a shared timeline at 5x wall time): the same admitted signals and the
same pairs, ending the same way.

Differences that are expected, and not compared:
- refused signals ('throttle', 'busy'): while a pair works, the engine re-evaluates the standing
  edge at each batch; the OCX replay batches quotes at their own timestamps, the REST run at the
  times frames arrive over the socket, so the number of re-evaluations differs;
- a signal's quote time: it is when the adapter saw the quote (after the OCX emulator's drawn
  real-data latency, or after the socket), so the times differ by milliseconds;
- the quote count: the REST emulator's market keeps quoting during the wind-down after
  ``--until`` (as a live market does); the replay stops feeding there;
- time is wall time on the REST side: on a loaded machine a sped-up timeline turns milliseconds
  of scheduling into hundreds of session milliseconds (ack timeouts), hence 5x here;
- fill prices, times and fees: the emulator draws latencies and fill odds from one seeded stream
  in the order requests reach it, which wall-time scheduling shifts.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from kxrules.cli.app import app as kxrules_app

from ..engine.scenario import DAY, REPO
from .test_run_end import _small_universe

UNTIL = "09:02:10"          # seed 7 on these ten symbols: admitted signals at 09:01:10 and 09:02:02


def _common(uni: Path, data: Path) -> list[str]:
    return ["--profile", "pilot", "--seed", "7", "--date", str(DAY), "--until", UNTIL, "--universe", str(uni),
            "--data-dir", str(data), "--workspace", str(REPO), "--quiet"]


def _read(db: Path) -> tuple[list, list]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        signals = con.execute("SELECT quote_ts_ns, code, buy_venue, sell_venue, buy_price, sell_price FROM signals "
                              "WHERE admitted ORDER BY quote_ts_ns, code").fetchall()
        pairs = con.execute("SELECT code, buy_venue, sell_venue, qty, signal_buy_price, signal_sell_price, final_state "
                            "FROM pairs ORDER BY pair_id").fetchall()
        return signals, pairs
    finally:
        con.close()


@pytest.mark.slow          # ~35 s of wall time: the REST side runs on real sockets at 5x
def test_rest_and_ocx_emulators_see_the_same_signals_and_pairs(tmp_path, monkeypatch):
    monkeypatch.setenv("KXRULES_KIWOOM_APPKEY", "cmp-appkey-0123456789abcdefghij")
    monkeypatch.setenv("KXRULES_KIWOOM_SECRETKEY", "cmp-secret-0123456789abcdefghij")
    uni = _small_universe(tmp_path, 10)
    runner = CliRunner()
    ocx = runner.invoke(kxrules_app, ["trade", "--broker", "sim", "--synthetic", *_common(uni, tmp_path / "ocx")])
    assert ocx.exit_code == 0, ocx.output
    market, = (tmp_path / "ocx" / "synthetic").glob("*.parquet")          # the same market file for both
    rest = runner.invoke(kxrules_app, ["trade", "--broker", "kiwoom_rest", "--emulator", "--speed", "5",
                                       "--replay", str(market), *_common(uni, tmp_path / "rest")])
    assert rest.exit_code == 0, rest.output
    ocx_signals, ocx_pairs = _read(tmp_path / "ocx" / "kxrules.duckdb")
    rest_signals, rest_pairs = _read(tmp_path / "rest" / "kxrules.duckdb")
    assert len(ocx_pairs) >= 2
    # a quote's time is when the adapter saw it: after the OCX emulator's drawn real-data latency,
    # or after the socket; the signals are the same quotes, well within a second of each other
    assert [s[1:] for s in rest_signals] == [s[1:] for s in ocx_signals]
    assert all(abs(r[0] - o[0]) < 1_000_000_000 for r, o in zip(rest_signals, ocx_signals))
    assert rest_pairs == ocx_pairs
