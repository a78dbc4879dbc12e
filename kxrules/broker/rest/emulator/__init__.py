"""The Kiwoom REST API emulator: an ASGI app (starlette) served by uvicorn on loopback, in its own
thread and event loop, backed by the OCX emulator's broker core (``EmulatedServer``)."""
from .runner import RestEmulator

__all__ = ["RestEmulator"]
