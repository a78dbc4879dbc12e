"""The venue map the adapter and the emulator run with: its schema lives with the other
workspace files' (``config/schema/venues.py``); this module finds and loads the file."""
from __future__ import annotations

from pathlib import Path

from ..config.model_file import load_model_file
from ..config.schema.venues import VenueMapConfig
from ..config.workspace import bundled_workspace

__all__ = ["VenueMapConfig", "default_venue_map_path", "load_venue_map_file"]  # the broker's name for it


def default_venue_map_path() -> Path:
    return bundled_workspace() / "config" / "venues" / "kiwoom.yaml"


def load_venue_map_file(path: str | Path | None = None) -> VenueMapConfig:
    """Load + validate one venue map outside a workspace (tests, emulator defaults); errors are
    ``ValueError`` naming ``file:line:col``."""
    return load_model_file(Path(path) if path else default_venue_map_path(), VenueMapConfig, "the venue map")
