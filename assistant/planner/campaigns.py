"""Campaigns as SQL: how many were sent, and their open, click, conversion and unsubscribe rates.

A campaign's rate is the distinct customers with the event divided by the distinct customers
sent it; over several campaigns, customer-campaign pairs are pooled, and "average ... rate" is
the mean of the campaigns' own rates.
"""

from __future__ import annotations

import re

from assistant.planner.clauses import (
    TIME_FORMAT,
    Ctx,
    Query,
    Unsupported,
    by_label,
    names_of,
    order_by,
    period_condition,
    route_filters,
    subject,
    table_dims,
    unrounded,
    what,
    where_clause,
)
from assistant.planner.frame import Frame
from assistant.planner.text import Text, normalise

_RECEIVED = (r"\b(?:received|receive|receiving|got|get|were sent|was sent|been sent"
             r"|were delivered|was delivered)\b")


def take_reach(text: Text, campaigns: tuple[str, ...]) -> bool:
    """'How many customers received the Refer a friend push?': the customers a campaign was
    sent to. Only about customers, with a campaign named or the word 'campaign' (a salary is
    received too)."""
    named = any(re.search(rf"(?<![\w]){re.escape(normalise(c))}(?![\w])", text.s)
                for c in campaigns if normalise(c))
    if not (named or text.peek(r"\bcampaigns?\b")) or not text.peek(_RECEIVED) or \
            not text.peek(r"\b(?:customers|clients|people|users|recipients)\b"):
        return False        # "how many campaigns were sent" counts campaigns
    text.take(_RECEIVED)
    text.take_all(r"\b(?:marketing |promotional )?campaigns?\b")
    return True


def campaign_query(frame: Frame, ctx: Ctx) -> Query:
    ctx.define("campaign")
    rates = [r for r in next((n[6:] for n in frame.notes if n.startswith("rates:")), "")
             .split(",") if r] or ["open", "click", "conversion"]
    cm_conds, cust = route_filters(frame, ctx, {"campaign": "cm.name",
                                                "campaign_channel": "cm.channel",
                                                "campaign_product": "cm.product"})
    if frame.period is not None:
        cm_conds.append(period_condition(frame.period, "cm.sent_at"))
    named = any(f.field == "campaign" for f in frame.filters)
    narrowed = any(f.field in ("campaign_channel", "campaign_product") for f in frame.filters)
    pooled = (narrowed or frame.agg in ("avg", "sum") or "aggregate" in frame.notes) and \
        "each_campaign" not in frame.notes
    group = frame.group or ([] if pooled and not named else ["campaign"])
    if frame.agg == "avg" and "campaign" not in group:
        return campaign_mean(frame, ctx, rates, cm_conds, cust, group)
    dims = table_dims(group, {"campaign": ["cm.name AS campaign", "cm.channel AS channel",
                                           "CAST(cm.sent_at AS DATE) AS sent_on"],
                              **_OWN_DIMS}, "cm.sent_at", ctx)
    names = names_of(dims)
    join_c = bool(cust) or any(d.startswith(("c.", "CASE", "held", "plat", "seg"))
                               for d in dims) or bool(ctx.joins)
    pair = "(e.campaign_id, e.customer_id)"
    selects = [*dims, f"count(DISTINCT {pair}) FILTER (WHERE e.event = 'sent') AS sent"]
    if "reach" in frame.notes:      # the customers sent any of them, each counted once
        selects.append("count(DISTINCT e.customer_id) FILTER (WHERE e.event = 'sent') "
                       "AS customers_sent")
    cols = {"open": ("opened", "open_rate_pct"), "click": ("clicked", "click_rate_pct"),
            "conversion": ("converted", "conversion_rate_pct"),
            "unsubscribe": ("unsubscribed", "unsubscribe_rate_pct")}
    for r in rates:
        event, col = cols[r]
        selects.append(f"count(DISTINCT {pair}) FILTER (WHERE e.event = '{event}') AS {event}")
        selects.append(f"round(100.0 * count(DISTINCT {pair}) FILTER (WHERE e.event = "
                       f"'{event}') / nullif(count(DISTINCT {pair}) FILTER (WHERE e.event = "
                       f"'sent'), 0), 1) AS {col}")
    value = cols[rates[0]][1]
    if frame.top and len(rates) > 1:
        value = "conversion_rate_pct" if "conversion" in rates else cols[rates[-1]][1]
    if "by_count" in frame.notes:
        value = cols[rates[0]][0]
    if "any_campaign" in frame.notes:    # the customers with the event, each counted once
        event = cols[rates[0]][0]
        value = f"customers_{event}"
        selects.append(f"count(DISTINCT e.customer_id) FILTER (WHERE e.event = '{event}') "
                       f"AS {value}")
    time_like = any(d in TIME_FORMAT for d in group)
    if not names:
        order = ""
    elif time_like:
        order = "ORDER BY " + ", ".join(names)
    elif frame.top:
        order = (f"ORDER BY {unrounded(selects, value)} "
                 f"{'ASC' if frame.order == 'asc' else 'DESC'}, "
                 f"{', '.join(names)} LIMIT {frame.top}")
    else:
        order = "ORDER BY sent_on" if "campaign" in group else "ORDER BY " + ", ".join(names)
    sql = "\n".join(filter(None, [
        "SELECT " + ", ".join(selects),
        "FROM campaign_events e",
        "JOIN campaigns cm ON cm.campaign_id = e.campaign_id",
        *(["JOIN customers c ON c.customer_id = e.customer_id",
           "JOIN customer_status s ON s.customer_id = c.customer_id",
           *ctx.joins.values()] if join_c else []),
        where_clause(cm_conds + cust),
        "GROUP BY ALL" if names else "",
        order,
    ]))
    return Query(sql, "Campaign rates" + by_label([n for n in names if n not in ("channel",
                                                                           "sent_on")]),
                 value, names, subject(frame), "campaign",
                 extra={"rates": [cols[r][1] for r in rates],
                        "what": what(frame, {"campaign_channel", "campaign_product",
                                             "campaign"})})


_OWN_DIMS = {d: [f"cm.{d} AS {d}"] for d in ("channel", "product")}


def _campaign_dims(group: list[str]) -> list[str]:
    """Selects for the dimensions of a campaign itself: its channel, product, send time."""
    return table_dims(group, _OWN_DIMS, "cm.sent_at")


def campaign_count(frame: Frame, ctx: Ctx) -> Query:
    """How many campaigns were sent ("how many email campaigns did we send in 2025?")."""
    conds, cust = route_filters(frame, ctx, {"campaign": "cm.name",
                                             "campaign_channel": "cm.channel",
                                             "campaign_product": "cm.product"})
    if cust:
        raise Unsupported("filter:customer")
    if frame.period is not None:
        conds.append(period_condition(frame.period, "cm.sent_at"))
    dims = _campaign_dims(frame.group)
    names = names_of(dims)
    sql = "\n".join(filter(None, [
        "SELECT " + ", ".join([*dims, "count(*) AS campaigns"]),
        "FROM campaigns cm",
        where_clause(conds),
        "GROUP BY ALL" if names else "",
        order_by(frame, names, "campaigns") if names else "",
    ]))
    return Query(sql, "Campaigns sent" + by_label(names), "campaigns", names, subject(frame),
                 "campaign_count", extra={"what": what(frame, {"campaign_channel",
                                                                "campaign_product", "campaign"}),
                                          "period": frame.period.label if frame.period else ""})


def campaign_mean(frame: Frame, ctx: Ctx, rates: list[str], cm_conds: list[str],
                   cust: list[str], group: list[str]) -> Query:
    """The average over campaigns of each campaign's rates ("average open rate of ...")."""
    cols = {"open": "opened", "click": "clicked", "conversion": "converted",
            "unsubscribe": "unsubscribed"}
    dims = _campaign_dims(group)
    names = names_of(dims)
    inner_dims = "".join(f", {d}" for d in dims)
    per = ", ".join(
        f"100.0 * count(DISTINCT e.customer_id) FILTER (WHERE e.event = '{cols[r]}') / "
        f"nullif(count(DISTINCT e.customer_id) FILTER (WHERE e.event = 'sent'), 0) AS {r}"
        for r in rates)
    joins = ["JOIN customers c ON c.customer_id = e.customer_id",
             "JOIN customer_status s ON s.customer_id = c.customer_id"] if cust else []
    sql = "\n".join(filter(None, [
        "WITH per_campaign AS (",
        f"  SELECT cm.campaign_id{inner_dims}, {per}",
        "  FROM campaign_events e",
        "  JOIN campaigns cm ON cm.campaign_id = e.campaign_id",
        *["  " + j for j in joins],
        "  " + where_clause(cm_conds + cust),
        "  GROUP BY ALL)",
        "SELECT " + ", ".join([*names, "count(*) AS campaigns",
                               *[f"round(avg({r}), 1) AS avg_{r}_rate_pct" for r in rates]]),
        "FROM per_campaign",
        "GROUP BY ALL" if names else "",
        ("ORDER BY " + ", ".join(names)) if names else "",
    ]))
    return Query(sql, "Average campaign rates" + by_label(names), f"avg_{rates[0]}_rate_pct", names,
                 subject(frame), "campaign_mean",
                 extra={"rates": [f"avg_{r}_rate_pct" for r in rates],
                        "what": what(frame, {"campaign_channel", "campaign_product"})})
