"""Frame -> structured queries of the semantic model, for the query_metrics tool.

What the planner understood (a Frame: the measure, its statistic, the base filters, the measured
subgroup, the split, the period, the ranking) is put into the semantic model's names here and
nowhere else; the compiler (warehouse/semantic) applies the business definitions. A frame that
asks for a combination the model cannot answer is refused with the reason (`Unsupported`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from assistant.planner.frame import Filter, Frame, Period
from assistant.planner.vocabulary import MODEL
from warehouse.contract import ACTIVE_WINDOW_DAYS
from warehouse.semantic import Condition, MetricRef, Order, Query, TimeRange


class Unsupported(Exception):
    """The frame asks for something the model cannot answer as asked (the planner says so)."""


@dataclass
class Step:
    query: Query
    title: str
    role: str = "main"
    shown: int | None = None         # rows the answer uses; the query reads more to see ties


@dataclass
class Plan:
    kind: str                        # which answer writer reads the result
    steps: list[Step]
    frame: Frame
    table: str = ""                  # a user table's model (empty: the warehouse's)
    extra: dict = field(default_factory=dict)


# -- filters ----------------------------------------------------------------------------------
CUSTOMER_FIELDS = ("country", "region", "city", "income_band", "employment_status",
                   "acquisition_channel", "preferred_language", "kyc_status", "gender")
OWN_FIELDS = {"category": "transactions.category", "tx_channel": "transactions.channel",
              "merchant": "transactions.merchant", "direction": "transactions.direction",
              "international": "transactions.international",
              "event_type": "app_events.event_type", "event_product": "app_events.product",
              "campaign": "campaigns.campaign",
              "campaign_channel": "campaigns.channel", "campaign_product": "campaigns.product",
              "account_product": "accounts.product", "account_status": "accounts.status",
              "segment": "segments.segment",
              "products_count": "customers.products_held_count", "age": "customers.age"}
NAMED = {"active": "active", "churned": "churned", "dormant": "never_transacted",
         "reach": "marketable"}
TX_FIELDS = ("category", "tx_channel", "merchant", "direction", "international")


def condition(f: Filter, metric: str = "customers") -> Condition:
    """The semantic model's condition for one filter of the planner."""
    if f.field in NAMED:
        op = "not_in" if f.negate else ("all" if f.op == "all" else "in")
        return Condition(field=NAMED[f.field], op=op,
                         values=list(f.values) if f.field == "reach" else [])
    if f.field == "optin" and f.values == ("profiling",):
        return Condition(field="profiling_allowed", op="in" if not f.negate else "not_in")
    if f.field in ("product", "optin", "platform"):
        name = {"product": "customers.product", "optin": "customers.opted_in",
                "platform": "app_events.platform" if metric == "events" else
                "customers.platform"}[f.field]
        op = "not_in" if f.negate else ("all" if f.op == "all" else "in")
        return Condition(field=name, op=op, values=list(f.values))
    name = f"customers.{f.field}" if f.field in CUSTOMER_FIELDS else OWN_FIELDS.get(f.field)
    if name is None:
        raise Unsupported(f"filter:{f.field}")
    if f.values == ("__null__",):
        return Condition(field=name, op="not_null" if f.negate else "is_null")
    if f.field in ("age", "products_count") and f.op not in ("in", "any"):
        op = {"eq": "in"}.get(f.op, f.op)
        if f.negate:
            op = {"lt": "ge", "le": "gt", "gt": "le", "ge": "lt", "in": "not_in"}.get(op, op)
            if f.op == "between":
                raise Unsupported(f"filter:{f.field}")
        values = list(f.values[:1]) if f.op == "eq" else list(f.values)
        return Condition(field=name, op=op, values=values)
    if f.field == "international":
        wanted = bool(f.values[0]) != f.negate
        return Condition(field=name, values=[wanted])
    return Condition(field=name, op="not_in" if f.negate else "in", values=list(f.values))


def conditions(filters: list[Filter], metric: str) -> list[Condition]:
    return [condition(f, metric) for f in filters if f.field != "transacted"]


def time_range(p: Period) -> TimeRange:
    if p.days is not None:
        return TimeRange(last=p.days)
    if p.months is not None:
        return TimeRange(last=p.months, unit="month")
    if p.ranges:
        return TimeRange(ranges=list(p.ranges))
    return TimeRange(start=p.start, end=p.end)


# -- dimensions -------------------------------------------------------------------------------
GRAINS = ("month", "week", "quarter", "year", "weekday")


def split(frame: Frame, metric: str) -> tuple[list[str], str | None, str | None]:
    """(dimensions, grain, the time dimension of the grain) of the frame's grouping."""
    dims, grain, on = [], None, None
    for g in frame.group:
        if g in GRAINS or g.startswith("signup_"):
            if grain is not None:
                raise Unsupported(g)
            grain = g.removeprefix("signup_")
            on = "customers.signup" if g.startswith("signup_") else None
            continue
        dims.append(_dimension(g, metric))
    return dims, grain, on


def _dimension(g: str, metric: str) -> str:
    if g in CUSTOMER_FIELDS or g in ("age_band", "tenure_band"):
        return f"customers.{g}"
    if g == "channel":
        return {"spend": "transactions.channel", "transactions": "transactions.channel",
                "campaign": "campaigns.channel", "campaigns": "campaigns.channel",
                "optin": "consents.channel"}.get(metric, "customers.acquisition_channel")
    if g == "product":
        return {"spend": "accounts.product", "opened": "accounts.product",
                "transactions": "accounts.product",
                "balance": "accounts.product", "interest": "accounts.product",
                "credit_limit": "accounts.product", "accounts": "accounts.product",
                "events": "app_events.product", "campaign": "campaigns.product",
                "campaigns": "campaigns.product"}.get(metric, "customers.product")
    if g == "platform":
        return "app_events.platform" if metric == "events" else "customers.platform"
    if g in ("category", "merchant", "direction", "international"):
        return f"transactions.{g}"
    return {"segment": "segments.segment", "campaign": "campaigns.campaign",
            "products_count": "customers.products_held_count",
            "event_type": "app_events.event_type", "customer": "customers.customer_id",
            "active": "customers.active"}.get(g, g)


def _order(frame: Frame, by: str) -> list[Order]:
    return [Order(by=by, desc=frame.order != "asc")] if frame.top else []


def _query(frame: Frame, metrics: list, metric: str, *, filters=None, subgroup=(),
           dims=None, grain=None, on=None, period=True, order_by: str | None = None) -> Query:
    if dims is None:
        dims, grain, on = split(frame, metric)
    base = conditions(frame.filters if filters is None else filters, metric)
    time = None
    p = frame.period if period else None
    if p is not None and p.on == "signup":
        base.append(Condition(field="customers.signup", time=time_range(p)))
    elif p is not None:
        time = time_range(p)
    if (p is not None and p.on == "opened") or (grain and metric == "opened"):
        on = "accounts.opened"
    first = metrics[0] if isinstance(metrics[0], str) else metrics[0].name
    return Query(metrics=metrics, dimensions=dims, filters=base,
                 subgroup=conditions(list(subgroup), metric), time=time, grain=grain,
                 time_dimension=on, order=_order(frame, order_by or first), limit=frame.top)


# -- the frame, by what it measures ----------------------------------------------------------
def plan(frame: Frame) -> Plan:
    if frame.refusal:
        raise Unsupported("refusal")
    builder = {
        "customers": _customers, "share": _share, "spend": _spend,
        "transactions": _transactions, "balance": _balance, "credit_limit": _balance,
        "interest": _balance, "utilisation": _balance, "optin": _optin,
        "campaign": _campaign, "campaigns": _campaign_count, "products": _simple,
        "accounts": _accounts, "events": _events, "age": _simple, "tenure": _simple,
        "overview": _overview, "lapsed": _lapsed, "opened": _opened,
    }.get(frame.metric)
    if builder is None:
        raise Unsupported(frame.metric)
    if frame.agg in ("median", "max", "min") and not _has_statistic(frame):
        raise Unsupported("statistic:" + frame.agg)    # never another statistic instead
    if frame.judged:        # "best" is the good end of the measure: the lowest churn rate
        good = "asc" if lower_is_better(frame) else "desc"
        bad = "desc" if good == "asc" else "asc"
        frame = replace(frame, order=good if frame.judged == "best" else bad)
    return _probe_ties(builder(frame))


# "Which segment has the highest churn rate?" reads this many rows, so that a tie for first place
# (every segment at 0%) is said instead of naming whichever row the database returned first.
TIE_PROBE = 4


def _probe_ties(planned: Plan) -> Plan:
    for step in planned.steps:
        if step.query.limit == 1 and step.query.order:
            step.query = step.query.model_copy(update={"limit": TIE_PROBE})
            step.shown = 1
    return planned


def lower_is_better(frame: Frame) -> bool:
    """Whether a smaller value of the frame's measure is the good one (the semantic model's
    `better`): churn and unsubscribe rates, shares of churned or dormant customers."""
    if frame.metric == "campaign":
        rates = list(frame.rates) or ["open", "click", "conversion"]
        ranked = rates[0] if len(rates) == 1 else ("conversion" if "conversion" in rates
                                                   else rates[-1])
        return (MODEL.metrics[RATE_METRICS[ranked]].better == "lower" and not frame.counts) or (
            frame.counts and ranked == "unsubscribe")
    if frame.metric == "share":
        lower = [(MODEL.filters[NAMED[f.field]].better == "lower") != f.negate
                 for f in frame.condition if f.field in NAMED and NAMED[f.field] in MODEL.filters]
        return bool(lower) and all(lower)
    return False


def _has_statistic(frame: Frame) -> bool:
    if frame.metric == "transactions":
        return frame.per != "customer" and frame.share_of != "transactions"
    if frame.metric == "tenure":
        return frame.agg == "median"
    return frame.metric in ("spend", "balance", "age")


def _customers(frame: Frame) -> Plan:
    if frame.needs_period:
        raise Unsupported("needs_period")
    filters = list(frame.filters)
    active = next((f for f in filters if f.field == "active"), None)
    if any(g in GRAINS for g in frame.group):
        if active is None:
            raise Unsupported("customers_by_month")
        rest = [f for f in filters if f.field != "active"]
        q = _query(frame, ["transacting_customers"], "transactions", filters=rest)
        return Plan("monthly_active", [Step(q, "Customers with a transaction")], frame)
    if frame.period is not None and frame.period.on == "tx":
        if any(f.field == "churned" for f in filters):
            raise Unsupported("churned_in_period")
        if active is None:
            raise Unsupported("customers_in_period")
        rest = [f for f in filters if f.field != "active"]
        q = _query(frame, ["customers"], "customers", filters=rest, period=False)
        q.filters.append(Condition(field="transacted", op="not_in" if active.negate else "in",
                                   time=time_range(frame.period)))
        return Plan("count", [Step(q, "Customers")], frame, extra={"in_period": True})
    q = _query(frame, ["customers"], "customers")
    return Plan("count", [Step(q, "Customers")], frame)


def _share(frame: Frame) -> Plan:
    if not frame.condition:
        raise Unsupported("share_without_condition")
    if any(g in GRAINS or g.startswith("signup_") for g in frame.group):
        raise Unsupported("share_by_month")
    q = _query(frame, ["customers"], "customers", subgroup=frame.condition,
               order_by="customers_pct")
    return Plan("share", [Step(q, "Share of customers")], frame)


def _window(p: Period | None) -> bool:
    return p is not None and p.on == "tx" and p.days == ACTIVE_WINDOW_DAYS


def _spend(frame: Frame) -> Plan:
    agg = frame.agg or "sum"
    tx_filters = any(f.field in TX_FIELDS for f in frame.filters)
    dims, grain, on = split(frame, "spend")
    if agg in ("avg", "median") and _window(frame.period) and not tx_filters and \
            grain is None and not any(d.startswith(("transactions.", "accounts.")) or
                                      d.endswith("customer_id") for d in dims):
        # the 90-day activity window: every customer counts, zero spend included
        q = _query(frame, [MetricRef(name="spend_90d", agg=agg), "customers"], "customers",
                   period=False)
        return Plan("amount", [Step(q, "Spend per customer")], frame,
                    extra={"agg": agg, "window": True})
    if "customers.customer_id" in dims:
        dims = ["customers.customer_id", "customers.country"] + [
            d for d in dims if d not in ("customers.customer_id", "customers.country")]
        q = _query(frame, ["spend"], "spend", dims=dims, grain=grain, on=on)
        q.order = [Order(by="spend", desc=frame.order != "asc")]
        q.limit = frame.top or 10
        return Plan("ranking", [Step(q, "Customers by spend")], frame)
    if agg == "avg" and frame.per != "transaction":
        # spend per customer: the population's spend over its customers, zero spend included
        q = _query(frame, ["spend_per_customer"], "spend", dims=dims, grain=grain, on=on)
        return Plan("amount", [Step(q, "Spend per customer")], frame, extra={"agg": "avg"})
    if agg in ("median", "max", "min") and frame.per != "transaction":
        ref = MetricRef(name="spend", agg=agg, per="customers")
        q = _query(frame, [ref], "spend", dims=dims, grain=grain, on=on)
        return Plan("amount", [Step(q, "Spend per customer")], frame, extra={"agg": agg})
    if agg == "avg":        # the average amount of a purchase
        q = _query(frame, [MetricRef(name="spend", agg="avg"), "transactions"], "spend",
                   dims=dims, grain=grain, on=on)
        return Plan("purchase", [Step(q, "Average purchase")], frame)
    ref = MetricRef(name="spend", of_total=bool(dims or grain) and grain is None)
    q = _query(frame, [ref, "spenders"], "spend", dims=dims, grain=grain, on=on)
    return Plan("amount", [Step(q, "Total spend")], frame, extra={"agg": "sum"})


def _transactions(frame: Frame) -> Plan:
    dims, grain, on = split(frame, "transactions")
    if frame.share_of == "transactions":
        if not frame.condition:
            raise Unsupported("share_without_condition")
        q = _query(frame, ["transactions"], "transactions", subgroup=frame.condition,
                   dims=dims, grain=grain, on=on, order_by="transactions_pct")
        return Plan("tx_share", [Step(q, "Share of transactions")], frame)
    if frame.per == "customer":
        q = _query(frame, ["transactions_per_customer"], "transactions", dims=dims,
                   grain=grain, on=on)
        return Plan("tx_per_customer", [Step(q, "Transactions per customer")], frame)
    if frame.per == "transaction" and frame.agg in ("median", "max", "min"):
        raise Unsupported("statistic:" + frame.agg)     # only the average purchase
    if frame.per == "transaction":      # spend per purchase
        q = _query(frame, [MetricRef(name="spend", agg="avg"), "transactions"], "spend",
                   dims=dims, grain=grain, on=on)
        return Plan("purchase", [Step(q, "Average purchase")], frame)
    agg = frame.agg or "count"
    if frame.customers_first and agg in ("count", "sum"):
        # 'how many customers received a salary': distinct customers, never transactions
        who = "transacting_accounts" if frame.counted == "accounts" else "transacting_customers"
        q = _query(frame, [who, "transactions", MetricRef(name="amount")],
                   "transactions", dims=dims, grain=grain, on=on)
        return Plan("tx_customers", [Step(q, "Customers with such transactions")], frame)
    amount = MetricRef(name="amount", agg=agg) if agg != "count" else None
    metrics = {"count": ["transactions", MetricRef(name="amount"),
                         MetricRef(name="amount", agg="avg")],
               "sum": [MetricRef(name="amount"), "transactions",
                       MetricRef(name="amount", agg="avg")],
               "avg": [MetricRef(name="amount", agg="avg"), "transactions",
                       MetricRef(name="amount")]}.get(agg, [amount, "transactions"])
    q = _query(frame, metrics, "transactions", dims=dims, grain=grain, on=on)
    return Plan("tx", [Step(q, "Transactions")], frame, extra={"agg": agg})


def _balance(frame: Frame) -> Plan:
    metric = frame.metric
    products = [x for f in frame.filters if f.field == "account_product" for x in f.values]
    group = list(frame.group)
    if not products and "product" not in group and metric in ("balance", "interest"):
        group.insert(0, "product")      # deposits and debts do not add up
    framed = replace(frame, group=group)
    agg = frame.agg or ("sum" if metric == "balance" else "avg")
    if metric == "utilisation":
        ref, counted = MetricRef(name="utilisation"), "credit_limit"
    elif metric == "interest":
        ref, counted = MetricRef(name="interest_rate"), "interest_rate"
    elif metric == "credit_limit":
        ref, counted = MetricRef(name="credit_limit", agg="sum" if agg == "sum" else "avg"), \
            "credit_limit"
    else:
        ref, counted = MetricRef(name="balance", agg=agg if agg != "count" else "sum"), "balance"
    # the accounts the figure is over (open credit cards for a limit), not every open account
    accounts = MetricRef(name=counted, agg="count", label="accounts")
    q = _query(framed, [ref, accounts], metric)
    return Plan("balance", [Step(q, "Balances")], framed,
                extra={"products": products, "metric": metric})


def _optin(frame: Frame) -> Plan:
    channels = [x for f in frame.filters if f.field == "optin" and not f.negate
                for x in f.values] or ["email", "sms", "push"]
    rest = [f for f in frame.filters if f.field != "optin"]
    framed = replace(frame, filters=rest, group=[g for g in frame.group if g != "channel"])
    dims, grain, on = split(framed, "optin")
    q = _query(framed, ["opt_in_rate"], "optin", dims=["consents.channel", *dims],
               grain=grain, on=on, order_by="opt_in_rate")
    q.filters.append(Condition(field="consents.channel", values=channels))
    shown = " and ".join(d.split(".")[-1].replace("_", " ") for d in dims)
    if len(channels) == 1 and shown:
        title = f"{channels[0].upper() if channels[0] == 'sms' else channels[0].capitalize()} " \
            f"opt-in rate by {shown}"
    else:
        title = "Opt-in rate by channel" + (f" and {shown}" if shown else "")
    return Plan("optin", [Step(q, title)], framed)


RATE_METRICS = {"open": "open_rate", "click": "click_rate", "conversion": "conversion_rate",
                "unsubscribe": "unsubscribe_rate"}
EVENT_MEASURES = {"open": "opened", "click": "clicked", "conversion": "converted",
                  "unsubscribe": "unsubscribed"}


def _campaign(frame: Frame) -> Plan:
    rates = list(frame.rates) or ["open", "click", "conversion"]
    framed = frame
    if frame.period is not None and frame.period.on != "tx":
        framed = replace(frame, period=replace(frame.period, on="tx"))
    if frame.campaigns == "reach":
        q = _query(framed, ["recipients"], "campaign")
        q.time_dimension = "campaigns.sent" if q.time else None
        return Plan("campaign_reach", [Step(q, "Customers sent a campaign")], framed)
    if frame.campaigns == "any":
        q = _query(framed, [MetricRef(name="contacted_customers", filters=[
            Condition(field=f"campaign_contacts.{EVENT_MEASURES[rates[0]]}", values=[True])])],
            "campaign")
        q.time_dimension = "campaigns.sent" if q.time else None
        return Plan("campaign_customers", [Step(q, "Customers")], framed,
                    extra={"event": EVENT_MEASURES[rates[0]]})
    named = any(f.field == "campaign" for f in frame.filters)
    narrowed = any(f.field in ("campaign_channel", "campaign_product") for f in frame.filters)
    pooled = (narrowed or frame.agg in ("avg", "sum") or frame.campaigns == "pooled") and \
        frame.campaigns != "each"
    # a ranking ("which email campaign had the best click rate?") names one campaign
    group = list(frame.group) or ([] if pooled and not named and not frame.top
                                  else ["campaign"])
    framed = replace(framed, group=group)
    if frame.counts:
        metrics = [EVENT_MEASURES[r] for r in rates] + ["sent"]
        ranked = metrics[0]
    elif frame.agg == "avg" and "campaign" not in group:
        metrics = [MetricRef(name=RATE_METRICS[r], agg="avg", per="campaigns") for r in rates]
        q = _query(framed, metrics, "campaign")
        q.time_dimension = "campaigns.sent" if q.time else None
        return Plan("campaign_mean", [Step(q, "Average campaign rates")], framed,
                    extra={"rates": rates})
    else:
        metrics = [RATE_METRICS[r] for r in rates]
        ranked = metrics[0] if len(rates) == 1 else (
            "conversion_rate" if "conversion" in rates else metrics[-1])
    q = _query(framed, metrics, "campaign", order_by=ranked)
    q.time_dimension = "campaigns.sent" if q.time else None
    return Plan("campaign", [Step(q, "Campaign rates")], framed,
                extra={"rates": rates, "ranked": ranked})


def _campaign_count(frame: Frame) -> Plan:
    if any(f.field not in ("campaign", "campaign_channel", "campaign_product")
           for f in frame.filters):
        raise Unsupported("filter:customer")
    framed = frame if frame.period is None else replace(frame, period=replace(frame.period,
                                                                               on="tx"))
    q = _query(framed, ["campaigns"], "campaigns")
    return Plan("campaign_count", [Step(q, "Campaigns sent")], framed)


def _simple(frame: Frame) -> Plan:
    name = {"products": "products_held", "age": "age", "tenure": "tenure"}[frame.metric]
    agg = frame.agg if frame.agg in ("avg", "median", "max", "min") else "avg"
    if frame.metric == "tenure" and agg not in ("avg", "median"):
        agg = "avg"
    counted = MetricRef(name="customers", label="customers", filters=[
        Condition(field="customers.age", op="not_null")]) if name == "age" else "customers"
    q = _query(frame, [MetricRef(name=name, agg=agg), counted], "customers")
    return Plan(frame.metric, [Step(q, name.replace("_", " ").capitalize())], frame,
                extra={"agg": agg})


def _accounts(frame: Frame) -> Plan:
    status = [f for f in frame.filters if f.field == "account_status"]
    if status and (frame.period is not None or any(f.negate for f in status)):
        raise Unsupported("accounts_status_in_period")      # no closing date read yet
    if status:      # "frozen accounts": every account of that status, not the open ones
        products = [x for f in frame.filters if f.field == "product" for x in f.values]
        rest = [f for f in frame.filters if f.field != "product"]
        base = rest + ([Filter("account_product", tuple(products), op="any")]
                       if products else [])
        framed = replace(frame, filters=base)
        metrics = ["accounts_any_status", "account_customers"]
        q = _query(framed, metrics[::-1] if frame.customers_first else metrics, "accounts")
        return Plan("accounts", [Step(q, "Accounts")], framed,
                    extra={"products": products, "status": status[0].values})
    products = [x for f in frame.filters if f.field == "product" for x in f.values]
    rest = [f for f in frame.filters if f.field != "product"]
    base = rest + ([Filter("account_product", tuple(products))] if products else [])
    group = [g for g in frame.group if g != "product"]
    if not products or len(products) > 1:
        group.insert(0, "product")
    framed = replace(frame, filters=base, group=group)
    q = _query(framed, ["accounts", "account_holders"], "accounts")
    return Plan("accounts", [Step(q, "Open accounts")], framed, extra={"products": products})


def _opened(frame: Frame) -> Plan:
    """Accounts opened (in a period), whatever their status now, and the customers who opened
    them; a product named is the product of the account opened."""
    held = [f for f in frame.filters if f.field in ("product", "account_product")]
    if any(f.negate or f.op == "all" for f in held):
        raise Unsupported("filter:opened_product")
    products = [x for f in held for x in f.values]
    base = [f for f in frame.filters if f not in held] + (
        [Filter("account_product", tuple(products), op="any")] if products else [])
    framed = replace(frame, filters=base)
    metrics = ["accounts_opened", "account_openers"]
    q = _query(framed, metrics[::-1] if frame.customers_first else metrics, "opened")
    return Plan("opened", [Step(q, "Accounts opened")], framed, extra={"products": products})


def _events(frame: Frame) -> Plan:
    q = _query(frame, ["events", "event_customers"], "events")
    return Plan("events", [Step(q, "App events")], frame)


def _overview(frame: Frame) -> Plan:
    if frame.period is not None and frame.period.on == "tx":
        raise Unsupported("overview_period")
    # the headline figures the semantic model declares, in its order
    metrics = [MetricRef(name=h.metric, label=h.column if h.label else None,
                         filters=[Condition(**c) for c in h.conditions()])
               for h in MODEL.headline]
    q = _query(frame, metrics, "customers", dims=[], period=False)
    return Plan("snapshot", [Step(q, "Snapshot")], frame)


def _lapsed(frame: Frame) -> Plan:
    if frame.period is not None or frame.group or frame.top:
        raise Unsupported("lapsed_shape")
    value = Condition(field="high_value")
    base = [*conditions(frame.filters, "customers"), Condition(field="dormant")]
    reach = Condition(field="marketable", values=["email"])
    open_account = Condition(field="has_open_account")
    profile = Query(metrics=[
        MetricRef(name="customers", filters=[value], label="customers"),
        MetricRef(name="customers", label="dormant"),
        MetricRef(name="value_threshold", label="min_spend_12m"),
        MetricRef(name="spend_12m_to_last", filters=[value], label="avg_spend_12m"),
        MetricRef(name="recency_days", agg="median", filters=[value],
                  label="median_days_quiet"),
        MetricRef(name="customers", filters=[value, open_account], label="with_open_account"),
        MetricRef(name="customers", filters=[value, reach], label="reachable_by_email")],
        filters=base)
    lapsed = [*base, value]
    categories = Query(metrics=[MetricRef(name="spend", of_total=True)],
                       dimensions=["transactions.category"],
                       filters=[*lapsed, Condition(field="last_year_of_activity")],
                       order=[Order(by="spend")], limit=3)
    products = Query(metrics=["customers"], dimensions=["customers.product"], filters=lapsed,
                     order=[Order(by="customers")], limit=3)
    return Plan("lapsed", [Step(categories, "What they spent on", "categories"),
                           Step(products, "Products still held", "products"),
                           Step(profile, "High-value dormant customers")], frame)
