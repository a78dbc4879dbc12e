"""The Kiwoom emulator: an ``OcxLike`` control over an emulated broker server and matcher."""
from .config import EmulatorConfig, default_fee_fn, load_emulator_config
from .control import KiwoomEmulator
from .server import EmulatedServer, kst_midnight

__all__ = ["EmulatorConfig", "EmulatedServer", "KiwoomEmulator", "default_fee_fn",
           "kst_midnight", "load_emulator_config"]
