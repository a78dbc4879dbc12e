"""Kiwoom REST API broker: OAuth2 token, orders over HTTP (httpx), real-time over WebSocket
(websockets), and the same engine-facing events as the OpenAPI+ adapter.

The names below load on first use, so ``validate`` can read the REST venue map
(``kxrules.broker.rest.venues``) without the ``rest`` extra installed."""
from __future__ import annotations

from typing import Any

__all__ = ["Credentials", "KiwoomRestAdapter"]


def __getattr__(name: str) -> Any:
    if name == "KiwoomRestAdapter":
        from .adapter import KiwoomRestAdapter
        return KiwoomRestAdapter
    if name == "Credentials":
        from .credentials import Credentials
        return Credentials
    raise AttributeError(name)
