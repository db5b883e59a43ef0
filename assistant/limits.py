"""Limits that bind on the model path: question size, reply size, and the errors of a reply that
broke its total deadline or its size on the wire.

- `question_problem(question, settings)`: why a question cannot be answered as sent (too long);
- `ReplyLimit`: a middleware that turns a model reply longer than `max_reply_chars` (text or
  tool-call arguments) into a clear error instead of passing megabytes on;
- `ReplyDeadline`, `ReplyTooLong`: raised by the chat model's HTTP transport
  (assistant/openai_model.py `DeadlineTransport`) when a reply is not complete within the
  timeout, however often the server sends keep-alives, or is longer than `reply_bytes` (that one
  is not retried: `reply_limited`).
"""

from __future__ import annotations

import httpx2 as httpx  # the HTTP client openai 3 is built on
from langchain.agents.middleware import AgentMiddleware, ModelResponse
from langchain_core.messages import AIMessage

REPLY_BYTES_PER_CHAR = 8          # JSON and SSE framing, escapes and UTF-8 around each char
REPLY_BYTES_SLACK = 256 * 1024


def question_problem(question: str, settings) -> str | None:
    """A message for the person when `question` cannot be answered as sent, else None."""
    limit = settings.max_question_chars
    if len(question) > limit:
        return (f"Your question is {len(question):,} characters long; questions may have at "
                f"most {limit:,} (ASSISTANT_MAX_QUESTION_CHARS). Shorten it, or ask for one "
                "thing at a time.")
    return None


class ReplyTooLong(httpx.ReadError):
    """The model's reply went past the size limit (not worth retrying)."""


class ReplyDeadline(httpx.ReadTimeout):
    """The model's reply did not finish within the total deadline (retried like a timeout)."""


def reply_limited(exc: BaseException) -> str | None:
    """'size' or 'deadline' when `exc` (or what caused it) is one of our reply limits."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, ReplyTooLong):
            return "size"
        if isinstance(exc, ReplyDeadline):
            return "deadline"
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def reply_bytes(max_chars: int) -> int:
    """The most bytes a reply of `max_chars` characters may take on the wire."""
    return max_chars * REPLY_BYTES_PER_CHAR + REPLY_BYTES_SLACK


def _reply_size(message: AIMessage) -> int:
    size = len(message.text or "")
    for call in message.tool_calls or []:
        size += len(str(call.get("args") or ""))
    for call in message.invalid_tool_calls or []:
        size += len(str(call.get("args") or ""))
    return size


class ReplyLimit(AgentMiddleware):
    """A model reply longer than `max_chars` becomes a short error (nothing of it is used)."""

    def __init__(self, max_chars: int) -> None:
        super().__init__()
        self.max_chars = max_chars

    def _check(self, response):
        messages = response.result if isinstance(response, ModelResponse) else [response]
        for m in messages:
            if isinstance(m, AIMessage) and _reply_size(m) > self.max_chars:
                note = AIMessage(
                    content=(f"The model's reply was {_reply_size(m):,} characters long, more "
                             f"than the {self.max_chars:,} allowed (ASSISTANT_MAX_REPLY_CHARS), "
                             "so it was not used. Ask again, or ask for a shorter answer."),
                    id=m.id, response_metadata={"assistant_error": True})
                if isinstance(response, ModelResponse):
                    return ModelResponse(result=[note if x is m else x for x in response.result],
                                         structured_response=response.structured_response)
                return note
        return response

    def wrap_model_call(self, request, handler):
        return self._check(handler(request))

    async def awrap_model_call(self, request, handler):
        return self._check(await handler(request))
