"""The real OpenAPI+ control (Windows, ``pip install "kxrules[kiwoom]"``)."""
from .control import KiwoomControl, UNAVAILABLE_HINT, check_available, open_kiwoom_control

__all__ = ["KiwoomControl", "UNAVAILABLE_HINT", "check_available", "open_kiwoom_control"]
