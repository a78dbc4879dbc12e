"""The Slack webhook client behind ``alerts.SlackNotifier``: ``slack_sdk``'s ``WebhookClient``
with its retries tuned (a 429 after its capped ``Retry-After``, any 5xx and a dropped connection
with back-off) and its logger silenced (it logs the URL, a secret). A module of its own so that
a session without Slack never imports ``slack_sdk``.
"""
from __future__ import annotations

import logging

from slack_sdk.http_retry.builtin_handlers import (ConnectionErrorRetryHandler, RateLimitErrorRetryHandler,
                                                   ServerErrorRetryHandler)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.webhook import WebhookClient

RETRIES = 3                   # per post, for each of 429, 5xx and connection failures
MAX_RETRY_AFTER_S = 30        # a longer Retry-After is waited for only this long


def webhook_client(url: str, *, timeout_s: float, backoff_s: float) -> WebhookClient:
    backoff = BackoffRetryIntervalCalculator(backoff_factor=backoff_s)
    return WebhookClient(url, timeout=max(1, round(timeout_s)), logger=_silent_logger(),
                         retry_handlers=[_CappedRateLimitRetry(max_retry_count=RETRIES),
                                         _ServerErrorRetry(max_retry_count=RETRIES, interval_calculator=backoff),
                                         ConnectionErrorRetryHandler(max_retry_count=RETRIES,
                                                                     interval_calculator=backoff)])


class _CappedRateLimitRetry(RateLimitErrorRetryHandler):
    """Slack's own 429 handler (it honours Retry-After), but a Retry-After longer than
    ``MAX_RETRY_AFTER_S`` is waited for only that long: the news behind it must not go stale."""

    def prepare_for_next_attempt(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                                 error: Exception | None = None) -> None:
        if response is not None:
            for key in list(response.headers):
                if key.lower() == "retry-after":
                    try:
                        wait = min(int(response.headers[key][0]), MAX_RETRY_AFTER_S)
                    except (TypeError, ValueError):
                        wait = 1
                    response.headers[key] = [str(wait)]
        super().prepare_for_next_attempt(state=state, request=request, response=response, error=error)


class _ServerErrorRetry(ServerErrorRetryHandler):
    """Every 5xx (slack_sdk's handler retries only 500 and 503), with exponential back-off."""

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        return response is not None and 500 <= response.status_code < 600


def _silent_logger() -> logging.Logger:
    # slack_sdk logs the request URL at DEBUG; the URL is the webhook's secret
    log = logging.getLogger("kxrules.slack")
    log.setLevel(logging.CRITICAL + 1)
    log.propagate = False
    return log
