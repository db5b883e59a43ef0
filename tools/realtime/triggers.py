"""Triggers in action: who enters a rule, and whether the send happens, decided at send time.

`Triggers.on_batch` runs inside the writer's transaction for every micro-batch:
1. an event that matches a rule's trigger event and property conditions makes the customer a
   candidate; the customer's state, live segment and churn score must pass the rule's
   conditions; a customer already waiting in the rule, or who entered it within the re-entry
   gap, does not enter again (each logged with its reason);
2. an exception event cancels the rule's pending send for that customer;
3. an entry is due after the rule's delay; due entries are dispatched at once (delay 0) or by
   `dispatch_due`, the writer's periodic job.

Dispatch re-checks everything at send time, in this order, and logs the first reason not to
send: the rule is active, its draft is approved, the customer is marketable on the channel (the
audiences' rule, tools/audience.py: consent, profiling objection, KYC, open account, contact
address), the frequency cap, quiet hours in the customer's local time (defer to their end, or
skip). Only then is an outbox row written, in the same transaction (tools/realtime/outbox.py
delivers it). Every decision goes to `assistant.trigger_log`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from tools import drafts as drafts_mod
from tools.audience import eligibility_sql
from tools.realtime import rules as rules_mod
from tools.realtime import state as state_mod
from tools.realtime import tables
from tools.realtime.clock import Clock, naive_utc
from tools.realtime.localtime import local, to_utc
from tools.realtime.mapping import Event
from tools.realtime.rules import Rule

SEND_CHANNELS = ("email", "sms", "push")
REASON_WORDS = {
    "fired": "sent to the outbox",
    "conditions_not_met": "did not meet the rule's conditions",
    "already_waiting": "already waiting for a send from this rule",
    "reentry_gap": "entered this rule too recently (re-entry gap)",
    "cancelled_by_exception": "cancelled by an exception event",
    "paused": "the rule was paused",
    "draft_not_approved": "the draft is not approved (or no longer exists)",
    "no_channel_consent": "no consent for the channel",
    "objected_to_profiling": "objected to profiling",
    "kyc_not_verified": "KYC not verified",
    "no_open_account": "no open account",
    "no_contact_address": "no contact address for the channel",
    "frequency_cap": "frequency cap reached",
    "quiet_hours": "inside quiet hours (local time)",
}
CONSENT_REASONS = ("no_channel_consent", "objected_to_profiling")


@dataclass
class _Entry:
    entry_id: str
    trigger_id: str
    customer_id: int
    message_id: str | None


class Triggers:
    """The trigger rules of one warehouse, evaluated by the writer."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.rules: dict[str, tuple[str, str, Rule]] = {}   # id -> (name, status, rule)
        self._version: tuple | None = None

    def reload(self, cur) -> None:
        tables.ensure(cur)
        self.rules = {tid: (name, status, rule)
                      for tid, name, status, rule in rules_mod.load(cur)}
        self._version = self._seen(cur)

    @staticmethod
    def _seen(cur) -> tuple:
        return tuple(cur.execute(f"SELECT count(*), max(updated_at) FROM {tables.TRIGGERS}"
                                 ).fetchall()[0])

    def refresh(self, cur) -> None:
        """Pick up rules added, changed, paused or resumed by the page or the command line."""
        if self._seen(cur) != self._version:
            self.reload(cur)

    # -- entering ----------------------------------------------------------------------------
    def on_batch(self, cur, events: list[Event], now: datetime) -> dict[str, int]:
        self.refresh(cur)
        if not self.rules:
            return {}
        log: list[list] = []
        stamp = naive_utc(now)
        active = [(tid, name, rule) for tid, (name, status, rule) in self.rules.items()
                  if status == "active"]
        candidates: list[tuple[str, str, Rule, Event]] = []
        for tid, name, rule in active:
            for e in events:
                if e.name == rule.event and all(c.holds(_field(e, c.field)) for c in rule.where):
                    candidates.append((tid, name, rule, e))
        cancels = self._exceptions(cur, events, log, stamp)
        entries: list[_Entry] = []
        if candidates:
            entries = self._enter(cur, candidates, cancels, log, now)
        counts = {"fired": 0, "skipped": 0}
        due = [e for e in entries
               if self.rules[e.trigger_id][2].delay_minutes == 0]
        if due:
            counts = self._dispatch(cur, due, now, log)
        self._write_log(cur, log)
        return counts

    def _exceptions(self, cur, events: list[Event], log: list, stamp: datetime
                    ) -> dict[tuple[str, int], datetime]:
        """Cancel pending sends whose rule has a matching exception event; returns
        (rule, customer) -> time of the exception, to stop entries of this batch too."""
        cancels: dict[tuple[str, int], datetime] = {}
        for tid, (_name, _status, rule) in self.rules.items():
            for ex in rule.exceptions:
                for e in events:
                    if e.name.lower() == rules_mod._BY_NAME[ex.event.lower()].names[0].lower() \
                            and all(c.holds(_field(e, c.field)) for c in ex.where):
                        key = (tid, e.customer_id)
                        cancels[key] = max(cancels.get(key, e.ts), e.ts)
        if not cancels:
            return cancels
        frame = pd.DataFrame([{"trigger_id": k[0], "customer_id": k[1]} for k in cancels])
        cur.register("__cancel", frame)
        try:
            rows = cur.execute(f"""UPDATE {tables.ENTRIES} SET status = 'cancelled',
                                       decided_at = ?, reason = 'cancelled_by_exception'
                                   WHERE status = 'pending' AND (trigger_id, customer_id) IN
                                       (SELECT (trigger_id, customer_id) FROM __cancel)
                                   RETURNING entry_id, trigger_id, customer_id, message_id""",
                               [stamp]).fetchall()
        finally:
            cur.unregister("__cancel")
        for entry_id, tid, customer_id, message_id in rows:
            log.append(self._row(stamp, tid, customer_id, entry_id, "cancelled",
                                 "cancelled_by_exception", "", message_id))
        return cancels

    def _enter(self, cur, candidates, cancels, log, now: datetime) -> list[_Entry]:
        stamp = naive_utc(now)
        customers = sorted({e.customer_id for *_, e in candidates})
        cur.register("__cand", pd.DataFrame({"customer_id": customers}))
        try:
            need_state = any(r.state for _, _, r, _ in candidates)
            states = {}
            if need_state:
                frame = cur.execute(f"SELECT * FROM {state_mod.rows_of('__cand')} s").df()
                states = {int(r["customer_id"]): r for r in frame.to_dict("records")}
            scores = {}
            if any(r.segment is not None or r.min_churn_score is not None or
                   r.max_churn_score is not None for _, _, r, _ in candidates):
                scores = {int(r[0]): (r[1], r[2]) for r in cur.execute(
                    f"SELECT customer_id, segment_id, churn_score FROM {tables.LIVE} "
                    "WHERE customer_id IN (SELECT customer_id FROM __cand)").fetchall()}
            history = {}
            for r in cur.execute(
                    f"SELECT trigger_id, customer_id, max(entered_at), "
                    f"count(*) FILTER (WHERE status = 'pending') FROM {tables.ENTRIES} "
                    "WHERE customer_id IN (SELECT customer_id FROM __cand) GROUP BY ALL"
                    ).fetchall():
                history[(r[0], int(r[1]))] = (r[2], r[3])
        finally:
            cur.unregister("__cand")
        entries, rows, taken = [], [], set()
        for tid, _name, rule, e in candidates:
            key = (tid, e.customer_id)
            if key in taken:
                continue
            taken.add(key)
            reason, detail = _customer_fails(rule, states.get(e.customer_id),
                                             scores.get(e.customer_id))
            last, waiting = history.get(key, (None, 0))
            if reason is None and waiting:
                reason, detail = "already_waiting", ""
            if reason is None and rule.reentry_days and last is not None and \
                    last > stamp - timedelta(days=rule.reentry_days):
                reason, detail = "reentry_gap", f"entered {last:%Y-%m-%d %H:%M} UTC"
            if reason is None and key in cancels and cancels[key] >= e.ts:
                reason, detail = "cancelled_by_exception", "exception event in the same batch"
            if reason is not None:
                log.append(self._row(stamp, tid, e.customer_id, None, "skipped", reason, detail,
                                     e.message_id))
                continue
            entry_id = f"{e.message_id[:40]}:{tid}"
            due = stamp + timedelta(minutes=rule.delay_minutes)
            rows.append([entry_id, tid, e.customer_id, e.message_id, stamp, due, "pending",
                         None, None])
            log.append(self._row(stamp, tid, e.customer_id, entry_id, "entered", "",
                                 f"due {due:%Y-%m-%d %H:%M} UTC" if rule.delay_minutes else "",
                                 e.message_id))
            entries.append(_Entry(entry_id, tid, e.customer_id, e.message_id))
        if rows:
            tables.insert_rows(cur, tables.ENTRIES, rows, ignore_conflicts=True)
        return entries

    # -- sending -----------------------------------------------------------------------------
    def dispatch_due(self, cur, now: datetime | None = None) -> dict[str, int]:
        """Dispatch every pending entry that is due (the writer's periodic job)."""
        now = now or self.clock.now()
        self.refresh(cur)
        rows = cur.execute(f"SELECT entry_id, trigger_id, customer_id, message_id FROM "
                           f"{tables.ENTRIES} WHERE status = 'pending' AND due_at <= ? "
                           "ORDER BY due_at LIMIT 5000", [naive_utc(now)]).fetchall()
        if not rows:
            return {}
        log: list[list] = []
        counts = self._dispatch(cur, [_Entry(*r) for r in rows], now, log)
        self._write_log(cur, log)
        return counts

    def _dispatch(self, cur, entries: list[_Entry], now: datetime, log: list) -> dict[str, int]:
        stamp = naive_utc(now)
        counts = {"fired": 0, "skipped": 0}
        decided: list[list] = []      # entry_id, status, reason
        deferred: list[list] = []     # entry_id, due_at
        outbox: list[list] = []
        by_rule: dict[str, list[_Entry]] = {}
        for e in entries:
            by_rule.setdefault(e.trigger_id, []).append(e)
        def skip(entry: _Entry, tid: str, channel: str | None, reason: str,
                 detail: str = "") -> None:
            decided.append([entry.entry_id, "skipped", reason])
            log.append(self._row(stamp, tid, entry.customer_id, entry.entry_id, "skipped",
                                 reason, detail, entry.message_id, channel))
            counts["skipped"] += 1

        for tid, group in by_rule.items():
            name, status, rule = self.rules.get(tid, ("?", "deleted", None))
            if rule is None or status != "active":
                for entry in group:
                    skip(entry, tid, rule.channel if rule else None, "paused", f"rule {status}")
                continue
            draft = _approved_draft(cur, rule.draft)
            channel = (rule.channel or (draft.channel if draft else None) or "").lower()
            if draft is None or channel not in SEND_CHANNELS:
                for entry in group:
                    skip(entry, tid, channel or None, "draft_not_approved",
                         f"draft {rule.draft}" if draft is None else f"channel {channel}")
                continue
            checks = _send_checks(cur, [e.customer_id for e in group], channel, tid,
                                  stamp - timedelta(days=rule.cap.days) if rule.cap else None)
            for entry in group:
                exclusion, country, sent = checks.get(entry.customer_id,
                                                      ("no_open_account", None, 0))
                if exclusion:
                    skip(entry, tid, channel, exclusion, REASON_WORDS.get(exclusion, ""))
                    continue
                if rule.cap and sent >= rule.cap.count:
                    skip(entry, tid, channel, "frequency_cap",
                         f"{sent} sent in {rule.cap.days:g} days")
                    continue
                quiet_end = _quiet_until(rule, now, country)
                if quiet_end is not None:
                    if rule.quiet_hours.action == "skip":
                        skip(entry, tid, channel, "quiet_hours",
                             f"local time {local(now, country):%H:%M}")
                    else:
                        deferred.append([entry.entry_id, naive_utc(quiet_end)])
                        log.append(self._row(stamp, tid, entry.customer_id, entry.entry_id,
                                             "deferred", "quiet_hours",
                                             f"until {local(quiet_end, country):%H:%M} local",
                                             entry.message_id, channel))
                    continue
                payload = {
                    "outbox_id": entry.entry_id, "trigger": name, "trigger_id": tid,
                    "customer_id": entry.customer_id, "channel": channel,
                    "draft_id": draft.draft_id, "language": draft.language,
                    "content": draft.content, "cause": entry.message_id,
                    "decided_at": stamp.isoformat(timespec="milliseconds") + "Z",
                }
                outbox.append([entry.entry_id, stamp, tid, entry.entry_id, entry.customer_id,
                               channel, draft.draft_id, json.dumps(payload, ensure_ascii=False),
                               "pending", 0, stamp, None, None])
                decided.append([entry.entry_id, "fired", "fired"])
                log.append(self._row(stamp, tid, entry.customer_id, entry.entry_id, "fired",
                                     "fired", f"draft {draft.draft_id}", entry.message_id,
                                     channel))
                counts["fired"] += 1
        if outbox:
            frame = pd.DataFrame(outbox, columns=[
                "outbox_id", "created_at", "trigger_id", "entry_id", "customer_id", "channel",
                "draft_id", "payload", "status", "attempts", "next_attempt_at", "last_error",
                "delivered_at"])
            cur.register("__outbox", frame)
            try:
                cur.execute(f"INSERT INTO {tables.OUTBOX} SELECT * REPLACE (payload::JSON AS "
                            "payload) FROM __outbox ON CONFLICT DO NOTHING")
            finally:
                cur.unregister("__outbox")
        if decided:
            cur.register("__decided", pd.DataFrame(decided, columns=["entry_id", "status",
                                                                      "reason"]))
            try:
                cur.execute(f"UPDATE {tables.ENTRIES} SET status = d.status, reason = d.reason, "
                            "decided_at = ? FROM __decided d WHERE "
                            f"{tables.ENTRIES}.entry_id = d.entry_id", [stamp])
            finally:
                cur.unregister("__decided")
        if deferred:
            cur.register("__deferred", pd.DataFrame(deferred, columns=["entry_id", "due_at"]))
            try:
                cur.execute(f"UPDATE {tables.ENTRIES} SET due_at = d.due_at FROM __deferred d "
                            f"WHERE {tables.ENTRIES}.entry_id = d.entry_id")
            finally:
                cur.unregister("__deferred")
        return counts

    def _row(self, stamp, tid, customer_id, entry_id, decision, reason, detail, message_id,
             channel=None) -> list:
        name = self.rules.get(tid, ("?",))[0]
        return [stamp, tid, name, customer_id, entry_id, decision, reason or None,
                detail or None, message_id, channel]

    @staticmethod
    def _write_log(cur, log: list) -> None:
        tables.insert_rows(cur, tables.DECISIONS, log)


def _field(e: Event, name: str):
    """A property (or mapped column) of an event, for conditions."""
    if name in e.row:
        value = e.row[name]
        return float(value) if hasattr(value, "as_integer_ratio") and not \
            isinstance(value, bool | int) else value
    if name == "country":
        return e.properties.get("_country")
    return e.properties.get(name)


def _customer_fails(rule: Rule, state: dict | None, score: tuple | None
                    ) -> tuple[str | None, str]:
    for c in rule.state:
        actual = None if state is None else state.get(c.field)
        if not c.holds(None if actual is None or pd.isna(actual) else actual):
            return "conditions_not_met", f"{c.describe()} (is {actual})"
    if rule.segment is not None:
        seg = score[0] if score else None
        if seg is None or int(seg) != rule.segment:
            return "conditions_not_met", f"not in segment {rule.segment} (in {seg})"
    churn = score[1] if score else None
    if rule.min_churn_score is not None and (churn is None or churn < rule.min_churn_score):
        return "conditions_not_met", f"churn score below {rule.min_churn_score:.0%}"
    if rule.max_churn_score is not None and (churn is None or churn > rule.max_churn_score):
        return "conditions_not_met", f"churn score above {rule.max_churn_score:.0%}"
    return None, ""


def _approved_draft(cur, draft_id: str):
    """The draft if it exists, passed compliance and is approved (re-read at every send)."""
    if not cur.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'assistant' "
                       "AND table_name = 'campaign_drafts'").fetchall()[0][0]:
        return None
    rows = cur.execute(f"SELECT * FROM {drafts_mod.TABLE} WHERE draft_id = ?",
                       [draft_id.lower()]).df()
    if rows.empty:
        return None
    draft = drafts_mod._from_row(rows.to_dict("records")[0])
    return draft if draft.status == "approved" and draft.passed else None


def _send_checks(cur, customers: list[int], channel: str, trigger_id: str,
                 cap_since: datetime | None) -> dict[int, tuple[str | None, str | None, int]]:
    """customer -> (exclusion by the marketable rule or None, country, sends in the cap
    window)."""
    cur.register("__send", pd.DataFrame({"customer_id": sorted(set(customers))}))
    try:
        who = "(SELECT * FROM customers WHERE customer_id IN (SELECT customer_id FROM __send))"
        rows = cur.execute(
            f"""SELECT e.customer_id, e.exclusion, c.country,
                       (SELECT count(*) FROM {tables.OUTBOX} o WHERE o.customer_id = e.customer_id
                          AND o.trigger_id = ? AND o.created_at >= ?) AS sent
                FROM ({eligibility_sql(channel, who)}) e
                JOIN customers c ON c.customer_id = e.customer_id""",
            [trigger_id, cap_since or datetime(1970, 1, 1)]).fetchall()
    finally:
        cur.unregister("__send")
    return {int(r[0]): (r[1], r[2], int(r[3])) for r in rows}


def _quiet_until(rule: Rule, now: datetime, country: str | None) -> datetime | None:
    """When the quiet hours around `now` end (aware UTC), or None outside them."""
    if rule.quiet_hours is None:
        return None
    start, end = rule.quiet_hours.minutes()
    if start == end:
        return None
    here = local(now, country)
    minute = here.hour * 60 + here.minute
    inside = (start <= minute < end) if start < end else (minute >= start or minute < end)
    if not inside:
        return None
    end_day = here.date() if minute < end else here.date() + timedelta(days=1)
    end_local = datetime(end_day.year, end_day.month, end_day.day, end // 60, end % 60)
    return to_utc(end_local, country)
