"""A live broker's profile says which server it means: paper (모의투자) or real (실거래)."""
from __future__ import annotations

from ..schema.profile import LIVE_SERVERS, SIM_SERVER
from ..diagnostics import Diagnostics
from ..load import LoadedWorkspace


def check(ws: LoadedWorkspace, diags: Diagnostics) -> None:
    profile, src = ws.profile, ws.profile_source
    if profile.broker == "sim" or profile.server in LIVE_SERVERS:
        return
    if profile.server == SIM_SERVER:
        diags.add(*src.locate(("server",)), "KX104",
                  "server: sim means the emulator, but the profile's broker is kiwoom: "
                  "declare paper (모의투자) or real (실거래)")
    else:
        diags.add(*src.locate(("broker",)), "KX102",
                  "server is missing: a profile for the live broker must say which Kiwoom server it "
                  "means, paper (모의투자) or real (실거래); there is no default")
