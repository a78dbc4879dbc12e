"""Load a whole workspace for one profile: the profile, every file it names, validated.

Loading and checking are kept apart (freqtrade's load_config / config_validation split): this
module only reads and schema-validates; `checks/` holds the cross-file lint; `compile.py` builds
the immutable CompiledProfile the engine runs on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .diagnostics import Diagnostics, Position
from .profiles import DocLocator, MergedProfile, load_profile
from .schema.emulator import EmulatorConfig
from .schema.machine import MachineFile
from .schema.market import SyntheticMarketConfig
from .schema.money import FeesFile, TaxFile
from .schema.profile import ProfileFile
from .schema.rest_venues import RestVenueMap
from .schema.sessions import CalendarFile, SessionsFile
from .schema.strategy import EdgeFile, OverridesFile, RiskFile, ThrottleFile
from .schema.venues import VenueMapConfig
from .universe import Symbol, load_universe
from .validate_model import validate_model
from .yaml_loader import YamlDoc, load_yaml

# profile `files:` key -> model (every workspace file's schema lives in config/schema)
FILE_MODELS: dict[str, type[BaseModel]] = {
    "sessions": SessionsFile,
    "calendar": CalendarFile,
    "fees": FeesFile,
    "tax": TaxFile,
    "edge": EdgeFile,
    "throttle": ThrottleFile,
    "risk": RiskFile,
    "machine": MachineFile,
    "overrides": OverridesFile,
    "venues": VenueMapConfig,
    "emulator": EmulatorConfig,
    "market": SyntheticMarketConfig,
    "rest_venues": RestVenueMap,
}


@dataclass(slots=True)
class LoadedWorkspace:
    root: Path
    profile_source: MergedProfile
    profile: ProfileFile
    models: dict[str, Any] = field(default_factory=dict)     # files key -> validated model
    docs: dict[str, YamlDoc] = field(default_factory=dict)    # files key -> YAML with positions
    paths: dict[str, Path] = field(default_factory=dict)      # files key -> resolved path
    universe: list[Symbol] = field(default_factory=list)

    def locate(self, key: str, loc: tuple[Any, ...] = (), *,
               key_pos: bool = False) -> tuple[Path, Position | None]:
        """(path, position) of a location inside one of the profile's files."""
        doc = self.docs.get(key)
        if doc is None:
            return self.paths.get(key, self.root), None
        return DocLocator(doc).locate(loc, key=key_pos)


def load_workspace(root: Path, profile_name: str, diags: Diagnostics,
                   file_overrides: dict[str, Path] | None = None) -> LoadedWorkspace | None:
    """Load and schema-check a profile's files; ``file_overrides`` swaps files (e.g. the universe)."""
    merged = load_profile(root, profile_name, diags)
    if merged is None:
        return None
    profile = validate_model(ProfileFile, merged.data, merged, diags, what="profile")
    if profile is None:
        return None
    ws = LoadedWorkspace(root=root, profile_source=merged, profile=profile)
    file_overrides = file_overrides or {}

    for key, rel in profile.files.model_dump().items():
        if key in file_overrides:
            rel = str(Path(file_overrides[key]).resolve())
        if rel is None:
            continue
        path = (root / rel).resolve()
        ws.paths[key] = path
        if not path.exists():
            fpath, pos = merged.locate(("files", key))
            diags.add(fpath, pos, "KX203", f"files.{key}: '{rel}' does not exist")
            continue
        if key == "universe":
            ws.universe = load_universe(path, diags) or []
            continue
        doc = load_yaml(path, diags)
        if doc is None:
            continue
        ws.docs[key] = doc
        model = validate_model(FILE_MODELS[key], doc.data if doc.data is not None else {},
                               DocLocator(doc), diags, what=key)
        if model is not None:
            ws.models[key] = model
    return ws
