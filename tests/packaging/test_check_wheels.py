"""scripts/check_wheels.py: the install targets resolve where they must run (binary wheels only).

The resolving tests need the package index; they skip (as the script does) when it is unreachable.
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_wheels.py"


def _load():
    spec = importlib.util.spec_from_file_location("check_wheels", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["check_wheels"] = mod
    spec.loader.exec_module(mod)
    return mod


cw = _load()
GATEWAY = next(t for t in cw.TARGETS if t.name == "gateway")
ENGINE = next(t for t in cw.TARGETS if t.name == "engine")


def _names(target) -> set[str]:
    return {cw.canonicalize_name(r.name) for r in cw.project_requirements(ROOT / "pyproject.toml", target)}


def test_gateway_set_leaves_out_what_has_no_win32_wheel():
    names = _names(GATEWAY)
    assert not names & {"duckdb", "pyarrow", "numba"}
    assert {"pykiwoom", "pyqt5", "pywin32", "msgpack", "pandas", "numpy"} <= names


def test_engine_set_on_win_amd64_has_the_recording_and_the_kernel():
    assert {"duckdb", "pyarrow", "numba", "msgpack"} <= _names(ENGINE)
    assert "pykiwoom" not in _names(ENGINE)


def test_gateway_pins_numpy_below_2_beside_pandas_2_0_3():
    reqs = {cw.canonicalize_name(r.name): r for r in cw.project_requirements(ROOT / "pyproject.toml", GATEWAY)}
    assert not reqs["numpy"].specifier.contains("2.0.0")
    assert reqs["pandas"].specifier.contains("2.0.3")


def _run(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600)
    if proc.stdout.startswith("SKIP:"):
        pytest.skip(proc.stdout.strip())
    return proc


def test_gateway_target_resolves_for_win32_cp311():
    proc = _run("--target", "gateway")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK   gateway (cp311, win32)" in proc.stdout
    assert "pykiwoom==" in proc.stdout and "-win32.whl" in proc.stdout
    assert "numpy==1." in proc.stdout
    for absent in ("duckdb==", "pyarrow==", "numba=="):
        assert absent not in proc.stdout


@pytest.mark.slow
def test_every_target_resolves():
    proc = _run()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK   engine (cp311, win_amd64)" in proc.stdout


def test_a_package_without_a_wheel_is_named(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "probe"\nversion = "0"\ndependencies = ["pyarrow>=15"]\n'
        '[project.optional-dependencies]\ngateway = []\n', encoding="utf-8")
    proc = _run("--target", "gateway", "--pyproject", str(tmp_path / "pyproject.toml"))
    assert proc.returncode == 1
    assert "FAIL gateway" in proc.stdout and "no win32 wheel for pyarrow" in proc.stdout


def test_unreachable_index_skips_with_a_reason():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--index-url", "http://127.0.0.1:9/simple"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert proc.stdout.startswith("SKIP: http://127.0.0.1:9/simple unreachable")
