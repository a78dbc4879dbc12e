"""The ops view's web app: a Starlette app served by uvicorn in a thread of the view's own process
(``process.py``), on the listening socket the engine's process bound.

It only reads the board's latest capture (rendered to JSON here when asked) and sends commands
to the engine over the link; it never touches the engine.

Who gets in: every request needs the run's secret, compared in constant time: once in the URL
(``/?k=SECRET``, which sets an HttpOnly, SameSite=Strict cookie and redirects to ``/`` so the
secret leaves the address bar), then the cookie or an ``X-KX-Ops`` header; otherwise 401.
Commands are POSTs that also carry a CSRF token (an HMAC of the secret, handed to the page in
its HTML) and must come from the page's own origin (``Origin`` and ``Sec-Fetch-Site`` checked
when the browser sends them); otherwise 403. Every response carries a Content Security Policy
without inline script. uvicorn's access log is off: the URL with the secret is never logged.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import threading
import time
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from ..engine.controls import COMMANDS, SYMBOL_COMMANDS, Command
from .board import Board

COOKIE = "kx_ops"
HEADER = "x-kx-ops"
CSRF_HEADER = "x-kx-csrf"
STREAM_POLL_S = 0.1       # captures come at most every 0.2 s
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY", "Cache-Control": "no-store"}
STATIC = {"ops.js": "text/javascript; charset=utf-8", "ops.css": "text/css; charset=utf-8"}


def csrf_token(secret: str) -> str:
    return hmac.new(secret.encode(), b"kxrules ops csrf", hashlib.sha256).hexdigest()


def _asset(name: str) -> str:
    return resources.files("kxrules.ops").joinpath("static", name).read_text(encoding="utf-8")


def build_app(board: Board, secret: str):
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
    from starlette.routing import Route

    token = csrf_token(secret)
    page = _asset("index.html").replace("{{csrf}}", token)
    assets = {name: _asset(name) for name in STATIC}

    def secure(resp: Response) -> Response:
        resp.headers.update(SECURITY_HEADERS)
        return resp

    def authorised(request: Request) -> bool:
        given = request.headers.get(HEADER) or request.cookies.get(COOKIE) or ""
        return hmac.compare_digest(given.encode(), secret.encode())

    def refuse(status: int, why: str) -> Response:
        return secure(PlainTextResponse(why, status_code=status))

    def unauthorised() -> Response:
        return refuse(401, "ops view: the secret is missing or wrong; open the URL `kxrules trade` printed")

    async def index(request: Request) -> Response:
        key = request.query_params.get("k")
        if key is not None:
            if not hmac.compare_digest(key.encode(), secret.encode()):
                return unauthorised()
            resp = RedirectResponse("/", status_code=303)
            resp.set_cookie(COOKIE, secret, httponly=True, samesite="strict", path="/")
            return secure(resp)
        if not authorised(request):
            return unauthorised()
        return secure(Response(page, media_type="text/html; charset=utf-8"))

    async def static(request: Request) -> Response:
        if not authorised(request):
            return unauthorised()
        name = request.path_params["name"]
        if name not in assets:
            return refuse(404, "not found")
        return secure(Response(assets[name], media_type=STATIC[name]))

    async def snapshot(request: Request) -> Response:
        if not authorised(request):
            return unauthorised()
        return secure(Response(board.latest()[1], media_type="application/json"))

    async def stream(request: Request) -> Response:
        if not authorised(request):
            return unauthorised()

        async def events():
            board.viewers += 1
            try:
                seen = -1
                while not board.closed:
                    seq, data = board.latest()
                    if seq != seen:
                        seen = seq
                        yield b"data: " + data + b"\n\n"
                    await asyncio.sleep(STREAM_POLL_S)
                seq, data = board.latest()
                if seq != seen:
                    yield b"data: " + data + b"\n\n"
            finally:
                board.viewers -= 1
        return secure(StreamingResponse(events(), media_type="text/event-stream"))

    def same_origin(request: Request) -> bool:
        site = request.headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return False
        origin = request.headers.get("origin")
        if origin is not None:
            host = request.headers.get("host", "")
            if urlsplit(origin).netloc != host:
                return False
        return True

    async def command(request: Request) -> Response:
        if not authorised(request):
            return unauthorised()
        if not same_origin(request):
            return refuse(403, "ops view: a command from another site is refused")
        if not hmac.compare_digest(request.headers.get(CSRF_HEADER, "").encode(), token.encode()):
            return refuse(403, "ops view: the CSRF token is missing or wrong")
        try:
            body = json.loads(await request.body())
            name, code = body.get("command"), body.get("code")
        except (ValueError, AttributeError):
            return refuse(400, "ops view: the body must be JSON {command, code}")
        if name not in COMMANDS or (name in SYMBOL_COMMANDS) != isinstance(code, str):
            return refuse(400, f"ops view: unknown command or missing symbol: {name!r}")
        client = request.client.host if request.client else "?"
        try:
            board.submit(Command(name, code if name in SYMBOL_COMMANDS else None, who=f"ops view {client}",
                                 received_ns=time.time_ns()))
        except OSError as exc:
            return refuse(503, f"ops view: the command was not sent: {exc}")
        return secure(JSONResponse({"queued": name, "code": code}, status_code=202))

    routes = [Route("/", index), Route("/static/{name}", static), Route("/api/snapshot", snapshot),
              Route("/api/stream", stream), Route("/api/command", command, methods=["POST"])]
    return Starlette(routes=routes)


class OpsServer:
    """uvicorn in a daemon thread, on a socket already listening (a client that connects while the
    web stack is imported waits in the listen backlog). Not the process's main thread: uvicorn then
    installs no signal handlers, and the view's process lives and ends with the engine's link."""

    def __init__(self, board: Board, secret: str, sock: socket.socket) -> None:
        self.board = board
        self.secret = secret
        self.sock = sock
        self.server: Any = None             # the uvicorn.Server, made in the thread
        self._stopping = False
        self.thread = threading.Thread(target=self._serve, name="kxrules-ops-view", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _serve(self) -> None:
        import uvicorn

        # no WebSocket protocol (the stream is server-sent events): one import less at start-up
        config = uvicorn.Config(build_app(self.board, self.secret), log_level="warning", access_log=False,
                                lifespan="off", ws="none", timeout_graceful_shutdown=1)
        server = uvicorn.Server(config)
        self.server = server
        if self._stopping:              # the session ended before the server was made
            server.should_exit = True
        server.run(sockets=[self.sock])

    def stop(self) -> None:
        """Ask the server to end: the streams send the last capture and close within STREAM_POLL_S."""
        self.board.closed = True
        self._stopping = True
        if self.server is not None:
            self.server.should_exit = True
