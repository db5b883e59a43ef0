"""The KPI snapshot for "how are we doing?" / "give me an overview": one query, one short list.

Customers, active and churned shares, signups and spend over the activity window and the email
opt-in rate, all at the reference date and with the same business definitions as the single
questions ("how many active customers?", "email opt-in rate").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.planner.clauses import (
    ACTIVE_WINDOW_DAYS,
    Ctx,
    Query,
    Unsupported,
    base_from,
    customer_condition,
    period_condition,
    split_filters,
    subject,
    where_clause,
)
from assistant.planner.frame import Filter, Frame, Period

if TYPE_CHECKING:
    from assistant.planner.answer import Table

OVERVIEW_WORDS = (r"\bhow (?:are|is) (?:we|things|business|the business|the bank|it) (?:doing"
                  r"|going|performing)\b|\b(?:an? |the )?(?:overview|summary|snapshot"
                  r"|dashboard|health check|kpis?|key (?:figures|metrics|numbers|kpis|facts)"
                  r"|headline (?:figures|numbers|metrics)|big picture|state of (?:the )?"
                  r"(?:business|bank|customer base))\b"
                  # a bare "numbers?", "stats?", "figures": the key figures, not just a count
                  r"|^\s*(?:(?:show|give) me )?(?:the |some |our |any )?(?:numbers|stats"
                  r"|statistics|data|figures|metrics)\s*$")


def snapshot_query(frame: Frame, ctx: Ctx) -> Query:
    if frame.period is not None and frame.period.on == "tx":
        raise Unsupported("overview_period")
    conds, _ = split_filters(frame, ctx)
    window = Period("", days=ACTIVE_WINDOW_DAYS)

    def share(cond: str, name: str) -> list[str]:
        matching = f"count(*) FILTER (WHERE {cond})"
        return [f"{matching} AS {name}",
                f"round(100.0 * {matching} / nullif(count(*), 0), 1) AS {name}_pct"]

    active, churned, email = (customer_condition(Filter(field, values), ctx) for field, values in
                              (("active", (True,)), ("churned", (True,)), ("optin", ("email",))))
    selects = ["count(*) AS customers", *share(active, "active"), *share(churned, "churned"),
               f"count(*) FILTER (WHERE {period_condition(window, 'c.signup_date', is_date=True)})"
               f" AS new_customers_{ACTIVE_WINDOW_DAYS}d",
               f"round(sum(s.spend_90d), 2) AS spend_{ACTIVE_WINDOW_DAYS}d",
               *share(email, "email_opted_in")]
    ctx.define("spend")
    sql = "\n".join(filter(None, ["SELECT " + ",\n       ".join(selects), base_from(ctx),
                                  where_clause(conds)]))
    ref = ctx.vocab.reference_date
    return Query(sql, "Snapshot", "customers", [], subject(frame), "snapshot",
                 extra={"ref": f"{ref.day} {ref:%b %Y}"})


def snapshot_answer(query: Query, frame: Frame, table: Table) -> str:
    row = table.rows[0]
    days = ACTIVE_WINDOW_DAYS

    def with_pct(name: str) -> str:
        return f"{table.get(row, name)} ({table.get(row, name + '_pct')}%)"

    lines = [
        f"Snapshot of {query.subject} at the reference date {query.extra['ref']}:",
        f"- customers: {table.get(row, 'customers')}",
        f"- active (a transaction in the last {days} days): {with_pct('active')}",
        f"- churned: {with_pct('churned')}",
        f"- new customers in the last {days} days: {table.get(row, f'new_customers_{days}d')}",
        f"- spend in the last {days} days: {table.get(row, f'spend_{days}d')}",
        f"- opted in to email: {with_pct('email_opted_in')}",
        "",
        "Ask for any of these in detail, e.g. \"churn rate by country\", \"spend by category "
        f"in the last {days} days\" or \"new customers per month\".",
    ]
    return "\n".join(lines)
