"""Where the YAML lives: the workspace root holds rules/, sessions/, config/ and reports/.

Resolution order: an explicit path, ``$KXRULES_WORKSPACE``, the current directory or one of its
parents that has ``config/profiles``, and finally the workspace shipped inside the package (so an
installed ``kxrules`` works out of the box; ``kxrules init DIR`` copies that one out).
"""
from __future__ import annotations

import os
from pathlib import Path

WORKSPACE_DIRS = ("rules", "sessions", "config", "reports", "sweeps")


def is_workspace(path: Path) -> bool:
    return (path / "config" / "profiles").is_dir()


def bundled_workspace() -> Path:
    """The workspace shipped with the package (wheel: kxrules/_workspace; source tree: repo root)."""
    pkg = Path(__file__).resolve().parents[1]
    inside = pkg / "_workspace"
    if is_workspace(inside):
        return inside
    return pkg.parent


def find_workspace(explicit: str | Path | None = None) -> Path:
    if explicit:
        return Path(explicit).resolve()
    env = os.environ.get("KXRULES_WORKSPACE")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if is_workspace(candidate):
            return candidate
    return bundled_workspace()


def universe_path(name: str, workspace: Path | None = None) -> Path:
    """A universe file by short name (``pilot``, ``nxt_eligible``) or as a path."""
    p = Path(name)
    if p.suffix == ".csv" or p.exists():
        return p.resolve()
    return (workspace or find_workspace()) / "config" / "universe" / f"{name}.csv"
