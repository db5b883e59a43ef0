"""The planner's final answers, written from the result rows of its queries.

Each query_metrics result comes back as rows (JSON) and the compiled query says what every
column is; the sentence names the numbers with the period and the business definitions applied
(the "Definitions:" line is the semantic model's text for what the query used).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.planner.frame import Frame, ToolIntent
from assistant.planner.plan import Plan
from assistant.planner.vocabulary import MODEL
from assistant.planner.words import for_, of, plural, predicate, subject, what
from tools import registry
from tools.sql import fmt
from warehouse.contract import ACTIVE_WINDOW_DAYS
from warehouse.semantic import Compiled
from warehouse.semantic.model import words_text

MAX_LISTED = 8
TIME_COLUMNS = ("month", "week", "quarter", "year", "weekday", "day", "signup_month",
                "signup_year", "signup_week", "signup_quarter", "signup_weekday", "signup_day")


@dataclass
class Table:
    """One query's result: column names, the first rows, the last rows of a long result."""

    columns: list[str]
    rows: list[list] = field(default_factory=list)
    tail: list[list] = field(default_factory=list)
    total: int = 0
    dims: list[str] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)     # column -> its role (compiler's)

    @classmethod
    def read(cls, body: dict, compiled: Compiled) -> Table:
        rows = body.get("rows") or []
        tail = body.get("last_rows") or []
        total = len(rows) + len(tail) + int(body.get("omitted") or 0)
        return cls(body.get("columns") or [], rows, tail, total,
                   [c.name for c in compiled.columns if c.role in ("dimension", "label")],
                   {c.name: c.role for c in compiled.columns})

    def raw(self, row: list, name: str):
        return row[self.columns.index(name)] if name in self.columns else None

    def get(self, row: list, name: str) -> str:
        return fmt(self.raw(row, name), name) if name in self.columns else ""

    def people(self, row: list, name: str, noun: str = "customer") -> str:
        """'1 customer', '2,000 customers': a count of people with its noun."""
        return f"{self.get(row, name)} {noun}{'' if self.number(row, name) == 1 else 's'}"

    def number(self, row: list, name: str) -> float:
        value = self.raw(row, name)
        return float(value) if isinstance(value, int | float) else 0.0

    @property
    def complete(self) -> bool:
        return not self.tail and len(self.rows) == self.total


def _pretty(value: str) -> str:
    return value.replace("_", " ") if re.fullmatch(r"[a-z_]+", value) else value


def label(row: list, table: Table, dims: list[str] | None = None) -> str:
    parts = []
    for d in dims if dims is not None else table.dims:
        value = table.raw(row, d)
        parts.append("(none)" if value is None else _pretty(fmt(value, d)))
    return " / ".join(parts)


def listing(table: Table, render, dims: list[str] | None = None, *, series: bool = True) -> str:
    """The rows in words; a long time series (`series`, a split by month...) by its ends."""
    dims = table.dims if dims is None else dims
    if series and dims and dims[0] in TIME_COLUMNS and table.total > MAX_LISTED:
        first, last = table.rows[0], (table.tail or table.rows)[-1]
        recent = (table.tail or table.rows)[-3:]
        return (f"{table.total:,} {dims[0].replace('_', ' ')}s from {label(first, table, dims)}"
                f" to {label(last, table, dims)} (full table below); the first "
                f"{label(first, table, dims)}: {render(first)}; the latest: "
                + "; ".join(f"{label(r, table, dims)}: {render(r)}" for r in recent))
    limit = MAX_LISTED if table.total > 12 else 12
    rows = table.rows[:limit]
    text = "; ".join(f"{label(r, table, dims)}: {render(r)}" for r in rows)
    more = table.total - len(rows)
    if more > 0:
        text += f"; and {more:,} more (full table below)"
    return text


def by(table: Table, dims: list[str] | None = None) -> str:
    return ", ".join(d.replace("_", " ") for d in (table.dims if dims is None else dims))


@dataclass
class Context:
    """What every writer needs besides the rows."""

    plan: Plan
    frame: Frame
    subject: str
    period: str            # " in September 2026", " over all data (...)", ""
    ref: str               # "31 Oct 2026"

    def most(self) -> str:
        return "fewest" if self.frame.order == "asc" else "most"

    def highest(self) -> str:
        return "lowest" if self.frame.order == "asc" else "highest"


def definitions(compiled: list[Compiled], ref: str, first: list[str] | tuple = ()) -> str:
    """The "Definitions:" paragraph: `first` (a headline's own), then each query's."""
    texts = list(dict.fromkeys(words_text(d, ref) for d in [
        *first, *(d for c in compiled for d in c.definitions)]
        if not d.startswith("reference date")))
    return ("\n\nDefinitions: " + "; ".join(texts) + ".") if texts else ""


def compose(plan: Plan, results: list[tuple[Compiled, dict]], *, ref: str,
            all_data: str) -> str:
    """The answer to `plan` from its results (one (compiled query, summary body) per step)."""
    frame = plan.frame
    tables = [Table.read(body, compiled) for compiled, body in results]
    main = tables[-1]
    period = ""
    p = frame.period
    if plan.kind in ("amount", "tx", "tx_customers", "tx_share", "tx_per_customer", "purchase",
                     "events",
                     "ranking", "campaign_customers", "monthly_active"):
        if p is not None and p.on == "tx":
            period = f" in {p.label}"
        elif not plan.extra.get("window"):
            period = f" over {all_data}"
    shown = [_keep_shown(step, t) for step, t in zip(plan.steps, tables, strict=False)]
    tied = shown[-1] if shown and len(plan.steps) == len(tables) else []
    ctx = Context(plan, frame, subject(frame), period, ref)
    defs = definitions([c for c, _ in results], ref, [
        d for h in MODEL.headline if (d := MODEL.headline_definition(h))]
        if plan.kind == "snapshot" else ())
    if not main.rows:
        return (f"No rows matched: there are no {ctx.subject}"
                f"{period if plan.kind in ('amount', 'tx') else ''}.{defs}")
    writer = WRITERS[plan.kind]
    if plan.kind == "lapsed":
        return writer(ctx, tables) + defs
    text = writer(ctx, main)
    text = _tie(text, main, tied) if len(tied) > 1 else text
    return text + _no_churn_in_segments(frame, main) + defs


def _no_churn_in_segments(frame: Frame, t: Table) -> str:
    """Churn by segment when no segment has a churned customer: where to find the risk."""
    if "segment" not in t.dims or not any(f.field == "churned" and not f.negate
                                          for f in frame.condition):
        return ""
    if frame.top and frame.order == "asc":      # the lowest rows read say nothing of the rest
        return ""
    part = "customers" if "customers_pct" in t.columns else None
    if part is None or any(t.number(r, part) for r in [*t.rows, *t.tail]):
        return ""
    return (" No segment has a churned customer (a segmentation holds the customers it was run "
            "on, active then); for the predicted risk ask \"churn risk by segment\".")


def _keep_shown(step, t: Table) -> list[list]:
    """Cut `t` to the rows its step shows; the rows tied with the first on the step's order."""
    if step.shown is None or not t.rows or not step.query.order:
        return []
    by = step.query.order[0].by
    col = by if by in t.columns else next(
        (n for n, r in t.roles.items() if r == "metric" and n.startswith(by)), None)
    tied = [r for r in t.rows if col is not None and t.raw(r, col) == t.raw(t.rows[0], col)]
    more = len(tied) == len(t.rows) >= (step.query.limit or 0)     # all read rows tie
    t.rows, t.tail, t.total = t.rows[:step.shown], [], min(t.total, step.shown)
    return tied + ([None] if more else [])


def _tie(text: str, t: Table, tied: list) -> str:
    """'A has the highest X: 0%.' when B and C have 0% too: 'A, B and C tie for the highest X:
    0% each.' (never one of them named as if it stood out)."""
    more = tied[-1] is None
    rows = [r for r in tied if r is not None]
    names = [label(r, t) for r in rows]
    who = ", ".join(names[:-1]) + (", " if more else " and ") + names[-1] + \
        (" and perhaps more" if more else "")
    first = names[0] + " has the "
    head, sep, value = text.partition(": ")
    if text.startswith(first) and sep:
        value = value.split(" (")[0].rstrip(".")
        return f"{who} tie for the {head[len(first):]}: {value} each."
    return f"{text} Tied with it: {', '.join(names[1:])}{' and perhaps more' if more else ''}."


# -- writers ----------------------------------------------------------------------------------
def _top(ctx: Context, n: int) -> str:
    """'Top 5' or, for an ascending ranking, 'Bottom 5'."""
    return f"{'Bottom' if ctx.frame.order == 'asc' else 'Top'} {n}"


def _count(ctx: Context, t: Table) -> str:
    if not t.dims:
        n = t.get(t.rows[0], "customers")
        return f"There {'is' if n == '1' else 'are'} {n} {ctx.subject}."
    if ctx.frame.top == 1:
        r = t.rows[0]
        return (f"{label(r, t)} has the {ctx.most()} {ctx.subject}: "
                f"{t.get(r, 'customers')}.")
    head = f"{ctx.subject[0].upper()}{ctx.subject[1:]} by {by(t)}"
    if ctx.frame.top:
        head = f"{_top(ctx, ctx.frame.top)} {plural(by(t))} by number of {ctx.subject}"
    total = ""
    if not ctx.frame.top and t.complete and len(t.rows) > 1 and \
            not any(d in ("product", "platform") for d in t.dims):
        total = f" ({sum(t.number(r, 'customers') for r in t.rows):,.0f} in total)"
    return head + ": " + listing(t, lambda r: t.get(r, "customers")) + total + "."


def _monthly_active(ctx: Context, t: Table) -> str:
    who = subject(Frame(filters=[f for f in ctx.frame.filters if f.field != "active"]))
    return (f"{who[0].upper()}{who[1:]} with at least one transaction, per "
            f"{t.dims[0].replace('_', ' ')}: "
            + listing(t, lambda r: t.get(r, "transacting_customers")) + ".")


def _share_of(ctx: Context, t: Table, *, whole: str, base: str, rel: str, cond: str,
              value: str) -> str:
    def render(r):
        return (f"{t.get(r, value + '_pct')}% ({t.get(r, value)} of "
                f"{t.get(r, value + '_total')})")

    if not t.dims:
        r = t.rows[0]
        return (f"{t.get(r, value + '_pct')}% of {whole} {cond}: {t.get(r, value)} of "
                f"{t.get(r, value + '_total')}.")
    if ctx.frame.top == 1:
        r = t.rows[0]
        return (f"{label(r, t)} has the {ctx.highest()} share of {whole} {rel} {cond}: "
                f"{render(r)}.")
    return f"Share of {whole} {rel} {cond}, by {by(t)}: " + listing(t, render) + "."


def _share(ctx: Context, t: Table) -> str:
    cond = " and ".join(predicate(f) for f in ctx.frame.condition)
    return _share_of(ctx, t, whole=ctx.subject, base="customers", rel="who", cond=cond,
                     value="customers")


def _tx_share(ctx: Context, t: Table) -> str:
    cond = " and ".join(f.label if f.field in ("category", "tx_channel", "merchant",
                                               "direction", "international")
                        else "made by " + subject(Frame(filters=[f]))
                        for f in ctx.frame.condition)
    scope = what(ctx.frame) + of(ctx.subject) + ctx.period
    return _share_of(ctx, t, whole=f"transactions{scope}", base="transactions", rel="that",
                     cond="are " + cond, value="transactions")


_STAT = {"avg": "Average", "median": "Median", "max": "Highest", "min": "Lowest"}


def _amount(ctx: Context, t: Table) -> str:
    agg = ctx.plan.extra.get("agg", "sum")
    who = what(ctx.frame) + of(ctx.subject)
    if agg != "sum":
        col = "spend_per_customer" if "spend_per_customer" in t.columns else next(
            c for c in t.columns if c.startswith(agg) and "spend" in c)
        word = _STAT[agg]
        window = ctx.plan.extra.get("window")
        if not t.dims:
            r = t.rows[0]
            base = (f"over all {t.get(r, 'customers')} of them, zero spend included"
                    if window or col == "spend_per_customer" else
                    f"over the {t.get(r, 'customers')} customers who spent in that period")
            if col == "spend_per_customer":
                base = f"{t.get(r, 'spend')} spent, {base}"
            period = f" in the last {ACTIVE_WINDOW_DAYS} days" if window else ctx.period
            return (f"{word} spend per customer{what(ctx.frame)}{for_(ctx.subject)}{period}: "
                    f"{t.get(r, col)} ({base}).")

        def render_avg(r):
            return f"{t.get(r, col)} ({t.people(r, 'customers')})"

        head = f"{word} spend per customer{who}{ctx.period}"
        if window:
            head = f"{word} spend per customer{who} in the last {ACTIVE_WINDOW_DAYS} days"
        if ctx.frame.top == 1:
            r = t.rows[0]
            return (f"{label(r, t)} has the {ctx.highest()} {head[0].lower()}{head[1:]}: "
                    f"{render_avg(r)}.")
        return f"{head}, by {by(t)}: " + listing(t, render_avg) + "."

    def render(r):
        extra = f", {t.get(r, 'pct_of_spend')}% of the total" if "pct_of_spend" in t.columns \
            else f" ({t.people(r, 'spenders')})"
        return t.get(r, "spend") + extra

    if not t.dims:
        r = t.rows[0]
        return (f"Total spend{who}{ctx.period}: {t.get(r, 'spend')} "
                f"(by {t.people(r, 'spenders')}).")
    highlight = [str(x).lower() for x in ctx.frame.highlight]
    if highlight and "pct_of_spend" in t.columns:
        rows = [r for r in t.rows + t.tail
                if str(t.raw(r, t.dims[0])).lower() in highlight or
                label(r, t, t.dims[:1]) in highlight]
        if rows:
            names = {"true": "international (merchant abroad)", "false": "domestic"}
            parts = "; ".join(f"{names.get(label(r, t), label(r, t))}: "
                              f"{t.get(r, 'pct_of_spend')}% of all spend ({t.get(r, 'spend')})"
                              for r in rows)
            return f"{parts}{who}{ctx.period}. The full split is in the table below."
    if ctx.frame.top == 1:
        r = t.rows[0]
        return (f"{label(r, t)} has the {ctx.highest()} total spend{for_(ctx.subject)}"
                f"{ctx.period}: {render(r)}.")
    head = f"Total spend{who}{ctx.period}, by {by(t)}"
    if ctx.frame.top:
        head = f"{_top(ctx, ctx.frame.top)} {plural(by(t))} by total spend{who}{ctx.period}"
    return head + ": " + listing(t, render) + "."


def _purchase(ctx: Context, t: Table) -> str:
    scope = " counting as spend" + what(ctx.frame) + of(ctx.subject)
    if not t.dims:
        r = t.rows[0]
        return (f"The average transaction amount{scope}{ctx.period} is "
                f"{t.get(r, 'avg_spend')} ({t.get(r, 'transactions')} transactions).")
    return (f"Average transaction amount{scope}{ctx.period}, by {by(t)}: "
            + listing(t, lambda r: t.get(r, "avg_spend")) + ".")


def _tx(ctx: Context, t: Table) -> str:
    agg = ctx.plan.extra.get("agg", "count")
    scope = what(ctx.frame) + of(ctx.subject)
    value = {"count": "transactions", "sum": "amount", "avg": "avg_amount"}.get(
        agg, f"{agg}_amount")
    if not t.dims:
        r = t.rows[0]
        n, total, avg = (t.get(r, "transactions"), t.get(r, "amount"), t.get(r, "avg_amount"))
        if agg == "avg":
            return (f"The average transaction amount{scope}{ctx.period} is {avg} ({n} "
                    f"transactions totalling {total}).")
        if agg == "sum":
            return f"Transactions{scope}{ctx.period} total {total} ({n} transactions, " \
                   f"average {avg})."
        if agg in ("median", "max", "min"):
            word = {"median": "median", "max": "largest", "min": "smallest"}[agg]
            return (f"The {word} transaction amount{scope}{ctx.period} is "
                    f"{t.get(r, value)} ({n} transactions).")
        return f"{n} transactions{scope}{ctx.period}, totalling {total} (average {avg})."

    def render(r):
        if agg == "count":
            return f"{t.get(r, 'transactions')} transactions ({t.get(r, 'amount')})"
        return t.get(r, value)

    word = {"count": "Transactions", "sum": "Transaction amount",
            "avg": "Average transaction amount", "median": "Median transaction amount",
            "max": "Largest transaction", "min": "Smallest transaction"}[agg]
    if ctx.frame.top == 1:
        r = t.rows[0]
        return f"{label(r, t)} has the {ctx.highest()} {word.lower()}{scope}{ctx.period}: " \
               f"{render(r)}."
    return f"{word}{scope}{ctx.period}, by {by(t)}: " + listing(t, render) + "."


def _tx_customers(ctx: Context, t: Table) -> str:
    """'how many customers receive a pension': customers counted once, with the transactions
    that put them there."""
    scope = what(ctx.frame) + of(ctx.subject)
    noun = "account" if ctx.frame.counted == "accounts" else "customer"

    def render(r):
        return (f"{t.people(r, f'transacting_{noun}s', noun)} ({t.get(r, 'transactions')} "
                f"transactions, {t.get(r, 'amount')})")

    if not t.dims:
        return (f"{render(t.rows[0])[0].upper()}{render(t.rows[0])[1:]} had transactions"
                f"{scope}{ctx.period}; each {noun} is counted once.")
    return (f"{noun.capitalize()}s with transactions{scope}{ctx.period}, by {by(t)}: "
            + listing(t, render) + ".")


def _tx_per_customer(ctx: Context, t: Table) -> str:
    scope = what(ctx.frame) + of(ctx.subject)

    def render(r):
        return (f"{t.get(r, 'transactions_per_customer')} transactions per customer "
                f"({t.get(r, 'transactions')} by {t.people(r, 'transacting_customers')})")

    counted = (" Only customers with at least one transaction in the period are counted "
               "(those with none would lower the average).")
    if not t.dims:
        return f"On average{scope}{ctx.period}: {render(t.rows[0])}.{counted}"
    return (f"Transactions per customer{scope}{ctx.period}, by {by(t)}: "
            + listing(t, render) + "." + counted)


_BALANCE_WORDS = {"balance": "total balance", "avg_balance": "average balance",
                  "median_balance": "median balance", "max_balance": "highest balance",
                  "min_balance": "lowest balance", "credit_limit": "total credit limit",
                  "avg_credit_limit": "average credit limit",
                  "utilisation": "credit card utilisation (balance / limit, %)",
                  "interest_rate": "average interest rate (%)"}


def _balance(ctx: Context, t: Table) -> str:
    col = next(c for c in t.columns if c in _BALANCE_WORDS)
    words = _BALANCE_WORDS[col]
    products = ctx.plan.extra.get("products") or []
    if ctx.plan.extra.get("metric") in ("credit_limit", "utilisation"):
        products = ["credit_card"]
    scope_label = next((f.label for f in ctx.frame.filters if f.field == "account_product" and
                        "(" in f.label), None)
    scope = "open " + (scope_label or (" and ".join(p.replace("_", " ") for p in products) +
                                       " accounts" if products else "accounts"))
    subj = of(ctx.subject)

    def render(r):
        if t.raw(r, col) is None and not t.number(r, "accounts"):
            return "not set (no account has one)"
        return f"{t.get(r, col)} ({t.get(r, 'accounts')} accounts)"

    if not t.dims:
        return f"The {words} of {scope}{subj} is {render(t.rows[0])}."
    if ctx.frame.top == 1:
        r = t.rows[0]
        return f"{label(r, t)} has the {ctx.highest()} {words}{subj}: {render(r)}."
    return f"{words[0].upper()}{words[1:]} of {scope}{subj}, by {by(t)}: " + \
        listing(t, render) + "."


def _optin(ctx: Context, t: Table) -> str:
    def render(r):
        return f"{t.get(r, 'opt_in_rate')}% ({t.get(r, 'opted_in')} of {t.get(r, 'customers')})"

    def name(ch: str) -> str:
        return ch.upper() if ch == "sms" else ch.capitalize()

    def inline(ch: str) -> str:
        return ch.upper() if ch == "sms" else ch

    channels = {t.raw(r, "channel") for r in t.rows + t.tail}
    if len(channels) == 1 and len(t.dims) > 1:
        ch = channels.pop()
        dims = [d for d in t.dims if d != "channel"]
        if ctx.frame.top == 1:          # "which country has the best email opt-in rate?"
            r = t.rows[0]
            return (f"{label(r, t, dims)} has the {ctx.highest()} {inline(ch)} opt-in rate of "
                    f"{ctx.subject}: {render(r)}.")
        return (f"{name(ch)} opt-in rate of "
                f"{ctx.subject}, by {by(t, dims)}: " + listing(t, render, dims) + ".")
    if ctx.frame.top == 1 and len(t.rows) == 1 and len(t.dims) == 1:
        r = t.rows[0]                   # "which channel has the best opt-in rate?"
        return (f"{name(t.raw(r, 'channel'))} has the {ctx.highest()} opt-in rate of "
                f"{ctx.subject}: {render(r)} (an opt-in count; who can be reached also needs "
                "KYC, an open account, a contact address and no objection to profiling).")
    if len(t.rows) == 1:
        r = t.rows[0]
        ch = t.raw(r, "channel")
        return (f"{t.get(r, 'opt_in_rate')}% of {ctx.subject} are opted in to "
                f"{ch.upper() if ch == 'sms' else ch}: {t.get(r, 'opted_in')} of "
                f"{t.get(r, 'customers')} (an opt-in count; who can be reached also needs "
                "KYC, an open account, a contact address and no objection to profiling).")
    return f"Opt-in rates of {ctx.subject}: " + listing(t, render) + "."


_EVENTS = {"open_rate": "opened", "click_rate": "clicked", "conversion_rate": "converted",
           "unsubscribe_rate": "unsubscribed"}


def _campaign(ctx: Context, t: Table) -> str:
    rates = [c for c in _EVENTS if c in t.columns]
    counts = [c for c in ("opened", "clicked", "converted", "unsubscribed")
              if c in t.columns and not rates]

    def render(r):
        if counts:
            return ", ".join(f"{t.get(r, c)} {c}" for c in counts) + \
                f" of {t.get(r, 'sent')} sent"
        parts = [f"{c.replace('_rate', '')} {t.get(r, c)}%" +
                 (f" ({t.get(r, _EVENTS[c])} {_EVENTS[c]})" if len(rates) == 1 else "")
                 for c in rates]
        return ", ".join(parts) + f" of {t.get(r, 'sent')} sent"

    scope = what(ctx.frame, {"campaign_channel", "campaign_product", "campaign"})
    scope += ctx.period if ctx.frame.period else ""
    if not t.dims:
        r = t.rows[0]
        return f"Campaigns{scope}{of(ctx.subject)}: {render(r)}."
    ranked = ctx.plan.extra.get("ranked", "")
    if ctx.frame.top == 1:
        r = t.rows[0]
        if counts:
            return (f"{label(r, t)} has the {ctx.most()} customers who {counts[0]}: "
                    f"{t.get(r, counts[0])} of {t.get(r, 'sent')} sent.")
        metric = ranked.replace("_rate", " rate")
        word = ctx.frame.judged or ("lowest" if ctx.frame.order == "asc" else "highest")
        return (f"The {word} by {metric}"
                f"{of(ctx.subject)} is {label(r, t)}: {render(r)}.")
    if len(t.rows) == 1 and not ctx.frame.group:
        return f"{label(t.rows[0], t)}: {render(t.rows[0])}."
    return f"Campaign results{scope}{of(ctx.subject)}: " + listing(t, render) + "."


def _campaign_mean(ctx: Context, t: Table) -> str:
    cols = [c for c in t.columns if c.startswith("avg_") and c.endswith("_per_campaign")]

    def render(r):
        return ", ".join(f"{c[4:].split('_rate')[0]} {t.get(r, c)}%" for c in cols) + \
            f" (average over {t.get(r, 'campaigns')} campaigns)"

    scope = what(ctx.frame, {"campaign_channel", "campaign_product"})
    if not t.dims:
        return f"Average rates of campaigns{scope}: {render(t.rows[0])}."
    return f"Average rates of campaigns{scope}, by {by(t)}: " + listing(t, render) + "."


def _campaign_reach(ctx: Context, t: Table) -> str:
    scope = what(ctx.frame, {"campaign_channel", "campaign_product", "campaign"})
    period = f" in {ctx.frame.period.label}" if ctx.frame.period else ""
    named = [f for f in ctx.frame.filters if f.field == "campaign"]
    if not t.dims and len(named) == 1 and len(named[0].values) == 1:
        rest = what(ctx.frame, {"campaign_channel", "campaign_product"})
        return (f"The campaign '{named[0].values[0]}'{rest}{period} was sent to "
                f"{t.get(t.rows[0], 'recipients')} customers (each counted once).")
    if not t.dims:
        return (f"Campaigns{scope}{period} were sent to {t.get(t.rows[0], 'recipients')} "
                "customers (each counted once).")
    return (f"Customers sent campaigns{scope}{period}, by {by(t)}: "
            + listing(t, lambda r: f"sent to {t.get(r, 'recipients')} customers") + ".")


def _campaign_customers(ctx: Context, t: Table) -> str:
    event = ctx.plan.extra["event"]
    scope = what(ctx.frame, {"campaign_channel", "campaign_product", "campaign"})
    if not t.dims:
        return (f"{t.get(t.rows[0], 'contacted_customers')} {ctx.subject} {event} at least "
                f"once (any campaign{scope}{ctx.period}).")
    return (f"Customers who {event}{scope}, by {by(t)}: "
            + listing(t, lambda r: t.get(r, "contacted_customers")) + ".")


def _campaign_count(ctx: Context, t: Table) -> str:
    scope = what(ctx.frame, {"campaign_channel", "campaign_product", "campaign"})
    head = "Campaigns" + scope + ("" if " sent by " in scope else " sent")
    if ctx.frame.period:
        head += f" in {ctx.frame.period.label}"
    if not t.dims:
        return f"{head}: {t.get(t.rows[0], 'campaigns')}."
    return f"{head}, by {by(t)}: " + listing(t, lambda r: t.get(r, "campaigns")) + "."


def _simple(ctx: Context, t: Table) -> str:
    col = next(c for c in t.columns if c.endswith(("age", "tenure", "products_held")))
    agg = ctx.plan.extra.get("agg", "avg")
    what_ = {"age": "age", "tenure": "tenure", "products_held": "products held"}[
        col.split("_", 1)[1] if col.startswith(("median_", "max_", "min_")) else col]
    word = {"avg": "Average", "median": "Median", "max": "Oldest" if what_ == "age" else
            "Highest", "min": "Youngest" if what_ == "age" else "Lowest"}[agg]
    if what_ == "products held":
        if not t.dims:
            r = t.rows[0]
            return (f"{ctx.subject[0].upper()}{ctx.subject[1:]} hold {t.get(r, col)} products "
                    f"on average (open accounts, {t.people(r, 'customers')}).")
        return (f"Average products held by {ctx.subject}, by {by(t)}: "
                + listing(t, lambda r: t.get(r, col)) + ".")
    unit = " years" if what_ == "age" else " years since signup"
    if not t.dims:
        r = t.rows[0]
        note = " with a birth date" if what_ == "age" else ""
        return (f"{word} {what_} of {ctx.subject}: {t.get(r, col)}{unit} "
                f"({t.get(r, 'customers')} customers{note}).")
    return (f"{word} {what_} of {ctx.subject}, by {by(t)}: "
            + listing(t, lambda r: t.get(r, col)) + ".")


def _accounts(ctx: Context, t: Table) -> str:
    status = ctx.plan.extra.get("status")
    if status:
        kinds = " or ".join(status) + " " + " or ".join(
            p.replace("_", " ") for p in ctx.plan.extra.get("products") or []) + " accounts"
        kinds = " ".join(kinds.split())
        if not t.dims:
            r = t.rows[0]
            if ctx.frame.customers_first:
                return (f"{t.get(r, 'account_customers')} {ctx.subject} have {kinds} "
                        f"({t.get(r, 'accounts_any_status')} accounts).")
            return (f"There are {t.get(r, 'accounts_any_status')} {kinds}{of(ctx.subject)}, "
                    f"held by {t.get(r, 'account_customers')} customers.")
        return (f"{kinds[0].upper()}{kinds[1:]}{of(ctx.subject)}: " + listing(
            t, lambda r: f"{t.get(r, 'accounts_any_status')} "
                         f"({t.people(r, 'account_customers')})") + ".")
    if not t.dims:
        r = t.rows[0]
        products = ctx.plan.extra.get("products") or ["accounts"]
        kinds = " and ".join(p.replace("_", " ") for p in products)
        return (f"There are {t.get(r, 'accounts')} open {kinds} accounts{of(ctx.subject)}, "
                f"held by {t.get(r, 'account_holders')} customers.")
    return ("Open accounts" + of(ctx.subject) + ": " + listing(
        t, lambda r: f"{t.get(r, 'accounts')} ({t.people(r, 'account_holders')})")
        + ".")


def _opened(ctx: Context, t: Table) -> str:
    products = ctx.plan.extra.get("products") or []
    kinds = " or ".join(p.replace("_", " ") for p in products)
    period = f" in {ctx.frame.period.label}" if ctx.frame.period else ""

    def render(r):
        return (f"{t.get(r, 'accounts_opened')} accounts opened by "
                f"{t.get(r, 'account_openers')} customers")

    if not t.dims:
        r = t.rows[0]
        if ctx.frame.customers_first:
            article = "an" if not kinds or kinds[0] in "aeiou" else "a"
            return (f"{t.get(r, 'account_openers')} {ctx.subject} opened {article} "
                    f"{kinds + ' ' if kinds else ''}account{period} "
                    f"({t.get(r, 'accounts_opened')} accounts opened).")
        return (f"{t.get(r, 'accounts_opened')} {kinds + ' ' if kinds else ''}accounts were "
                f"opened{of(ctx.subject)}{period}, by {t.get(r, 'account_openers')} customers.")
    return (f"Accounts opened{' (' + kinds + ')' if kinds else ''}{of(ctx.subject)}{period}, "
            f"by {by(t)}: " + listing(t, render) + ".")


def _events(ctx: Context, t: Table) -> str:
    kinds = what(ctx.frame, {"event_type"}).replace(" of type ", " ").strip() or "app"
    kinds += " events" + what(ctx.frame, {"event_product"})    # "... events for a mortgage"
    if not t.dims:
        r = t.rows[0]
        if ctx.frame.customers_first:
            return (f"{t.get(r, 'event_customers')} {ctx.subject} had {kinds}"
                    f"{ctx.period} ({t.get(r, 'events')} events in all).")
        return (f"{t.get(r, 'events')} {kinds}{of(ctx.subject)}{ctx.period}, by "
                f"{t.get(r, 'event_customers')} customers.")
    return (f"{kinds[0].upper()}{kinds[1:]}{of(ctx.subject)}{ctx.period}, by {by(t)}: "
            + listing(t, lambda r: f"{t.get(r, 'events')} "
                               f"({t.people(r, 'event_customers')})") + ".")


def _ranking(ctx: Context, t: Table) -> str:
    rows = "; ".join(f"customer {t.get(r, 'customer_id')} ({t.get(r, 'country')}): "
                     f"{t.get(r, 'spend')}" for r in t.rows[:12])
    together = ""
    if t.complete:
        together = f" Together they spent {sum(t.number(r, 'spend') for r in t.rows):,.2f}."
    return (f"{_top(ctx, len(t.rows))} {ctx.subject} by spend{what(ctx.frame)}{ctx.period}: "
            f"{rows}.{together}")


def _snapshot(ctx: Context, t: Table) -> str:
    """The semantic model's headline figures, one line each (a rate with its count)."""
    r = t.rows[0]
    days = ACTIVE_WINDOW_DAYS
    lines = [f"Snapshot of {ctx.subject} at the reference date {ctx.ref}:"]
    for h in MODEL.headline:
        col = h.column
        value = t.get(r, col)
        at = t.columns.index(col)
        part = t.columns[at + 1] if at + 1 < len(t.columns) else None
        if MODEL.metrics.get(h.metric) and MODEL.metrics[h.metric].percent:
            value = f"{t.get(r, part)} ({value}%)" if t.roles.get(part) == "part" else \
                f"{value}%"
        entity = MODEL.measures.get(MODEL.metrics[h.metric].numerator.measure
                                    if h.metric in MODEL.metrics else h.metric)
        if entity is not None and entity.entity == "consents" and \
                not ctx.plan.extra.get("consents", True):
            value = ("unknown, there is no consent data (load consents to know who may be "
                     "contacted)")
        lines.append(f"- {words_text(h.title)}: {value}")
    lines += ["", "Ask for any of these in detail, e.g. \"churn rate by country\", \"spend by "
              f"category in the last {days} days\" or \"new customers per month\"."]
    return "\n".join(lines)


def _lapsed(ctx: Context, tables: list[Table]) -> str:
    categories, products, profile = tables
    r = profile.rows[0]

    def get(name: str) -> str:
        return profile.get(r, name)

    who = subject(ctx.frame, "dormant customers")
    n = profile.number(r, "customers")
    if not n:
        return (f"There are no high-value {who} (no transaction in the {ACTIVE_WINDOW_DAYS} "
                f"days to {ctx.ref}, and 12-month spend before that of at least "
                f"{get('min_spend_12m')}).")
    share = 100 * n / max(profile.number(r, "dormant"), 1)
    spent = ", ".join(f"{c[0]} {round(float(c[2]))}%" for c in
                      ([row[categories.columns.index(x)] for x in ("category", "spend",
                                                                  "pct_of_spend")]
                       for row in categories.rows)) or "nothing"
    held = ", ".join(f"{str(row[0]).replace('_', ' ')} {round(100 * float(row[1]) / n)}%"
                     for row in ([row[products.columns.index(x)] for x in ("product",
                                                                           "customers")]
                                 for row in products.rows)) or "none"
    return "\n".join([
        f"High-value {who}: {get('customers')} ({share:.1f}% of the {get('dormant')} {who}). "
        f"They made no transaction in the {ACTIVE_WINDOW_DAYS} days to {ctx.ref}, and in the "
        f"12 months up to their last transaction they spent at least {get('min_spend_12m')} "
        "(the top 20% of all customers who have transacted).",
        "What they do:",
        f"- before going quiet: {get('avg_spend_12m')} spend on average over those 12 months, "
        f"mostly {spent}",
        f"- quiet for a median of {get('median_days_quiet')} days since their last transaction",
        f"- products still held: {held}; {get('with_open_account')} still have an open account",
        f"- reachable for a win-back: {get('reachable_by_email')} by email (consent, KYC, an "
        "open account, an address, no objection to profiling)",
        "RFM gives a relative view of the same idea (the \"At risk\" and \"Can't lose them\" "
        "segments: low recency score, high frequency and spend): ask \"RFM segments\".",
    ])


WRITERS = {
    "count": _count, "monthly_active": _monthly_active, "share": _share,
    "tx_share": _tx_share, "amount": _amount, "purchase": _purchase, "tx": _tx,
    "tx_customers": _tx_customers,
    "tx_per_customer": _tx_per_customer, "balance": _balance, "optin": _optin,
    "campaign": _campaign, "campaign_mean": _campaign_mean, "campaign_reach": _campaign_reach,
    "campaign_customers": _campaign_customers, "campaign_count": _campaign_count,
    "products": _simple, "age": _simple, "tenure": _simple, "accounts": _accounts,
    "events": _events, "opened": _opened, "ranking": _ranking, "snapshot": _snapshot,
    "lapsed": _lapsed,
}


def tool_answer(intent: ToolIntent, summary: str) -> str:
    """The final answer after a tool other than the metrics: its summary, introduced by the
    heading the registry gives the tool."""
    tool = registry.spec(intent.tool)
    intro = tool.heading if tool else ""
    return f"{intro}\n{summary}".strip()


_POST = ("in ", "with ", "without ", "not in ", "outside ", "aged ", "holding ", "from ", "who ",
         "older ", "younger ", "between ", "under ", "over ", "of ", "on ")


def _after_noun(labels: list[str]) -> str:
    """Filter phrases after 'customers': 'in Germany' as it is, then 'churned' or 'active
    members' as 'who are ...' ('customers in Germany who are churned')."""
    placed = [p for p in labels if p.startswith(_POST)]
    said = [p for p in labels if not p.startswith(_POST)]
    text = " and ".join(placed) + (f" who are {' and '.join(said)}" if said else "")
    return " " + text.strip() if labels else ""


def table_answer(ask, compiled: Compiled, body: dict) -> str:
    """The answer to a question about an imported table (tables.TableAsk), from its rows,
    with what the table's model says a value of it means ('pdays: the value -1 ... means
    none and is left out of its averages')."""
    text = _table_answer(ask, compiled, body)
    notes = [d for d in dict.fromkeys(compiled.definitions) if "means none" in d]
    return text + ("\n\nNote: " + "; ".join(notes) + "." if notes else "")


def _table_answer(ask, compiled: Compiled, body: dict) -> str:
    t = Table.read(body, compiled)
    series = ask.query.grain is not None     # a 'month' column of the table is no time series
    for d, labels in ask.value_labels.items():       # a code book's labels ('2' -> 'female')
        if d in t.columns:
            i = t.columns.index(d)
            for row in (*t.rows, *t.tail):
                key = row[i] if row[i] is None else str(row[i])
                row[i] = labels.get(key, row[i]) if key is not None else None
    for d, (yes, no) in ask.booleans.items():        # a yes/no split's groups in words
        if d in t.columns:
            i = t.columns.index(d)
            for row in (*t.rows, *t.tail):
                row[i] = row[i] if row[i] is None else (yes if row[i] else no)

    def by(t: Table) -> str:
        return ", ".join(ask.dim_labels.get(d, d.replace("_", " ")) for d in t.dims)
    who = ask.noun + _after_noun(ask.labels)
    where = (f" in {ask.period}" if ask.period else "") + f" (table {ask.table})"
    if not t.rows:
        return f"No rows matched in {ask.table}: there are no {who}."
    metric = next(c for c in compiled.columns if c.role == "metric")
    if ask.kind == "share":
        with_ = ask.subgroup and all(p.startswith("with ") for p in ask.subgroup)
        cond = ("have " + " and ".join(p[5:] for p in ask.subgroup) if with_ else
                "are " + " and ".join(ask.subgroup))    # 'have card category Gold'
        value = metric.name

        def render(r):
            return (f"{t.get(r, value + '_pct')}% ({t.get(r, value)} of "
                    f"{t.get(r, value + '_total')})")
        blanks = (f" {ask.noun.capitalize()} with no {' or '.join(ask.unknown)} are not "
                  "counted." if ask.unknown else "")
        if not t.dims:
            return f"{render(t.rows[0])} of {who} {cond}{where}.{blanks}"
        return (f"Share of {who} who {cond}, by {by(t)}{where}: "
                + listing(t, render, series=series) + "." + blanks)
    unit = "%" if metric.unit == "percent" else ""

    def value_of(r):
        return f"{t.get(r, metric.name)}{unit}"

    what_ = ask.label if ask.kind != "count" else f"number of {who}"
    if not t.dims:
        r = t.rows[0]
        if ask.kind == "count":
            return f"There are {value_of(r)} {who}{where}."
        return f"The {what_} of {who} is {value_of(r)}{where}."
    if ask.query.limit == 1:
        r = t.rows[0]
        word = "lowest" if ask.query.order and not ask.query.order[0].desc else "highest"
        return f"{label(r, t)} has the {word} {what_}{where}: {value_of(r)}."
    head = f"{what_[0].upper()}{what_[1:]}" + ("" if ask.kind == "count" else f" of {who}")
    return f"{head}, by {by(t)}{where}: " + listing(t, value_of, series=series) + "."
