"""The refresh schedule inside the running app: due from the last model trained, refreshes only
models that exist, off with refresh_hours 0, stops cleanly."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from types import SimpleNamespace

from assistant import schedule
from tools import model_registry as mr
from tools.segments import run_segmentation


def test_off_when_zero_hours_or_read_only(wh, rw):
    assert schedule.start(SimpleNamespace(refresh_hours=0), rw) is None
    assert schedule.start(SimpleNamespace(refresh_hours=24), wh) is None   # read-only handle


def test_nothing_to_refresh_without_models(rw):
    s = schedule.Schedule(rw, 24, 0)
    assert s.kinds() == () and s.run_once() == []


def test_due_after_the_interval_then_refreshes_in_the_background(rw):
    run_segmentation(rw, k=4, seed=2)
    first = mr.champion(rw, "segmentation")
    later = {"now": datetime.now()}
    s = schedule.Schedule(rw, 1, 0.05, clock=lambda: later["now"])
    assert 3500 < s.due_in() <= 3600                  # just trained: due in an hour
    later["now"] += timedelta(hours=2)
    assert s.due_in() < 0 and s.kinds() == ("segmentation",)
    s.start()
    try:
        deadline = time.monotonic() + 120
        while not s.runs and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        s.stop(timeout=120)
    assert s.runs and s.runs[0][0].kind == "segmentation" and s.runs[0][0].error is None
    now = mr.champion(rw, "segmentation")
    assert now.model_id != first.model_id and now.replaces == first.model_id
    events = mr.history(rw, "segmentation")
    assert "schedule" in set(events["actor"])
