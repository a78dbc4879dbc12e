"""Shared fixtures: a private copy of the shipped workspace, edited per test.

``ws`` copies the repository's rules/ sessions/ config/ reports/ into ``tmp_path`` (the real
files are never touched) and offers small helpers so that a test reads like::

    ws.replace("rules/throttle.yaml", "reserve_for_hedge: 2", "reserve_for_hedge: 5")
    line, col = ws.find("rules/throttle.yaml", "5", after="reserve_for_hedge:")
    assert ("rules/throttle.yaml", line, col, "KX401") in ws.check()
"""
from __future__ import annotations

import atexit
import copy
import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from kxrules.config import load as _load_mod
from kxrules.config import profiles as _profiles_mod
from kxrules.config import yaml_loader
from kxrules.config.compile import check_workspace
from kxrules.config.diagnostics import Diagnostics

REPO = Path(__file__).resolve().parents[1]
# replay verdicts (runtime/replay_verdicts.py) go to this test run's own directory, never the
# user's cache; the CLI's subprocesses inherit it
if "KXRULES_CACHE_DIR" not in os.environ:
    os.environ["KXRULES_CACHE_DIR"] = tempfile.mkdtemp(prefix="kxrules-test-cache-")
    atexit.register(shutil.rmtree, os.environ["KXRULES_CACHE_DIR"], True)
WORKSPACE_DIRS = ("rules", "sessions", "config", "reports")
RUN_DATE = dt.date(2026, 8, 12)   # a Wednesday; the universe's reference prices are that day's


class Workspace:
    def __init__(self, root: Path):
        self.root = root
        self.diags: Diagnostics | None = None
        self.loaded = None
        self.result = None

    def path(self, rel: str) -> Path:
        return self.root / rel

    def read(self, rel: str) -> str:
        return self.path(rel).read_text(encoding="utf-8")

    def write(self, rel: str, text: str) -> None:
        p = self.path(rel)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")

    def replace(self, rel: str, old: str, new: str, count: int = 1) -> None:
        """Replace ``old`` (which must occur) by ``new`` in a file, keeping its line endings."""
        raw = self.path(rel).read_bytes().decode("utf-8")
        assert old in raw, f"{old!r} not found in {rel}"
        self.path(rel).write_bytes(raw.replace(old, new, count).encode("utf-8"))

    def append(self, rel: str, text: str) -> None:
        with self.path(rel).open("a", encoding="utf-8", newline="") as f:
            f.write(text)

    def find(self, rel: str, needle: str, *, after: str | None = None, nth: int = 1) -> tuple[int, int]:
        """1-based (line, column) of the ``nth`` occurrence of ``needle`` outside comments,
        looking only past the first occurrence of ``after`` if given."""
        text = self.path(rel).read_bytes().decode("utf-8")
        idx = text.index(after) + len(after) - 1 if after is not None else -1
        found = 0
        while found < nth:
            idx = text.index(needle, idx + 1)
            line_start = text.rfind("\n", 0, idx) + 1
            if "#" not in text[line_start:idx]:
                found += 1
        line = text.count("\n", 0, idx) + 1
        return line, idx - line_start + 1

    def check(self, profile: str = "pilot", date: dt.date = RUN_DATE) -> set[tuple[str, int, int, str]]:
        """Run every check; the set of (path, line, col, code) found."""
        self.diags = Diagnostics(self.root)
        self.loaded, self.result = check_workspace(self.root, profile, date, self.diags)
        return {(d.path, d.position.line, d.position.col, d.code) for d in self.diags.items}

    def codes(self, profile: str = "pilot", date: dt.date = RUN_DATE) -> set[str]:
        return {f[3] for f in self.check(profile, date)}

    def messages(self, code: str) -> list[str]:
        assert self.diags is not None, "call check() first"
        return [d.message for d in self.diags.items if d.code == code]


_PARSED: dict[str, yaml_loader.YamlDoc] = {}


def _cached_load_yaml(path: Path, diags: Diagnostics):
    """load_yaml, parsing each distinct file text once per session (ruamel's round-trip parser
    dominates the suite's time; every edited file is still parsed for real). Files that produce
    diagnostics are never cached. KXRULES_TEST_NO_YAML_CACHE=1 turns this off."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return yaml_loader.load_yaml(path, diags)
    hit = _PARSED.get(text)
    if hit is None:
        before = len(diags.items)
        doc = yaml_loader.load_yaml(path, diags)
        if doc is None or len(diags.items) != before:
            return doc
        _PARSED[text] = hit = doc
    return yaml_loader.YamlDoc(path=path, data=copy.deepcopy(hit.data),
                               _keys=hit.key_positions, _values=hit.value_positions)


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    root = tmp_path / "ws"
    root.mkdir()
    for sub in WORKSPACE_DIRS:
        shutil.copytree(REPO / sub, root / sub, ignore=shutil.ignore_patterns("__pycache__"))
    # The Slack warning (KX952) depends on the environment: make it deterministic.
    monkeypatch.setenv("KXRULES_SLACK_WEBHOOK", "set-for-tests")
    monkeypatch.delenv("KXRULES_WORKSPACE", raising=False)
    if not os.environ.get("KXRULES_TEST_NO_YAML_CACHE"):
        monkeypatch.setattr(_load_mod, "load_yaml", _cached_load_yaml)
        monkeypatch.setattr(_profiles_mod, "load_yaml", _cached_load_yaml)
    return Workspace(root)
