"""Frame -> SQL, from templates that apply the warehouse's business definitions.

Spend = debit transactions excluding transfer, investment and fees; active / churned / age come
from the customer_status view; "holds" = an open account; opted in = consents.granted; campaign
rates = distinct customers with the event over distinct customers sent; relative periods count
back from the reference date (reference_period). Each template names its output columns, so the
answer can be written from the result.
"""

from __future__ import annotations

from assistant.planner import vocabulary as v
from assistant.planner.campaigns import campaign_count, campaign_query
from assistant.planner.clauses import (
    ACTIVE_WINDOW_DAYS,
    SPEND_WHERE,
    TIME_FORMAT,
    TX_FIELDS,
    Ctx,
    Query,
    Unsupported,
    base_from,
    by_label,
    customer_condition,
    customer_dim,
    customer_dims,
    in_list,
    names_of,
    order_by,
    period_condition,
    predicate,
    q,
    route_filters,
    split_filters,
    subject,
    table_dims,
    time_dim,
    tx_condition,
    what,
    where_clause,
)
from assistant.planner.frame import Frame
from assistant.planner.lapsed import lapsed_query
from assistant.planner.snapshot import snapshot_query

__all__ = ["Query", "Unsupported", "build"]

# -- metrics ---------------------------------------------------------------------------------
def build(frame: Frame, vocab: v.Vocabulary, run_id: str | None = None) -> Query:
    ctx = Ctx(vocab, run_id)
    for f in frame.filters + frame.condition:
        if f.field in ("product", "platform") and len(f.values) > 1 and not f.negate \
                and f.field in frame.group:
            ctx.restrict[f.field] = f.values
    builder = {
        "customers": _customers, "share": _share, "spend": _spend,
        "transactions": _transactions, "balance": _balance, "credit_limit": _balance,
        "interest": _balance, "utilisation": _balance, "optin": _optin,
        "campaign": campaign_query, "campaigns": campaign_count, "products": _products,
        "accounts": _accounts, "events": _events, "age": _age, "tenure": _tenure,
        "overview": snapshot_query, "lapsed": lapsed_query,
    }.get(frame.metric)
    if builder is None:
        raise Unsupported(frame.metric)
    if frame.agg in ("median", "max", "min") and not _has_statistic(frame):
        raise Unsupported("statistic:" + frame.agg)    # never another statistic instead
    query = builder(frame, ctx)
    query.definitions = ctx.defs
    return query


def _has_statistic(frame: Frame) -> bool:
    """Whether the metric's query computes the median / max / min it was asked for."""
    if frame.metric == "transactions":
        return not {"per_customer_count", "share_of_transactions"} & set(frame.notes)
    if frame.metric == "tenure":
        return frame.agg == "median"
    return frame.metric in ("spend", "balance", "age")


def _tx_period_customers(frame: Frame, ctx: Ctx) -> list[str]:
    """'active last month' style: customers with a transaction in the period."""
    if frame.period is None or frame.period.on != "tx":
        return []
    return [f"EXISTS (SELECT 1 FROM transactions t WHERE t.customer_id = c.customer_id AND "
            f"{period_condition(frame.period, 't.ts')})"]


def _customers(frame: Frame, ctx: Ctx) -> Query:
    if "needs_period" in frame.notes:
        raise Unsupported("needs_period")
    time_dims = [d for d in frame.group if d in TIME_FORMAT]
    if time_dims:
        return _monthly_active(frame, ctx, time_dims)
    dims = customer_dims(frame, ctx)
    conds, _ = split_filters(frame, ctx)
    if frame.period is not None and frame.period.on == "tx":
        active = next((f for f in frame.filters if f.field == "active"), None)
        if any(f.field == "churned" for f in frame.filters):
            raise Unsupported("churned_in_period")
        if active is None:
            raise Unsupported("customers_in_period")
        conds = [c for c in conds if c not in ("s.is_active", "NOT s.is_active")]
        conds += [("NOT " if active.negate else "") + c for c in _tx_period_customers(frame, ctx)]
        ctx.defs = [d for d in ctx.defs if not d.startswith("active =")]
        ctx.defs.append(f"active in {frame.period.label} = at least one transaction in it")
    count = "count(DISTINCT c.customer_id)" if ctx.joins else "count(*)"
    names = names_of(dims)
    sql = "\n".join(filter(None, [
        "SELECT " + ", ".join([*dims, f"{count} AS customers"]),
        base_from(ctx),
        where_clause(conds),
        "GROUP BY ALL" if dims else "",
        order_by(frame, names, "customers") if dims else "",
    ]))
    title = "Customers" + (" by " + ", ".join(names).replace("_", " ") if names else "")
    return Query(sql, title, "customers", names, subject(frame), "count")


def _monthly_active(frame: Frame, ctx: Ctx, time_dims: list[str]) -> Query:
    """Customers per month: active customers (who transacted in each month)."""
    if not any(f.field == "active" for f in frame.filters):
        raise Unsupported("customers_by_month")
    filters = [f for f in frame.filters if f.field != "active"]
    inner = Frame(filters=filters, period=frame.period)
    conds, _ = split_filters(inner, ctx)
    if frame.period is not None and frame.period.on == "tx":
        conds.append(period_condition(frame.period, "t.ts"))
    dims = [time_dim(d, "t.ts") for d in time_dims]
    other = [customer_dim(d, ctx) for d in frame.group if d not in time_dims]
    names = names_of(dims + other)
    sql = "\n".join(filter(None, [
        "SELECT " + ", ".join([*dims, *other, "count(DISTINCT t.customer_id) AS customers"]),
        "FROM transactions t",
        "JOIN customers c ON c.customer_id = t.customer_id",
        "JOIN customer_status s ON s.customer_id = c.customer_id",
        *ctx.joins.values(),
        where_clause(conds),
        "GROUP BY ALL",
        order_by(frame, names, "customers"),
    ]))
    return Query(sql, "Customers with a transaction per " + time_dims[0], "customers", names,
                 subject(Frame(filters=filters)) + " with at least one transaction",
                 "count", extra={"monthly_active": True})


def _share(frame: Frame, ctx: Ctx) -> Query:
    if not frame.condition:
        raise Unsupported("share_without_condition")
    if any(d in TIME_FORMAT for d in frame.group):
        raise Unsupported("share_by_month")
    dims = customer_dims(frame, ctx)
    conds, _ = split_filters(frame, ctx)
    num = []
    for f in frame.condition:
        cond = customer_condition(f, ctx)
        if cond is None:
            raise Unsupported(f"filter:{f.field}")
        num.append(cond)
    numerator = " AND ".join(num)
    count = "count(DISTINCT c.customer_id)" if ctx.joins else "count(*)"
    matching = (f"count(DISTINCT c.customer_id) FILTER (WHERE {numerator})" if ctx.joins
                else f"count(*) FILTER (WHERE {numerator})")
    names = names_of(dims)
    selects = [*dims, f"{matching} AS matching", f"{count} AS customers",
               f"round(100.0 * {matching} / nullif({count}, 0), 1) AS pct"]
    sql = "\n".join(filter(None, [
        "SELECT " + ", ".join(selects),
        base_from(ctx),
        where_clause(conds),
        "GROUP BY ALL" if dims else "",
        order_by(frame, names, "pct", selects) if dims else "",
    ]))
    cond_words = " and ".join(predicate(f) for f in frame.condition)
    title = f"Share {cond_words}" + (" by " + ", ".join(names) if names else "")
    return Query(sql, title, "pct", names, subject(frame), "share",
                 extra={"condition": cond_words})


def _tx_from(frame: Frame, ctx: Ctx, *, spend: bool) -> tuple[list[str], list[str], bool]:
    """WHERE conditions over t (and c/s when needed); whether customers must be joined."""
    cust_conds, rest = split_filters(frame, ctx, allowed_other=(*TX_FIELDS, "international"))
    conds = [SPEND_WHERE] if spend else []
    conds += [tx_condition(f) for f in rest]
    if frame.period is not None and frame.period.on == "tx":
        conds.append(period_condition(frame.period, "t.ts"))
    return conds, cust_conds, bool(cust_conds)


TX_DIMS = {"category": "t.category", "channel": "t.channel", "merchant": "t.merchant",
           "direction": "t.direction", "international": "t.is_international"}


def _tx_dims(frame: Frame, ctx: Ctx) -> tuple[list[str], bool]:
    """Dimension selects for transaction metrics; whether customers must be joined."""
    dims, needs_customers = [], False
    for dim in frame.group:
        if dim in TX_DIMS:
            dims.append(f"{TX_DIMS[dim]} AS {dim}")
        elif dim in TIME_FORMAT:
            dims.append(time_dim(dim, "t.ts"))
        elif dim == "product":
            ctx.joins["acct"] = "JOIN accounts a ON a.account_id = t.account_id"
            dims.append("a.product AS product")
        elif dim == "customer":
            dims.append("t.customer_id AS customer_id")
        else:
            dims.append(customer_dim(dim, ctx))
            needs_customers = True
    return dims, needs_customers


def _spend(frame: Frame, ctx: Ctx) -> Query:
    ctx.define("spend")
    agg = frame.agg or "sum"
    window = frame.period is not None and frame.period.on == "tx" and frame.period.days == \
        ACTIVE_WINDOW_DAYS
    if agg in ("avg", "median") and window and "customer" not in frame.group and not any(
            f.field in TX_FIELDS or f.field == "international" for f in frame.filters) and \
            all(d not in TX_DIMS and d not in TIME_FORMAT and d != "product"
                for d in frame.group):
        return _spend_90d(frame, ctx, agg)
    conds, cust_conds, need_c = _tx_from(frame, ctx, spend=True)
    dims, need_c2 = _tx_dims(frame, ctx)
    names = names_of(dims)
    joins = []
    if need_c or need_c2 or "customer" in frame.group:
        joins = ["JOIN customers c ON c.customer_id = t.customer_id",
                 "JOIN customer_status s ON s.customer_id = c.customer_id"]
    joins += list(ctx.joins.values())
    where = where_clause(conds + cust_conds)
    period = _period_label(frame, ctx)
    if "customer" in frame.group:
        extra_dims = [d for d in dims if not d.endswith("AS customer_id")]
        sql = "\n".join(filter(None, [
            "SELECT t.customer_id AS customer_id, c.country AS country, "
            + ", ".join([*extra_dims, "round(sum(t.amount), 2) AS spend"]).lstrip(", "),
            "FROM transactions t", *joins, where, "GROUP BY ALL",
            order_by(frame, [], "spend"),
        ]))
        return Query(sql.replace(", , ", ", "), "Customers by spend", "spend",
                     ["customer_id", "country"], subject(frame), "ranking",
                     extra={"period": period, "what": what(frame)})
    if agg in ("avg", "median", "max", "min"):
        fn = {"avg": "avg", "median": "median", "max": "max", "min": "min"}[agg]
        inner_dims = [d.rsplit(" AS ", 1) for d in dims]
        inner_select = ", ".join(f"{expr} AS {name}" for expr, name in inner_dims)
        sql = "\n".join(filter(None, [
            "WITH spend AS (",
            "  SELECT t.customer_id" + (", " + inner_select if inner_select else "")
            + ", sum(t.amount) AS spend",
            "  FROM transactions t", *["  " + j for j in joins], "  " + where,
            "  GROUP BY ALL)",
            "SELECT " + ", ".join([*names, "count(*) AS customers",
                                   f"round({fn}(spend), 2) AS {agg}_spend_per_customer"]),
            "FROM spend",
            "GROUP BY ALL" if names else "",
            order_by(frame, names, f"{agg}_spend_per_customer") if names else "",
        ]))
        word = {"avg": "Average", "median": "Median", "max": "Highest", "min": "Lowest"}[agg]
        return Query(sql, f"{word} spend per customer" + by_label(names),
                     f"{agg}_spend_per_customer", names, subject(frame), "amount",
                     extra={"period": period, "agg": agg, "what": what(frame)})
    total = "round(sum(t.amount), 2)"
    selects = [*dims, f"{total} AS total_spend", "count(DISTINCT t.customer_id) AS customers"]
    if names:
        selects.append("round(100.0 * sum(t.amount) / sum(sum(t.amount)) OVER (), 1) "
                       "AS pct_of_spend")
    sql = "\n".join(filter(None, [
        "SELECT " + ", ".join(selects), "FROM transactions t", *joins, where,
        "GROUP BY ALL" if names else "",
        order_by(frame, names, "total_spend") if names else "",
    ]))
    highlight = [x for n in frame.notes if n.startswith("highlight:")
                 for x in n.split(":", 1)[1].split(",")]
    return Query(sql, "Total spend" + by_label(names), "total_spend", names, subject(frame),
                 "amount", extra={"period": period, "agg": "sum", "what": what(frame),
                                  "highlight": highlight})


def _spend_90d(frame: Frame, ctx: Ctx, agg: str) -> Query:
    """Average spend over the 90-day activity window, from customer_status.spend_90d: every
    customer of the group counts, also those who spent nothing in the window."""
    dims = customer_dims(frame, ctx)
    conds, _ = split_filters(frame, ctx)
    names = names_of(dims)
    value = f"{agg}_spend_per_customer"
    sql = "\n".join(filter(None, [
        "SELECT " + ", ".join([*dims, "count(*) AS customers",
                               f"round({agg}(s.spend_90d), 2) AS {value}"]),
        base_from(ctx), where_clause(conds),
        "GROUP BY ALL" if names else "",
        order_by(frame, names, value) if names else "",
    ]))
    word = "Average" if agg == "avg" else "Median"
    title = f"{word} spend per customer, last {ACTIVE_WINDOW_DAYS} days" + by_label(names)
    return Query(sql, title, value, names, subject(frame), "amount",
                 extra={"period": frame.period.label, "agg": agg, "what": "",
                        "window": True})


def _period_label(frame: Frame, ctx: Ctx) -> str:
    """The window of the transactions or events measured (a signup period is a filter)."""
    if frame.period is not None and frame.period.on == "tx":
        return frame.period.label
    return _all_data(ctx.vocab)


def _all_data(vocab: v.Vocabulary) -> str:
    if vocab.data_start:
        start, end = vocab.data_start, vocab.reference_date
        return f"all data ({start.day} {start:%b %Y} to {end.day} {end:%b %Y})"
    return "all data"


def _transactions(frame: Frame, ctx: Ctx) -> Query:
    if "share_of_transactions" in frame.notes:
        return _transaction_share(frame, ctx)
    agg = frame.agg or "count"
    spend_only = "spend_only" in frame.notes
    if spend_only:
        ctx.define("spend")
    conds, cust_conds, need_c = _tx_from(frame, ctx, spend=spend_only)
    dims, need_c2 = _tx_dims(frame, ctx)
    names = names_of(dims)
    joins = []
    if need_c or need_c2:
        joins = ["JOIN customers c ON c.customer_id = t.customer_id",
                 "JOIN customer_status s ON s.customer_id = c.customer_id"]
    joins += list(ctx.joins.values())
    value = {"count": "transactions", "sum": "total_amount", "avg": "avg_amount",
             "median": "median_amount", "max": "max_amount", "min": "min_amount"}[agg]
    selects = [*dims, "count(*) AS transactions", "round(sum(t.amount), 2) AS total_amount",
               "round(avg(t.amount), 2) AS avg_amount"]
    if "per_customer_count" in frame.notes:
        agg, value = "per_customer", "transactions_per_customer"
        selects = [*dims, "count(*) AS transactions", "count(DISTINCT t.customer_id) AS customers",
                   "round(count(*) / count(DISTINCT t.customer_id), 2) "
                   "AS transactions_per_customer"]
    if agg in ("median", "max", "min"):
        selects.append(f"round({agg}(t.amount), 2) AS {value}")
    sql = "\n".join(filter(None, [
        "SELECT " + ", ".join(selects), "FROM transactions t", *joins,
        where_clause(conds + cust_conds),
        "GROUP BY ALL" if names else "",
        order_by(frame, names, value) if names else "",
    ]))
    period = _period_label(frame, ctx)
    scope = " (spend only)" if spend_only else ""
    return Query(sql, "Transactions" + scope + by_label(names), value, names, subject(frame),
                 "tx", extra={"period": period, "agg": agg,
                              "what": (" counting as spend" if spend_only else "") + what(frame)})


def _transaction_share(frame: Frame, ctx: Ctx) -> Query:
    """The share of transactions matching the condition ('... are international')."""
    if not frame.condition:
        raise Unsupported("share_without_condition")
    conds, cust_conds, need_c = _tx_from(frame, ctx, spend=False)
    dims, need_c2 = _tx_dims(frame, ctx)
    num = []
    for f in frame.condition:
        on_tx = tx_condition(f)
        cond = on_tx or customer_condition(f, ctx)
        if cond is None:
            raise Unsupported(f"filter:{f.field}")
        need_c = need_c or on_tx is None
        num.append(cond)
    joins = ["JOIN customers c ON c.customer_id = t.customer_id",
             "JOIN customer_status s ON s.customer_id = c.customer_id"] if need_c or need_c2 else []
    matching = f"count(*) FILTER (WHERE {' AND '.join(num)})"
    names = names_of(dims)
    selects = [*dims, f"{matching} AS matching", "count(*) AS transactions",
               f"round(100.0 * {matching} / nullif(count(*), 0), 1) AS pct"]
    sql = "\n".join(filter(None, [
        "SELECT " + ", ".join(selects),
        "FROM transactions t", *joins, *ctx.joins.values(), where_clause(conds + cust_conds),
        "GROUP BY ALL" if names else "",
        order_by(frame, names, "pct", selects) if names else "",
    ]))
    cond_words = " and ".join(f.label if tx_condition(f) else
                              "made by " + subject(Frame(filters=[f])) for f in frame.condition)
    return Query(sql, "Share of transactions " + cond_words + by_label(names), "pct", names,
                 subject(frame), "tx_share",
                 extra={"period": _period_label(frame, ctx), "condition": cond_words,
                        "what": what(frame)})


def _balance(frame: Frame, ctx: Ctx) -> Query:
    ctx.define("balance")
    conds, rest = split_filters(frame, ctx, allowed_other=("account_product",))
    acc = [in_list("a.product", f.values, f.negate) for f in rest if f.field == "account_product"]
    products = [x for f in rest if f.field == "account_product" for x in f.values]
    scope_label = next((f.label for f in rest if f.field == "account_product" and
                        "(" in f.label), None)
    if frame.metric in ("credit_limit", "utilisation"):
        acc = ["a.product = 'credit_card'"]
        products = ["credit_card"]
    dims = []
    for dim in frame.group:
        dims.append("a.product AS product" if dim == "product" else customer_dim(dim, ctx))
    if not products and "a.product AS product" not in dims and frame.metric == "balance":
        dims.insert(0, "a.product AS product")   # deposits and debts do not add up
    names = names_of(dims)
    need_c = bool(conds) or any(not d.startswith("a.") for d in dims)
    joins = ["JOIN customers c ON c.customer_id = a.customer_id",
             "JOIN customer_status s ON s.customer_id = c.customer_id",
             *ctx.joins.values()] if need_c else []
    if frame.metric == "credit_limit":
        selects = ["count(*) AS accounts", "round(sum(a.credit_limit), 2) AS total_credit_limit",
                   "round(avg(a.credit_limit), 2) AS avg_credit_limit"]
        value = "total_credit_limit" if frame.agg == "sum" else "avg_credit_limit"
    elif frame.metric == "utilisation":
        selects = ["count(*) AS accounts",
                   "round(100.0 * sum(a.balance) / nullif(sum(a.credit_limit), 0), 1) "
                   "AS utilisation_pct"]
        value = "utilisation_pct"
    elif frame.metric == "interest":
        selects = ["count(*) AS accounts", "round(avg(a.interest_rate), 3) AS avg_interest_rate"]
        value = "avg_interest_rate"
        if not products and "a.product AS product" not in dims:
            dims.insert(0, "a.product AS product")
            names = names_of(dims)
    else:
        agg = frame.agg or "sum"
        selects = ["count(*) AS accounts", "round(sum(a.balance), 2) AS total_balance",
                   "round(avg(a.balance), 2) AS avg_balance"]
        value = {"sum": "total_balance", "avg": "avg_balance"}.get(agg, "total_balance")
        if agg in ("median", "max", "min"):
            selects.append(f"round({agg}(a.balance), 2) AS {agg}_balance")
            value = f"{agg}_balance"
    sql = "\n".join(filter(None, [
        "SELECT " + ", ".join([*dims, *selects]),
        "FROM accounts a", *joins,
        where_clause(["a.status = 'open'", *acc, *conds]),
        "GROUP BY ALL" if names else "",
        order_by(frame, names, value, selects) if names else "",
    ]))
    label = {"balance": "Balances", "credit_limit": "Credit limits",
             "utilisation": "Credit card utilisation", "interest": "Interest rates"}
    return Query(sql, label[frame.metric] + by_label(names), value, names, subject(frame),
                 frame.metric, extra={"products": products, "scope": scope_label})


def _optin(frame: Frame, ctx: Ctx) -> Query:
    ctx.define("optin")
    channels = [x for f in frame.filters if f.field == "optin" and not f.negate
                for x in f.values]
    frame = frame.copy()
    frame.filters = [f for f in frame.filters if f.field != "optin"]
    frame.group = [g for g in frame.group if g != "channel"]
    dims = customer_dims(frame, ctx)
    conds, _ = split_filters(frame, ctx)
    purposes = channels or ["email", "sms", "push"]
    values = ", ".join(f"({q(p)})" for p in purposes)
    names = ["channel", *names_of(dims)]
    selects = ["p.purpose AS channel", *dims,
               "count(DISTINCT c.customer_id) FILTER (WHERE k.granted) AS opted_in",
               "count(DISTINCT c.customer_id) AS customers",
               "round(100.0 * count(DISTINCT c.customer_id) FILTER (WHERE k.granted) / "
               "nullif(count(DISTINCT c.customer_id), 0), 1) AS opt_in_rate_pct"]
    sql = "\n".join(filter(None, [
        "SELECT " + ", ".join(selects),
        base_from(ctx),
        f"CROSS JOIN (VALUES {values}) p(purpose)",
        "LEFT JOIN consents k ON k.customer_id = c.customer_id AND k.purpose = p.purpose",
        where_clause(conds),
        "GROUP BY ALL",
        order_by(frame, names, "opt_in_rate_pct", selects) if frame.top else "ORDER BY " +
        ", ".join(names),
    ]))
    return Query(sql, "Opt-in rate by channel" + (by_label(names[1:]).replace(" by", ",")
                                                  if len(names) > 1 else ""),
                 "opt_in_rate_pct", names, subject(frame), "optin")


def _products(frame: Frame, ctx: Ctx) -> Query:
    ctx.define("holds")
    dims = customer_dims(frame, ctx)
    conds, _ = split_filters(frame, ctx)
    names = names_of(dims)
    if frame.top or (frame.agg in ("", "count") and not names and not frame.agg):
        pass
    sql = "\n".join(filter(None, [
        "SELECT " + ", ".join([*dims, "count(*) AS customers",
                               "round(avg(len(s.products_held)), 2) AS avg_products_held"]),
        base_from(ctx), where_clause(conds),
        "GROUP BY ALL" if names else "",
        order_by(frame, names, "avg_products_held") if names else "",
    ]))
    return Query(sql, "Products held per customer" + by_label(names), "avg_products_held", names,
                 subject(frame), "products")


def _accounts(frame: Frame, ctx: Ctx) -> Query:
    frame = frame.copy()
    products = [x for f in frame.filters if f.field == "product" for x in f.values]
    frame.filters = [f for f in frame.filters if f.field != "product"]
    conds, _ = split_filters(frame, ctx)
    dims = ["a.product AS product"] if not products or len(products) > 1 else []
    dims += [customer_dim(d, ctx) for d in frame.group if d != "product"]
    names = names_of(dims)
    acc = ["a.status = 'open'"] + ([in_list("a.product", products, False)] if products else [])
    sql = "\n".join(filter(None, [
        "SELECT " + ", ".join([*dims, "count(*) AS open_accounts",
                               "count(DISTINCT a.customer_id) AS customers"]),
        "FROM accounts a",
        *(["JOIN customers c ON c.customer_id = a.customer_id",
           "JOIN customer_status s ON s.customer_id = c.customer_id", *ctx.joins.values()]
          if conds or any(not d.startswith("a.") for d in dims) else []),
        where_clause(acc + conds),
        "GROUP BY ALL" if names else "",
        order_by(frame, names, "open_accounts") if names else "",
    ]))
    return Query(sql, "Open accounts" + by_label(names), "open_accounts", names, subject(frame),
                 "accounts", extra={"products": products})


def _events(frame: Frame, ctx: Ctx) -> Query:
    ev, cust = route_filters(frame, ctx, {"event_type": "e.event_type",
                                          "platform": "e.platform"})
    if frame.period is not None:
        ev.append(period_condition(frame.period, "e.ts"))
    dims = table_dims(frame.group, {d: [f"e.{d} AS {d}"] for d in
                                    ("platform", "event_type", "product")}, "e.ts", ctx)
    names = names_of(dims)
    join_c = bool(cust) or any(not d.startswith(("e.", "strftime", "CAST", "year", "dayname"))
                               for d in dims)
    sql = "\n".join(filter(None, [
        "SELECT " + ", ".join([*dims, "count(*) AS events",
                               "count(DISTINCT e.customer_id) AS customers"]),
        "FROM app_events e",
        *(["JOIN customers c ON c.customer_id = e.customer_id",
           "JOIN customer_status s ON s.customer_id = c.customer_id", *ctx.joins.values()]
          if join_c else []),
        where_clause(ev + cust),
        "GROUP BY ALL" if names else "",
        order_by(frame, names, "events") if names else "",
    ]))
    period = _period_label(frame, ctx)
    return Query(sql, "App events" + by_label(names), "events", names, subject(frame), "events",
                 extra={"period": period, "what": what(frame, {"event_type"}),
                        "customers_first": "customers_first" in frame.notes})


def _age(frame: Frame, ctx: Ctx) -> Query:
    ctx.define("age")
    agg = frame.agg or "avg"
    fn = {"avg": "round(avg(s.age), 1)", "median": "median(s.age)", "max": "max(s.age)",
          "min": "min(s.age)", "sum": "round(avg(s.age), 1)", "count": "round(avg(s.age), 1)"}
    dims = customer_dims(frame, ctx)
    conds, _ = split_filters(frame, ctx)
    names = names_of(dims)
    value = f"{'avg' if agg in ('sum', 'count') else agg}_age"
    sql = "\n".join(filter(None, [
        "SELECT " + ", ".join([*dims, "count(*) AS customers", f"{fn[agg]} AS {value}"]),
        base_from(ctx), where_clause([*conds, "s.age IS NOT NULL"]),
        "GROUP BY ALL" if names else "",
        order_by(frame, names, value) if names else "",
    ]))
    return Query(sql, "Age" + by_label(names), value, names, subject(frame), "age",
                 extra={"agg": agg})


def _tenure(frame: Frame, ctx: Ctx) -> Query:
    dims = customer_dims(frame, ctx)
    conds, _ = split_filters(frame, ctx)
    names = names_of(dims)
    agg = "median" if frame.agg == "median" else "avg"
    sql = "\n".join(filter(None, [
        "SELECT " + ", ".join([*dims, "count(*) AS customers",
                               f"round({agg}(s.tenure_days) / 365.25, 1) AS {agg}_tenure_years"]),
        base_from(ctx), where_clause(conds),
        "GROUP BY ALL" if names else "",
        order_by(frame, names, f"{agg}_tenure_years") if names else "",
    ]))
    return Query(sql, "Tenure" + by_label(names), f"{agg}_tenure_years", names, subject(frame),
                 "tenure", extra={"agg": agg})
