"""Retry-After in its three spellings, and which failures are worth another try."""

from __future__ import annotations

import time
from email.utils import formatdate

import httpx
import openai
import pytest

from assistant.retry import ModelRetry, retry_after, retryable


def rate_limit(headers: dict) -> openai.RateLimitError:
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx.Response(429, headers=headers, request=request)
    return openai.RateLimitError("slow down", response=response, body=None)


@pytest.mark.parametrize(("headers", "seconds"), [
    ({"Retry-After": "7"}, 7.0),
    ({"retry-after-ms": "250"}, 0.25),
    ({"retry-after-ms": "1500", "Retry-After": "9"}, 1.5),   # the precise one wins
    ({"Retry-After": "-3"}, 0.0),
    ({}, None),
    ({"Retry-After": "soon"}, None),
])
def test_retry_after_is_read_in_seconds(headers, seconds):
    assert retry_after(rate_limit(headers)) == seconds


def test_retry_after_as_an_http_date():
    later = formatdate(time.time() + 30, usegmt=True)
    assert 25 <= retry_after(rate_limit({"Retry-After": later})) <= 31
    assert retry_after(ValueError("no response")) is None


def test_the_wait_is_the_longer_of_backoff_and_what_was_asked():
    retry = ModelRetry(max_retries=2, initial_delay=0.5, backoff_factor=2.0, max_delay=30.0,
                       jitter=False)
    assert retry._wait(0, rate_limit({})) == 0.5
    assert retry._wait(1, rate_limit({})) == 1.0
    assert retry._wait(0, rate_limit({"Retry-After": "4"})) == 4.0
    assert retry._wait(0, rate_limit({"Retry-After": "0"})) == 0.5
    assert retry._wait(0, rate_limit({"Retry-After": "31"})) is None   # too long: fail now
    assert retry._wait(2, rate_limit({})) is None                      # out of retries
    assert retry._wait(0, ValueError("a bug")) is None                 # not a model failure


def test_bad_keys_are_not_retried_but_lost_connections_are():
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    denied = openai.AuthenticationError("no", response=httpx.Response(401, request=request),
                                        body=None)
    assert not retryable(denied)
    assert retryable(openai.APIConnectionError(request=request))
    assert retryable(rate_limit({}))
