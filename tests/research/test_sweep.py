"""`kxrules sweep`: every row is what a standalone `kxrules trade --replay DAY --set ...` records,
and an interrupted sweep resumes without doing any run twice (on Ray: test_ray.py)."""
from __future__ import annotations

import shlex
import tempfile
from pathlib import Path

from typer.testing import CliRunner

from kxrules.cli.app import app
from kxrules.research.metrics import METRIC_COLUMNS, recorded_metrics
from kxrules.research.runner import run_sweep
from kxrules.research.store import SweepStore

from .conftest import DAYS, REPO, _plan, _table


def test_every_row_equals_a_standalone_trade_replay(swept, tmp_path):
    plan, outcome, table, _ = swept
    assert len(plan.runs) == 8 and not outcome.failed and len(outcome.ran) == 8 and len(table) == 8
    assert len({r["pairs_digest"] for r in table}) > 1, "the settings should trade differently"
    assert all(r["pairs"] > 0 for r in table)
    for i, row in enumerate(table):
        args = shlex.split(row["command"])[1:]          # "kxrules trade ..." as the row says
        data_dir = tmp_path / f"standalone{i}"
        r = CliRunner().invoke(app, args + ["--data-dir", str(data_dir), "--quiet"])
        assert r.exit_code == row["exit_code"], r.output
        alone = recorded_metrics(data_dir / "kxrules.duckdb", 1)
        assert {k: row[k] for k in METRIC_COLUMNS} == alone, row["setting"]


def test_an_interrupted_sweep_resumes_without_redoing_a_run(swept, recorded, tmp_path):
    plan, _, full, _ = swept
    plan = _plan(recorded, tmp_path)
    store = SweepStore(tmp_path / "results.duckdb")
    seen: list[str] = []

    def stop_after_three(row: dict) -> None:
        seen.append(row["run_key"])
        if len(seen) == 3:
            raise KeyboardInterrupt

    first = run_sweep(plan, store, workers=2, on_row=stop_after_three)
    assert first.interrupted and len(first.ran) == 3
    assert len(store.done_keys(plan.sweep.name)) == 3          # only finished runs have rows
    second = run_sweep(plan, store, workers=2)
    assert not second.interrupted and second.resumed == 3
    assert not set(first.ran) & set(second.ran)                 # no run done twice
    assert set(first.ran) | set(second.ran) == plan.keys
    assert _table(store, plan.keys, plan.sweep.name) == full                          # the same final table
    third = run_sweep(plan, store, workers=2)
    assert third.ran == [] and third.resumed == 8
    store.close()
    assert not list(Path(tempfile.gettempdir()).glob("kxrules-sweep-*")), "scratch recordings left behind"


def test_sweep_cli_checks_and_ranks(swept, recorded, tmp_path):
    plan, _, table, db = swept
    r = CliRunner().invoke(app, ["sweep", str(plan.sweep.path), "--check", "--workspace", str(REPO)])
    assert r.exit_code == 0, r.output
    assert "4 setting(s) x 2 day(s) = 8 runs" in r.stdout
    # everything is in the results already: the command resumes all of it and ranks the settings
    r = CliRunner().invoke(app, ["sweep", str(plan.sweep.path), "--db", str(db), "--workspace", str(REPO), "-q"])
    assert r.exit_code == 0, r.output
    assert "ran 0, resumed 8, failed 0" in r.stdout
    best = max(sum(x["net_krw"] for x in table if x["setting"] == s) for s in {row["setting"] for row in table})
    ranking = r.stdout.split("maximize net_krw", 1)[1].splitlines()
    assert ranking[2].split()[0] == "1" and f" {best:,} " in ranking[2]


def test_a_worker_records_each_run_in_memory_and_drops_it(recorded, tmp_path, monkeypatch):
    """A worker's run records into its process's memory: the row is what the same replay
    records into a file, no recording file is opened, and the memory is let go afterwards."""
    import duckdb

    from kxrules.storage import recorder

    opened = []
    real_connect = duckdb.connect
    monkeypatch.setattr(recorder.duckdb, "connect", lambda db, **kw: opened.append(db) or real_connect(db, **kw))
    from kxrules.broker.emulator.remembered import remember_draws
    from kxrules.research import worker as worker_module
    from kxrules.research.settings import Setting
    from kxrules.research.worker import RunSpec, SweepWorker

    # a worker freezes its process's heap for good: not this test process's
    monkeypatch.setattr(worker_module, "freeze_process_startup", lambda: None)
    from kxrules.runtime.trade import TradeOptions, run_simulation
    from kxrules.storage.recorder import in_process

    worker = SweepWorker(REPO, "sim", recorded.universe, tmp_path / "scratch")
    try:
        row = worker.run(RunSpec("a", Setting(), recorded.sources[0], DAYS[0]))
        assert opened and all(db == in_process("sweep_run_1") for db in opened), opened
        con = duckdb.connect(in_process("sweep_run_1"))      # the run's name: an empty database now
        assert con.execute("SELECT count(*) FROM information_schema.tables").fetchone()[0] == 0
        con.close()
    finally:
        worker.close()
        remember_draws(0)                          # the worker kept its draws for the process
    monkeypatch.undo()
    profile = worker.profile_for(DAYS[0])
    run_simulation(profile, TradeOptions(broker="sim", replay=recorded.sources[0], data_dir=tmp_path / "file"))
    assert row["pairs"] > 0
    assert {k: row[k] for k in METRIC_COLUMNS} == recorded_metrics(tmp_path / "file" / "kxrules.duckdb", 1)
