"""Secrets live in environment variables: YAML may name a variable, never hold a URL or token."""
from __future__ import annotations

import os
import re

from ..diagnostics import Diagnostics
from ..load import LoadedWorkspace

SECRET_KEYS = ("webhook", "token", "password", "secret", "url", "key")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# a Kiwoom appkey/secretkey or a token pasted where a variable's name belongs: long, no "_"
KEY_LIKE = re.compile(r"^[A-Za-z0-9+/=\-.]{32,}$")
SECRET_LIKE = re.compile(
    r"(https?://|hooks\.slack\.com|xox[abposr]-|\bBearer\s|-----BEGIN)", re.IGNORECASE)


def _walk(data, loc=()):
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _walk(v, loc + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _walk(v, loc + (i,))
    else:
        yield loc, data


def check(ws: LoadedWorkspace, diags: Diagnostics) -> None:
    src = ws.profile_source
    for loc, value in _walk(src.data):
        if not isinstance(value, str):
            continue
        name = str(loc[-1]) if loc else ""
        if SECRET_LIKE.search(value):
            diags.add(*src.locate(loc), "KX951",
                      f"{'.'.join(map(str, loc))} holds a URL or secret: put it in an environment "
                      f"variable and name the variable here (e.g. webhook_env: KXRULES_SLACK_WEBHOOK)")
        elif name.endswith("_env") and (not ENV_NAME.match(value) or ("_" not in value and KEY_LIKE.match(value))):
            diags.add(*src.locate(loc), "KX951",
                      f"{'.'.join(map(str, loc))} must name an environment variable (A-Z, 0-9, _), got '{value}'")
    for doc in ws.docs.values():
        for loc, value in _walk(doc.data):
            key = str(loc[-1]).lower() if loc else ""
            if (isinstance(value, str) and SECRET_LIKE.search(value)
                    and any(word in key for word in SECRET_KEYS)):
                diags.add(doc.path, doc.position(loc), "KX951",
                          f"{'.'.join(map(str, loc))} holds a URL or secret; secrets belong in environment variables")
    slack = ws.profile.alerts.slack
    if slack.enabled and ENV_NAME.match(slack.webhook_env) and not os.environ.get(slack.webhook_env):
        diags.add(*src.locate(("alerts", "slack", "webhook_env")), "KX952",
                  f"alerts.slack is enabled but ${slack.webhook_env} is not set: Slack alerts will be skipped")
