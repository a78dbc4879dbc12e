"""Profile resolution: find a profile, follow ``extends``, merge, and remember where keys came from.

A profile may extend another and override any key (mappings merge key by key, everything else
replaces). Diagnostics about a merged key point at the file that last set it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostics, Position
from .yaml_loader import DataPath, YamlDoc, load_yaml

PROFILE_DIR = Path("config") / "profiles"


@dataclass(slots=True)
class DocLocator:
    """Locator for a single YAML document."""

    doc: YamlDoc

    def locate(self, loc: tuple, *, key: bool = False) -> tuple[Path, Position]:
        return self.doc.path, self.doc.position(tuple(loc), key=key)


@dataclass(slots=True)
class MergedProfile:
    data: dict[str, Any]
    chain: list[Path]                               # child first
    origin: dict[DataPath, YamlDoc] = field(default_factory=dict)   # which file set each key

    def locate(self, loc: tuple, *, key: bool = False) -> tuple[Path, Position]:
        loc = tuple(loc)
        while loc:
            if loc in self.origin:
                doc = self.origin[loc]
                return doc.path, doc.position(loc, key=key)
            loc = loc[:-1]
        return self.chain[0], Position(1, 1)


def profile_path(workspace: Path, name_or_path: str) -> Path:
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml"):
        return p if p.is_absolute() else (Path.cwd() / p)
    return workspace / PROFILE_DIR / f"{name_or_path}.yaml"


def available_profiles(workspace: Path) -> list[str]:
    return sorted(p.stem for p in (workspace / PROFILE_DIR).glob("*.yaml"))


def _record(doc: YamlDoc, data: Any, loc: DataPath, origin: dict) -> None:
    origin[loc] = doc                    # positions are looked up only when something is reported
    if isinstance(data, dict):
        for k, v in data.items():
            _record(doc, v, loc + (k,), origin)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            _record(doc, v, loc + (i,), origin)


def _merge(base: Any, top: Any, doc: YamlDoc, loc: DataPath, origin: dict) -> Any:
    if isinstance(base, dict) and isinstance(top, dict):
        out = dict(base)
        for k, v in top.items():
            out[k] = _merge(base.get(k), v, doc, loc + (k,), origin)
        return out
    # replaced wholesale: forget the parent's positions below this point
    for stale in [k for k in origin if k[: len(loc)] == loc and len(k) > len(loc)]:
        del origin[stale]
    _record(doc, top, loc, origin)
    return top


def load_profile(workspace: Path, name_or_path: str, diags: Diagnostics) -> MergedProfile | None:
    """Load a profile and its ``extends`` chain; None (with diagnostics) if it cannot be read."""
    chain: list[YamlDoc] = []
    seen: list[Path] = []
    path = profile_path(workspace, name_or_path)
    if not path.exists():
        known = ", ".join(available_profiles(workspace)) or "none"
        diags.add(path, None, "KX201", f"profile '{name_or_path}' not found (available: {known})")
        return None
    while True:
        if path.resolve() in seen:
            # point at the `extends:` that closes the cycle
            diags.add(seen[-1], chain[-1].position(("extends",)), "KX202",
                      "profile extends itself: " + " -> ".join(p.stem for p in seen + [path]))
            return None
        seen.append(path.resolve())
        doc = load_yaml(path, diags)
        if doc is None:
            return None
        if not isinstance(doc.data, dict):
            diags.add(path, Position(1, 1), "KX103", "a profile must be a mapping of keys")
            return None
        chain.append(doc)
        parent = doc.data.get("extends")
        if not parent:
            break
        if not isinstance(parent, str):
            diags.add(path, doc.position(("extends",)), "KX103", "extends: must be a profile name")
            return None
        nxt = profile_path(workspace, parent)
        if not nxt.exists():
            diags.add(path, doc.position(("extends",)), "KX201",
                      f"extends: profile '{parent}' not found")
            return None
        path = nxt

    origin: dict = {}
    merged: Any = {}
    for doc in reversed(chain):  # root ancestor first, the requested profile last
        merged = _merge(merged, doc.data, doc, (), origin)
    merged.pop("extends", None)
    return MergedProfile(data=merged, chain=[d.path for d in chain], origin=origin)
