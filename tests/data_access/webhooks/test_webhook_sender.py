"""The webhook sender against a real loopback receiver: JSON delivered, retries with a doubling
pause on 5xx, 429, timeouts and a receiver that is down, no retry on a 4xx, never an exception."""

from __future__ import annotations

import socket

from data_access.webhooks.sender import HttpWebhookSender
from tests.fakes.webhook_receiver import SLOW, running_receiver


def quick_sender(pauses: list[float], timeout_s: float = 1.0) -> HttpWebhookSender:
    return HttpWebhookSender(timeout_s=timeout_s, attempts=3, backoff_s=0.01, sleep=pauses.append)


def test_a_payload_is_posted_as_json_once_when_the_receiver_accepts_it():
    pauses: list[float] = []
    with running_receiver() as receiver:
        result = quick_sender(pauses).send(receiver.url, {"alert": "error_rate", "observed": 0.25})
    assert (result.delivered, result.attempts, result.http_status, result.error) == (True, 1, 200, None)
    assert receiver.received == [{"alert": "error_rate", "observed": 0.25}]
    assert pauses == []


def test_server_errors_and_rate_limits_are_retried_with_a_doubling_pause():
    pauses: list[float] = []
    with running_receiver([503, 429]) as receiver:
        result = quick_sender(pauses).send(receiver.url, {"n": 1})
    assert (result.delivered, result.attempts) == (True, 3)
    assert len(receiver.received) == 3 and pauses == [0.01, 0.02]


def test_a_receiver_failing_every_attempt_is_reported_with_its_last_status():
    with running_receiver([500, 500, 502, 200]) as receiver:
        result = quick_sender([]).send(receiver.url, {"n": 1})
    assert (result.delivered, result.attempts, result.http_status) == (False, 3, 502)
    assert result.error.startswith("HTTP 502") and "scripted failure" in result.error
    assert len(receiver.received) == 3


def test_a_client_error_is_final_and_not_retried():
    with running_receiver([404]) as receiver:
        result = quick_sender([]).send(receiver.url, {"n": 1})
    assert (result.delivered, result.attempts, result.http_status) == (False, 1, 404)
    assert len(receiver.received) == 1


def test_a_receiver_slower_than_the_timeout_counts_as_a_failed_attempt():
    with running_receiver([SLOW, 200], slow_s=1.0) as receiver:
        result = quick_sender([], timeout_s=0.2).send(receiver.url, {"n": 1})
    assert (result.delivered, result.attempts) == (True, 2)


def test_a_receiver_that_is_down_is_reported_not_raised():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    result = quick_sender([]).send(f"http://127.0.0.1:{port}/hook", {"n": 1})
    assert (result.delivered, result.attempts, result.http_status) == (False, 3, None)
    assert result.error.startswith("Could not reach the receiver")


def test_a_url_that_is_not_http_is_refused_without_a_request():
    result = quick_sender([]).send("file:///etc/passwd", {"n": 1})
    assert (result.delivered, result.attempts) == (False, 0) and "http://" in result.error
