"""The real-time path assembled: pipeline, live scoring, triggers, writer, outbox delivery and
broker consumers, started and stopped together (by `assistant serve`, or by a command that
works on a warehouse no server holds)."""

from __future__ import annotations

import gc
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.realtime import rules as rules_mod
from tools.realtime import state as state_mod
from tools.realtime import tables
from tools.realtime.clock import Clock
from tools.realtime.ingest import Pipeline
from tools.realtime.outbox import Delivery, adapter_for
from tools.realtime.scoring import LiveScoring
from tools.realtime.triggers import Triggers
from tools.realtime.writer import MAX_BATCH, EventWriter
from warehouse.connection import Warehouse

log = logging.getLogger(__name__)


@dataclass
class Config:
    """What the real-time path needs from the settings (tools do not read assistant.settings)."""

    outbox_webhook: str | None = None
    outbox_file: Path | None = None
    outbox_token: str | None = None
    outbox_max_attempts: int = 5
    outbox_backoff: float = 1.0
    redis_url: str | None = None
    redis_stream: str = "events"
    redis_group: str = "assistant"
    max_batch: int = MAX_BATCH
    extra: dict[str, Any] = field(default_factory=dict)


class RealTime:
    """Everything that runs while events flow in."""

    def __init__(self, wh: Warehouse, config: Config | None = None, *,
                 clock: Clock | None = None, deliver: bool = True) -> None:
        self.wh = wh
        self.config = config or Config()
        self.clock = clock or Clock()
        self.scoring = LiveScoring(wh)
        self.triggers = Triggers(self.clock)
        self.pipeline = Pipeline(wh, clock=self.clock, hooks=[self.scoring, self.triggers])
        self.writer = EventWriter(self.pipeline, max_batch=self.config.max_batch,
                                  on_start=self._prepare)
        self.delivery = Delivery(
            wh, self.writer, adapter_for(self.config.outbox_webhook, self.config.outbox_file,
                                         token=self.config.outbox_token),
            clock=self.clock, max_attempts=self.config.outbox_max_attempts,
            backoff=self.config.outbox_backoff) if deliver else None
        self.consumers: list = []
        self.started_at: float | None = None

    def _prepare(self) -> None:
        """On the writer thread, before the first batch: tables, customer state, rules."""
        started = time.perf_counter()
        self.pipeline.prepare()
        with self.wh.transaction() as cur:
            self.triggers.reload(cur)
        _calm_gc()
        log.info("customer state ready in %.1f s", time.perf_counter() - started)

    def start(self, wait: bool = False) -> RealTime:
        """Start everything; the writer prepares the state first (events queue meanwhile;
        `wait` blocks until it is ready)."""
        self.writer.every_tick(lambda cur: self.triggers.dispatch_due(cur))
        self.writer.start()
        if wait:
            self.wait_ready()
        if self.delivery is not None:
            self.delivery.start()
        if self.config.redis_url:
            from tools.realtime.brokers import Consumer, RedisStreamSource

            source = RedisStreamSource(self.config.redis_url, self.config.redis_stream,
                                       self.config.redis_group)
            self.consumers.append(Consumer(source, self.writer).start())
        self.started_at = time.time()
        return self

    def wait_ready(self, timeout: float = 600) -> None:
        from tools.realtime.writer import WriterUnavailable

        while not self.writer.ready.wait(0.05):
            if self.writer.start_error or not self.writer.running:
                raise WriterUnavailable(f"the event writer could not start: "
                                        f"{self.writer.start_error}")
            timeout -= 0.05
            if timeout <= 0:
                raise WriterUnavailable("the event writer is still preparing")

    def stop(self) -> None:
        for consumer in self.consumers:
            consumer.stop()
        if self.delivery is not None:
            self.delivery.stop()
        self.writer.stop()

    # -- trigger management, through the writer -------------------------------------------------
    def add_rules(self, rules: list[rules_mod.Rule], created_by: str = "") -> list[str]:
        def add(cur):
            ids = [rules_mod.save(cur, r, created_by=created_by) for r in rules]
            self.triggers.reload(cur)
            return ids

        return self.writer.call(add).result(30)

    def set_status(self, ref: str, status: str) -> tuple[str, str]:
        def change(cur):
            done = rules_mod.set_status(cur, ref, status)
            self.triggers.reload(cur)
            return done

        return self.writer.call(change).result(30)

    def status(self) -> dict[str, Any]:
        """Counters for `assistant events status` and the page's live panel."""
        s = self.writer.stats
        meta = state_mod.meta(self.wh)
        return {
            "running": self.writer.running, "ready": self.writer.ready.is_set(),
            "events": s.events, "duplicates": s.duplicates, "rejected": s.rejected,
            "batches": s.batches, "last_batch_ms": round(s.last_batch_ms, 1),
            "last_batch_steps_s": s.last_steps,
            "errors": s.errors,
            "state_reference_ts": meta["reference_ts"].isoformat() if meta and
            meta["reference_ts"] else None,
            "state_exact": self.pipeline.state_ok,
            "segmentation_model": self.scoring.last["segmentation"],
            "churn_model": self.scoring.last["churn"],
            "triggers": {tid: {"name": n, "status": st}
                         for tid, (n, st, _) in self.triggers.rules.items()},
            "consumers": [c.describe() for c in self.consumers],
        }


def _calm_gc() -> None:
    """Fewer and cheaper garbage collections while events flow: every event allocates a few
    dicts, so at the default threshold (700 allocations) a full collection ran every few
    thousand events, walking every object of the process (modules, models, frames): 0.1 s
    pauses in the 1M profile, and reading a Redis reply took 8 us an event with them against
    1.1 us without. What exists once the path is ready is frozen out of the collections (it
    lives as long as the process), and the youngest generation is collected every 50,000
    allocations."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def ensure_tables(wh: Warehouse) -> None:
    with wh.transaction() as cur:
        tables.ensure(cur)
