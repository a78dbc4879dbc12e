"""Slack alerts: fills, finished pairs and red flags, formatted and posted off the engine thread.

The engine calls ``notifier(kind, ts_ns, message, facts)``: a set lookup and a queue put, nothing
else on its thread. A sender thread owned by the host (never the engine) formats each alert in
the seeds' short format (``BUY_FILL 005930@KRX qty 1 px 72,300 (pair 3)``), collapses storms and
posts JSON to the incoming webhook named by an environment variable, with ``slack_sdk``'s
``WebhookClient``: a 429 is retried after its ``Retry-After``, a 5xx or a dropped connection with
back-off. A slow or failing Slack never delays trading: posts time out, failures are counted,
and the queue is bounded (overflow drops the oldest news). The URL is a secret: it is never
logged (the client's logger is silenced) and never part of a message.

Storms: per kind, the first ``max_per_window`` alerts within ``window_s`` of engine time are
posted; the rest are counted and posted as one line (``BUY_FILL … and 37 more within 60 s``)
when the window closes by the engine's clock (the next alert stamped past it), when the queue
has been idle for ``idle_flush_s`` of wall time, or before the end-of-run lines.
"""
from __future__ import annotations

import os
import queue
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from ..clock import NS_PER_S

if TYPE_CHECKING:
    from ..config.compile import CompiledProfile
    from .session import TradeOptions, TradeResult

QUEUE_LIMIT = 1000
_STOP = object()

#: the names ``alerts.slack.send_on`` may list, with the label each message starts with
LABELS = {
    "buy_fill": "BUY_FILL", "sell_fill": "SELL_FILL", "pair_done": "PAIR_DONE",
    "auto_pause_on": "AUTO-PAUSE ON", "auto_pause_off": "AUTO-PAUSE OFF",
    "hedge_timeout": "HEDGE TIMEOUT", "reject_spike": "REJECT SPIKE", "kill_switch": "KILL SWITCH",
    "position_break": "POSITION BREAK", "residual_position": "RESIDUAL POSITION",
    "disconnect": "DISCONNECT", "symbol_muted": "MUTED", "run_end": "RUN END",
    "gateway_lost": "GATEWAY LOST", "gateway_restart": "GATEWAY RESTART", "gateway_back": "GATEWAY BACK",
    "gateway_gave_up": "GATEWAY GAVE UP",
}
#: sent after every storm line: the run is over
FINAL_KINDS = frozenset({"residual_position", "run_end"})


def _fill(label: str, message: str, f: tuple[Any, ...]) -> str:
    code, venue, qty, price, pair_id, role = f
    whose = f"pair {pair_id}" if pair_id is not None and role != "flatten" else role
    return f"{label} {code}@{venue} qty {qty} px {price:,} ({whose})"


def _pair_done(label: str, message: str, f: tuple[Any, ...]) -> str:
    code, pair_id, net_krw, notional = f
    bps = net_krw * 10_000 / notional if notional else 0.0       # display only
    return f"{label} {code} net {bps:+.1f} bps ({'+' if net_krw >= 0 else '-'}₩{abs(net_krw):,}) (pair {pair_id})"


def _auto_pause(label: str, message: str, f: tuple[Any, ...]) -> str:
    if label.endswith("OFF"):
        return label
    utilisation, sustain_ms = f
    return f"{label} (≥{utilisation:.0%} for {sustain_ms / 1000:g}s)"


def _hedge_timeout(label: str, message: str, f: tuple[Any, ...]) -> str:
    code, pair_id, t_hedge_ms = f
    return f"{label}: Timeout {t_hedge_ms} ms → cancel→IOC sent ({code}, pair {pair_id})"


def _reject_spike(label: str, message: str, f: tuple[Any, ...]) -> str:
    code, count, window_s, cooldown_ms = f
    return f"{label}: {count} rejects/{window_s:g}s on {code} → symbol cooldown {cooldown_ms} ms"


def _muted(label: str, message: str, f: tuple[Any, ...]) -> str:
    code, name, reason = f
    return f"{label} {code} {name}: {reason}"


def _plain(label: str, message: str, f: tuple[Any, ...]) -> str:
    return f"{label}: {message}"


FORMATS: dict[str, Callable[[str, str, tuple[Any, ...]], str]] = {
    "buy_fill": _fill, "sell_fill": _fill, "pair_done": _pair_done, "auto_pause_on": _auto_pause,
    "auto_pause_off": _auto_pause, "hedge_timeout": _hedge_timeout, "reject_spike": _reject_spike,
    "symbol_muted": _muted,
}


def format_alert(kind: str, message: str, facts: tuple[Any, ...]) -> str:
    fmt = FORMATS.get(kind) if facts else None          # no facts: the recorder's sentence
    return (fmt or _plain)(LABELS.get(kind, kind.upper()), message, facts)


@dataclass(slots=True)
class _Storm:
    ends_ns: int
    posted: int = 0
    held: int = 0


class SlackNotifier:
    def __init__(self, webhook_url: str | None, send_on: set[str], *, timeout_s: float = 3.0,
                 window_s: int = 60, max_per_window: int = 5, idle_flush_s: float = 2.0,
                 backoff_s: float = 0.5):
        self.url = webhook_url
        self.send_on = frozenset(send_on)
        self.timeout_s = timeout_s
        self.window_ns = window_s * NS_PER_S
        self.window_s = window_s
        self.max_per_window = max_per_window
        self.idle_flush_s = idle_flush_s
        self.sent = 0
        self.failed = 0
        self.retried = 0              # posts that needed at least one retry (429, 5xx, connection)
        self.collapsed = 0            # alerts folded into an "… and N more" line
        from .slack_client import webhook_client     # slack_sdk: ~60 ms of import, only when Slack is on

        self._client = webhook_client(webhook_url or "", timeout_s=timeout_s, backoff_s=backoff_s)
        self._storms: dict[str, _Storm] = {}
        self._queue: queue.Queue[Any] = queue.Queue(QUEUE_LIMIT)
        self._thread: threading.Thread | None = None

    @classmethod
    def from_profile(cls, profile: CompiledProfile) -> "SlackNotifier | None":
        slack = profile.profile.alerts.slack
        url = os.environ.get(slack.webhook_env)
        if not slack.enabled or not url:
            return None
        storms = slack.storms
        return cls(url, set(slack.send_on), window_s=storms.window_s, max_per_window=storms.max_per_window)

    # -- the engine's side: a lookup and a put ----------------------------------------------------
    def __call__(self, kind: str, ts_ns: int, message: str, facts: tuple[Any, ...] = ()) -> None:
        if kind not in self.send_on or not self.url:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="slack-sender", daemon=True)
            self._thread.start()
        item = (kind, ts_ns, message, facts)
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                pass
            self._queue.put_nowait(item)

    def close(self, wait_s: float = 10.0) -> None:
        """Send what is queued (up to ``wait_s``), then stop the sender."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join(wait_s)

    # -- the sender thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=self.idle_flush_s)
            except queue.Empty:
                self._flush_storms(None)
                continue
            if item is _STOP:
                self._flush_storms(None)
                return
            kind, ts_ns, message, facts = item
            self._flush_storms(None if kind in FINAL_KINDS else ts_ns)
            if kind not in FINAL_KINDS and self._held_back(kind, ts_ns):
                continue
            self._post(format_alert(kind, message, facts))

    def _held_back(self, kind: str, ts_ns: int) -> bool:
        storm = self._storms.get(kind)
        if storm is None or ts_ns >= storm.ends_ns:
            storm = self._storms[kind] = _Storm(ts_ns + self.window_ns)
        if storm.posted < self.max_per_window:
            storm.posted += 1
            return False
        storm.held += 1
        self.collapsed += 1
        return True

    def _flush_storms(self, now_ns: int | None) -> None:
        """Post "… and N more" for each storm whose window has closed by ``now_ns`` (engine time;
        None: every storm, the window is over as far as anyone waits)."""
        for kind, storm in list(self._storms.items()):
            if now_ns is not None and now_ns < storm.ends_ns:
                continue
            if storm.held:
                self._post(f"{LABELS.get(kind, kind.upper())} … and {storm.held} more within {self.window_s} s")
                storm.held = 0
            if now_ns is not None:
                del self._storms[kind]

    def _post(self, text: str) -> None:
        try:
            resp = self._client.send(text=text)
        except Exception:  # noqa: BLE001 - an alert channel failing must not stop anything
            self.failed += 1
            return
        if 200 <= resp.status_code < 300:
            self.sent += 1
        else:
            self.failed += 1


def run_with_alerts(profile: CompiledProfile, options: TradeOptions, run: Callable[[], TradeResult]) -> TradeResult:
    """Run a session with Slack when the profile asks (``alerts.slack``, the webhook variable set):
    the engine's alerts, then each residual position and the end-of-run paragraph."""
    notifier = SlackNotifier.from_profile(profile)
    if notifier is None or options.alerts is not None:
        return run()
    options.alerts = notifier
    try:
        result = run()
    except BaseException:
        notifier.close()
        raise
    summary = result.summary
    if not summary.flat:
        if summary.positions_left:
            for code, qty in summary.positions_left.items():
                notifier("residual_position", 0, f"{code} {qty:+d} share(s) by the broker's account")
        else:
            notifier("residual_position", 0, "not confirmed flat: the broker's account did not answer after "
                                             "the last order")
    notifier("run_end", 0, summary.paragraph() + "".join(f"\n{e}" for e in result.errors[:2]))
    notifier.close()
    return result
