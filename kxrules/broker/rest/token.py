"""The OAuth2 client-credentials token: fetched on demand, renewed ``renew_before_s`` ahead of
``expires_dt`` and again whenever the server says it must be reissued (8005, 8031, 8103).
One request at a time (an ``asyncio.Lock``): many calls failing together renew it once."""
from __future__ import annotations

import asyncio

import httpx

from kxrules.clock import Clock
from . import protocol as P
from .credentials import Credentials, Redactor
from ...seoul import NS_PER_S


class TokenRefused(Exception):
    """The token endpoint answered with a non-zero return_code (message redacted)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"[{code}] {message}")
        self.code = code


class TokenKeeper:
    def __init__(self, http: httpx.AsyncClient, credentials: Credentials, redactor: Redactor,
                 clock: Clock, *, renew_before_s: int) -> None:
        self._http = http
        self._cred = credentials
        self._redactor = redactor
        self._clock = clock
        self._renew_before_ns = renew_before_s * NS_PER_S
        self._token: str | None = None
        self._expires_ns = 0
        self._lock = asyncio.Lock()
        self.issued = 0                  # how many tokens this session got (tests, summary)

    @property
    def valid(self) -> bool:
        return self._token is not None and self._clock.now_ns() < self._expires_ns - self._renew_before_ns

    @property
    def expires_ns(self) -> int:
        return self._expires_ns

    def invalidate(self, token: str | None = None) -> None:
        """The server refused ``token`` (8005/8031/8103): the next call fetches a new one."""
        if token is None or token == self._token:
            self._token = None

    async def get(self) -> str:
        if self.valid:
            return self._token  # type: ignore[return-value]
        async with self._lock:
            if not self.valid:
                await self._fetch()
            return self._token  # type: ignore[return-value]

    async def revoke(self) -> bool:
        """``/oauth2/revoke`` the current token (at the end of a session): a token that leaked
        after the run is worth nothing."""
        token, self._token = self._token, None
        if token is None:
            return False
        body = {"appkey": self._cred.appkey, "secretkey": self._cred.secretkey, "token": token}
        try:
            r = await self._http.post(P.PATH_REVOKE, json=body, headers={"api-id": "au10002"}, timeout=2.0)
            return int(r.json().get("return_code", -1)) == P.RC_OK
        except Exception:  # noqa: BLE001 - best effort at the end of a session
            return False

    async def _fetch(self) -> None:
        body = {"grant_type": "client_credentials", "appkey": self._cred.appkey,
                "secretkey": self._cred.secretkey}
        try:
            r = await self._http.post(P.PATH_TOKEN, json=body,
                                      headers={"api-id": "au10001",
                                               "content-type": "application/json;charset=UTF-8"})
            data = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise TokenRefused(P.RC_TRANSPORT, self._redactor.clean(f"token request failed: {exc!r}")) from None
        code = int(data.get("return_code", -1)) if isinstance(data, dict) else -1
        token = data.get("token") if isinstance(data, dict) else None
        if code != P.RC_OK or not token:
            raise TokenRefused(code, self._redactor.clean(data.get("return_msg", "") if isinstance(data, dict) else ""))
        self._redactor.add(token)
        self._token = token
        self._expires_ns = P.parse_expires_dt(str(data.get("expires_dt", "")))
        self.issued += 1
