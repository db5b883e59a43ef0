"""What the triggers did, and what came in: queries shared by the CLI, the chat and the page.

Trigger decisions happen on the wall clock (UTC), not at the data's reference date: "today" and
"this week" here are calendar periods in UTC, said so in every answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd

from tools.realtime import tables
from tools.realtime.triggers import CONSENT_REASONS, REASON_WORDS
from warehouse.connection import Warehouse
from warehouse.errors import InvalidArgument

PERIODS = ("today", "yesterday", "this week", "last 7 days", "this month", "last 30 days", "all")
DECISIONS = ("fired", "skipped", "deferred", "cancelled", "entered")
# reason groups people ask about ("skipped for consent")
REASON_GROUPS = {
    "consent": CONSENT_REASONS,
    "kyc": ("kyc_not_verified",),
    "account": ("no_open_account",),
    "contact": ("no_contact_address",),
    "cap": ("frequency_cap",),
    "quiet hours": ("quiet_hours",),
    "re-entry": ("reentry_gap", "already_waiting"),
    "conditions": ("conditions_not_met",),
    "exception": ("cancelled_by_exception",),
    "draft": ("draft_not_approved",),
    "paused": ("paused",),
}


@dataclass(frozen=True)
class Window:
    label: str
    start: datetime | None     # naive UTC
    end: datetime | None


def window(period: str | None, now: datetime | None = None) -> Window:
    """The UTC window of a period word ('today', 'this week', ...; None = all time)."""
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    period = (period or "all").strip().lower()
    spans = {
        "today": (day, None), "yesterday": (day - timedelta(days=1), day),
        "this week": (day - timedelta(days=day.weekday()), None),
        "last 7 days": (now - timedelta(days=7), None),
        "this month": (day.replace(day=1), None), "last 30 days": (now - timedelta(days=30), None),
        "all": (None, None),
    }
    if period not in spans:
        raise InvalidArgument(f"unknown period {period!r}; use one of {', '.join(PERIODS)}")
    start, end = spans[period]
    label = "so far" if period == "all" else f"{period} (UTC)"
    return Window(label, start, end)


def _reasons(reason: str | None) -> tuple[str, ...] | None:
    if not reason:
        return None
    key = reason.strip().lower()
    if key in REASON_GROUPS:
        return REASON_GROUPS[key]
    if key in REASON_WORDS:
        return (key,)
    raise InvalidArgument(f"unknown reason {reason!r}; use one of "
                          f"{', '.join(REASON_GROUPS)} or {', '.join(REASON_WORDS)}")


def decisions(wh: Warehouse, *, period: str | None = None, trigger: str | None = None,
              decision: str | None = None, reason: str | None = None, limit: int = 200,
              now: datetime | None = None) -> tuple[pd.DataFrame, pd.DataFrame, Window]:
    """(counts by trigger, decision and reason; the latest decisions) in the period."""
    w = window(period, now)
    if decision is not None and decision not in DECISIONS:
        raise InvalidArgument(f"unknown decision {decision!r}; use one of "
                              f"{', '.join(DECISIONS)}")
    empty = pd.DataFrame(columns=["trigger", "decision", "reason", "customers", "decisions"])
    if not wh.has_table("trigger_log", "assistant"):
        return empty, pd.DataFrame(), w
    where, params = ["true"], []
    if w.start is not None:
        where.append("d.ts >= ?")
        params.append(w.start)
    if w.end is not None:
        where.append("d.ts < ?")
        params.append(w.end)
    if trigger:
        where.append("(d.trigger_id = ? OR lower(d.trigger_name) LIKE ?)")
        params += [trigger.strip(), f"%{trigger.strip().lower()}%"]
    if decision:
        where.append("d.decision = ?")
        params.append(decision)
    wanted = _reasons(reason)
    if wanted:
        where.append("d.reason IN (SELECT unnest(?))")
        params.append(list(wanted))
    cond = " AND ".join(where)
    counts = wh.df(f"""SELECT d.trigger_name AS trigger, d.decision, coalesce(d.reason, '')
                              AS reason, count(DISTINCT d.customer_id) AS customers,
                              count(*) AS decisions
                       FROM {tables.DECISIONS} d WHERE {cond}
                       GROUP BY ALL ORDER BY decisions DESC, trigger""", params)
    latest = wh.df(f"""SELECT d.ts AS "time (UTC)", d.trigger_name AS trigger, d.decision,
                              d.reason, d.detail, d.customer_id, d.channel,
                              d.message_id AS cause
                       FROM {tables.DECISIONS} d WHERE {cond}
                       ORDER BY d.ts DESC LIMIT {int(limit)}""", params)
    return counts, latest, w


def recent_events(wh: Warehouse, limit: int = 20) -> pd.DataFrame:
    """The latest events the writer accepted (no properties: they may hold personal data)."""
    if not wh.has_table("events", "assistant"):
        return pd.DataFrame(columns=["received (UTC)", "event", "customer_id", "time", "source"])
    return wh.df(f"""SELECT received_at AS "received (UTC)", event, customer_id, ts AS time,
                            source, message_id
                     FROM {tables.EVENTS} ORDER BY received_at DESC, committed_at DESC
                     LIMIT {int(limit)}""")


def rejects(wh: Warehouse, limit: int = 20) -> pd.DataFrame:
    if not wh.has_table("event_rejects", "assistant"):
        return pd.DataFrame(columns=["received (UTC)", "source", "message_id", "reason"])
    return wh.df(f"""SELECT received_at AS "received (UTC)", source, message_id, reason
                     FROM {tables.REJECTS} ORDER BY received_at DESC LIMIT {int(limit)}""")


def outbox(wh: Warehouse, limit: int = 20) -> pd.DataFrame:
    if not wh.has_table("outbox", "assistant"):
        return pd.DataFrame()
    return wh.df(f"""SELECT created_at AS "created (UTC)", outbox_id, customer_id, channel,
                            draft_id, status, attempts, last_error, delivered_at
                     FROM {tables.OUTBOX} ORDER BY created_at DESC LIMIT {int(limit)}""")


def words(reason: str) -> str:
    return REASON_WORDS.get(reason, reason)
