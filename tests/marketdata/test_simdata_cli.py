"""`kxrules simdata`, registered on a throwaway Typer app (the main app registers it too)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from kxrules.cli.simdata_cmd import simdata
from kxrules.marketdata.quote_format import validate_quote_file

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    app.command("simdata")(simdata)
    app.command("noop")(lambda: None)  # two commands, so the subcommand name is required
    return app


def run(app: typer.Typer, *args: str):
    return CliRunner().invoke(app, ["simdata", "--workspace", str(REPO), *args])


def test_writes_a_small_day(app, tmp_path: Path) -> None:
    out = tmp_path / "sub" / "day.parquet"
    res = run(app, "--out", str(out), "--symbols", "3", "--seed", "9", "--date", "2026-11-24",
              "--start", "10:00:00", "--minutes", "2", "--rate-multiplier", "1.5")
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wrote ") and "3 symbols" in lines[0]
    rows = int(lines[0].split()[1].replace(",", ""))
    assert pq.ParquetFile(out).metadata.num_rows == rows > 0
    assert validate_quote_file(out) == []
    ts = pq.read_table(out, columns=["ts_ns"]).column("ts_ns").to_numpy()
    kst = dt.timezone(dt.timedelta(hours=9))
    start = int(dt.datetime(2026, 11, 24, 10, tzinfo=kst).timestamp()) * 10**9
    assert ts.min() >= start and ts.max() < start + 120 * 10**9


def test_more_symbols_than_pilot_come_from_nxt_eligible(app, tmp_path: Path) -> None:
    out = tmp_path / "d.parquet"
    res = run(app, "--out", str(out), "--symbols", "55", "--start", "10:00:00", "--minutes", "0.1")
    assert res.exit_code == 0, res.output
    assert "55 symbols" in res.stdout


@pytest.mark.parametrize("args, message", [
    (("--date", "2026-02-30"), "--date must be YYYY-MM-DD"),
    (("--universe", "no_such"), "universe file not found"),
    (("--start", "9am"), "--start"),
    (("--start", "16:00:00"), "after the last session close"),
    (("--symbols", "0"), "--symbols must be positive"),
    (("--market", "missing.yaml"), "market model"),
])
def test_bad_input_is_one_line_on_stderr(app, tmp_path: Path, args, message: str) -> None:
    res = run(app, "--out", str(tmp_path / "x.parquet"), *args)
    assert res.exit_code == 2
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("kxrules: error:") and message in err[0], err
    assert "Traceback" not in res.output
    assert not (tmp_path / "x.parquet").exists()


def test_out_is_required(app) -> None:
    res = CliRunner().invoke(app, ["simdata"])
    assert res.exit_code == 2 and "--out" in res.output
