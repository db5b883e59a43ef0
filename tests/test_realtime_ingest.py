"""The event path: the customer state equals the raw features (after a build and after a stream
of shuffled, duplicated, out-of-order events across days), idempotency, malformed events
rejected one by one with reasons while good ones land, consents that late events cannot undo."""

from __future__ import annotations

import random
from datetime import timedelta

import pandas as pd
import pytest
from realtime_support import consent, pipeline, tx

from tools.features import compute_features, feature_sql, reference_ts
from tools.realtime import state, tables
from tools.realtime.mapping import Event, Rejection, check


def _features(wh, **kw):
    return wh.df(feature_sql(reference_ts(wh), current=True, **kw))


def test_state_equals_raw_features_after_a_build(rw):
    state.build(rw)
    assert state.current(rw) == state.STATE
    pd.testing.assert_frame_equal(_features(rw, state=state.STATE), _features(rw))
    assert compute_features(rw).attrs["source"] == state.STATE


def _as_events(wh, since) -> list[dict]:
    """The transactions and app events after `since` as track events (their ids kept)."""
    out = []
    for r in wh.df("SELECT * FROM transactions WHERE ts > ?", [since]).to_dict("records"):
        props = {k: r[k] for k in ("amount", "category", "direction", "channel", "merchant",
                                   "currency", "is_international", "merchant_country",
                                   "account_id", "transaction_id") if not pd.isna(r[k])}
        props["amount"] = float(props["amount"])
        props["is_international"] = bool(props.get("is_international", False))
        out.append({"userId": int(r["customer_id"]), "event": "Transaction",
                    "messageId": f"t{r['transaction_id']}",
                    "timestamp": r["ts"].isoformat(), "properties": props})
    for r in wh.df("SELECT * FROM app_events WHERE ts > ?", [since]).to_dict("records"):
        props = {k: r[k] for k in ("event_type", "platform", "product", "event_id")
                 if not pd.isna(r[k])}
        out.append({"userId": int(r["customer_id"]), "event": "App Event",
                    "messageId": f"e{r['event_id']}", "timestamp": r["ts"].isoformat(),
                    "properties": props})
    return out


def test_state_stays_exact_through_a_stream_across_days(rw):
    before = _features(rw)
    since = reference_ts(rw) - timedelta(days=3, hours=7)
    events = _as_events(rw, since)
    rw.execute("DELETE FROM transactions WHERE ts > ?", [since])
    rw.execute("DELETE FROM app_events WHERE ts > ?", [since])
    p, _, _ = pipeline(rw)                       # builds the state three days back
    rng = random.Random(3)
    ordered = sorted(events, key=lambda e: e["timestamp"])
    # micro-batches in time order, each shuffled, with re-deliveries of earlier events
    chunks = [ordered[i:i + 150] for i in range(0, len(ordered), 150)]
    for chunk in chunks:
        rng.shuffle(chunk)
        resent = rng.sample(ordered[: ordered.index(chunk[0]) + 1], 5)
        result = p.commit([check(e, i) for i, e in enumerate(chunk + resent)], "test")
        assert not result.rejected
    assert state.current(rw) == state.STATE
    assert rw.scalar(f"SELECT count(*) FROM {state.DELTA}") > 0     # increments not folded yet
    pd.testing.assert_frame_equal(_features(rw, state=state.STATE), _features(rw))
    pd.testing.assert_frame_equal(_features(rw), before)   # nothing lost, nothing doubled
    assert rw.scalar(f"SELECT count(*) FROM {tables.EVENTS}") == len(events)
    # a micro-batch's customers, with the priors from the state's totals: the same rows
    some = pd.DataFrame({"customer_id": sorted({e["userId"] for e in events})[:40]})
    rw.register("__some", some)
    picked = rw.df(feature_sql(reference_ts(rw), current=True, state=state.STATE, only="__some",
                               totals=state.TOTALS))
    rw.unregister("__some")
    expected = before[before["customer_id"].isin(some["customer_id"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(picked, expected)
    # folding the increments into the base changes nothing
    with rw.transaction() as cur:
        assert state.fold(cur) > 0
    assert rw.scalar(f"SELECT count(*) FROM {state.DELTA}") == 0
    pd.testing.assert_frame_equal(_features(rw, state=state.STATE), before)


def test_a_redelivered_batch_changes_nothing(rw):
    p, _, _ = pipeline(rw)
    batch = [tx(1, "a1"), tx(2, "a2", category="dining"), consent(3, "a3", "sms", False)]
    first = p.commit([check(e) for e in batch], "test")
    counts = rw.table_counts()
    again = p.commit([check(e) for e in batch], "test")
    assert len(first.accepted) == 3 and again.accepted == []
    assert sorted(again.duplicates) == ["a1", "a2", "a3"]
    assert rw.table_counts() == counts


def test_a_late_consent_event_does_not_undo_a_newer_one(rw):
    p, _, _ = pipeline(rw)
    p.commit([check(consent(5, "c2", "email", False, "2026-11-02T10:00:00"))], "test")
    p.commit([check(consent(5, "c1", "email", True, "2026-11-01T10:00:00"))], "test")
    assert rw.scalar("SELECT granted FROM consents WHERE customer_id = 5 AND "
                     "purpose = 'email'") is False


def test_an_unsubscribe_withdraws_the_channel_consent(rw):
    p, _, _ = pipeline(rw)
    campaign, channel = rw.rows("SELECT campaign_id, channel FROM campaigns "
                                "WHERE channel = 'email' LIMIT 1")[0]
    who = rw.scalar("SELECT customer_id FROM consents WHERE purpose = 'email' AND granted "
                    "LIMIT 1")
    event = {"userId": who, "event": "Campaign Unsubscribed", "messageId": "u1",
             "timestamp": "2026-11-02T10:00:00", "properties": {"campaign_id": campaign}}
    assert p.commit([check(event)], "test").accepted == ["u1"]
    assert rw.scalar("SELECT granted FROM consents WHERE customer_id = ? AND purpose = ?",
                     [who, channel]) is False
    assert rw.scalar("SELECT count(*) FROM campaign_events WHERE customer_id = ? AND "
                     "event = 'unsubscribed' AND ts = TIMESTAMP '2026-11-02 10:00:00'",
                     [who]) == 1


BAD = [  # (event, words in the reason)
    ("not an object", "JSON object"),
    ({"event": "Transaction", "messageId": "b1"}, "userId"),
    ({"userId": "abc", "event": "Transaction", "messageId": "b2"}, "whole number"),
    ({"userId": "1", "messageId": "b3"}, "event name"),
    ({"userId": "1", "event": "Card Swiped", "messageId": "b4"}, "unknown event"),
    ({"type": "identify", "userId": "1", "event": "Transaction", "messageId": "b5"},
     "only track"),
    ({"userId": "1", "event": "Transaction", "messageId": "b6", "properties": {
        "amount": 10}}, "properties.category"),
    ({"userId": "1", "event": "Transaction", "messageId": "b7", "properties": {
        "amount": "ten", "category": "travel"}}, "must be a number"),
    ({"userId": "1", "event": "Transaction", "messageId": "b8", "properties": {
        "amount": 5, "category": "holidays"}}, "not one of"),
    ({"userId": "1", "event": "Transaction", "messageId": "b9", "timestamp": "yesterday",
      "properties": {"amount": 5, "category": "travel"}}, "ISO 8601"),
    ({"userId": "1", "event": "Consent Changed", "messageId": "b10", "properties": {
        "purpose": "email", "granted": "maybe"}}, "true or false"),
    ({"userId": "1", "event": "Login", "messageId": "b11", "properties": "x"},
     "JSON object"),
    ({"userId": "1", "event": "Login", "messageId": "x" * 300}, "longer than"),
]
DB_BAD = [
    (tx(99_999_999, "d1"), "unknown customer"),
    (tx(1, "d2", account_id=999_999_999), "does not exist"),
    (tx(1, "d3", ts="2030-01-01T00:00:00"), "in the future"),
    ({"userId": "1", "event": "Campaign Opened", "messageId": "d4",
      "properties": {"campaign_id": 987654}}, "unknown campaign"),
]


@pytest.mark.parametrize(("event", "words"), BAD)
def test_malformed_events_get_a_reason(event, words):
    checked = check(event, 4)
    assert isinstance(checked, Rejection) and checked.index == 4
    assert words in checked.reason


def test_bad_events_are_rejected_one_by_one_while_good_ones_land(rw):
    p, _, _ = pipeline(rw)
    other = rw.scalar("SELECT account_id FROM accounts WHERE customer_id <> 1 LIMIT 1")
    good = [tx(1, "g1"), tx(2, "g2")]
    bad = [*DB_BAD, (tx(1, "d5", account_id=other), "another customer")]
    raw = [good[0], *(e for e, _ in bad), good[1]]
    checked = [check(e, i) for i, e in enumerate(raw)]
    assert all(isinstance(c, Event) for c in checked)
    result = p.commit(checked, "test")
    assert sorted(result.accepted) == ["g1", "g2"]
    reasons = {r.message_id: r.reason for r in result.rejected}
    for event, words in bad:
        assert words in reasons[event["messageId"]]
    assert rw.scalar(f"SELECT count(*) FROM {tables.REJECTS}") == len(bad)


def test_an_offset_timestamp_becomes_the_customers_local_time(rw):
    p, _, _ = pipeline(rw)
    who = rw.scalar("SELECT customer_id FROM customers WHERE country = 'DE' LIMIT 1")
    p.commit([check(tx(who, "z1", ts="2026-10-31T12:00:00Z"))], "test")
    assert str(rw.scalar("SELECT ts FROM transactions WHERE transaction_id = (SELECT "
                         "max(transaction_id) FROM transactions WHERE customer_id = ? AND "
                         "ts = TIMESTAMP '2026-10-31 13:00:00')", [who])) == \
        "2026-10-31 13:00:00"


def test_touched_customers_are_rescored_at_once_with_the_champion_models(rw):
    from tools.churn import score_churn
    from tools.realtime.scoring import LiveScoring
    from tools.segments import run_segmentation

    run = run_segmentation(rw, k=5).run
    score_churn(rw)
    p, _, _ = pipeline(rw)
    p.hooks.insert(0, LiveScoring(rw))
    who = rw.rows(f"SELECT customer_id, segment_id FROM assistant.segment_members "
                  f"WHERE run_id = '{run.run_id}' ORDER BY customer_id LIMIT 40")
    # a burst of crypto purchases moves some customers' behaviour towards another segment
    events = [tx(c, f"s{c}-{i}", category="crypto", channel="online", amount=900,
                 is_international=False) for c, _ in who for i in range(25)]
    assert len(p.commit([check(e) for e in events], "test").accepted) == len(events)
    live = rw.df("SELECT * FROM assistant.live_scores ORDER BY customer_id")
    assert list(live["customer_id"]) == [c for c, _ in who]
    assert live["segment_run"].eq(run.run_id).all()
    assert live["churn_score"].between(0, 1).all()
    changes = rw.df("SELECT * FROM assistant.segment_changes")
    before = dict(who)
    moved = {int(c): int(s) for c, s in zip(live["customer_id"], live["segment_id"],
                                            strict=True) if before[int(c)] != int(s)}
    assert moved, "a burst of 25 crypto purchases should move someone"
    assert dict(zip(changes["customer_id"], changes["to_segment"], strict=True)) == moved
    assert changes["cause"].str.startswith("s").all()
