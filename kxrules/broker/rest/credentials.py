"""The appkey, the secretkey and the token: held here, never printed.

``Credentials`` and ``Redactor`` are the only places the secret strings live. Their ``repr`` and
``str`` show nothing, and ``Redactor.clean`` removes every known secret from any text that may
reach a log, the recording or an exception message (a server's error text may echo a token).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

MASK = "***"


class MissingCredentials(Exception):
    """An environment variable the profile names is unset or empty."""


@dataclass(frozen=True, slots=True)
class Credentials:
    appkey: str = field(repr=False)
    secretkey: str = field(repr=False)

    @classmethod
    def from_env(cls, appkey_env: str, secretkey_env: str) -> "Credentials":
        missing = [name for name in (appkey_env, secretkey_env) if not os.environ.get(name)]
        if missing:
            raise MissingCredentials("Kiwoom REST credentials: set the environment variable(s) "
                                     + ", ".join(f"${n}" for n in missing))
        return cls(os.environ[appkey_env], os.environ[secretkey_env])

    def __str__(self) -> str:
        return f"Credentials(appkey={MASK}, secretkey={MASK})"


class Redactor:
    """Remembers every secret string seen (keys and each token issued) and masks them in text."""

    def __init__(self, *secrets: str) -> None:
        self._secrets: set[str] = {s for s in secrets if s}

    def add(self, secret: str) -> None:
        if secret:
            self._secrets.add(secret)

    def clean(self, text: object) -> str:
        s = str(text)
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in s:
                s = s.replace(secret, MASK)
        return s

    def clean_dict(self, d: dict[Any, Any]) -> dict[str, str]:
        return {str(k): self.clean(v) for k, v in d.items()}

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"
