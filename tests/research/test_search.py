"""`search:` sweeps: Optuna's trials on the same workers and table as a grid; a seed gives the same
trials whatever the worker count, the best row is what a standalone `kxrules trade --replay DAY
--set ...` records, and an interrupted search resumes without running anything twice."""
from __future__ import annotations

import json
import shlex

import duckdb
from typer.testing import CliRunner

from kxrules.cli.app import app
from kxrules.research.metrics import METRIC_COLUMNS, recorded_metrics
from kxrules.research.objective import rank
from kxrules.research.runner import run_sweep
from kxrules.research.store import SweepStore

from .conftest import REPO, SEARCH, _plan, _table


def test_a_search_runs_its_trials_on_every_day(searched):
    plan, outcome, table, trials, _ = searched
    assert [t["trial"] for t in trials] == list(range(6)) and all(t["state"] == "complete" for t in trials)
    settings = {t["setting"] for t in trials}
    assert len(settings) > 1 and outcome.planned == 2 * len(settings) == len(table) == len(outcome.ran)
    assert not outcome.failed and outcome.resumed == 0
    for t in trials:                        # a trial's value is the objective over its days
        rows = [r for r in table if r["setting"] == t["setting"]]
        assert len(rows) == 2 and t["value"] == sum(r["net_krw"] for r in rows)
        assert t["feasible"] == all((r["unhedged_p95_ms"] or 0) <= 1000 for r in rows)
        space = json.loads(t["setting_json"])["params"]
        assert 0 <= space["edge_buffer_ticks"] <= 2 and (space["edge_buffer_ticks"] * 2).is_integer()
        assert 100 <= space["t_hedge_ms"] <= 1000 and space["t_hedge_ms"] % 100 == 0


def test_a_seed_gives_the_same_trials_whatever_the_workers(searched, recorded, tmp_path):
    plan, _, table, trials, _ = searched
    again = _plan(recorded, tmp_path, SEARCH, seed=3)
    store = SweepStore(tmp_path / "one_worker.duckdb")
    outcome = run_sweep(again, store, workers=1)
    assert store.trials(again.sweep.name) == trials
    assert _table(store, outcome.keys, again.sweep.name) == table
    store.close()
    other = _plan(recorded, tmp_path, SEARCH, seed=4)       # another seed: other settings (nothing run)
    from kxrules.research.search import distributions, new_study

    study = new_study(other.sweep)
    asked = [study.ask(distributions(other.sweep.search)).params for _ in range(3)]
    assert [json.loads(t["setting_json"])["params"] for t in trials[:3]] != asked


def test_the_best_trial_is_what_a_standalone_trade_replay_records(searched, tmp_path):
    plan, _, table, _, _ = searched
    best = rank(table, plan.sweep.model.objective)[0]
    rows = [r for r in table if r["setting"] == best.setting]
    assert best.feasible and best.value > 0 and len(rows) == 2
    for i, row in enumerate(rows):
        data_dir = tmp_path / f"standalone{i}"
        r = CliRunner().invoke(app, shlex.split(row["command"])[1:] + ["--data-dir", str(data_dir), "--quiet"])
        assert r.exit_code == row["exit_code"], r.output
        assert {k: row[k] for k in METRIC_COLUMNS} == recorded_metrics(data_dir / "kxrules.duckdb", 1)
        con = duckdb.connect(str(data_dir / "kxrules.duckdb"), read_only=True)
        assert con.execute("SELECT config_hash FROM runs WHERE run_id = 1").fetchone()[0] == row["config_hash"]
        con.close()


def test_an_interrupted_search_resumes_without_redoing_a_run(searched, recorded, tmp_path):
    _, _, full, trials, _ = searched
    plan = _plan(recorded, tmp_path, SEARCH, seed=3)
    store = SweepStore(tmp_path / "results.duckdb")
    seen: list[str] = []

    def stop_after_four(row: dict) -> None:             # inside the first batch (3 trials x 2 days)
        seen.append(row["run_key"])
        if len(seen) == 4:
            raise KeyboardInterrupt

    first = run_sweep(plan, store, workers=2, on_row=stop_after_four)
    assert first.interrupted and len(first.ran) == 4 and len(store.done_keys(plan.sweep.name)) == 4
    assert store.trials(plan.sweep.name) == []          # no trial was told on part of its days
    second = run_sweep(plan, store, workers=2)
    assert not second.interrupted and second.resumed == 4
    assert not set(first.ran) & set(second.ran)         # no run done twice
    assert store.trials(plan.sweep.name) == trials      # the same study, the same final table
    assert _table(store, second.keys, plan.sweep.name) == full
    third = run_sweep(plan, store, workers=2)
    assert third.ran == [] and third.resumed == len(full)
    store.close()


def test_sweep_cli_runs_a_search(searched):
    plan, outcome, table, _, db = searched
    r = CliRunner().invoke(app, ["sweep", str(plan.sweep.path), "--check", "--workspace", str(REPO)])
    assert r.exit_code == 0, r.output
    assert "a tpe search of 6 trial(s) (seed 3, 3 at a time) x 2 day(s) = 12 runs at most" in r.stdout
    r = CliRunner().invoke(app, ["sweep", str(plan.sweep.path), "--db", str(db), "--workspace", str(REPO), "-q"])
    assert r.exit_code == 0, r.output
    assert f"ran 0, resumed {len(table)}, failed 0" in r.stdout
    best = rank(table, plan.sweep.model.objective)[0]
    assert f"reproduce the best on its first day: {best.command}" in r.stdout
