"""Segmentation at the reference date reading the customer state: the same features, segments
and card figures as from the raw tables, after a build and after a stream of events; and the
contact rules the state answers give the same verdict for every customer as the rules over the
raw tables."""

from __future__ import annotations

import dataclasses

import pandas as pd
from realtime_support import pipeline
from test_realtime_ingest import _as_events

from tools.audience import _eligibility
from tools.features import reference_ts
from tools.realtime import state
from tools.realtime.mapping import check
from tools.segments import run_segmentation
from warehouse.contract import CONTACT_CHANNELS


def _verdicts(wh, answers=None) -> pd.DataFrame:
    """Every customer's exclusion per channel (NULL = reachable)."""
    rules = _eligibility(CONTACT_CHANNELS, updated=False, answers=answers)
    return wh.df(f"SELECT * FROM ({rules}) ORDER BY customer_id")


def _answered(wh) -> pd.DataFrame:
    """Per customer, each rule condition the state answers: over the raw tables, from the state."""
    cols = ", ".join(f"coalesce(({raw}), false) AS raw_{i}, coalesce(({ans}), false) AS st_{i}"
                     for i, (raw, ans) in enumerate(state.RULES.items()))
    return wh.df(f"SELECT c.customer_id, {cols} FROM customers c ORDER BY c.customer_id")


def _cards(seg) -> list[dict]:
    out = []
    for c in seg.cards:
        d = dataclasses.asdict(c)
        d.pop("run_id", None)
        d.pop("source_sql", None)
        out.append(d)
    return out


def _raw_and_state(wh, monkeypatch):
    """The segmentation with the state read, and with it ignored (the raw tables)."""
    with_state = run_segmentation(wh, k=4, save=False)
    assert with_state.sql[0].count(state.STATE) > 0
    with monkeypatch.context() as m:
        m.setattr(state, "current", lambda _wh: None)
        raw = run_segmentation(wh, k=4, save=False)
    assert state.STATE not in raw.sql[0]
    return with_state, raw


def _assert_same(with_state, raw) -> None:
    pd.testing.assert_frame_equal(with_state.members, raw.members)
    assert _cards(with_state) == _cards(raw)
    assert all(c.reach for c in raw.cards)


def test_segments_and_cards_from_the_state_equal_the_raw_ones(rw, monkeypatch):
    state.build(rw)
    assert state.current(rw) == state.STATE
    pd.testing.assert_frame_equal(_verdicts(rw, state.RULES), _verdicts(rw))
    # the state's answer is what is evaluated (the rule over app events is not in the SQL)
    sql = _eligibility(CONTACT_CHANNELS, updated=False, answers=state.RULES)
    assert "FROM app_events" not in sql and "n_mobile_events" in sql
    _assert_same(*_raw_and_state(rw, monkeypatch))


def test_they_stay_equal_through_a_stream(rw, monkeypatch):
    ref = reference_ts(rw)
    since = ref - pd.Timedelta(days=2)
    # customers whose only iOS or Android use comes in the stream: push reach changes by it
    newly = rw.df("""SELECT customer_id FROM app_events WHERE platform IN ('ios', 'android')
                     GROUP BY customer_id HAVING min(ts) > ?""", [since])["customer_id"]
    events = _as_events(rw, since)
    # and events after the latest transaction (the features wait for them, the rule does not)
    later = [dict(e, timestamp=(ref + pd.Timedelta(hours=1)).isoformat(),
                  messageId=e["messageId"] + "-late") for e in events
             if e["event"] == "App Event" and e["properties"].get("platform") == "android"][:20]
    rw.execute("DELETE FROM transactions WHERE ts > ?", [since])
    rw.execute("DELETE FROM app_events WHERE ts > ?", [since])
    p, _, _ = pipeline(rw)
    before = _answered(rw)
    ordered = sorted(events, key=lambda e: e["timestamp"]) + later
    for i in range(0, len(ordered), 200):
        result = p.commit([check(e, j) for j, e in enumerate(ordered[i:i + 200])], "test")
        assert not result.rejected
    assert state.current(rw) == state.STATE
    assert rw.scalar(f"SELECT count(*) FROM {state.DELTA}") > 0
    after = _answered(rw)
    for i in range(len(state.RULES)):
        assert after[f"raw_{i}"].equals(after[f"st_{i}"])
    gained = after.customer_id[after.raw_0 & ~before.raw_0]
    assert len(newly) and set(newly) <= set(gained)   # the stream mattered
    pd.testing.assert_frame_equal(_verdicts(rw, state.RULES), _verdicts(rw))
    _assert_same(*_raw_and_state(rw, monkeypatch))
