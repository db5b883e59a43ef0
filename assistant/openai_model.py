"""ChatOpenAI as the assistant uses it: tool-call arguments are never repaired, calls end in time.

Two things the stock client does that an assistant answering with numbers must not:

1. **Streamed tool-call arguments are "completed".** langchain-core merges streamed tool-call
   chunks with `parse_partial_json` (`AIMessageChunk.init_tool_calls`), which closes open strings,
   brackets and braces: arguments cut off at `... AND category NOT IN` become a valid, different
   query that runs. `StrictChatOpenAI` keeps each call's raw argument text as it streams and, when
   the stream ends, checks it with the strict `json.loads`; a call whose text is not a JSON object
   is listed in `response_metadata["malformed_tool_calls"]` (raw text and the parser's error),
   and `take_malformed_calls` (assistant/tool_calls.py, run by the agent on every reply) turns
   those calls into invalid tool calls, which go back to the model as errors. Non-streamed
   replies are parsed strictly by langchain-openai already.
2. **A stream that keeps sending keep-alives never times out.** The HTTP timeout bounds each
   read, not the call, so a server that sends `: keep-alive` forever holds the question forever.
   `DeadlineTransport` stops any request that has not finished `total` seconds after it started
   (`ReplyDeadline`, an `httpx.ReadTimeout` that is not retried), to the moment: the body is read
   by a helper thread, so a blocked read does not hold the deadline up; and it cuts off a reply
   longer than `max_bytes` (`ReplyTooLong`, issue 16).
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2 as httpx  # the HTTP client openai 3 is built on
from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk
from langchain_openai import ChatOpenAI

from assistant.limits import ReplyDeadline, ReplyTooLong
from assistant.tool_calls import MALFORMED, argument_error


class _Collector:
    """Raw argument text per streamed tool call (by chunk index)."""

    def __init__(self) -> None:
        self.calls: dict[Any, dict] = {}
        self.finish: str | None = None

    def add(self, chunk: ChatGenerationChunk) -> None:
        message = chunk.message
        if not isinstance(message, AIMessageChunk):
            return
        for part in message.tool_call_chunks:
            key = part.get("index")
            call = self.calls.setdefault(key, {"id": None, "name": None, "args": ""})
            call["id"] = call["id"] or part.get("id")
            call["name"] = call["name"] or part.get("name")
            call["args"] += part.get("args") or ""
        reason = ((chunk.generation_info or {}).get("finish_reason")
                  or (message.response_metadata or {}).get("finish_reason"))
        self.finish = reason or self.finish

    def verdict(self) -> ChatGenerationChunk | None:
        """A last chunk naming the calls whose arguments are not a JSON object (or None)."""
        bad = []
        for position, call in enumerate(self.calls.values()):
            error = argument_error(call["args"], cut_off=self.finish == "length")
            if error:
                bad.append({"position": position, "id": call["id"], "name": call["name"],
                            "args": call["args"], "error": error})
        if not bad:
            return None
        return ChatGenerationChunk(message=AIMessageChunk(
            content="", response_metadata={MALFORMED: bad}))


class StrictChatOpenAI(ChatOpenAI):
    """ChatOpenAI whose streamed tool calls are checked strictly (see the module docstring)."""

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        seen = _Collector()
        for chunk in super()._stream(*args, **kwargs):
            seen.add(chunk)
            yield chunk
        verdict = seen.verdict()
        if verdict is not None:
            yield verdict

    async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        seen = _Collector()
        async for chunk in super()._astream(*args, **kwargs):
            seen.add(chunk)
            yield chunk
        verdict = seen.verdict()
        if verdict is not None:
            yield verdict


class _DeadlineStream(httpx.SyncByteStream):
    """The response body, read by a helper thread so that the deadline holds to the moment even
    while a read waits for the server; past `max_bytes` the reply is cut off."""

    def __init__(self, inner, deadline: float, total: float, request: httpx.Request,
                 max_bytes: int | None = None) -> None:
        self.inner, self.deadline, self.total, self.request = inner, deadline, total, request
        self.max_bytes = max_bytes
        self._parts: queue.Queue = queue.Queue(maxsize=64)
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None

    def _read(self) -> None:
        try:
            for part in self.inner:
                if self._stop.is_set():
                    break
                self._parts.put(("part", part))
            self._parts.put(("end", None))
        except BaseException as exc:   # handed to the reading side
            self._parts.put(("error", exc))
        finally:
            if self._stop.is_set():
                with contextlib.suppress(Exception):   # abandoned: let the connection go
                    self.inner.close()

    def __iter__(self) -> Iterator[bytes]:
        self._reader = threading.Thread(target=self._read, daemon=True, name="model-reply")
        self._reader.start()
        size = 0
        while True:
            try:
                kind, value = self._parts.get(timeout=max(0.0, self.deadline - time.monotonic()))
            except queue.Empty:
                self._stop.set()
                raise ReplyDeadline(f"no complete answer within {self.total:g} s",
                                    request=self.request) from None
            if kind == "end":
                return
            if kind == "error":
                raise value
            size += len(value)
            if self.max_bytes is not None and size > self.max_bytes:
                self._stop.set()
                raise ReplyTooLong(f"the reply is longer than {self.max_bytes:,} bytes",
                                   request=self.request)
            yield value

    def close(self) -> None:
        self._stop.set()
        if self._reader is None or not self._reader.is_alive():
            self.inner.close()


class DeadlineTransport(httpx.HTTPTransport):
    """An HTTP transport that ends any request `total` seconds after it started, even while the
    server keeps sending bytes (keep-alives, an endless stream)."""

    def __init__(self, total: float, max_bytes: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.total = total
        self.max_bytes = max_bytes

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        deadline = time.monotonic() + self.total
        response = super().handle_request(request)
        response.stream = _DeadlineStream(response.stream, deadline, self.total, request,
                                          self.max_bytes)
        return response
