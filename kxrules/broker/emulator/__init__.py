"""The Kiwoom emulator: an ``OcxLike`` control over an emulated broker server and matcher.
(Exports load lazily: validating the emulator's YAML needs only ``config``.)"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"EmulatorConfig": "config", "default_fee_fn": "config", "load_emulator_config": "config",
            "KiwoomEmulator": "control", "EmulatedServer": "server"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
