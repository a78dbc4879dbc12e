"""Sweep files: checked like every other file (file:line:col), settings applied with YAML's bounds."""
from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from kxrules.cli.app import app
from kxrules.config.compile import compile_profile
from kxrules.config.diagnostics import Diagnostics
from kxrules.research.settings import Setting, SettingError, apply_setting, parse_set_options
from kxrules.research.spec import load_sweep

from .conftest import REPO

GOOD = """\
name: t
profile: sim
days:
  paths: ["days/*.parquet"]
grid:
  edge_buffer_ticks: [1, 2]
  t_hedge_ms: [600, 1000]
symbols:
  "005930": {t_hedge_ms: 800}
objective:
  maximize: net_krw
  constraints:
    unhedged_p95_ms: {max: 1000}
"""


def _load(tmp_path, text: str, **kw):
    path = tmp_path / "sweeps" / "s.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    diags = Diagnostics(REPO)
    return load_sweep(path, REPO, diags, **kw), {(d.position.line, d.position.col, d.code) for d in diags.items}


def test_the_shipped_example_and_a_good_file_load(tmp_path):
    sweep, found = _load(tmp_path, (REPO / "sweeps/edge_grid.yaml").read_text(encoding="utf-8"))
    assert sweep is not None and not found
    sweep, found = _load(tmp_path, (REPO / "sweeps/edge_search.yaml").read_text(encoding="utf-8"))
    assert sweep is not None and not found and sweep.search.trials == 40
    sweep, found = _load(tmp_path, GOOD)
    assert not found
    assert [s.label() for s in sweep.settings][0] == "edge_buffer_ticks=1 t_hedge_ms=600 005930.t_hedge_ms=800"
    assert len(sweep.settings) == 4


@pytest.mark.parametrize("old,new,where,code", [
    ("  t_hedge_ms: [600, 1000]", "  t_hedge_msx: [600, 1000]", (7, 3), "KX961"),
    ("[600, 1000]", "[600, 70000]", (7, 21), "KX104"),
    ("[1, 2]", "[1, \"2\"]", (6, 26), "KX103"),
    ("maximize: net_krw", "maximize: nett", (11, 13), "KX104"),
    ("profile: sim", "profile: nope", (2, 10), "KX201"),
    ("name: t", "name: t\nwhatever: 1", (2, 1), "KX101"),
])
def test_mistakes_are_located(tmp_path, old, new, where, code):
    sweep, found = _load(tmp_path, GOOD.replace(old, new))
    assert sweep is None
    assert (*where, code) in found, found


SEARCH = """\
name: s
profile: sim
days:
  paths: ["days/*.parquet"]
search:
  trials: 20
  seed: 7
  params:
    edge_buffer_ticks: {low: 0, high: 3, step: 0.5}
    t_hedge_ms: {low: 200, high: 1000, step: 100}
    slice_qty: {choices: [1, 2]}
objective:
  maximize: net_krw
"""


def test_a_search_file_loads():
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        sweep, found = _load(Path(d), SEARCH)
    assert not found and sweep.search.trials == 20 and sweep.search.sampler == "tpe" and sweep.search.batch == 4
    from kxrules.research.search import corner_settings, distributions

    dists = distributions(sweep.search)
    assert type(dists["t_hedge_ms"]).__name__ == "IntDistribution" and dists["t_hedge_ms"].step == 100
    assert type(dists["edge_buffer_ticks"]).__name__ == "FloatDistribution"
    assert type(dists["slice_qty"]).__name__ == "CategoricalDistribution"
    assert [c.label() for c in corner_settings(sweep)] == ["edge_buffer_ticks=0 slice_qty=1 t_hedge_ms=200",
                                                           "edge_buffer_ticks=3 slice_qty=2 t_hedge_ms=1000"]


@pytest.mark.parametrize("old,new,where,code", [
    ("    t_hedge_ms: {low: 200", "    t_hedge_msx: {low: 200", (10, 5), "KX961"),
    ("high: 1000, step: 100}", "high: 70000, step: 100}", (10, 34), "KX104"),     # past the parameter's bound
    ("{low: 200, high: 1000", "{low: 1000, high: 200", (10, 17), "KX963"),
    ("step: 100}", "step: 300}", (10, 17), "KX963"),                               # 800 is no multiple of 300
    ("step: 100}", "step: 100.0}", (10, 46), "KX963"),                             # t_hedge_ms is whole
    ("{low: 200,", "{low: 200.0,", (10, 23), "KX103"),
    ("{low: 0, high: 3, step: 0.5}", "{low: 0, high: 3, log: true}", (9, 24), "KX963"),
    ("{choices: [1, 2]}", "{choices: [1, 2], low: 1}", (11, 16), "KX963"),
    ("[1, 2]", "[1, 2000]", (11, 30), "KX104"),
    ("  trials: 20", "  trials: 0", (6, 11), "KX104"),
    ("  seed: 7", "  seed: 7\n  sampler: cmaes", (8, 12), "KX104"),
    ("  seed: 7", "  seed: 7\n  sampler: random\n  startup_trials: 5", (9, 3), "KX963"),
    ("  seed: 7", "  seed: 7\n  trails: 5", (8, 3), "KX101"),
    ("search:", "grid:\n  t_hedge_ms: [600]\nsearch:", (7, 1), "KX963"),
])
def test_search_mistakes_are_located(tmp_path, old, new, where, code):
    assert old in SEARCH
    sweep, found = _load(tmp_path, SEARCH.replace(old, new))
    assert sweep is None
    assert (*where, code) in found, found


def test_a_search_reaching_past_the_risk_limit_is_refused_before_it_runs(recorded, tmp_path):
    """The plan applies the space's corners: t_hedge_ms up to 50000 >= risk.max_unhedged_ms."""
    from kxrules.research.runner import SweepError, plan_sweep

    text = SEARCH.replace('paths: ["days/*.parquet"]', f"library: {recorded.library}") \
        .replace("high: 1000, step: 100", "high: 50000, step: 100")
    sweep, found = _load(tmp_path, f"universe: {recorded.universe}\n" + text)
    assert sweep is not None, found
    with pytest.raises(SweepError, match="max_unhedged_ms"):
        plan_sweep(sweep)


def test_days_that_match_nothing_are_an_error_when_they_are_needed(tmp_path):
    sweep, found = _load(tmp_path, GOOD, resolve_days=True)
    assert sweep is None and (4, 3, "KX962") in found


def test_validate_checks_the_workspace_sweep_files(tmp_path):
    for sub in ("rules", "sessions", "config", "reports", "sweeps"):
        shutil.copytree(REPO / sub, tmp_path / sub)
    (tmp_path / "sweeps" / "bad.yaml").write_text(GOOD.replace("[600, 1000]", "[600, 70000]"), encoding="utf-8")
    (tmp_path / "sweeps" / "bad_search.yaml").write_text(SEARCH.replace("step: 100}", "step: 300}"), encoding="utf-8")
    r = CliRunner().invoke(app, ["validate", "--workspace", str(tmp_path), "--date", "2026-11-23"])
    assert r.exit_code == 1
    assert "sweeps/bad.yaml:7:21: error KX104" in r.stdout
    assert "sweeps/bad_search.yaml:10:17: error KX963" in r.stdout and "not a multiple of step 300" in r.stdout


def test_a_setting_changes_the_parameters_and_the_config_hash():
    base = compile_profile(REPO, "sim", dt.date(2026, 11, 23))
    s = parse_set_options(["edge_buffer_ticks=2", "t_hedge_ms=600", "005930.t_hedge_ms=700"])
    assert s == Setting({"edge_buffer_ticks": 2, "t_hedge_ms": 600}, {"005930": {"t_hedge_ms": 700}})
    p = apply_setting(base, s)
    i, j = p.index_of("005930"), p.index_of("000660")
    assert p.params["t_hedge_ms"][i] == 700 and p.params["t_hedge_ms"][j] == 600
    assert np.all(p.params["edge_buffer_ticks"] == 2)        # 000660's own override is 2 as well
    assert p.config_hash != base.config_hash
    assert p.snapshot["files"]["edge"]["parameters"]["t_hedge_ms"] == 600
    assert apply_setting(base, parse_set_options(["edge_buffer_ticks=2", "t_hedge_ms=600",
                                                  "005930.t_hedge_ms=700"])).config_hash == p.config_hash
    assert base.params["t_hedge_ms"][j] == 1000                # the base is untouched


@pytest.mark.parametrize("items,needle", [
    (["t_hedge_ms=10"], "greater than or equal to 50"),
    (["nope=1"], "unknown parameter"),
    (["t_hedge_ms"], "NAME=VALUE"),
    (["999999.t_hedge_ms=600"], "outside the universe"),
    (["t_hedge_ms=60000"], "max_unhedged_ms"),
])
def test_bad_settings_are_refused(items, needle):
    base = compile_profile(REPO, "sim", dt.date(2026, 11, 23))
    with pytest.raises(SettingError, match=needle):
        apply_setting(base, parse_set_options(items))


def test_trade_set_refuses_a_bad_value_before_trading(tmp_path):
    r = CliRunner().invoke(app, ["trade", "-p", "sim", "--broker", "sim", "--synthetic", "--set", "t_hedge_ms=10",
                                 "--data-dir", str(tmp_path), "--workspace", str(REPO)])
    assert r.exit_code == 2
    assert "t_hedge_ms" in r.output and not (tmp_path / "kxrules.duckdb").exists()
