"""The building blocks of the planner's SQL: conditions, dimensions and the words for them.

Customer filters become conditions over customers c and customer_status s (the business
definitions live in that view); transaction, account, campaign and event filters apply to their
own tables. `subject` and `predicate` say in words what the conditions select.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.planner import vocabulary as v
from assistant.planner.frame import Filter, Frame, Period
from warehouse.contract import ACTIVE_WINDOW_DAYS, NON_SPEND_CATEGORIES  # noqa: F401 (re-exported)
from warehouse.semantic import bank_model


class Unsupported(Exception):
    """The frame asks for a combination the templates do not cover (the planner says so)."""


@dataclass
class Query:
    sql: str
    title: str
    value: str                        # the main value column
    dims: list[str]                   # dimension columns, in order
    subject: str                      # "customers in Germany holding a credit card"
    kind: str                         # "count", "share", "amount", "rate", "campaign", ...
    definitions: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


def q(value) -> str:
    """A SQL literal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def in_list(column: str, values, negate: bool) -> str:
    lits = ", ".join(q(x) for x in values)
    if len(values) == 1:
        return f"{column} IS DISTINCT FROM {lits}" if negate else f"{column} = {lits}"
    return f"NOT coalesce({column} IN ({lits}), false)" if negate else f"{column} IN ({lits})"


SPEND_WHERE = ("t.direction = 'debit' AND t.category NOT IN ("
               + ", ".join(q(c) for c in NON_SPEND_CATEGORIES) + ")")
REF_TS = "(SELECT reference_ts FROM reference_period)"
REF_DATE = "(SELECT reference_date FROM reference_period)"

CUSTOMER_COLUMNS = {
    "country": "c.country", "region": "c.region", "city": "c.city",
    "income_band": "c.income_band", "employment_status": "c.employment_status",
    "acquisition_channel": "c.acquisition_channel", "preferred_language": "c.preferred_language",
    "kyc_status": "c.kyc_status", "gender": "c.gender",
}
AGE_BAND = ("CASE WHEN s.age < 25 THEN '18-24' WHEN s.age < 35 THEN '25-34' WHEN s.age < 45 "
            "THEN '35-44' WHEN s.age < 55 THEN '45-54' WHEN s.age < 65 THEN '55-64' "
            "WHEN s.age IS NOT NULL THEN '65+' END")
TENURE_BAND = ("CASE WHEN s.tenure_days < 365 THEN '<1 year' WHEN s.tenure_days < 3 * 365 "
               "THEN '1-3 years' WHEN s.tenure_days < 5 * 365 THEN '3-5 years' "
               "ELSE '5+ years' END")
# The planner's definition keys -> the semantic model's terms (warehouse/semantic/bank.toml).
DEFINITION_TERMS = {"active": "active", "churned": "churned", "dormant": "never transacted",
                    "spend": "spend", "holds": "holding a product", "optin": "opted in",
                    "campaign": "campaign rates", "age": "age", "balance": "balance"}


@dataclass
class Ctx:
    vocab: v.Vocabulary
    run_id: str | None = None
    joins: dict[str, str] = field(default_factory=dict)
    defs: list[str] = field(default_factory=list)
    restrict: dict[str, tuple] = field(default_factory=dict)   # breakdown limited to filter

    def define(self, key: str) -> None:
        ref = self.vocab.reference_date
        text = bank_model().definitions(f"{ref.day} {ref:%b %Y}")[DEFINITION_TERMS[key]]
        if text not in self.defs:
            self.defs.append(text)


# -- filters ---------------------------------------------------------------------------------
def customer_condition(f: Filter, ctx: Ctx) -> str | None:
    """SQL over c (customers) and s (customer_status) for a customer-level filter."""
    if f.field in CUSTOMER_COLUMNS:
        if f.values == ("__null__",):
            return f"{CUSTOMER_COLUMNS[f.field]} IS {'NOT ' if f.negate else ''}NULL"
        return in_list(CUSTOMER_COLUMNS[f.field], f.values, f.negate)
    if f.field == "age":
        ctx.define("age")
        if f.op == "between":
            cond = f"s.age BETWEEN {f.values[0]} AND {f.values[1]}"
        else:
            cond = f"s.age {dict(lt='<', le='<=', gt='>', ge='>=')[f.op]} {f.values[0]}"
        return f"NOT ({cond})" if f.negate else cond
    if f.field in ("active", "churned"):
        ctx.define(f.field)
        col = "s.is_active" if f.field == "active" else "s.is_churned"
        return f"NOT {col}" if f.negate else col
    if f.field == "dormant":
        ctx.define("dormant")
        return f"s.last_transaction_at IS {'NOT ' if f.negate else ''}NULL"
    if f.field == "product":
        ctx.define("holds")
        lits = ", ".join(q(x) for x in f.values)
        fn = "list_has_all" if f.op == "all" else "list_has_any"
        cond = f"{fn}(s.products_held, [{lits}])"
        return f"NOT {cond}" if f.negate else cond
    if f.field == "optin":
        ctx.define("optin")
        purpose = f.values[0]
        if purpose == "profiling":
            return ("EXISTS (SELECT 1 FROM consents k WHERE k.customer_id = c.customer_id AND "
                    "k.purpose = 'profiling' AND NOT k.granted)")
        cond = (f"EXISTS (SELECT 1 FROM consents k WHERE k.customer_id = c.customer_id AND "
                f"{in_list('k.purpose', f.values, False)} AND k.granted)")
        return f"NOT {cond}" if f.negate else cond
    if f.field == "platform":
        groups = [f.values] if f.op != "all" else [(x,) for x in f.values]
        cond = " AND ".join(
            f"EXISTS (SELECT 1 FROM app_events e WHERE e.customer_id = c.customer_id AND "
            f"{in_list('e.platform', values, False)})" for values in groups)
        return f"NOT ({cond})" if f.negate else cond
    if f.field == "products_count":
        ctx.define("holds")
        op = {"gt": ">", "ge": ">=", "eq": "=", "lt": "<", "le": "<="}[f.op]
        return f"len(s.products_held) {op} {f.values[0]}"
    if f.field == "segment":
        if not ctx.run_id:
            raise Unsupported("no_segment_run")
        cond = (f"c.customer_id IN (SELECT customer_id FROM assistant.segment_members WHERE "
                f"run_id = {q(ctx.run_id)} AND {in_list('segment_id', f.values, False)})")
        return f"NOT {cond}" if f.negate else cond
    return None


def period_condition(p: Period, column: str, *, is_date: bool = False) -> str:
    if p.days is not None:
        ref = REF_DATE if is_date else REF_TS
        return f"{column} > {ref} - INTERVAL {p.days} DAY"
    if p.months is not None:
        ref = REF_DATE if is_date else REF_TS
        return f"{column} > {ref} - INTERVAL {p.months} MONTH"
    parts = []
    kw = "DATE" if is_date else "TIMESTAMP"
    if p.ranges:
        return "(" + " OR ".join(f"({column} >= {kw} '{a:%Y-%m-%d}' AND {column} < {kw} "
                                 f"'{b:%Y-%m-%d}')" for a, b in p.ranges) + ")"
    if p.start:
        parts.append(f"{column} >= {kw} '{p.start:%Y-%m-%d}'")
    if p.end:
        parts.append(f"{column} < {kw} '{p.end:%Y-%m-%d}'")
    return " AND ".join(parts)


TX_FIELDS = {"category": "t.category", "tx_channel": "t.channel", "merchant": "t.merchant",
             "direction": "t.direction"}


def tx_condition(f: Filter) -> str | None:
    if f.field in TX_FIELDS:
        return in_list(TX_FIELDS[f.field], f.values, f.negate)
    if f.field == "international":
        return "t.is_international" if f.values[0] else "NOT t.is_international"
    return None


# -- dimensions ------------------------------------------------------------------------------
def customer_dim(dim: str, ctx: Ctx) -> str:
    """SELECT expression AS name for a customer-level dimension (may add a join)."""
    if dim in CUSTOMER_COLUMNS:
        return f"{CUSTOMER_COLUMNS[dim]} AS {dim}"
    if dim == "age_band":
        ctx.define("age")
        return f"{AGE_BAND} AS age_band"
    if dim == "tenure_band":
        return f"{TENURE_BAND} AS tenure"
    if dim == "signup_month":
        return "strftime(c.signup_date, '%Y-%m') AS signup_month"
    if dim == "signup_year":
        return "year(c.signup_date) AS signup_year"
    if dim == "signup_quarter":
        return "strftime(c.signup_date, '%Y') || '-Q' || quarter(c.signup_date) AS signup_quarter"
    if dim == "signup_week":
        return "CAST(date_trunc('week', c.signup_date) AS DATE) AS signup_week"
    if dim == "product":
        ctx.define("holds")
        only = ctx.restrict.get("product")
        extra = f" AND {in_list('product', only, False)}" if only else ""
        ctx.joins["held"] = ("JOIN (SELECT DISTINCT customer_id, product FROM accounts WHERE "
                             f"status = 'open'{extra}) held ON held.customer_id = c.customer_id")
        return "held.product AS product"
    if dim == "platform":
        only = ctx.restrict.get("platform")
        extra = f" WHERE {in_list('platform', only, False)}" if only else ""
        ctx.joins["plat"] = ("JOIN (SELECT DISTINCT customer_id, platform FROM app_events"
                             f"{extra}) plat ON plat.customer_id = c.customer_id")
        return "plat.platform AS platform"
    if dim == "segment":
        if not ctx.run_id:
            raise Unsupported("no_segment_run")
        ctx.joins["seg"] = (f"JOIN assistant.segment_members seg ON seg.customer_id = "
                            f"c.customer_id AND seg.run_id = {q(ctx.run_id)}\n"
                            "LEFT JOIN assistant.segments sg ON sg.run_id = seg.run_id AND "
                            "sg.segment_id = seg.segment_id")
        return "seg.segment_id AS segment, sg.name AS segment_name"
    if dim == "active":
        return "s.is_active AS active"
    raise Unsupported(dim)


TIME_FORMAT = {
    "month": "strftime({col}, '%Y-%m')",
    "week": "CAST(date_trunc('week', {col}) AS DATE)",
    "quarter": "strftime({col}, '%Y') || '-Q' || quarter({col})",
    "year": "year({col})",
    "weekday": "dayname({col})",
}


def time_dim(dim: str, column: str) -> str:
    return f"{TIME_FORMAT[dim].format(col=column)} AS {dim}"


def table_dims(group: list[str], own: dict[str, list[str]], ts: str,
               ctx: Ctx | None = None) -> list[str]:
    """Selects for the dimensions of a query over one table: its own columns (`own`: dimension
    -> selects), time dimensions of its timestamp `ts`, then customer dimensions (with `ctx`);
    any other dimension is Unsupported."""
    dims: list[str] = []
    for dim in group:
        if dim in own:
            dims += own[dim]
        elif dim in TIME_FORMAT:
            dims.append(time_dim(dim, ts))
        elif ctx is not None:
            dims.append(customer_dim(dim, ctx))
        else:
            raise Unsupported(dim)
    return dims


def unrounded(selects: list[str], value: str) -> str:
    """The exact expression of the `value` column when it is selected rounded, so that a
    ranking is not decided by the rounding (20.91% and 20.86% both show as 20.9%)."""
    for item in selects:
        m = re.fullmatch(rf"round\((.+), \d+\) AS {re.escape(value)}", item, re.S)
        if m:
            return m.group(1)
    return value


def order_by(frame: Frame, dims: list[str], value: str, selects: list[str] = ()) -> str:
    """ORDER BY the value (unrounded when `selects` rounds it), ties by the dimensions."""
    value = unrounded(list(selects), value)
    time_like = [d for d in dims if d in TIME_FORMAT or d.startswith("signup_")
                 or d in ("age_band", "tenure")]
    if time_like and not frame.top:
        return "ORDER BY " + ", ".join(dims)
    direction = "ASC" if frame.order == "asc" else "DESC"
    order = f"ORDER BY {value} {direction} NULLS LAST"
    if dims:
        order += ", " + ", ".join(dims)
    return order + (f" LIMIT {frame.top}" if frame.top else "")


def names_of(selects: list[str]) -> list[str]:
    """Output names of select items ('x AS a', or compound 'x AS a, y AS b')."""
    return [n for s in selects for n in re.findall(r" AS (\w+)(?=,|$)", s)]


def where_clause(conds) -> str:
    conds = [c for c in conds if c]
    return ("WHERE " + "\n  AND ".join(conds)) if conds else ""


def split_filters(frame: Frame, ctx: Ctx, allowed_other=()) -> tuple[list[str], list[Filter]]:
    """Customer-level conditions, and the filters that are not customer-level."""
    conds, rest = [], []
    for f in frame.filters:
        cond = customer_condition(f, ctx)
        if cond is None:
            rest.append(f)
        else:
            conds.append(cond)
    if frame.period is not None and frame.period.on == "signup":
        conds.append(period_condition(frame.period, "c.signup_date", is_date=True))
    bad = [f for f in rest if f.field not in allowed_other]
    if bad:
        raise Unsupported(f"filter:{bad[0].field}")
    return conds, rest


def route_filters(frame: Frame, ctx: Ctx, own: dict[str, str]) -> tuple[list[str], list[str]]:
    """Conditions on the query's own table (`own`: filter field -> column) and customer-level
    conditions; any other filter is Unsupported."""
    own_conds, cust = [], []
    for f in frame.filters:
        if f.field in own:
            own_conds.append(in_list(own[f.field], f.values, f.negate))
            continue
        cond = customer_condition(f, ctx)
        if cond is None:
            raise Unsupported(f"filter:{f.field}")
        cust.append(cond)
    return own_conds, cust


_ADJECTIVE = {"active", "churned", "dormant", "gender"}
_EMPLOYMENT_ADJ = {"employed": "employed", "self_employed": "self-employed",
                   "retired": "retired", "unemployed": "unemployed", "student": "student"}


NON_CUSTOMER = {"category", "tx_channel", "merchant", "direction", "international",
                "account_product", "event_type", "campaign", "campaign_channel",
                "campaign_product"}


def what(frame: Frame, fields=NON_CUSTOMER) -> str:
    """Labels of the filters on transactions/accounts/events: ' on travel made online'."""
    labels = [f.label for f in frame.filters if f.field in fields]
    return (" " + " ".join(labels)) if labels else ""


def subject(frame: Frame, base: str = "customers", extra: list[Filter] | None = None) -> str:
    """'active self-employed customers in Germany holding a credit card'."""
    pre, post, optins, optouts = [], [], [], []
    for f in frame.filters + (extra or []):
        if f.field in NON_CUSTOMER:
            continue
        if f.field == "optin" and f.values != ("profiling",):
            (optouts if f.negate else optins).extend(f.values)
            continue
        if f.field in ("active", "churned") and f.label in ("active", "inactive", "churned",
                                                             "not churned"):
            pre.append(f.label)
        elif f.field == "dormant":      # never transacted (the model's "dormant" is not active)
            post.append("who never transacted" if not f.negate else "who have transacted")
        elif f.field == "gender" and not f.negate:
            pre.append(f.label)
        elif f.field == "employment_status" and not f.negate:
            pre.append(" or ".join(_EMPLOYMENT_ADJ[x] for x in f.values))
        else:
            post.append(f.label)
    if optins:
        names = [x.upper() if x == "sms" else x for x in optins]
        joined = " or ".join(names) if len(optins) > 1 and any(
            len(f.values) > 1 for f in frame.filters if f.field == "optin") else " and ".join(names)
        post.insert(0, f"opted in to {joined}")
    if optouts:     # each one not granted: none of them
        names = [x.upper() if x == "sms" else x for x in optouts]
        post.insert(len(post) if optins else 0, "not opted in to " + (
            names[0] if len(names) == 1 else "any of " + ", ".join(names)))
    if frame.period is not None and frame.period.on == "signup":
        post.append(f"who signed up in {frame.period.label}")
    return " ".join(w for w in [*pre, base, *post] if w).strip()


def predicate(f: Filter) -> str:
    """The filter as a verb phrase, for shares: '... of customers in Germany hold a card'."""
    label = f.label
    if f.field == "active":
        return "are inactive" if f.negate else "are active"
    if f.field == "churned":
        return "have not churned" if f.negate else "have churned"
    if f.field == "dormant":
        return "have transacted" if f.negate else "have never transacted"
    if f.field == "product":
        return label.replace("holding", "hold").replace("without", "do not hold")
    if f.field in ("optin", "gender", "employment_status", "age", "country", "region", "city",
                   "segment", "kyc_status"):
        if f.field == "employment_status" and not f.negate:
            return "are " + " or ".join(_EMPLOYMENT_NOUN[x] for x in f.values)
        return "are " + label
    if f.field == "acquisition_channel":
        return "were " + label
    if f.field == "income_band":
        return "have " + label.removeprefix("with ")
    if f.field == "preferred_language":
        return label.replace("preferring", "prefer")
    if f.field == "platform":
        return label.replace("using", "use")
    return "are " + label


_EMPLOYMENT_NOUN = {"employed": "employed", "self_employed": "self-employed",
                    "retired": "retired", "unemployed": "unemployed", "student": "students"}


def customer_dims(frame: Frame, ctx: Ctx) -> list[str]:
    out = []
    for dim in frame.group:
        if dim == "channel":
            dim = "acquisition_channel"
        out.append(customer_dim(dim, ctx))
    return out


def base_from(ctx: Ctx) -> str:
    joins = "\n".join(ctx.joins.values())
    return "FROM customers c\nJOIN customer_status s ON s.customer_id = c.customer_id" + \
        (f"\n{joins}" if joins else "")


def by_label(names: list[str]) -> str:
    return (" by " + ", ".join(n.replace("_", " ") for n in names)) if names else ""
