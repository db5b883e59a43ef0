"""Triggers: entry, send-time re-checks (consent withdrawn in between), caps, re-entry, quiet
hours with a fake clock, exceptions, paused rules and unapproved drafts; every decision logged."""

from __future__ import annotations

import json

import pytest
from realtime_support import approved_draft, consent, marketable, pipeline, tx

from tools.realtime import rules, tables
from tools.realtime.mapping import check


def _add(wh, triggers, **spec) -> str:
    rule = rules.parse_rule({"name": "travel offer", "event": "Transaction",
                             "where": {"category": "travel"}, **spec})
    with wh.transaction() as cur:
        trigger_id = rules.save(cur, rule)
        triggers.reload(cur)
    return trigger_id


def _commit(p, *raw):
    return p.commit([check(r, i) for i, r in enumerate(raw)], "test")


def _decisions(wh):
    return wh.rows(f"SELECT decision, reason, customer_id FROM {tables.DECISIONS} "
                   "ORDER BY ts, decision")


def _outbox(wh):
    return wh.rows(f"SELECT customer_id, channel, payload FROM {tables.OUTBOX} "
                   "ORDER BY created_at")


def test_a_matching_event_fires_at_once_and_the_outbox_has_no_personal_data(rw):
    p, triggers, _ = pipeline(rw)
    draft = approved_draft(rw, "email")
    _add(rw, triggers, draft=draft, quiet_hours=None)
    who = marketable(rw, "email", 2)
    result = _commit(p, tx(who[0], "m1"), tx(who[1], "m2", category="groceries"))
    assert result.fired == 1
    rows = _outbox(rw)
    assert [r[0] for r in rows] == [who[0]]
    payload = json.loads(rows[0][2])
    assert payload["draft_id"] == draft and payload["channel"] == "email"
    assert payload["content"]["subject"] == "Travel without fees"
    email = rw.scalar("SELECT email FROM customers WHERE customer_id = ?", [who[0]])
    assert email not in rows[0][2]
    assert ("fired", "fired", who[0]) in _decisions(rw)


def test_consent_withdrawn_between_trigger_and_send_means_no_send(rw):
    p, triggers, clock = pipeline(rw)
    _add(rw, triggers, draft=approved_draft(rw, "email"), delay_minutes=30, quiet_hours=None)
    who = marketable(rw, "email", 1)[0]
    _commit(p, tx(who, "m1"))
    assert _outbox(rw) == []                          # waiting for the delay
    _commit(p, consent(who, "m2", "email", False))     # withdrawn while it waits
    clock.advance(minutes=31)
    with rw.transaction() as cur:
        counts = triggers.dispatch_due(cur)
    assert counts == {"fired": 0, "skipped": 1}
    assert _outbox(rw) == []
    assert ("skipped", "no_channel_consent", who) in _decisions(rw)


def test_kyc_and_accounts_are_rechecked_at_send_time(rw):
    p, triggers, clock = pipeline(rw)
    _add(rw, triggers, draft=approved_draft(rw, "email"), delay_minutes=5, quiet_hours=None)
    a, b = marketable(rw, "email", 2)
    _commit(p, tx(a, "m1"), tx(b, "m2"))
    rw.execute("UPDATE customers SET kyc_status = 'rejected' WHERE customer_id = ?", [a])
    rw.execute("UPDATE accounts SET status = 'frozen' WHERE customer_id = ?", [b])
    clock.advance(minutes=6)
    with rw.transaction() as cur:
        triggers.dispatch_due(cur)
    reasons = {r[2]: r[1] for r in _decisions(rw) if r[0] == "skipped"}
    assert reasons == {a: "kyc_not_verified", b: "no_open_account"}


def test_frequency_cap_and_reentry_gap(rw):
    p, triggers, clock = pipeline(rw)
    _add(rw, triggers, draft=approved_draft(rw, "email"), cap={"count": 1, "days": 7},
         quiet_hours=None)
    who = marketable(rw, "email", 1)[0]
    assert _commit(p, tx(who, "m1")).fired == 1
    clock.advance(days=1)
    assert _commit(p, tx(who, "m2")).fired == 0      # capped: one per 7 days
    clock.advance(days=7)
    assert _commit(p, tx(who, "m3")).fired == 1      # the cap window has passed
    reasons = [r[1] for r in _decisions(rw) if r[0] == "skipped"]
    assert reasons == ["frequency_cap"]

    _add(rw, triggers, name="travel offer", event="Transaction", draft=approved_draft(rw),
         reentry_days=30, cap=None, quiet_hours=None)
    clock.advance(days=1)
    assert _commit(p, tx(who, "m4")).fired == 0
    assert "reentry_gap" in [r[1] for r in _decisions(rw)]


def test_quiet_hours_defer_to_the_morning_in_local_time(rw):
    p, triggers, clock = pipeline(rw)
    _add(rw, triggers, draft=approved_draft(rw, "email"),
         quiet_hours={"start": "21:00", "end": "08:00"})
    who = marketable(rw, "email", 1, country="DE")[0]
    clock.current = clock.current.replace(hour=22, minute=30)   # 23:30 in Berlin
    assert _commit(p, tx(who, "m1")).fired == 0
    assert ("deferred", "quiet_hours", who) in _decisions(rw)
    clock.current = clock.current.replace(hour=23, minute=59)   # 00:59 in Berlin: still quiet
    with rw.transaction() as cur:
        assert triggers.dispatch_due(cur) == {}
    clock.advance(hours=7, minutes=2)          # 07:01 UTC = 08:01 in Berlin (winter time)
    with rw.transaction() as cur:
        assert triggers.dispatch_due(cur)["fired"] == 1
    assert [r[0] for r in _outbox(rw)] == [who]


def test_quiet_hours_can_skip_instead(rw):
    p, triggers, clock = pipeline(rw)
    _add(rw, triggers, draft=approved_draft(rw, "email"),
         quiet_hours={"start": "21:00", "end": "08:00", "action": "skip"})
    who = marketable(rw, "email", 1, country="US")[0]
    clock.current = clock.current.replace(hour=4)        # 23:00 in New York
    assert _commit(p, tx(who, "m1")).skipped == 1
    assert ("skipped", "quiet_hours", who) in _decisions(rw)


def test_an_exception_event_cancels_a_pending_send(rw):
    p, triggers, clock = pipeline(rw)
    _add(rw, triggers, draft=approved_draft(rw, "email"), delay_minutes=60, quiet_hours=None,
         exceptions=[{"event": "Transaction", "where": {"category": "dining"}}])
    a, b = marketable(rw, "email", 2)
    _commit(p, tx(a, "m1"), tx(b, "m2"))
    _commit(p, tx(a, "m3", category="dining"))
    clock.advance(minutes=61)
    with rw.transaction() as cur:
        triggers.dispatch_due(cur)
    assert [r[0] for r in _outbox(rw)] == [b]
    assert ("cancelled", "cancelled_by_exception", a) in _decisions(rw)


@pytest.mark.parametrize("approve", [False, True])
def test_only_approved_drafts_fire_and_paused_rules_do_not(rw, approve):
    p, triggers, _ = pipeline(rw)
    _add(rw, triggers, draft=approved_draft(rw, "email", approve=approve), quiet_hours=None)
    who = marketable(rw, "email", 2)
    result = _commit(p, tx(who[0], "m1"))
    assert result.fired == (1 if approve else 0)
    if not approve:
        assert ("skipped", "draft_not_approved", who[0]) in _decisions(rw)
        return
    with rw.transaction() as cur:
        rules.set_status(cur, "travel", "paused")
        triggers.reload(cur)
    assert _commit(p, tx(who[1], "m2")).fired == 0


def test_state_and_segment_conditions(rw):
    p, triggers, _ = pipeline(rw)
    _add(rw, triggers, draft=approved_draft(rw, "email"), quiet_hours=None,
         state={"tx_30d": {">=": 1000}})
    who = marketable(rw, "email", 1)[0]
    assert _commit(p, tx(who, "m1")).fired == 0
    assert ("skipped", "conditions_not_met", who) in _decisions(rw)


def test_rules_are_checked_when_written():
    with pytest.raises(Exception, match="unknown event"):
        rules.parse_rule({"name": "x", "event": "Card Swiped", "draft": "d1"})
    with pytest.raises(Exception, match="unknown state field"):
        rules.parse_rule({"name": "x", "event": "Login", "draft": "d1",
                          "state": {"spend_lifetime": 3}})
    with pytest.raises(Exception, match="not a time of day"):
        rules.parse_rule({"name": "x", "event": "Login", "draft": "d1",
                          "quiet_hours": {"start": "25:00"}})
