"""The profile's ``rest:`` section: how ``broker: kiwoom_rest`` reaches Kiwoom's REST API.
Kept apart from ``profile.py`` so the REST broker's settings live in one small class; its venue
map is a file like the others (``files.rest_venues``), validated with positions by ``validate``."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from .common import Strict


class RestBroker(Strict):
    # the names of the environment variables that hold the secrets, never the secrets
    appkey_env: str = Field("KXRULES_KIWOOM_APPKEY", min_length=1)
    secretkey_env: str = Field("KXRULES_KIWOOM_SECRETKEY", min_length=1)
    server: Literal["real", "mock"] = "real"     # api.kiwoom.com or mockapi.kiwoom.com (KRX only)
