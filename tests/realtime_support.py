"""Helpers for the real-time tests: an approved draft, a live pipeline, marketable customers."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from tools import drafts
from tools.realtime.clock import FakeClock
from tools.realtime.ingest import Pipeline
from tools.realtime.triggers import Triggers

_ids = itertools.count(1)
# 10:00 UTC on a weekday: daytime in every country of the demo data
NOON = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)


def approved_draft(wh, channel: str = "email", draft_id: str | None = None,
                   approve: bool = True) -> str:
    """Save (and approve) a compliant draft for `channel`; returns its id."""
    draft_id = draft_id or f"dt{next(_ids):04d}-a"
    content = {"email": {"subject": "Travel without fees", "preheader": "Your card abroad",
                         "body": "Pay abroad with no card fees.", "cta": "See how"},
               "sms": {"text": "Pay abroad with no card fees. STOP to opt out"},
               "push": {"title": "Travelling?", "body": "Pay abroad with no card fees."}}
    d = drafts.Draft(draft_id=draft_id, batch_id=draft_id.split("-")[0], variant="A",
                     angle="benefit", created_at=datetime(2026, 11, 1, 9, 0), channel=channel,
                     language="en", content=content[channel], model="offline-templates",
                     prompt_versions={}, passed=True)
    drafts.save(wh, [d])
    if approve:
        drafts.approve(wh, draft_id, "Test Approver")
    return draft_id


def pipeline(wh, clock: FakeClock | None = None) -> tuple[Pipeline, Triggers, FakeClock]:
    clock = clock or FakeClock(NOON)
    triggers = Triggers(clock)
    p = Pipeline(wh, clock=clock, hooks=[triggers])
    p.prepare()
    with wh.transaction() as cur:
        triggers.reload(cur)
    return p, triggers, clock


def marketable(wh, channel: str = "email", n: int = 5, country: str | None = None) -> list[int]:
    """Customers who may be contacted on `channel` now."""
    from tools.audience import eligibility_sql

    where = f"AND c.country = '{country}'" if country else ""
    rows = wh.rows(f"SELECT e.customer_id FROM ({eligibility_sql(channel)}) e JOIN customers c "
                   f"USING (customer_id) WHERE e.exclusion IS NULL {where} "
                   f"ORDER BY customer_id LIMIT {n}")
    return [r[0] for r in rows]


def tx(customer_id: int, message_id: str, ts: str = "2026-10-31T23:59:00", **props) -> dict:
    props = {"amount": 42.0, "category": "travel", "channel": "online",
             "is_international": True, **props}
    return {"type": "track", "userId": str(customer_id), "event": "Transaction",
            "messageId": message_id, "timestamp": ts, "properties": props}


def consent(customer_id: int, message_id: str, purpose: str, granted: bool,
            ts: str = "2026-10-31T23:59:30") -> dict:
    return {"type": "track", "userId": str(customer_id), "event": "Consent Changed",
            "messageId": message_id, "timestamp": ts,
            "properties": {"purpose": purpose, "granted": granted}}
