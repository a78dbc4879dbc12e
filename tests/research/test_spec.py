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


def test_days_that_match_nothing_are_an_error_when_they_are_needed(tmp_path):
    sweep, found = _load(tmp_path, GOOD, resolve_days=True)
    assert sweep is None and (4, 3, "KX962") in found


def test_validate_checks_the_workspace_sweep_files(tmp_path):
    for sub in ("rules", "sessions", "config", "reports", "sweeps"):
        shutil.copytree(REPO / sub, tmp_path / sub)
    (tmp_path / "sweeps" / "bad.yaml").write_text(GOOD.replace("[600, 1000]", "[600, 70000]"), encoding="utf-8")
    r = CliRunner().invoke(app, ["validate", "--workspace", str(tmp_path), "--date", "2026-11-23"])
    assert r.exit_code == 1
    assert "sweeps/bad.yaml:7:21: error KX104" in r.stdout


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
