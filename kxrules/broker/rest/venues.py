"""The REST venue mapping as data (``config/venues/kiwoom_rest.yaml``): ``dmst_stex_tp`` and
``trde_tp`` per venue and style, the mock server's venues, the declared rate limits."""
from __future__ import annotations

from pathlib import Path

from ...config.schema.rest_venues import (Limit, Limits, RestVenue, RestVenueMap, TokenSpec,
                                          WebSocketSpec)

__all__ = ["Limit", "Limits", "RestVenue", "RestVenueMap", "TokenSpec", "WebSocketSpec",  # the adapter's names
           "default_rest_venue_path", "load_rest_venue_map"]


def default_rest_venue_path() -> Path:
    from kxrules.config.workspace import bundled_workspace

    return bundled_workspace() / "config" / "venues" / "kiwoom_rest.yaml"


def load_rest_venue_map(path: str | Path | None = None) -> RestVenueMap:
    """Errors are ``ValueError`` naming ``file:line:col``."""
    from ...config.model_file import load_model_file

    return load_model_file(Path(path) if path else default_rest_venue_path(), RestVenueMap, "the REST venue map")
