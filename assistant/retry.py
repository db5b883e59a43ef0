"""Retries of model calls: exponential backoff, or the wait the endpoint asks for.

A 429 or 503 often says how long to wait (`Retry-After: 20`, an HTTP date, or OpenAI's
`retry-after-ms`). Retrying sooner only earns another refusal, so the wait is the longer of the
backoff and what the endpoint asked for. When it asks for more than `max_delay` a person would be
left staring at the page, so the call fails at once and the message says how long to wait.
"""

from __future__ import annotations

import asyncio
import sys
import time
from email.utils import parsedate_to_datetime
from typing import Any

from langchain.agents.middleware import ModelRetryMiddleware
from langchain.agents.middleware._retry import calculate_delay
from langchain_core.exceptions import ModelError
from langgraph.errors import GraphBubbleUp


def openai_errors(*names: str) -> tuple[type[BaseException], ...]:
    """The openai client's exception classes `names`, or () when nothing imported the client
    (then no error can be one of them, and a one-shot offline command never loads it)."""
    module = sys.modules.get("openai")
    return tuple(getattr(module, n) for n in names) if module is not None else ()


def retryable(exc: BaseException) -> bool:
    """Rate limits, server errors, timeouts (a reply past its total deadline too) and lost
    connections; not bad keys or requests, nor a reply past the size limit (it would only be as
    long again)."""
    from assistant.limits import reply_limited

    if reply_limited(exc) == "size":
        return False
    if isinstance(exc, ModelError):
        return exc.is_retryable
    return isinstance(exc, openai_errors("RateLimitError", "InternalServerError",
                                         "APITimeoutError", "APIConnectionError"))


def retry_after(exc: BaseException) -> float | None:
    """Seconds the endpoint asked us to wait before the next request, if it said."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(float(ms) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


class ModelRetry(ModelRetryMiddleware):
    """ModelRetryMiddleware that also honours Retry-After (see the module docstring)."""

    def _wait(self, attempt: int, exc: Exception) -> float | None:
        """Seconds to wait before retry number `attempt` (0-based); None: do not retry."""
        if attempt >= self.max_retries or not retryable(exc):
            return None
        backoff = calculate_delay(attempt, backoff_factor=self.backoff_factor,
                                  initial_delay=self.initial_delay, max_delay=self.max_delay,
                                  jitter=self.jitter)
        asked = retry_after(exc)
        if asked is None:
            return backoff
        if asked > self.max_delay:
            return None
        return max(backoff, asked)

    def _wait_or_raise(self, attempt: int, exc: Exception) -> float:
        wait = self._wait(attempt, exc)
        if wait is None:
            raise exc
        return wait

    def wrap_model_call(self, request, handler) -> Any:
        attempt = 0
        while True:
            try:
                return handler(request)
            except GraphBubbleUp:
                raise
            except Exception as exc:
                time.sleep(self._wait_or_raise(attempt, exc))
                attempt += 1

    async def awrap_model_call(self, request, handler) -> Any:
        attempt = 0
        while True:
            try:
                return await handler(request)
            except GraphBubbleUp:
                raise
            except Exception as exc:
                await asyncio.sleep(self._wait_or_raise(attempt, exc))
                attempt += 1
