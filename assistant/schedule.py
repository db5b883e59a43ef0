"""The model refresh on a schedule inside the running app (`assistant serve`).

`start(settings, wh)` starts one daemon thread that refreshes the models (tools.refresh) every
`settings.refresh_hours` hours, counted from the last model trained (the registry's history),
so a restart does not refresh again at once and a server that was down past its time catches
up shortly after it starts (after `settings.refresh_delay` seconds, when the page is up). Only
models that already have a champion are refreshed: a warehouse nobody has segmented or scored
is left alone. Each refresh is recorded in the registry's history (actor "schedule") and
logged; an error is logged and the next refresh is tried at the next interval. `refresh_hours`
0 switches it off. The returned handle's `stop()` ends the thread (at shutdown, in tests).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from tools import model_registry as mr
from warehouse.connection import Warehouse

log = logging.getLogger(__name__)
ACTOR = "schedule"


class Schedule:
    """A running refresh schedule (see the module docstring)."""

    def __init__(self, wh: Warehouse, hours: float, delay: float, *, clock=datetime.now) -> None:
        self.wh = wh
        self.interval = timedelta(hours=hours)
        self.delay = delay
        self.clock = clock
        self.runs: list[list] = []        # what each refresh did (tools.refresh.Refreshed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="model-refresh", daemon=True)

    def last_refresh(self) -> datetime | None:
        """When a model was last trained (a refresh, `assistant refresh`, or a person's new
        segmentation or model): the models are as fresh as that."""
        if not self.wh.has_table("model_events", mr.S):
            return None
        return self.wh.scalar(f"SELECT max(event_at) FROM {mr.S}.model_events WHERE event IN "
                              "('registered', 'compared')")

    def due_in(self) -> float:
        """Seconds until the next refresh is due (0 or less: due now)."""
        last = self.last_refresh()
        if last is None:
            return 0.0
        return (last + self.interval - self.clock()).total_seconds()

    def kinds(self) -> tuple[str, ...]:
        """The kinds that have a champion to refresh."""
        return tuple(k for k in ("segmentation", "churn", "clv")
                     if mr.models(self.wh, k, status="champion", limit=1))

    def run_once(self) -> list:
        from tools.refresh import refresh

        kinds = self.kinds()
        if not kinds:
            log.info("scheduled refresh: no models yet, nothing to refresh")
            self.runs.append([])
            return []
        done = refresh(self.wh, kinds, session=ACTOR)
        for r in done:
            log.info("scheduled refresh of %s (%s): %s", r.kind, r.scope,
                     r.error or " ".join(r.sentences))
        self.runs.append(done)
        return done

    def _loop(self) -> None:
        wait = max(self._due(), self.delay)
        while not self._stop.wait(wait):
            due = self._due()
            if due > 1:                    # refreshed by someone else meanwhile
                wait = due
                continue
            try:
                self.run_once()
            except Exception:              # never let the thread die with the page up
                log.exception("scheduled model refresh failed")
            wait = self.interval.total_seconds()

    def _due(self) -> float:
        try:
            return self.due_in()
        except Exception:
            log.exception("could not read the last refresh time")
            return self.interval.total_seconds()

    def start(self) -> Schedule:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)


def start(settings, wh: Warehouse) -> Schedule | None:
    """Start the refresh schedule of `settings` (None when refresh_hours is 0)."""
    hours = float(getattr(settings, "refresh_hours", 0) or 0)
    if hours <= 0 or wh.read_only:
        return None
    return Schedule(wh, hours, float(getattr(settings, "refresh_delay", 60.0))).start()
