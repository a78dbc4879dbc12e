"""The REST venue mapping as data (``config/venues/kiwoom_rest.yaml``): ``dmst_stex_tp`` and
``trde_tp`` per venue and style, the mock server's venues, the declared rate limits."""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ..venues import Style


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RestVenue(_Frozen):
    dmst_stex_tp: str = Field(pattern=r"^(KRX|NXT|SOR)$")
    trde_tp: dict[Style, str] = Field(description="매매구분 per order style")


class Limit(_Frozen):
    capacity: int = Field(ge=1, le=100)
    window_ms: int = Field(ge=100, le=60_000)


class Limits(_Frozen):
    orders: Limit
    queries: Limit


class TokenSpec(_Frozen):
    renew_before_s: int = Field(300, ge=1, le=86_400)


class WebSocketSpec(_Frozen):
    group: str = "1"
    reconnect_backoff_ms: tuple[int, ...] = Field((250, 500, 1000, 2000, 5000), min_length=1)


class RestVenueMap(_Frozen):
    venues: dict[str, RestVenue]
    mock_venues: tuple[str, ...] = ("KRX",)
    limits: Limits
    token: TokenSpec = TokenSpec()
    websocket: WebSocketSpec = WebSocketSpec()

    def trde_tp(self, venue: str, style: str) -> str | None:
        v = self.venues.get(venue)
        return None if v is None else v.trde_tp.get(style)  # type: ignore[call-overload]

    def stex(self, venue: str) -> str:
        return self.venues[venue].dmst_stex_tp


def default_rest_venue_path() -> Path:
    from kxrules.config.workspace import bundled_workspace

    return bundled_workspace() / "config" / "venues" / "kiwoom_rest.yaml"


def load_rest_venue_map(path: str | Path | None = None) -> RestVenueMap:
    from ruamel.yaml import YAML

    p = Path(path) if path else default_rest_venue_path()
    return RestVenueMap.model_validate(YAML(typ="safe").load(p.read_text(encoding="utf-8")))
