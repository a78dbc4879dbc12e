"""The ops view's own process: the web server, the rendering and the viewers' streams run beside
the engine's process, not in it, so they never take turns with the engine for the interpreter's
lock (on a two-core machine the view has the other core, at a lower priority).

The engine's process binds the listening socket (a taken port is its usage error, before anything
is recorded), makes the shared region of the link (``link.py``), starts
``python -m kxrules.ops.process`` and hands it both: by descriptor on POSIX, by ``socket.share``
and the region's name on Windows. The secret and the profile's static parts go through the
child's stdin (never its command line or environment); the engine keeps that pipe open for the
whole session, so its end (or its death) is the view's end: the view shows the last capture and
exits. The child is in its own session / process group: the terminal's Ctrl-C reaches only the
engine, which winds down while the view shows it.
"""
from __future__ import annotations

import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
from typing import IO, TYPE_CHECKING, Any

from .link import EngineLink, ViewLink, map_region, new_region

if TYPE_CHECKING:
    from .board import Board

POLL_S = 0.05            # how often the view looks for a new capture (they come at most every 0.2 s)
NICENESS = 10


class ViewProcessFailed(OSError):
    """The view's process could not be started or died at once."""


def _socket_handle(sock: socket.socket, pid: int) -> Any:
    if sys.platform == "win32":
        return sock.share(pid)
    return sock.fileno()


def _adopt_socket(handle: Any) -> socket.socket:
    if sys.platform == "win32":
        return socket.fromshare(handle)
    return socket.socket(fileno=handle)


def _popen(fds: tuple[int, ...]) -> subprocess.Popen:
    command = [sys.executable, "-m", "kxrules.ops.process"]
    if sys.platform == "win32":
        return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                creationflags=subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.BELOW_NORMAL_PRIORITY_CLASS)
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, pass_fds=fds,
                            start_new_session=True)


class ViewProcess:
    """The engine's handle on the view's process: the link's engine end and the pipe whose closing
    ends the view."""

    def __init__(self, listener: socket.socket, secret: str, profile: Any) -> None:
        region, region_handle = new_region()
        fds = (listener.fileno(), region_handle) if isinstance(region_handle, int) else (listener.fileno(),)
        proc = None
        try:
            proc = _popen(fds)
            hello = {"secret": secret, "profile": profile, "region": region_handle,
                     "listener": _socket_handle(listener, proc.pid)}
            assert proc.stdin is not None
            proc.stdin.write(pickle.dumps(hello))
            proc.stdin.flush()
        except OSError as exc:
            if proc is not None:
                proc.kill()
            raise ViewProcessFailed(f"ops view: its process did not start ({exc})") from None
        finally:
            listener.close()
            if isinstance(region_handle, int):
                os.close(region_handle)
        self.proc = proc
        self._pipe: IO[bytes] | None = proc.stdin
        self.link = EngineLink(region)

    def close(self) -> None:
        """The session is over: the view's process sees its pipe close, shows the last capture
        and exits on its own (not waited for)."""
        if self._pipe is not None:
            try:
                self._pipe.close()
            except OSError:
                pass
            self._pipe = None


def main() -> None:
    from .board import Board
    from .server import OpsServer
    from .snapshot import SnapshotRenderer

    if sys.platform != "win32":
        signal.signal(signal.SIGINT, signal.SIG_IGN)     # the engine's Ctrl-C is not the view's
        os.nice(NICENESS)                                # the engine's threads come first
    stdin = sys.stdin.buffer
    try:
        hello = pickle.load(stdin)
    except (EOFError, pickle.UnpicklingError):
        return
    link = ViewLink(map_region(hello["region"]))
    engine_gone = threading.Event()

    def watch_engine() -> None:
        stdin.read()                                  # returns when the engine closes the pipe or dies
        engine_gone.set()
    threading.Thread(target=watch_engine, name="engine-watch", daemon=True).start()
    board = Board(SnapshotRenderer(hello["profile"]).render, link.send_command)
    server = OpsServer(board, hello["secret"], _adopt_socket(hello["listener"]))
    server.start()
    while not engine_gone.wait(POLL_S):
        _publish_newest(link, board)
    _publish_newest(link, board)                      # the engine's last capture
    server.stop()
    server.thread.join(timeout=5)


def _publish_newest(link: ViewLink, board: Board) -> None:
    newest = link.latest()
    if newest is not None:
        board.publish(newest[1])


if __name__ == "__main__":
    main()
