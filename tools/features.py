"""Per-customer behavioural features, computed inside the warehouse in one pass per table.

`compute_features(wh, as_of=...)` runs one SQL statement (DuckDB dialect, transpilable by
sqlglot) that aggregates transactions, app events, accounts and campaign events up to `as_of`
and returns one row per customer. Raw transactions never leave the warehouse.

Every feature is declared once in `FEATURES` with its SQL expression, its words (for segment
cards and reasons) and how clustering should treat it (scale, weight). `as_of` defaults to the
reference date (latest transaction); the churn model passes an earlier cutoff so that features
only use what was known then. Balances and frozen statuses are only known at the reference date:
features built on them are NULL for an earlier `as_of` and left out of models.

Design choices, checked against the generator's hidden personas (bench/segment_quality.py):
- spend mix is COUNT shares of everyday payments, not amount shares (rent and bills would
  dominate amounts and split customers by renting vs owning), smoothed towards the population's
  shares by two pseudo-payments so that a customer with three payments is not "100% dining";
- rates are per active month (first to last transaction in the window), so a customer who left
  is described by what they did while they were here;
- clustering weights (`Feature.weight`): 1 for behavioural signals; 1.5 for logins (app
  engagement separates digital from web-banking customers); 0.5 for product flags (a
  standardised 0/1 flag would otherwise dominate distances), for the income amount (it repeats
  the income pattern) and the web share (it overlaps logins); 0.75 for money received from family
  or friends (a strong but narrow signal); 0 (description only) for travel, already carried by
  the share of card payments abroad, and entertainment, dominated by subscriptions everyone has.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

import pandas as pd

from warehouse.connection import Warehouse
from warehouse.contract import (
    ACTIVE_WINDOW_DAYS,
    CATEGORIES,
    EVENT_TYPES,
    NON_SPEND_CATEGORIES,
    PLATFORMS,
    PRODUCTS,
    TX_CHANNELS,
)
from warehouse.errors import EmptyResult, InvalidArgument

Scale = Literal["share", "log", "linear", "flag"]

# Everyday payments: the discretionary debits whose mix says what a customer's life looks like.
EVERYDAY = ("groceries", "dining", "travel", "shopping", "entertainment", "cash", "crypto")
DEPOSIT_PRODUCTS = ("checking", "savings", "investment", "crypto")
LOOKBACK_DAYS = 365
DAYS_PER_MONTH = 30.4375
HOLDS_LABEL = {"checking": "holds a checking account", "savings": "holds a savings account",
               "credit_card": "holds a credit card", "personal_loan": "has a personal loan",
               "mortgage": "has a mortgage", "investment": "holds an investment account",
               "crypto": "holds a crypto wallet"}
SMOOTHING = 2  # pseudo-observations in smoothed shares


@dataclass(frozen=True)
class Feature:
    """One per-customer feature: its SQL, its meaning in words and its role in models."""

    name: str
    sql: str            # expression over the CTEs (tx, ev, acc, camp, c); {as_of} literals
    label: str          # words for cards and reasons, e.g. "share of card payments abroad"
    unit: str = ""      # "%", "per month", "days", "" (amounts are in the account currency)
    scale: Scale = "linear"  # how clustering transforms it before standard scaling
    weight: float = 0.0      # weight in behavioural clustering; 0 = describe only
    current_only: bool = False  # only known at the reference date (balances)
    protected: bool = False     # a protected attribute: used only when explicitly asked
    describe: bool = True       # may appear as a trait on segment cards


def _share(num: str, den: str) -> str:
    return f"CAST({num} AS DOUBLE) / nullif({den}, 0)"


def _smoothed(num: str, den: str, prior: str) -> str:
    """A share shrunk towards the population's share (`prior`, from the pri/epri CTEs) by
    SMOOTHING pseudo-observations, so that a customer with three payments does not look 100%
    anything (additive smoothing)."""
    return (f"(coalesce({num}, 0) + {SMOOTHING} * coalesce({prior}, 0)) / "
            f"(coalesce({den}, 0) + {SMOOTHING})")


def _per_month(num: str, span: str = "tx.span_days") -> str:
    return f"CAST({num} AS DOUBLE) / greatest({span}, 30) * {DAYS_PER_MONTH}"


def _ratio(recent: str, before: str) -> str:
    """Recent activity over earlier activity, +1 on both sides so zeros stay finite."""
    return f"(coalesce({recent}, 0) + 1.0) / (coalesce({before}, 0) + 1)"


def _everyday_share(cat: str, label: str, weight: float = 1.0):
    return Feature(f"share_{cat}", _smoothed(f"tx.n_{cat}", "tx.n_everyday", f"pri.{cat}"),
                   f"share of everyday payments on {label}", "%", "share", weight)


FEATURES: tuple[Feature, ...] = (
    # -- what they pay for (count shares: rent and bills would dominate amount shares) --------
    _everyday_share("groceries", "groceries"),
    _everyday_share("dining", "dining out"),
    _everyday_share("travel", "travel", weight=0.0),
    _everyday_share("shopping", "shopping"),
    _everyday_share("entertainment", "entertainment", weight=0.0),
    _everyday_share("cash", "cash withdrawals"),
    _everyday_share("crypto", "crypto purchases"),
    # -- how they pay ------------------------------------------------------------------------
    Feature("share_international", _smoothed("tx.n_card_abroad", "tx.n_card", "pri.card_abroad"),
            "share of card payments abroad", "%", "share", 1.0),
    Feature("share_online", _smoothed("tx.n_card_online", "tx.n_card", "pri.card_online"),
            "share of card payments made online", "%", "share", 1.0),
    Feature("share_p2p", _smoothed("tx.n_p2p_out", "tx.n_everyday + tx.n_p2p_out", "pri.p2p_out"),
            "share of outgoing payments sent person to person", "%", "share", 1.0),
    Feature("everyday_per_month", _per_month("tx.n_everyday"),
            "everyday payments per month", "per month", "log", 1.0),
    Feature("avg_ticket", "tx.everyday_amount / nullif(tx.n_everyday, 0)",
            "average everyday payment", "", "log", 1.0),
    Feature("payments_12m", "coalesce(tx.n_spend, 0)",
            "payments in the last 12 months", "", "log"),
    Feature("spend_12m", "coalesce(tx.spend, 0)", "spend in the last 12 months", "", "log"),
    Feature("spend_per_month", _per_month("tx.spend"),
            "spend per month", "", "log"),
    # -- money in ----------------------------------------------------------------------------
    Feature("income_credits_per_month", _per_month("tx.n_income"),
            "salary, pension or gig payouts received per month", "per month", "log", 1.0),
    Feature("income_per_month", _per_month("tx.income"),
            "income received per month", "", "log", 0.5),
    Feature("p2p_in_per_month", _per_month("tx.n_p2p_in"),
            "person-to-person payments received per month", "per month", "log", 0.75),
    Feature("investing_per_month", _per_month("tx.n_investment"),
            "transfers into investments per month", "per month", "log", 0.5),
    Feature("share_months_rent", f"least({_per_month('tx.n_rent')}, 1)",
            "months with a rent payment", "%", "share", 1.0),
    # -- digital engagement --------------------------------------------------------------------
    Feature("logins_per_month", _per_month("ev.logins", "ev.span_days"),
            "app or web logins per month", "per month", "log", 1.5),
    Feature("share_web", _smoothed("ev.n_web", "ev.n_app", "epri.web"),
            "share of app events on web banking", "%", "share", 0.5),
    Feature("share_android", _smoothed("ev.n_android", "ev.n_app", "epri.android"),
            "share of app events on Android", "%", "share", 1.0),
    Feature("support_per_month", _per_month("ev.support", "ev.span_days"),
            "support chats per month", "per month", "log"),
    Feature("product_views_per_month", _per_month("ev.views", "ev.span_days"),
            "product pages viewed per month", "per month", "log"),
    # -- products and balances -------------------------------------------------------------------
    *(Feature(f"holds_{p}", f"coalesce(acc.holds_{p}, false)::INTEGER", HOLDS_LABEL[p], "%",
              "flag", 0.0 if p == "checking" else 0.5)
      for p in PRODUCTS),
    Feature("products_held", "coalesce(acc.products_held, 0)", "products held", "", "linear"),
    Feature("deposits", "acc.deposits", "deposit and investment balances", "", "log", 1.0,
            current_only=True),
    Feature("card_utilisation", "acc.card_balance / nullif(acc.card_limit, 0)",
            "credit card balance as a share of the limit", "%", "share", current_only=True),
    # -- relationship and marketing ---------------------------------------------------------------
    Feature("tenure_days", "date_diff('day', c.signup_date, {as_of_date})",
            "days since signup", "days", "log", 1.0),
    Feature("days_since_last_transaction", "date_diff('day', tx.last_ts, {as_of})",
            "days since the last transaction", "days", "log"),
    Feature("campaign_open_rate", _share("camp.opened", "camp.sent"),
            "share of campaigns opened", "%", "share"),
    Feature("campaign_click_rate", _share("camp.clicked", "camp.sent"),
            "share of campaigns clicked", "%", "share"),
    Feature("campaign_conversion_rate", _share("camp.converted", "camp.sent"),
            "share of campaigns converted", "%", "share"),
    # -- recent trend (churn signals) --------------------------------------------------------
    Feature("transactions_30d", "coalesce(tx.tx_30d, 0)", "transactions in the last 30 days",
            "", "log", describe=False),
    Feature("transactions_90d", "coalesce(tx.tx_90d, 0)", "transactions in the last 90 days",
            "", "log", describe=False),
    Feature("activity_trend", _ratio("tx.tx_90d", "tx.tx_prev_90d"),
            "transactions in the last 90 days vs the 90 days before", "x", "log", describe=False),
    Feature("spend_trend", _ratio("tx.spend_90d", "tx.spend_prev_90d"),
            "spend in the last 90 days vs the 90 days before", "x", "log", describe=False),
    Feature("income_trend", _ratio("tx.n_income_90d", "tx.n_income_prev_90d"),
            "income payments in the last 90 days vs the 90 days before", "x", "log",
            describe=False),
    Feature("login_trend", _ratio("ev.logins_30d", "ev.logins_60d / 2.0"),
            "logins in the last 30 days vs the monthly average of the 60 days before", "x", "log",
            describe=False),
    Feature("support_90d", "coalesce(ev.support_90d, 0)", "support chats in the last 90 days",
            "", "log", describe=False),
    Feature("unsubscribed", "coalesce(camp.unsubscribed, 0) > 0", "unsubscribed from a campaign",
            "%", "flag", describe=False),
    # -- protected attributes: only when explicitly requested --------------------------------
    Feature("age", "date_part('year', age({as_of_date}, c.birth_date))",
            "age in years", "years", "linear", 1.0, protected=True),
    Feature("gender_female", "(c.gender = 'female')::INTEGER", "share who are female", "%",
            "flag", 0.5, protected=True),
)
FEATURES_BY_NAME = {f.name: f for f in FEATURES}
_SOURCE_WORDS = (("ev.", "app events"), ("camp.", "campaign events"), ("acc.", "accounts"),
                 ("tx.", "transactions"), ("c.", "the customer table"))


def feature_source(name: str) -> str:
    """Where a feature's values come from, in words ('app events', 'accounts', ...)."""
    f = FEATURES_BY_NAME.get(name)
    if f is None:
        return "the table"
    return next((words for prefix, words in _SOURCE_WORDS if prefix in f.sql), "the data")


def informative_columns(frame: pd.DataFrame, names: list[str] | tuple[str, ...]
                        ) -> tuple[list[str], list[str]]:
    """The columns of `frame` among `names` that carry information, and those that do not
    (every value missing, or one value for every row: a warehouse without app events, say)."""
    kept: list[str] = []
    left_out: list[str] = []
    for name in names:
        values = pd.to_numeric(frame[name], errors="coerce").astype("float64")
        (kept if values.dropna().nunique() > 1 else left_out).append(name)
    return kept, left_out


def left_out_words(names: list[str] | tuple[str, ...], what: str = "customer") -> str:
    """'Left out, empty or the same for every customer here: the 5 app events features
    (logins per month, ...); ...' for features a model or a segmentation could not use."""
    if not names:
        return ""
    groups: dict[str, list[str]] = {}
    for n in names:
        f = FEATURES_BY_NAME.get(n)
        groups.setdefault(feature_source(n), []).append(f.label if f else n)
    parts = []
    for source, labels in groups.items():
        shown = ", ".join(labels[:3]) + (", ..." if len(labels) > 3 else "")
        parts.append(f"{len(labels)} from {source} ({shown})")
    return (f"Left out, as they are empty or the same for every {what} in this data: "
            + "; ".join(parts) + ".")
BEHAVIOUR = tuple(f.name for f in FEATURES if f.weight > 0 and not f.protected)
PROTECTED = tuple(f.name for f in FEATURES if f.protected)
# Columns returned besides the features (not model inputs). is_active and is_churned follow the
# contract at as_of; is_churned is NULL for customers with no transaction in the lookback window
# whose accounts are not all closed (whether they transacted before the window is not looked up).
ID_COLUMNS = ("customer_id", "country", "n_transactions", "is_active", "is_churned")
LEFT_OUT = "without_transactions"
# count_if, not count(*) FILTER (...): DuckDB 2.0.1 counts a FILTERed window frame row by row,
# which is quadratic (two minutes at a million customers; fixed upstream in duckdb#25935).
_LEFT_OUT = f"count_if(coalesce(tx.n_tx, 0) = 0) OVER () AS {LEFT_OUT}"

_W = ACTIVE_WINDOW_DAYS

# -- one pass over transactions and app events ----------------------------------------------------
# These two scans are the expensive part of the statement (tens of millions of rows at a million
# customers). EXPLAIN ANALYZE showed the time going into the ~25 conditional aggregates, each
# re-testing strings per row (IN lists are the dearest), not into the scan. So every row is
# reduced once to small integer codes and the aggregates compare integers (count_if and
# sum(if(...)) are also cheaper than FILTER clauses in DuckDB):
# - kind: the position of the row's category in _KINDS (1-based; 0 for a category outside the
#   contract), plus _CREDIT for money in. _KINDS lists the everyday categories first, then the
#   other spending, then the non-spend categories, so "an everyday payment" and "spend" (a debit
#   outside NON_SPEND_CATEGORIES) are ranges of kinds;
# - chan: the position of the channel in _CHANNELS (card channels first; 0 if unknown or NULL);
# - for app events, `kind` is the position of the event type and `plat` that of the platform.
_KINDS = (EVERYDAY + tuple(c for c in CATEGORIES if c not in EVERYDAY + NON_SPEND_CATEGORIES)
          + NON_SPEND_CATEGORIES)
_CREDIT = 100
_CARD_CHANNELS = ("card_present", "online")
_FIRST_CHANNELS = (*_CARD_CHANNELS, "p2p")
_CHANNELS = (*_FIRST_CHANNELS, *(c for c in TX_CHANNELS if c not in _FIRST_CHANNELS))


def _code(values: tuple[str, ...], column: str) -> str:
    """The 1-based position of `column` in `values`, 0 when absent (NULL or unknown)."""
    listed = ", ".join(f"'{v}'" for v in values)
    return f"coalesce(array_position([{listed}], {column}), 0)"


def _kind(category: str, credit: bool = False) -> int:
    return _KINDS.index(category) + 1 + (_CREDIT if credit else 0)


def _chan(channel: str) -> int:
    return _CHANNELS.index(channel) + 1


def _debits(categories: tuple[str, ...]) -> str:
    """Debits in `categories` (which must be consecutive in _KINDS) as a test on t.kind."""
    kinds = sorted(_kind(c) for c in categories)
    assert kinds == list(range(kinds[0], kinds[-1] + 1)), categories
    return f"t.kind = {kinds[0]}" if len(kinds) == 1 else \
        f"t.kind BETWEEN {kinds[0]} AND {kinds[-1]}"


def _event(event_type: str) -> int:
    return EVENT_TYPES.index(event_type) + 1


# The tests the transaction and app-event aggregates make, by name (template placeholders).
_TX_TESTS = {
    "everyday": _debits(EVERYDAY),
    # spend: debits outside the non-spend categories (including any category unknown here)
    "spends": f"t.kind < {_kind(NON_SPEND_CATEGORIES[0])}",
    # card payments: card channels, crypto purchases aside
    "card": (f"t.chan BETWEEN {_chan(_CARD_CHANNELS[0])} AND {_chan(_CARD_CHANNELS[-1])} "
             f"AND t.kind < {_CREDIT} AND t.kind <> {_kind('crypto')}"),
    "debit": f"t.kind < {_CREDIT}",
    "credit": f"t.kind >= {_CREDIT}",
    "online": f"t.chan = {_chan('online')}",
    "p2p": f"t.chan = {_chan('p2p')}",
    "income": f"t.kind = {_kind('salary', credit=True)}",
    "investment": _debits(("investment",)),
    "rent": _debits(("rent",)),
}
_EV_TESTS = {
    "is_login": f"e.kind = {_event('login')}",
    "is_support": f"e.kind = {_event('support_chat')}",
    "is_view": f"e.kind = {_event('view_product')}",
    "app": f"e.kind <> {_event('push_open')}",
    "web": f"e.plat = {PLATFORMS.index('web') + 1}",
    "android": f"e.plat = {PLATFORMS.index('android') + 1}",
}
# The codes in words, as comments in the SQL (it is shown as the receipt of a result).
_LEGEND = {
    "tx_legend": ("-- kind: " + ", ".join(f"{i} {c}" for i, c in enumerate(_KINDS, 1))
                  + f"; +{_CREDIT} for money in\n    -- chan: "
                  + ", ".join(f"{i} {c}" for i, c in enumerate(_CHANNELS, 1))),
    "ev_legend": ("-- kind: " + ", ".join(f"{i} {c}" for i, c in enumerate(EVENT_TYPES, 1))
                  + "\n    -- plat: " + ", ".join(f"{i} {p}" for i, p in enumerate(PLATFORMS, 1))),
}



@dataclass(frozen=True)
class Counter:
    """One per-customer aggregate over the coded rows of transactions (`t`) or app events
    (`e`): the raw feature SQL and the incremental customer state (tools/realtime/state.py)
    are both generated from this one list, so they cannot disagree."""

    name: str
    of: str                 # "t" (transactions) or "e" (app events)
    test: str = ""          # condition on the coded row ('' = every row)
    value: str = ""         # column summed ('' = rows counted)
    window: str = "year"    # year (the lookback window) or one of WINDOWS
    agg: str = "sum"        # sum, or min / max of ts (first / last)
    trend: bool = False     # only the churn model's trend features need it


# Windows inside the lookback, in whole days up to the reference date (w30: the reference date
# and the 29 days before it). Whole days let the customer state slide them a day at a time.
WINDOWS = {
    "w30": "{a}.ts >= {w30}",
    "w90": "{a}.ts >= {w90}",
    "prev90": "{a}.ts >= {w180} AND {a}.ts < {w90}",
    "w90_30": "{a}.ts >= {w90} AND {a}.ts < {w30}",
}


def _tx(name, test="", value="", window="year", trend=False):
    return Counter(name, "t", test, value, window, "sum", trend)


def _ev(name, test="", window="year", trend=False):
    return Counter(name, "e", test, "", window, "sum", trend)


_T, _E = _TX_TESTS, _EV_TESTS
TX_COUNTERS: tuple[Counter, ...] = (
    _tx("n_tx"),
    Counter("first_ts", "t", agg="min"),
    Counter("last_ts", "t", agg="max"),
    _tx("tx_30d", window="w30", trend=True),
    _tx("tx_90d", window="w90"),
    _tx("tx_prev_90d", window="prev90", trend=True),
    *(_tx(f"n_{cat}", _debits((cat,))) for cat in EVERYDAY),
    _tx("everyday_amount", _T["everyday"], "amount"),
    _tx("n_spend", _T["spends"]),
    _tx("spend", _T["spends"], "amount"),
    _tx("spend_90d", _T["spends"], "amount", "w90", trend=True),
    _tx("spend_prev_90d", _T["spends"], "amount", "prev90", trend=True),
    _tx("n_card", _T["card"]),
    _tx("n_card_online", f"{_T['card']} AND {_T['online']}"),
    _tx("n_card_abroad", f"{_T['card']} AND t.abroad"),
    _tx("n_p2p_out", f"{_T['debit']} AND {_T['p2p']}"),
    _tx("n_p2p_in", f"{_T['credit']} AND {_T['p2p']}"),
    _tx("n_income", _T["income"]),
    _tx("n_income_90d", _T["income"], window="w90", trend=True),
    _tx("n_income_prev_90d", _T["income"], window="prev90", trend=True),
    _tx("income", _T["income"], "amount"),
    _tx("n_investment", _T["investment"]),
    _tx("n_rent", _T["rent"]),
)
EV_COUNTERS: tuple[Counter, ...] = (
    _ev("n_events"),
    Counter("first_event_ts", "e", agg="min"),
    _ev("logins", _E["is_login"]),
    _ev("logins_30d", _E["is_login"], "w30", trend=True),
    _ev("logins_60d", _E["is_login"], "w90_30", trend=True),
    _ev("n_app", _E["app"]),
    _ev("n_web", f"{_E['app']} AND {_E['web']}"),
    _ev("n_android", f"{_E['app']} AND {_E['android']}"),
    _ev("support", _E["is_support"]),
    _ev("support_90d", _E["is_support"], "w90", trend=True),
    _ev("views", _E["is_view"]),
)


def coded_sql(of: str, relation: str) -> str:
    """The coded rows (`t`: customer_id, ts, amount, kind, chan, abroad; `e`: customer_id, ts,
    kind, plat) of transactions or app events in `relation`, as the counters read them."""
    if of == "t":
        return (f"SELECT t.customer_id, t.ts, t.amount, {_code(_KINDS, 't.category')} + CASE "
                f"WHEN t.direction = 'debit' THEN 0 ELSE {_CREDIT} END AS kind, "
                f"{_code(_CHANNELS, 't.channel')} AS chan, "
                f"coalesce(t.is_international, false) AS abroad FROM {relation} t")
    return (f"SELECT e.customer_id, e.ts, {_code(EVENT_TYPES, 'e.event_type')} AS kind, "
            f"{_code(PLATFORMS, 'e.platform')} AS plat FROM {relation} e")


def counter_test(c: Counter) -> str:
    """The row condition of a counter, its window included ('' = every row)."""
    parts = [WINDOWS[c.window].replace("{a}", c.of)] if c.window != "year" else []
    if c.test:
        parts.append(c.test)
    return " AND ".join(f"({p})" if " OR " in p else p for p in parts)


def counter_sql(c: Counter) -> str:
    """The aggregate of a counter over the coded rows (placeholders: the window literals)."""
    if c.agg in ("min", "max"):
        return f"{c.agg}({c.of}.ts)"
    test = counter_test(c)
    if not c.value:
        return f"count_if({test})" if test else "count(*)"
    return f"sum(if({test}, {c.of}.{c.value}, 0))" if test else f"sum({c.of}.{c.value})"


def _select_list(counters: tuple[Counter, ...], expr) -> str:
    """`           expr AS name,` lines, `-- trend` marked, the last without its comma."""
    lines = [f"           {expr(c)} AS {c.name}," + ("  -- trend" if c.trend else "")
             for c in counters]
    assert not counters[-1].trend, "the last counter must not be a trend line"
    lines[-1] = lines[-1].rstrip(",")
    return "\n".join(lines)


# The derived columns read from the counters (the same for the raw and the state path).
_TX_DERIVED = ("date_diff('day', {src}.first_ts, {src}.last_ts) + 1 AS span_days, "
               "{everyday_total} AS n_everyday")
_EV_DERIVED = "date_diff('day', {src}.first_event_ts, {as_of}) + 1 AS span_days"

# The per-customer aggregates read from the raw tables (one pass over each), ...
_RAW_CTES = """t AS (
    -- one projection per row: integer codes, so the aggregates below compare integers
    {tx_legend}
    SELECT t.customer_id, t.ts, t.amount,
           {kind} + CASE WHEN t.direction = 'debit' THEN 0 ELSE {credit_offset} END AS kind,
           {chan} AS chan,
           coalesce(t.is_international, false) AS abroad
    FROM transactions t
    WHERE t.ts <= {as_of} AND t.ts >= {since}
),
txc AS (
    SELECT t.customer_id,
{tx_counters}
    FROM t
    GROUP BY t.customer_id
),
tx AS (
    SELECT txc.*, {tx_derived}
    FROM txc
),
e AS (
    {ev_legend}
    SELECT e.customer_id, e.ts, {event_kind} AS kind, {platform} AS plat
    FROM app_events e
    WHERE e.ts <= {as_of} AND e.ts >= {since}
),
evc AS (
    SELECT e.customer_id,
{ev_counters}
    FROM e
    GROUP BY e.customer_id
),
ev AS (
    SELECT evc.*, {ev_derived}
    FROM evc
),"""
# ... or from the customer state, which holds the same counters kept up to date per event.
_STATE_CTES = """tx AS (
    -- the transaction counters of the customer state ({state}), kept per event
    SELECT s.customer_id, {tx_columns}, {tx_derived}
    FROM {state} s
    WHERE s.n_tx > 0
),
ev AS (
    SELECT s.customer_id, {ev_columns}, {ev_derived}
    FROM {state} s
    WHERE s.n_events > 0
),"""
_CTES = """WITH {source_ctes}
pri AS (
    -- population shares that smoothed shares shrink towards
    SELECT {category_priors},
           sum(n_card_abroad) / nullif(sum(n_card), 0) AS card_abroad,
           sum(n_card_online) / nullif(sum(n_card), 0) AS card_online,
           sum(n_p2p_out) / nullif(sum(n_everyday + n_p2p_out), 0) AS p2p_out
    FROM {pri_src}
),
epri AS (
    SELECT sum(n_web) / nullif(sum(n_app), 0) AS web,
           sum(n_android) / nullif(sum(n_app), 0) AS android
    FROM {epri_src}
),
acc AS (
    SELECT a.customer_id,
{holdings},
           {products_held} AS products_held,
           count(*) AS accounts,
           count(*) FILTER (WHERE a.closed_at IS NOT NULL AND a.closed_at <= {as_of_date})
               AS closed_accounts,
           {deposits} AS deposits,
           {card_balance} AS card_balance,
           {card_limit} AS card_limit
    FROM accounts a
    WHERE (a.opened_at IS NULL OR a.opened_at <= {as_of_date}){acc_only}
    GROUP BY a.customer_id
),
camp AS (
    -- campaigns with each event per customer (an event counts once per campaign)
    SELECT ce.customer_id,
           count(*) FILTER (WHERE ce.event = 'unsubscribed') AS unsubscribed,  -- trend
           count(*) FILTER (WHERE ce.event = 'sent') AS sent,
           count(*) FILTER (WHERE ce.event = 'opened') AS opened,
           count(*) FILTER (WHERE ce.event = 'clicked') AS clicked,
           count(*) FILTER (WHERE ce.event = 'converted') AS converted
    FROM (SELECT DISTINCT customer_id, campaign_id, event FROM campaign_events
          WHERE event IN ('sent', 'opened', 'clicked', 'converted', 'unsubscribed')
            AND ts <= {as_of} AND ts >= {since}{camp_only}) ce
    GROUP BY ce.customer_id
)"""
# The final select, without ordering: with transacting_only it is wrapped in an outer filter.
_SELECT = """SELECT c.customer_id,
       c.country,
       coalesce(tx.n_tx, 0) AS n_transactions,
       coalesce(tx.last_ts > {active_since}, false) AS is_active,
       CASE WHEN coalesce(acc.accounts, 0) > 0 AND acc.closed_accounts = acc.accounts THEN true
            WHEN coalesce(tx.n_tx, 0) > 0 THEN NOT (tx.last_ts > {active_since})
       END AS is_churned,
{features}
FROM customers c
CROSS JOIN pri
CROSS JOIN epri
LEFT JOIN tx ON tx.customer_id = c.customer_id
LEFT JOIN ev ON ev.customer_id = c.customer_id
LEFT JOIN acc ON acc.customer_id = c.customer_id
LEFT JOIN camp ON camp.customer_id = c.customer_id
WHERE (c.signup_date IS NULL OR c.signup_date <= {as_of_date}){only_customers}{filters}"""


@dataclass(frozen=True)
class Filters:
    """Which customers to keep: all of them by default."""

    active_only: bool = False          # a transaction in the 90 days up to as_of
    country: str | None = None         # ISO-2 country of residence
    product: str | None = None         # holds an open account of this product at as_of
    transacting_only: bool = False     # at least one transaction in the lookback window
    holding_only: bool = False         # holds an open account at as_of

    def where(self) -> str:
        parts = []
        if self.holding_only:
            parts.append("coalesce(acc.products_held, 0) > 0")
        if self.active_only:
            parts.append("coalesce(tx.last_ts > {active_since}, false)")
        if self.transacting_only:
            parts.append("coalesce(tx.n_tx, 0) > 0")
        if self.country:
            parts.append(f"c.country = '{self.country}'")
        if self.product:
            parts.append(f"coalesce(acc.holds_{self.product}, false)")
        return "".join(f"\n  AND {p}" for p in parts)

    def describe(self) -> str:
        """'active customers living in DE holding a credit card', or 'all customers'."""
        parts = ["active customers" if self.active_only else "customers"]
        if self.holding_only:
            parts.append("holding an open account")
        if self.country:
            parts.append(f"living in {self.country}")
        if self.product:
            parts.append(f"holding a {self.product.replace('_', ' ')}")
        return "all customers" if len(parts) == 1 and not self.active_only else " ".join(parts)


def churn_basis(wh: Warehouse) -> str:
    """What churn can be learnt from in this warehouse: 'transactions' (the contract's
    definition: no transaction in 90 days, or every account closed), or, in a warehouse with
    accounts but no transactions, 'accounts' (every account closed). InvalidArgument when
    there are neither."""
    if wh.scalar("SELECT count(*) FROM (SELECT 1 FROM transactions LIMIT 1)"):
        return "transactions"
    if wh.scalar("SELECT count(*) FROM (SELECT 1 FROM accounts LIMIT 1)"):
        return "accounts"
    raise InvalidArgument("churn is learnt from transactions (no transaction in 90 days) or "
                          "accounts (all of them closed), and this warehouse has neither; "
                          "import transactions or accounts first (assistant import)")


def _literals(as_of: datetime, lookback_days: int) -> dict[str, str]:
    """Timestamps as SQL literals, so the engine can prune row groups by ts.

    Windows are whole days up to the date of `as_of` (the lookback: that date and the 364 days
    before it), so that the customer state can slide them a day at a time; whether a customer is
    active keeps the contract's exact 90 days before `as_of` (view customer_status).
    """
    return {"as_of": sql_ts(as_of), "as_of_date": f"DATE '{as_of:%Y-%m-%d}'",
            "active_since": sql_ts(as_of - timedelta(days=_W)),
            **{name: sql_ts(day) for name, day in window_starts(as_of, lookback_days).items()}}


def sql_ts(t: datetime) -> str:
    return f"TIMESTAMP '{t:%Y-%m-%d %H:%M:%S}'"


def window_starts(as_of: datetime, lookback_days: int = LOOKBACK_DAYS) -> dict[str, datetime]:
    """The first instant of each window (midnight of its first day) for a reference `as_of`."""
    day = datetime(as_of.year, as_of.month, as_of.day)
    return {"since": day - timedelta(days=lookback_days - 1), "w30": day - timedelta(days=29),
            "w90": day - timedelta(days=_W - 1), "w180": day - timedelta(days=2 * _W - 1)}


def feature_sql(as_of: datetime, *, current: bool, filters: Filters = Filters(),
                include_protected: bool = False, lookback_days: int = LOOKBACK_DAYS,
                trends: bool = True, state: str | None = None, only: str | None = None,
                totals: str | None = None) -> str:
    """The one statement that computes every feature as of `as_of` (DuckDB dialect).

    `current` says whether `as_of` is the reference date: only then are balances and account
    statuses (which the warehouse holds as of today) meaningful. `trends=False` leaves out the
    recent-trend features (the churn model's signals, `Feature.describe` False) and the
    aggregates only they need (lines marked `-- trend`): segmentation does not use them.

    `state` names the customer state table to read the transaction and app-event counters from
    instead of scanning those tables (it must be up to date at `as_of`); `only` names a relation
    of customer_id to compute the features of (population priors still use everyone: with
    `totals`, a one-row relation of the state's counters summed over every customer, they are
    read from it instead of summing everyone's state).
    """
    lit = _literals(as_of, lookback_days)
    held = ("(a.status = 'open')" if current else
            f"(a.opened_at IS NOT NULL AND (a.closed_at IS NULL OR a.closed_at > "
            f"{lit['as_of_date']}))")
    holds = {prod: f"bool_or(a.product = '{prod}' AND {held})" for prod in PRODUCTS}
    holdings = ",\n".join(f"           {agg} AS holds_{prod}" for prod, agg in holds.items())
    # the number of distinct products held, as the sum of the flags (DuckDB computes each
    # bool_or once; a DISTINCT aggregate would need a hash table of its own)
    products_held = "\n               + ".join(f"{agg}::INTEGER" for agg in holds.values())
    deposit_list = ", ".join(f"'{d}'" for d in DEPOSIT_PRODUCTS)
    if current:
        deposits = (f"coalesce(sum(a.balance) FILTER (WHERE {held} AND a.product IN "
                    f"({deposit_list})), 0)")
        card_balance = f"sum(a.balance) FILTER (WHERE {held} AND a.product = 'credit_card')"
        card_limit = f"sum(a.credit_limit) FILTER (WHERE {held} AND a.product = 'credit_card')"
    else:
        deposits = card_balance = card_limit = "CAST(NULL AS DOUBLE)"
    category_priors = ",\n           ".join(
        f"sum(n_{cat}) / nullif(sum(n_everyday), 0) AS {cat}" for cat in EVERYDAY)
    features = ",\n".join(
        f"       CAST({f.sql.format(**lit)} AS DOUBLE) AS {f.name}" for f in FEATURES
        if (include_protected or not f.protected) and (trends or f.describe))
    # With transacting_only, the customers selected but left out for having no transaction in
    # the window are counted (a window over the selection, then an outer filter): callers report
    # that number without a second query or a filtered copy of a million-row frame.
    counted = ",\n       " + _LEFT_OUT if filters.transacting_only else ""
    src = ("s", "s") if state else ("txc", "evc")
    restrict = f" IN (SELECT customer_id FROM {only})" if only else ""
    source = dict(
        **lit, **_LEGEND, state=state,
        tx_derived=_TX_DERIVED.format(src=src[0], everyday_total=" + ".join(
            f"{src[0]}.n_{cat}" for cat in EVERYDAY)),
        ev_derived=_EV_DERIVED.format(src=src[1], as_of=lit["as_of"]),
        tx_counters=_select_list(TX_COUNTERS, counter_sql),
        ev_counters=_select_list(EV_COUNTERS, counter_sql),
        tx_columns=", ".join(f"s.{c.name}" for c in TX_COUNTERS),
        ev_columns=", ".join(f"s.{c.name}" for c in EV_COUNTERS),
        kind=_code(_KINDS, "t.category"), credit_offset=_CREDIT,
        chan=_code(_CHANNELS, "t.channel"), event_kind=_code(EVENT_TYPES, "e.event_type"),
        platform=_code(PLATFORMS, "e.platform"),
    )
    # twice: the counters bring the window placeholders with them
    source_ctes = (_STATE_CTES if state else _RAW_CTES).format(**source).format(**lit)
    if only:   # the population priors need everyone: the selection is narrowed after them
        # NOT MATERIALIZED: the priors then sum a few columns of every row and the selection
        # reads its rows alone, instead of DuckDB materialising every customer's derived row
        # first (a micro-batch of 1,900 customers at 1M: 0.79 s -> 0.33 s, the same rows).
        source_ctes = source_ctes.replace("tx AS (", "tx_all AS NOT MATERIALIZED (", 1).replace(
            "ev AS (", "ev_all AS NOT MATERIALIZED (", 1)
        source_ctes += (f"\ntx AS (SELECT * FROM tx_all WHERE customer_id{restrict}),"
                        f"\nev AS (SELECT * FROM ev_all WHERE customer_id{restrict}),")
    values = dict(
        **lit, **_TX_TESTS, **_EV_TESTS, **_LEGEND, source_ctes=source_ctes,
        pri_src=(f"(SELECT *, {' + '.join(f'n_{cat}' for cat in EVERYDAY)} AS n_everyday "
                 f"FROM {totals})") if totals else "tx_all" if only else "tx",
        epri_src=totals or ("ev_all" if only else "ev"),
        acc_only=f"\n      AND a.customer_id{restrict}" if only else "",
        camp_only=f"\n            AND customer_id{restrict}" if only else "",
        only_customers=f"\n  AND c.customer_id{restrict}" if only else "",
        category_priors=category_priors, holdings=holdings, products_held=products_held,
        held=held, deposits=deposits, card_balance=card_balance, card_limit=card_limit,
        features=features + counted,
        filters=replace(filters, transacting_only=False).where().format(**lit),
    )
    select = _SELECT.format(**values)
    if filters.transacting_only:
        select = (f"SELECT * FROM (\n{select}\n) selected\nWHERE n_transactions > 0\n"
                  "ORDER BY customer_id")
    else:
        select += "\nORDER BY c.customer_id"
    sql = f"{_CTES.format(**values)}\n{select}"
    if not trends:
        sql = "\n".join(line for line in sql.splitlines() if not line.endswith("-- trend"))
    return sql


def reference_ts(wh: Warehouse) -> datetime:
    """The reference timestamp (latest transaction; without transactions, the latest dated event
    of another table: view reference_period); EmptyResult when nothing in the warehouse is
    dated."""
    ts = wh.reference_period()["reference_ts"]
    if ts is None:
        raise EmptyResult("the warehouse has no dated data yet (no transactions, events, "
                          "accounts or signup dates); import some first")
    return ts


def check_filters(wh: Warehouse, *, country: str | None = None,
                  product: str | None = None) -> tuple[str | None, str | None]:
    """Normalise and validate filter values; unknown ones raise InvalidArgument with hints."""
    if country is not None:
        country = country.strip().upper()
        known = [r[0] for r in wh.rows(
            "SELECT DISTINCT country FROM customers WHERE country IS NOT NULL ORDER BY 1")]
        if country not in known:
            raise InvalidArgument(f"no customers live in country {country!r}; the countries in "
                                  f"the warehouse are {', '.join(known)}")
    if product is not None:
        product = product.strip().lower().replace(" ", "_")
        if product not in PRODUCTS:
            raise InvalidArgument(
                f"unknown product {product!r}{suggest(product, PRODUCTS)}; the products are "
                f"{', '.join(PRODUCTS)}")
    return country, product


def suggest(word: str, candidates) -> str:
    """'; did you mean X or Y?' for close names, else ''."""
    close = difflib.get_close_matches(word, list(candidates), n=3, cutoff=0.5)
    if not close:
        lowered = {c.lower(): c for c in candidates}
        close = [lowered[m] for m in difflib.get_close_matches(word.lower(), lowered, 3, 0.5)]
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def compute_features(wh: Warehouse, as_of: datetime | None = None, *, active_only: bool = False,
                     country: str | None = None, product: str | None = None,
                     transacting_only: bool = False, include_protected: bool = False,
                     lookback_days: int = LOOKBACK_DAYS, trends: bool = True,
                     holding_only: bool = False) -> pd.DataFrame:
    """One row per customer with every feature in `FEATURES`, as of `as_of` (default: the
    reference date), for the customers that pass the filters (ordered by customer_id).

    With `transacting_only`, `df.attrs["without_transactions"]` says how many customers passed
    the other filters but were left out for having no transaction in the lookback window.
    At the reference date the counters come from the customer state when it is up to date
    (tools/realtime/state.py; the same values, without a pass over every transaction);
    `df.attrs["source"]` says which was read.

    Raises InvalidArgument for an unknown country or product and EmptyResult when no customer
    passes the filters.
    """
    ref = reference_ts(wh)
    as_of = as_of or ref
    country, product = check_filters(wh, country=country, product=product)
    filters = Filters(active_only=active_only, country=country, product=product,
                      transacting_only=transacting_only, holding_only=holding_only)
    source = None
    if as_of == ref and lookback_days == LOOKBACK_DAYS:
        from tools.realtime.state import current  # the state imports this module

        source = current(wh)   # None unless it is exact for the warehouse as it is now
    sql = feature_sql(as_of, current=as_of >= ref, filters=filters,
                      include_protected=include_protected, lookback_days=lookback_days,
                      trends=trends, state=source)
    df = wh.df(sql)
    if df.empty:
        raise EmptyResult(f"no customers match the filter ({filters.describe()}); widen it")
    if transacting_only:
        left_out = int(df[LEFT_OUT].iloc[0])
        df = df.drop(columns=LEFT_OUT)
        df.attrs[LEFT_OUT] = left_out
    df.attrs["sql"] = sql
    df.attrs["source"] = source or "raw tables"
    df.attrs["as_of"] = as_of
    df.attrs["filters"] = filters
    return df
