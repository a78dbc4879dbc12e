"""Slack alerts for live runs: fills, finished pairs and red flags, posted off the engine thread.

The engine only calls ``notifier(kind, message)``, which filters by the profile's ``send_on`` list
and queues; a sender thread owned by the host (never the engine) posts JSON to the incoming
webhook named by an environment variable. A slow or failing Slack never delays trading: posts
time out, failures are counted, and the queue is bounded (overflow drops the oldest news).
"""
from __future__ import annotations

import json
import os
import queue
import threading
import urllib.request

QUEUE_LIMIT = 1000


class SlackNotifier:
    def __init__(self, webhook_url: str | None, send_on: set[str], *, label: str = "kxrules",
                 timeout_s: float = 3.0):
        self.url = webhook_url
        self.send_on = set(send_on)
        self.label = label
        self.timeout_s = timeout_s
        self.sent = 0
        self.failed = 0
        self._queue: queue.Queue = queue.Queue(QUEUE_LIMIT)
        self._thread: threading.Thread | None = None

    @classmethod
    def from_profile(cls, profile) -> "SlackNotifier | None":
        slack = profile.profile.alerts.slack
        url = os.environ.get(slack.webhook_env)
        if not slack.enabled or not url:
            return None
        return cls(url, set(slack.send_on), label=f"kxrules {profile.name}")

    def __call__(self, kind: str, message: str) -> None:
        if kind not in self.send_on or not self.url:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="slack-sender", daemon=True)
            self._thread.start()
        item = {"text": f"[{self.label}] {kind}: {message}"}
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                pass
            self._queue.put_nowait(item)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            data = json.dumps(item, ensure_ascii=False).encode("utf-8")
            req = urllib.request.Request(self.url, data=data, headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    resp.read()
                self.sent += 1
            except Exception:  # noqa: BLE001 - an alert channel failing must not stop anything
                self.failed += 1

    def close(self, wait_s: float = 5.0) -> None:
        """Send what is queued (up to ``wait_s``), then stop the sender."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(wait_s)
