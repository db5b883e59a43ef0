"""The one event writer: a thread that commits micro-batches, and the three doors' way in.

Every door (HTTP `POST /v1/events`, `assistant events ingest`, the broker consumer) calls
`EventWriter.submit(raw_events, source)`: the events are checked at once in the caller's thread
(bad ones are rejected one by one, with a reason), the good ones are queued, and the returned
future resolves when their micro-batch has COMMITTED (or failed: then nothing of it was written
and the caller must not acknowledge it). The writer thread takes whatever is queued (up to
`max_batch` events, waiting `linger` seconds for more), commits it in one transaction
(tools/realtime/ingest.py), and between batches runs its periodic jobs (delayed sends that are
due, delivery results) through `call`, so that every write of the real-time path happens on
this one thread.

DuckDB allows one writing process per file; inside the process, the writer's transactions
coexist with the page's own writes (segment runs, drafts, audit) on other tables.

Checkpoints: the warehouse handle raises DuckDB's automatic checkpoint threshold
(warehouse/connection.py; at the default, every micro-batch at 1M customers checkpointed at its
commit, 1-2 s each), and the writer folds the customer state's increments
(tools/realtime/state.py) and checkpoints when it has been idle for `IDLE_S` (a checkpoint only
when the write-ahead log holds more than `IDLE_CHECKPOINT_BYTES`), so that the cost falls
between bursts instead of on a batch. Under load without a pause DuckDB still
checkpoints when the log reaches the threshold.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tools.realtime.ingest import BatchResult, Pipeline
from tools.realtime.mapping import Event, Rejection, check
from warehouse.errors import AssistantError

log = logging.getLogger(__name__)

MAX_BATCH = 20_000     # what is queued is taken at once: bigger batches under load
LINGER = 0.005
TICK = 0.25
IDLE_S = 0.5
IDLE_CHECKPOINT_BYTES = 32 * 2**20


class WriterUnavailable(AssistantError):
    """The writer is stopped, or a batch could not be committed (nothing of it was written)."""


@dataclass
class _Submission:
    events: list[Event]
    rejected: list[Rejection]
    source: str
    future: Future
    received_at: datetime


@dataclass
class _Call:
    fn: Callable[[Any], Any]
    future: Future


@dataclass
class WriterStats:
    batches: int = 0
    events: int = 0
    duplicates: int = 0
    rejected: int = 0
    last_batch_ms: float = 0.0
    last_steps: dict = field(default_factory=dict)   # seconds per step of the last batch
    errors: int = 0
    checkpoints: int = 0
    started_at: float = field(default_factory=time.time)


class EventWriter:
    """Owns the pipeline; one thread commits everything it is given."""

    def __init__(self, pipeline: Pipeline, *, max_batch: int = MAX_BATCH,
                 linger: float = LINGER, tick: float = TICK,
                 on_start: Callable[[], None] | None = None) -> None:
        self.pipeline = pipeline
        self.on_start = on_start
        self.ready = threading.Event()
        self.start_error: str | None = None
        self.max_batch = max_batch
        self.linger = linger
        self.tick = tick
        self.stats = WriterStats()
        self._queue: queue.Queue = queue.Queue()
        self._jobs: list[Callable[[Any], None]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- life ----------------------------------------------------------------------------------
    def start(self) -> EventWriter:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="event-writer", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 300.0) -> None:
        """Commit what is queued, then stop (waiting for the batch being committed: closing
        the warehouse under it would abort the process)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def every_tick(self, job: Callable[[Any], None]) -> None:
        """Run `job(cursor)` in its own transaction on the writer thread between batches."""
        self._jobs.append(job)

    # -- the doors -----------------------------------------------------------------------------
    def submit(self, raw_events: list, source: str) -> Future:
        """Check `raw_events` now and queue the good ones; the future gives a BatchResult once
        they are committed (rejections included)."""
        checked = [check(raw, i) for i, raw in enumerate(raw_events)]
        events = [c for c in checked if isinstance(c, Event)]
        rejected = [c for c in checked if isinstance(c, Rejection)]
        future: Future = Future()
        if not self.running:
            raise WriterUnavailable("the event writer is not running")
        self._queue.put(_Submission(events, rejected, source, future,
                                    self.pipeline.clock.now()))
        return future

    def ingest(self, raw_events: list, source: str, timeout: float = 60.0) -> BatchResult:
        """Submit and wait for the commit."""
        return self.submit(raw_events, source).result(timeout)

    def call(self, fn: Callable[[Any], Any]) -> Future:
        """Run `fn(cursor)` in one transaction on the writer thread; the future has its result."""
        future: Future = Future()
        if not self.running:
            raise WriterUnavailable("the event writer is not running")
        self._queue.put(_Call(fn, future))
        return future

    # -- the thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        if self.on_start is not None:
            try:
                self.on_start()      # e.g. build the customer state; events queue meanwhile
            except Exception as exc:
                log.exception("the event writer could not start")
                self.start_error = str(exc).splitlines()[0][:200] if str(exc) else repr(exc)
                self._stop.set()
                self._fail_queued()
                return
        self.ready.set()
        next_tick = time.monotonic()
        last_work = time.monotonic()
        while True:
            timeout = max(0.0, next_tick - time.monotonic())
            try:
                item = self._queue.get(timeout=timeout if not self._stop.is_set() else 0.01)
            except queue.Empty:
                item = None
            if item is None and self._stop.is_set() and self._queue.empty():
                break
            if isinstance(item, _Call):
                self._run_call(item)
            elif isinstance(item, _Submission):
                self._run_batch(self._gather(item))
            if item is not None:
                last_work = time.monotonic()
            elif time.monotonic() - last_work >= IDLE_S:
                self._idle()
                last_work = time.monotonic()
            if time.monotonic() >= next_tick:
                for job in self._jobs:
                    try:
                        with self.pipeline.wh.transaction() as cur:
                            job(cur)
                    except Exception:   # a failing job must not stop ingestion
                        log.exception("writer job failed")
                        self.stats.errors += 1
                next_tick = time.monotonic() + self.tick

    def _idle(self) -> None:
        """Nothing queued: fold the customer state's increments, then the write-ahead log into
        the database file when it is large."""
        try:
            self.pipeline.idle()
        except Exception:   # it is retried at the next pause; batches do not depend on it
            log.exception("folding the customer state failed")
            self.stats.errors += 1
        wal = Path(f"{self.pipeline.wh.path}.wal")
        try:
            if not wal.exists() or wal.stat().st_size < IDLE_CHECKPOINT_BYTES:
                return
            self.pipeline.wh.cursor().execute("CHECKPOINT")
            self.stats.checkpoints += 1
        except Exception as exc:   # another transaction is open: try at the next pause
            log.debug("idle checkpoint skipped: %s", exc)

    def _fail_queued(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            item.future.set_exception(WriterUnavailable(
                f"the event writer could not start: {self.start_error}"))

    def _gather(self, first: _Submission) -> list[_Submission]:
        batch, size = [first], len(first.events)
        deadline = time.monotonic() + self.linger
        while size < self.max_batch:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if isinstance(item, _Call):   # keep order simple: run it after this batch
                self._queue.put(item)
                break
            batch.append(item)
            size += len(item.events)
        return batch

    def _run_call(self, call: _Call) -> None:
        try:
            with self.pipeline.wh.transaction() as cur:
                value = call.fn(cur)
        except BaseException as exc:
            call.future.set_exception(exc)
        else:
            call.future.set_result(value)

    def _run_batch(self, batch: list[_Submission]) -> None:
        started = time.perf_counter()
        try:
            self._commit(batch)
        except Exception:
            log.exception("a micro-batch of %d submissions failed; retrying them one by one",
                          len(batch))
            self.stats.errors += 1
            for sub in batch:
                try:
                    self._commit([sub])
                except Exception as exc:
                    log.exception("a submission from %s failed", sub.source)
                    sub.future.set_exception(WriterUnavailable(
                        "the events could not be stored (nothing of this request was "
                        f"written): {str(exc).splitlines()[0][:200]}; retry later"))
        self.stats.last_batch_ms = (time.perf_counter() - started) * 1000
        self.stats.last_steps = dict(self.pipeline.timings)

    def _commit(self, batch: list[_Submission]) -> None:
        events = []
        for tag, sub in enumerate(batch):
            for e in sub.events:
                e.tag, e.source = tag, sub.source
                events.append(e)
        early = [(sub.source, r) for sub in batch for r in sub.rejected]
        result = self.pipeline.commit(events, batch[0].source, batch[0].received_at,
                                      rejected_early=early)
        accepted, duplicates = set(result.accepted), set(result.duplicates)
        self.stats.batches += 1
        self.stats.events += len(accepted)
        self.stats.duplicates += len(duplicates)
        claimed: set[str] = set()   # the first occurrence of a messageId is the one written
        for tag, sub in enumerate(batch):
            mine = BatchResult(rejected=list(sub.rejected) +
                               [r for r in result.rejected if r.tag == tag])
            for e in sub.events:
                if e.message_id in accepted and e.message_id not in claimed:
                    mine.accepted.append(e.message_id)
                    claimed.add(e.message_id)
                elif e.message_id in duplicates or e.message_id in accepted:
                    mine.duplicates.append(e.message_id)
            mine.rejected.sort(key=lambda r: r.index)
            mine.fired, mine.skipped = result.fired, result.skipped
            self.stats.rejected += len(mine.rejected)
            sub.future.set_result(mine)
