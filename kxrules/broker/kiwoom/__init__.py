"""The real OpenAPI+ control (Windows, ``pip install "kxrules[kiwoom]"``)."""
from ..errors import BrokerUnavailable
from .control import (UNAVAILABLE_HINT, KiwoomControl, check_available, open_kiwoom_control,
                      require_real_control)

__all__ = ["BrokerUnavailable", "KiwoomControl", "UNAVAILABLE_HINT", "check_available",
           "open_kiwoom_control", "require_real_control"]
