"""The broker door: a consumer that reads events from a message broker into the writer.

At-least-once: a message is acknowledged only after the micro-batch holding it has committed
(rejected events too: they are logged with their reason and would never succeed). A crash
before that leaves the messages pending in the broker; on restart the consumer re-reads its own
pending messages first and takes over those another consumer left idle, and the writer drops
the ones that had committed (the event log knows every messageId), so nothing is lost and
nothing doubled.

A broker is a `Source`: `read(count, block_ms)` returns messages (an id and the payload: one
event as JSON, or a JSON list of events), `ack(messages)` acknowledges them. `RedisStreamSource`
is Redis Streams with a consumer group (XREADGROUP / XACK / XAUTOCLAIM). Kafka is the next
adapter with the same two methods: `read` is `Consumer.consume(count, timeout)` with
`enable.auto.commit=false`, `ack` commits the highest offset read per partition
(`Consumer.commit(offsets=..., asynchronous=False)`); re-delivery after a crash comes from the
last committed offset, which the event log deduplicates the same way.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from tools.realtime.mapping import loads
from tools.realtime.writer import EventWriter

log = logging.getLogger(__name__)


@dataclass
class Message:
    id: str
    payload: str


class Source(Protocol):
    name: str

    def read(self, count: int, block_ms: int) -> list[Message]: ...

    def ack(self, messages: list[Message]) -> None: ...

    def close(self) -> None: ...


class RedisStreamSource:
    """A Redis stream read through a consumer group; each entry's `event` field holds one
    event (JSON) or its `batch` field a JSON list of events."""

    name = "redis"

    def __init__(self, url: str, stream: str = "events", group: str = "assistant",
                 consumer: str | None = None, claim_idle_ms: int = 30_000) -> None:
        import redis

        self.client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=10)
        self.url, self.stream, self.group = url, stream, group
        self.consumer = consumer or f"assistant-{socket.gethostname()}"
        self.claim_idle_ms = claim_idle_ms
        self._backlog = True      # first re-read what this consumer had not acknowledged
        try:
            self.client.xgroup_create(stream, group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def _messages(self, entries) -> list[Message]:
        out = []
        for entry_id, fields in entries or []:
            if fields is None:      # deleted from the stream while pending
                continue
            payload = fields.get("event") or fields.get("batch") or fields.get("data") or ""
            out.append(Message(entry_id, payload))
        return out

    def read(self, count: int, block_ms: int) -> list[Message]:
        if self._backlog:
            got = self.client.xreadgroup(self.group, self.consumer, {self.stream: "0"},
                                         count=count)
            mine = self._messages(got[0][1] if got else [])
            if mine:
                return mine
            claimed = self.client.xautoclaim(self.stream, self.group, self.consumer,
                                             self.claim_idle_ms, "0-0", count=count)
            taken = self._messages(claimed[1] if claimed else [])
            if taken:
                return taken
            self._backlog = False
        got = self.client.xreadgroup(self.group, self.consumer, {self.stream: ">"},
                                     count=count, block=block_ms if block_ms > 0 else None)
        return self._messages(got[0][1] if got else [])

    def ack(self, messages: list[Message]) -> None:
        if messages:
            self.client.xack(self.stream, self.group, *[m.id for m in messages])

    def pending(self) -> int:
        return int(self.client.xpending(self.stream, self.group)["pending"])

    def close(self) -> None:
        self.client.close()


def decode(messages: list[Message]) -> list[Any]:
    """The events in the messages, in order (text that is not JSON stays text: the writer
    rejects it with a reason)."""
    events: list[Any] = []
    for m in messages:
        try:
            value = loads(m.payload)
        except (TypeError, ValueError):
            events.append(m.payload)
            continue
        if isinstance(value, list):
            events.extend(value)
        elif isinstance(value, dict) and isinstance(value.get("batch"), list):
            events.extend(value["batch"])
        else:
            events.append(value)
    return events


class Consumer:
    """Reads a Source into the writer, acknowledging after each commit.

    The running consumer keeps up to `in_flight` reads submitted at once: while the writer
    commits one, the next is read and checked, and the writer takes whatever is queued as one
    micro-batch (under load, bigger batches). Eight reads of 5,000: while a batch of four
    commits, four more queue, so a backlog is drained in batches of ~20,000 (the writer's
    `max_batch`); with three, batches alternated 5,000 and 10,000 and each paid the batch's
    fixed cost (the state and feature scans: ~0.35 s at 1M) for fewer events. Each read is
    acknowledged once its own commit is done; a failed one is not acknowledged and is read
    again (re-reading the pending messages), and the event log drops whatever of it had
    committed."""

    def __init__(self, source: Source, writer: EventWriter, *, batch: int = 5_000,
                 block_ms: int = 200, retry_pause: float = 1.0, in_flight: int = 8) -> None:
        self.source = source
        self.writer = writer
        self.batch = batch
        self.in_flight = max(1, in_flight)
        self.block_ms = block_ms
        self.retry_pause = retry_pause
        self.consumed = 0
        self.acked = 0
        self.failures = 0
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Consumer:
        self._thread = threading.Thread(target=self._run, name=f"{self.source.name}-consumer",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.source.close()

    def run_once(self) -> int:
        """Read, commit and acknowledge one batch; returns the messages handled."""
        messages = self.source.read(self.batch, self.block_ms)
        if not messages:
            return 0
        events = decode(messages)
        self.writer.ingest(events, self.source.name, timeout=120)   # raises: nothing acked
        self.source.ack(messages)
        self.consumed += len(events)
        self.acked += len(messages)
        return len(messages)

    def _run(self) -> None:
        from collections import deque

        pending: deque = deque()     # (messages, events, future) in the order submitted
        while not self._stop.is_set():
            try:
                while pending and (len(pending) >= self.in_flight or pending[0][2].done()):
                    messages, events, future = pending.popleft()
                    future.result(timeout=120)              # raises: nothing acked
                    self.source.ack(messages)
                    self.consumed += len(events)
                    self.acked += len(messages)
                messages = self.source.read(self.batch, 0 if pending else self.block_ms)
                if messages:
                    events = decode(messages)
                    pending.append((messages, events, self.writer.submit(events,
                                                                         self.source.name)))
                elif pending:
                    done = pending[0][2]
                    done.exception(timeout=120)             # wait for the oldest commit
            except Exception as exc:
                pending.clear()      # unacknowledged: read again from the pending list
                self.failures += 1
                self.last_error = str(exc).splitlines()[0][:200] if str(exc) else \
                    type(exc).__name__
                log.warning("consumer %s: %s; retrying", self.source.name, self.last_error)
                if hasattr(self.source, "_backlog"):
                    self.source._backlog = True     # re-read what was not acknowledged
                self._stop.wait(self.retry_pause)
        for messages, events, future in pending:     # stopping: acknowledge what committed
            try:
                future.result(timeout=5)
            except Exception:
                break
            self.source.ack(messages)
            self.consumed += len(events)
            self.acked += len(messages)

    def describe(self) -> dict:
        return {"source": self.source.name, "consumed": self.consumed, "acked": self.acked,
                "failures": self.failures, "last_error": self.last_error,
                "running": self._thread is not None and self._thread.is_alive()}


def wait_until(predicate, timeout: float = 10.0, every: float = 0.05) -> bool:
    """Poll `predicate` until it is true or `timeout` passes (tests, benches)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return bool(predicate())
