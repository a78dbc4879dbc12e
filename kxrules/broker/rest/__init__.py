"""Kiwoom REST API broker: OAuth2 token, orders over HTTP (httpx), real-time over WebSocket
(websockets), and the same engine-facing events as the OpenAPI+ adapter."""
from .adapter import KiwoomRestAdapter
from .credentials import Credentials

__all__ = ["Credentials", "KiwoomRestAdapter"]
