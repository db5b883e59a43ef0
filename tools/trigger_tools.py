"""Agent tools for event-triggered campaigns: list, history, pause and resume, create.

The rules and what they did live in the warehouse (tools/realtime/); the writer picks up a rule
added, paused or resumed here within a fraction of a second.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from tools.realtime import history, rules
from tools.result import ChartSpec, TableResult, ToolContext, ToolResult
from warehouse.errors import InvalidArgument

Period = Literal["today", "yesterday", "this week", "last 7 days", "this month",
                 "last 30 days", "all"]


def _table(wh) -> pd.DataFrame:
    rows = []
    for tid, name, status, rule in rules.load(wh):
        rows.append({"trigger": tid, "name": name, "status": status, "event": rule.event,
                     "draft": rule.draft, "rule": rule.describe()})
    return pd.DataFrame(rows, columns=["trigger", "name", "status", "event", "draft", "rule"])


def list_triggers(ctx: ToolContext) -> ToolResult:
    """List the event-triggered campaign rules with their status (active or paused).

    Use for "which triggers do we have?", "what real-time campaigns are running?".
    """
    table = _table(ctx.wh)
    if table.empty:
        return ToolResult(summary="No triggers yet. Add one with `assistant triggers add "
                                  "rules.toml`, or describe one (\"when ... send draft ...\").")
    lines = [f"- {r.name} ({r.status}): {r.rule}" for r in table.itertuples()]
    return ToolResult(summary=f"{len(table)} trigger{'s' * (len(table) != 1)}:\n" +
                      "\n".join(lines), tables=[TableResult("Triggers", table)])


def trigger_history(ctx: ToolContext, period: Period = "today", trigger: str | None = None,
                    decision: Literal["fired", "skipped", "deferred", "cancelled",
                                      "entered"] | None = None,
                    reason: str | None = None) -> ToolResult:
    """Count what the triggers did in a period: sends fired, skipped (and why), deferred.

    Use for "what fired today?", "how many travel offers were skipped for consent this week?",
    "why were sends skipped?". Periods are calendar periods in UTC (the wall clock), not the
    data's reference date.

    Args:
        period: today, yesterday, this week, last 7 days, this month, last 30 days or all.
        trigger: a trigger's name, a word of it ("travel") or its id.
        decision: fired, skipped, deferred, cancelled or entered.
        reason: why it was skipped: consent, kyc, account, contact, cap, quiet hours,
            re-entry, conditions, exception, draft, paused (or an exact reason code).
    """
    counts, latest, w = history.decisions(ctx.wh, period=period, trigger=trigger,
                                          decision=decision, reason=reason)
    what = " ".join(p for p in (decision or "decisions", f"by triggers matching '{trigger}'"
                                if trigger else "", f"for {reason}" if reason else "") if p)
    if counts.empty:
        return ToolResult(summary=f"No trigger {what} {w.label}.",
                          data={"total": 0, "period": w.label})
    by = counts.groupby("decision")["decisions"].sum().to_dict()
    total = int(counts["decisions"].sum())
    customers = int(latest["customer_id"].nunique()) if len(latest) < 200 else None
    lines = [f"Triggers {w.label}: {total:,} {what} "
             f"({', '.join(f'{n:,} {d}' for d, n in sorted(by.items()))})."]
    for r in counts.head(8).itertuples():
        why = f" ({history.words(r.reason)})" if r.reason and r.reason != "fired" else ""
        lines.append(f"- {r.trigger}: {r.decisions:,} {r.decision}{why}, "
                     f"{r.customers:,} customer{'' if r.customers == 1 else 's'}")
    counts = counts.assign(reason=counts["reason"].map(history.words))
    return ToolResult(summary="\n".join(lines),
                      tables=[TableResult(f"Trigger decisions {w.label}", counts),
                              TableResult("Latest decisions", latest)],
                      chart=ChartSpec(kind="bar", x="reason", y=["decisions"],
                                      series="decision", title=f"Trigger decisions {w.label}"),
                      data={"total": total, "by_decision": by, "period": w.label,
                            "customers": customers})


def _status(ctx: ToolContext, trigger: str, status: str) -> ToolResult:
    if ctx.wh.read_only:
        raise InvalidArgument("the warehouse is open read-only here; pause or resume with "
                              "`assistant triggers pause NAME`")
    with ctx.wh.transaction() as cur:
        tid, name = rules.set_status(cur, trigger, status)
    verb = "Paused" if status == "paused" else "Resumed"
    more = (" Pending sends of this rule are skipped while it is paused." if status == "paused"
            else " New events can fire it again.")
    return ToolResult(summary=f"{verb} the trigger '{name}' ({tid}).{more}",
                      data={"trigger_id": tid, "status": status})


def pause_trigger(ctx: ToolContext, trigger: str) -> ToolResult:
    """Pause an event-triggered campaign rule so it sends nothing until resumed.

    Use for "pause the travel rule", "stop the welcome trigger".

    Args:
        trigger: the trigger's name, a word of it ("travel") or its id.
    """
    return _status(ctx, trigger, "paused")


def resume_trigger(ctx: ToolContext, trigger: str) -> ToolResult:
    """Resume a paused event-triggered campaign rule.

    Args:
        trigger: the trigger's name, a word of it ("travel") or its id.
    """
    return _status(ctx, trigger, "active")


def create_trigger(ctx: ToolContext, name: str, event: str, draft: str,
                   where: dict | None = None, state: dict | None = None,
                   segment: int | None = None, delay_minutes: float = 0,
                   cap_per_week: int = 1, quiet_hours: bool = True,
                   exceptions: list[str] | None = None) -> ToolResult:
    """Create an event-triggered campaign rule that sends an approved draft when an event
    happens (consent, KYC and account status are re-checked at send time).

    Use for "when a customer in segment 3 makes a card payment abroad, send draft d3f9a1-a".

    Args:
        name: a short name for the rule, e.g. "travel card push".
        event: the trigger event: Transaction, Login, Product Viewed, Application Started,
            Consent Changed, Campaign Opened, ...
        draft: the id of an APPROVED draft to send (its channel is used).
        where: conditions on the event's properties, e.g. {"category": "travel",
            "is_international": true}.
        state: conditions on the customer's state after the event, e.g. {"n_card_abroad": 1}
            for a first card payment abroad.
        segment: only customers in this segment of the latest segmentation.
        delay_minutes: wait this long before sending (exceptions can cancel meanwhile).
        cap_per_week: at most this many sends of this rule to one customer per 7 days.
        quiet_hours: hold sends between 21:00 and 08:00 in the customer's local time.
        exceptions: events that cancel a pending send, e.g. ["Application Completed"].
    """
    if ctx.wh.read_only:
        raise InvalidArgument("the warehouse is open read-only here; add triggers with "
                              "`assistant triggers add rules.toml`")
    spec = {"name": name, "event": event, "draft": draft, "where": where or {},
            "state": state or {}, "segment": segment, "delay_minutes": delay_minutes,
            "cap": {"count": cap_per_week, "days": 7},
            "quiet_hours": {} if quiet_hours else None,
            "exceptions": [{"event": e} for e in exceptions or []]}
    rule = rules.parse_rule(spec)
    from tools import drafts as drafts_mod

    found = drafts_mod.get(ctx.wh, draft)[0]
    if found.status != "approved":
        raise InvalidArgument(f"draft {found.draft_id} is not approved yet; only approved drafts "
                              f"can be sent: `assistant drafts approve {found.draft_id} --by "
                              "NAME`")
    with ctx.wh.transaction() as cur:
        tid = rules.save(cur, rule, created_by=ctx.session)
    return ToolResult(summary=f"Created the trigger '{rule.name}' ({tid}): {rule.describe()}.",
                      data={"trigger_id": tid})
