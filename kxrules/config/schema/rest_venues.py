"""config/venues/kiwoom_rest.yaml: the REST venue mapping as data (``dmst_stex_tp`` and
``trde_tp`` per venue and style, the mock server's venues, the declared rate limits)."""
from __future__ import annotations

from pydantic import Field

from ...market import OrderStyle
from .common import Strict


class RestVenue(Strict):
    dmst_stex_tp: str = Field(pattern=r"^(KRX|NXT|SOR)$")
    trde_tp: dict[OrderStyle, str] = Field(description="매매구분 per order style")


class Limit(Strict):
    capacity: int = Field(ge=1, le=100)
    window_ms: int = Field(ge=100, le=60_000)


class Limits(Strict):
    orders: Limit
    queries: Limit


class TokenSpec(Strict):
    renew_before_s: int = Field(300, ge=1, le=86_400)


class WebSocketSpec(Strict):
    group: str = "1"
    reconnect_backoff_ms: tuple[int, ...] = Field((250, 500, 1000, 2000, 5000), min_length=1)


class RestVenueMap(Strict):
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
