"""The planner's final answers: the numbers in a sentence, with the period and definitions used.

The planner reads tool results exactly as a model does: from the short summaries (the run_sql
summary is a small pipe-separated table), never from the full tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.planner.frame import Frame, ToolIntent
from assistant.planner.lapsed import lapsed_answer
from assistant.planner.snapshot import snapshot_answer
from assistant.planner.sqlgen import Query
from tools import registry

MAX_LISTED = 8


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    total: int = 0
    tail: list[list[str]] = field(default_factory=list)   # last rows of a long result

    def col(self, name: str) -> int:
        return self.columns.index(name)

    def get(self, row: list[str], name: str) -> str:
        return row[self.col(name)] if name in self.columns else ""


def parse_summary(summary: str) -> Table:
    """The table inside a run_sql summary (see tools/sql.py `summarize`)."""
    lines = summary.splitlines()
    m = re.match(r"^([\d,]+)\+? rows?; columns: (.*)$", lines[0]) if lines else None
    if not m:
        return Table([])
    total = int(m.group(1).replace(",", ""))
    columns = [c.strip() for c in m.group(2).split(",")] if "(none" not in m.group(2) else []
    table = Table(columns, total=total)
    header = " | ".join(columns)
    try:
        start = lines.index(header) + 1
    except ValueError:
        return table
    target = table.rows
    for line in lines[start:]:
        if line.startswith("…") and line.rstrip().endswith(":"):
            target = table.tail
            continue
        if line.startswith(("…", "The result was cut")):
            break
        target.append([cell.strip() for cell in line.split(" | ")])
    return table


def _pretty(value: str) -> str:
    return value.replace("_", " ") if re.fullmatch(r"[a-z_]+", value) else value


def _label(row: list[str], table: Table, dims: list[str]) -> str:
    parts = [_pretty(table.get(row, d)) for d in dims if d in table.columns]
    parts = ["(none)" if p == "NULL" else p for p in parts]
    return " / ".join(parts)


TIME_DIMS = ("month", "week", "quarter", "year", "weekday", "signup_month", "signup_year",
             "signup_week", "signup_quarter")


def _listing(table: Table, dims: list[str], render) -> str:
    if dims and dims[0] in TIME_DIMS and table.total > MAX_LISTED:
        first, last = table.rows[0], (table.tail or table.rows)[-1]
        recent = (table.tail or table.rows)[-3:]
        return (f"{table.total:,} {dims[0].replace('_', ' ')}s from {_label(first, table, dims)}"
                f" to {_label(last, table, dims)} (full table below); the first "
                f"{_label(first, table, dims)}: {render(first)}; the latest: "
                + "; ".join(f"{_label(r, table, dims)}: {render(r)}" for r in recent))
    limit = MAX_LISTED if table.total > 12 else 12
    rows = table.rows[:limit]
    text = "; ".join(f"{_label(r, table, dims)}: {render(r)}" for r in rows)
    more = table.total - len(rows)
    if more > 0:
        text += f"; and {more:,} more (full table below)"
    return text


def _period(query: Query) -> str:
    p = query.extra.get("period")
    if not p:
        return ""
    return f" over {p}" if p.startswith("all data") else f" in {p}"


def _defs(query: Query) -> str:
    if not query.definitions:
        return ""
    return "\n\nDefinitions: " + "; ".join(query.definitions) + "."


def compose(query: Query, frame: Frame, summary: str) -> str:
    """The answer sentence(s) for a run_sql result of `query`."""
    table = parse_summary(summary)
    if not table.columns or not table.rows:
        return (f"No rows matched: there are no {query.subject}"
                f"{_period(query) if query.kind in ('amount', 'tx') else ''}.{_defs(query)}")
    writer = {
        "count": _count, "share": _share, "amount": _amount, "tx": _tx,
        "balance": _balance, "credit_limit": _balance, "utilisation": _balance,
        "interest": _balance, "optin": _optin, "campaign": _campaign,
        "products": _products, "accounts": _accounts, "events": _events, "age": _age,
        "campaign_mean": _campaign_mean,
        "tenure": _tenure, "ranking": _ranking, "tx_share": _tx_share,
        "campaign_count": _campaign_count, "snapshot": snapshot_answer, "lapsed": lapsed_answer,
    }[query.kind]
    return writer(query, frame, table) + _defs(query)


def _most(frame: Frame) -> str:
    return "fewest" if frame.order == "asc" else "most"


def _highest(frame: Frame) -> str:
    return "lowest" if frame.order == "asc" else "highest"


def _top_phrase(frame: Frame, dims: list[str]) -> str:
    dim = " / ".join(d.replace("_", " ") for d in dims)
    if frame.top == 1:
        return f"The {dim} with the {_most(frame)}"
    word = "Bottom" if frame.order == "asc" else "Top"
    return f"{word} {frame.top} {dim} values by"


def _count(query: Query, frame: Frame, table: Table) -> str:
    if query.extra.get("monthly_active"):
        return (f"{query.subject[0].upper()}{query.subject[1:]}, per "
                f"{query.dims[0].replace('_', ' ')}: "
                + _listing(table, query.dims, lambda r: table.get(r, "customers")) + ".")
    if not query.dims:
        n = table.rows[0][table.col("customers")]
        return f"There {'is' if n == '1' else 'are'} {n} {query.subject}."
    if frame.top == 1:
        r = table.rows[0]
        return (f"{_label(r, table, query.dims)} has the {_most(frame)} "
                f"{query.subject}: {table.get(r, 'customers')}.")
    dims = ", ".join(d.replace("_", " ") for d in query.dims)
    head = f"{query.subject[0].upper()}{query.subject[1:]} by {dims}"
    if frame.top:
        head = (f"{'Bottom' if frame.order == 'asc' else 'Top'} {frame.top} {_plural(dims)} by "
                f"number of {query.subject}")
    total = ""
    if not frame.top and len(table.rows) == table.total and len(table.rows) > 1 and \
            not any(d in ("product", "platform") for d in query.dims):
        n = sum(int(table.get(r, "customers").replace(",", "")) for r in table.rows)
        total = f" ({n:,} in total)"
    return head + ": " + _listing(table, query.dims, lambda r: table.get(r, "customers")) + \
        total + "."


def _plural(word: str) -> str:
    if word.endswith("y") and not word.endswith(("ay", "ey")):
        return word[:-1] + "ies"
    if word.endswith(("s", "x")):
        return word + "es" if word.endswith("x") else word
    return word + "s"


def _share(query: Query, frame: Frame, table: Table) -> str:
    return _share_of(query, frame, table, whole=query.subject, base="customers",
                     rel="who", cond=query.extra["condition"])


def _tx_share(query: Query, frame: Frame, table: Table) -> str:
    scope = query.extra.get("what", "") + _of(query.subject) + _period(query)
    return _share_of(query, frame, table, whole=f"transactions{scope}", base="transactions",
                     rel="that", cond="are " + query.extra["condition"])


def _share_of(query: Query, frame: Frame, table: Table, *, whole: str, base: str, rel: str,
              cond: str) -> str:
    """'12.5% of <whole> <cond>: 10 of 80', per group when split; `base` counts the whole."""
    def render(r):
        return f"{table.get(r, 'pct')}% ({table.get(r, 'matching')} of {table.get(r, base)})"

    if not query.dims:
        r = table.rows[0]
        return (f"{table.get(r, 'pct')}% of {whole} {cond}: "
                f"{table.get(r, 'matching')} of {table.get(r, base)}.")
    if frame.top == 1:
        r = table.rows[0]
        return (f"{_label(r, table, query.dims)} has the {_highest(frame)} "
                f"share of {whole} {rel} {cond}: {render(r)}.")
    return (f"Share of {whole} {rel} {cond}, by "
            + ", ".join(d.replace("_", " ") for d in query.dims) + ": "
            + _listing(table, query.dims, render) + ".")


def _amount(query: Query, frame: Frame, table: Table) -> str:
    agg = query.extra.get("agg", "sum")
    col = query.value
    period = _period(query)
    who = query.extra.get("what", "") + _of(query.subject)
    if not query.dims:
        r = table.rows[0]
        if agg == "sum":
            return (f"Total spend{who}{period}: {table.get(r, col)} "
                    f"(by {table.get(r, 'customers')} customers).")
        word = {"avg": "Average", "median": "Median", "max": "Highest", "min": "Lowest"}[agg]
        base = (f"over all {table.get(r, 'customers')} of them, zero spend included"
                if query.extra.get("window") else
                f"over the {table.get(r, 'customers')} customers who spent in that period")
        return (f"{word} spend per customer{query.extra.get('what', '')}"
                f"{_for(query.subject)}{period}: {table.get(r, col)} ({base}).")
    def render(r):
        extra = f", {table.get(r, 'pct_of_spend')}% of the total" if "pct_of_spend" in \
            table.columns else f" ({table.get(r, 'customers')} customers)"
        return table.get(r, col) + extra
    highlight = query.extra.get("highlight") or []
    if highlight and "pct_of_spend" in table.columns:
        rows = [r for r in table.rows + table.tail if _label(r, table, query.dims[:1]).replace(
            " ", "_") in highlight or _label(r, table, query.dims[:1]) in highlight]
        if rows:
            names = {"true": "international (merchant abroad)", "false": "domestic"}
            labels = [_label(r, table, query.dims) for r in rows]
            parts = "; ".join(f"{names.get(label, label)}: "
                              f"{table.get(r, 'pct_of_spend')}% of all spend "
                              f"({table.get(r, col)})"
                              for label, r in zip(labels, rows, strict=True))
            return f"{parts}{who}{period}. The full split is in the table below."
    what = "Total spend" if agg == "sum" else \
        {"avg": "Average", "median": "Median", "max": "Highest", "min": "Lowest"}[agg] + \
        " spend per customer"
    dims = ", ".join(d.replace("_", " ") for d in query.dims)
    if frame.top == 1:
        r = table.rows[0]
        return (f"{_label(r, table, query.dims)} has the {_highest(frame)} "
                f"{what.lower()}{_for(query.subject)}{period}: {render(r)}.")
    head = f"{what}{who}{period}, by {dims}"
    if frame.top:
        head = (f"{'Bottom' if frame.order == 'asc' else 'Top'} {frame.top} {_plural(dims)} by "
                f"{what.lower()}{who}{period}")
    return head + ": " + _listing(table, query.dims, render) + "."


def _tx(query: Query, frame: Frame, table: Table) -> str:
    period = _period(query)
    agg = query.extra.get("agg", "count")
    scope = query.extra.get("what", "") + _of(query.subject)
    if agg == "per_customer":
        def render_pc(r):
            return (f"{table.get(r, 'transactions_per_customer')} transactions per customer "
                    f"({table.get(r, 'transactions')} by {table.get(r, 'customers')} customers)")
        counted = (" Only customers with at least one transaction in the period are counted "
                   "(those with none would lower the average).")
        if not query.dims:
            return f"On average{scope}{period}: {render_pc(table.rows[0])}.{counted}"
        return (f"Transactions per customer{scope}{period}, by "
                + ", ".join(d.replace("_", " ") for d in query.dims) + ": "
                + _listing(table, query.dims, render_pc) + "." + counted)
    if not query.dims:
        r = table.rows[0]
        n, total, avg = (table.get(r, "transactions"), table.get(r, "total_amount"),
                         table.get(r, "avg_amount"))
        if agg == "avg":
            return (f"The average transaction amount{scope}{period} is {avg} ({n} "
                    f"transactions totalling {total}).")
        if agg == "sum":
            return (f"Transactions{scope}{period} total {total} ({n} transactions, average "
                    f"{avg}).")
        if agg in ("median", "max", "min"):
            word = {"median": "median", "max": "largest", "min": "smallest"}[agg]
            return (f"The {word} transaction amount{scope}{period} is "
                    f"{table.get(r, query.value)} ({n} transactions).")
        return f"{n} transactions{scope}{period}, totalling {total} (average {avg})."

    def render(r):
        if agg == "count":
            return f"{table.get(r, 'transactions')} transactions ({table.get(r, 'total_amount')})"
        return table.get(r, query.value)

    dims = ", ".join(d.replace("_", " ") for d in query.dims)
    what = {"count": "Transactions", "sum": "Transaction amount", "avg": "Average transaction "
            "amount", "median": "Median transaction amount", "max": "Largest transaction",
            "min": "Smallest transaction"}[agg]
    if frame.top == 1:
        r = table.rows[0]
        return (f"{_label(r, table, query.dims)} has the {_highest(frame)} "
                f"{what.lower()}{scope}{period}: {render(r)}.")
    return f"{what}{scope}{period}, by {dims}: " + _listing(table, query.dims, render) + "."


def _of(subject: str) -> str:
    return "" if subject == "customers" else f" of {subject}"


def _for(subject: str) -> str:
    return "" if subject == "customers" else f" for {subject}"


def _balance(query: Query, frame: Frame, table: Table) -> str:
    col = query.value
    words = {"total_balance": "total balance", "avg_balance": "average balance",
             "median_balance": "median balance", "max_balance": "highest balance",
             "min_balance": "lowest balance", "total_credit_limit": "total credit limit",
             "avg_credit_limit": "average credit limit",
             "utilisation_pct": "credit card utilisation (balance / limit, %)",
             "avg_interest_rate": "average interest rate (%)"}[col]
    products = query.extra.get("products") or []
    what = " and ".join(p.replace("_", " ") for p in products)
    scope = f"open {what} accounts" if what else "open accounts"
    if query.extra.get("scope"):
        scope = "open " + query.extra["scope"]
    subj = "" if query.subject == "customers" else f" of {query.subject}"

    def render(r):
        return f"{table.get(r, col)} ({table.get(r, 'accounts')} accounts)"

    if not query.dims:
        r = table.rows[0]
        return f"The {words} of {scope}{subj} is {render(r)}."
    if frame.top == 1:
        r = table.rows[0]
        return (f"{_label(r, table, query.dims)} has the {_highest(frame)} "
                f"{words}{subj}: {render(r)}.")
    dims = ", ".join(d.replace("_", " ") for d in query.dims)
    return (f"{words[0].upper()}{words[1:]} of {scope}{subj}, by {dims}: "
            + _listing(table, query.dims, render) + ".")


def _optin(query: Query, frame: Frame, table: Table) -> str:
    def render(r):
        return (f"{table.get(r, 'opt_in_rate_pct')}% ({table.get(r, 'opted_in')} of "
                f"{table.get(r, 'customers')})")

    channels = {table.get(r, "channel") for r in table.rows + table.tail}
    if len(channels) == 1 and len(query.dims) > 1:
        ch = channels.pop()
        dims = [d for d in query.dims if d != "channel"]
        return (f"{ch.upper() if ch == 'sms' else ch.capitalize()} opt-in rate of "
                f"{query.subject}, by {', '.join(d.replace('_', ' ') for d in dims)}: "
                + _listing(table, dims, render) + ".")
    if len(table.rows) == 1:
        r = table.rows[0]
        ch = table.get(r, "channel")
        return (f"{table.get(r, 'opt_in_rate_pct')}% of {query.subject} are opted in to "
                f"{ch.upper() if ch == 'sms' else ch}: {table.get(r, 'opted_in')} of "
                f"{table.get(r, 'customers')}.")
    return (f"Opt-in rates of {query.subject}: " + _listing(table, query.dims, render) + ".")


def _campaign(query: Query, frame: Frame, table: Table) -> str:
    rates = [c for c in query.extra["rates"] if c in table.columns]

    events = {"open_rate_pct": "opened", "click_rate_pct": "clicked",
              "conversion_rate_pct": "converted", "unsubscribe_rate_pct": "unsubscribed"}

    def render(r):
        parts = [f"{c.replace('_rate_pct', '')} {table.get(r, c)}%" +
                 (f" ({table.get(r, events[c])} {events[c]})" if len(rates) == 1 else "")
                 for c in rates]
        return ", ".join(parts) + f" of {table.get(r, 'sent')} sent"

    dims = [d for d in query.dims if d not in ("sent_on",)]
    scope = query.extra.get("what", "")
    if "reach" in frame.notes:      # "how many customers received ...": the customers sent it
        rows = [f"{_label(r, table, dims) or 'Campaigns' + scope}: sent to "
                f"{table.get(r, 'customers_sent')} customers ({render(r)})" for r in table.rows]
        return "; ".join(rows) + "."
    if "any_campaign" in frame.notes and not dims:
        r = table.rows[0]
        return (f"{table.get(r, query.value)} {query.subject} {query.value[10:]} at least once"
                f" (any campaign{scope}{_period(query)}; campaigns: {render(r)}).")
    if not dims:
        r = table.rows[0]
        return f"Campaigns{scope}{_of(query.subject)}{_period(query)}: {render(r)}."
    if frame.top == 1:
        r = table.rows[0]
        if not query.value.endswith("_pct"):      # ranked by a count of customers
            return (f"{_label(r, table, dims)} has the {_most(frame)}"
                    f" customers who {query.value}: {table.get(r, query.value)} of "
                    f"{table.get(r, 'sent')} sent ({render(r).split(' (')[0]}).")
        metric = query.value.replace("_rate_pct", " rate")
        return (f"The {'weakest' if frame.order == 'asc' else 'best'} by {metric}"
                f"{_of(query.subject)} is {_label(r, table, dims)}: {render(r)}.")
    if len(table.rows) == 1 and not frame.group:
        r = table.rows[0]
        return f"{_label(r, table, dims)}: {render(r)}."
    return ("Campaign results" + _of(query.subject) + ": "
            + _listing(table, dims, render) + ".")


def _campaign_count(query: Query, frame: Frame, table: Table) -> str:
    scope = query.extra.get("what", "")
    head = "Campaigns" + scope + ("" if " sent by " in scope else " sent")
    if query.extra.get("period"):
        head += f" in {query.extra['period']}"
    if not query.dims:
        return f"{head}: {table.get(table.rows[0], 'campaigns')}."
    return (f"{head}, by "
            + ", ".join(d.replace("_", " ") for d in query.dims) + ": "
            + _listing(table, query.dims, lambda r: table.get(r, "campaigns")) + ".")


def _campaign_mean(query: Query, frame: Frame, table: Table) -> str:
    rates = [c for c in query.extra["rates"] if c in table.columns]

    def render(r):
        return ", ".join(f"{c.removeprefix('avg_').replace('_rate_pct', '')} "
                         f"{table.get(r, c)}%" for c in rates) + \
            f" (average over {table.get(r, 'campaigns')} campaigns)"

    scope = query.extra.get("what", "")
    if not query.dims:
        return f"Average rates of campaigns{scope}: {render(table.rows[0])}."
    return (f"Average rates of campaigns{scope}, by " + ", ".join(query.dims) + ": "
            + _listing(table, query.dims, render) + ".")


def _products(query: Query, frame: Frame, table: Table) -> str:
    if not query.dims:
        r = table.rows[0]
        return (f"{query.subject[0].upper()}{query.subject[1:]} hold "
                f"{table.get(r, 'avg_products_held')} products on average (open accounts, "
                f"{table.get(r, 'customers')} customers).")
    return (f"Average products held by {query.subject}, by "
            + ", ".join(d.replace("_", " ") for d in query.dims) + ": "
            + _listing(table, query.dims, lambda r: table.get(r, "avg_products_held")) + ".")


def _accounts(query: Query, frame: Frame, table: Table) -> str:
    if not query.dims:
        r = table.rows[0]
        products = query.extra.get("products") or ["accounts"]
        what = " and ".join(p.replace("_", " ") for p in products)
        return (f"There are {table.get(r, 'open_accounts')} open {what} accounts"
                f"{_of(query.subject)}, held by {table.get(r, 'customers')} customers.")
    return ("Open accounts" + _of(query.subject) + ": " + _listing(
        table, query.dims, lambda r: f"{table.get(r, 'open_accounts')} "
        f"({table.get(r, 'customers')} customers)") + ".")


def _events(query: Query, frame: Frame, table: Table) -> str:
    kinds = query.extra.get("what", "").replace(" of type ", " ").strip() or "app"
    if not query.dims:
        r = table.rows[0]
        if query.extra.get("customers_first"):
            return (f"{table.get(r, 'customers')} {query.subject} had {kinds} events"
                    f"{_period(query)} ({table.get(r, 'events')} events in all).")
        return (f"{table.get(r, 'events')} {kinds} events{_of(query.subject)}{_period(query)}, "
                f"by {table.get(r, 'customers')} customers.")
    return (f"{kinds[0].upper()}{kinds[1:]} events{_of(query.subject)}{_period(query)}, by "
            + ", ".join(d.replace("_", " ") for d in query.dims) + ": "
            + _listing(table, query.dims, lambda r: f"{table.get(r, 'events')} "
                       f"({table.get(r, 'customers')} customers)") + ".")


def _age(query: Query, frame: Frame, table: Table) -> str:
    word = {"avg_age": "Average age", "median_age": "Median age", "max_age": "Oldest age",
            "min_age": "Youngest age"}[query.value]
    if not query.dims:
        r = table.rows[0]
        return (f"{word} of {query.subject}: {table.get(r, query.value)} years "
                f"({table.get(r, 'customers')} customers with a birth date).")
    return (f"{word} of {query.subject}, by " + ", ".join(d.replace("_", " ") for d in
                                                          query.dims) + ": "
            + _listing(table, query.dims, lambda r: table.get(r, query.value)) + ".")


def _tenure(query: Query, frame: Frame, table: Table) -> str:
    word = "Median" if query.value.startswith("median") else "Average"
    if not query.dims:
        r = table.rows[0]
        return (f"{word} tenure of {query.subject}: {table.get(r, query.value)} years since "
                f"signup ({table.get(r, 'customers')} customers).")
    return (f"{word} tenure (years) of {query.subject}, by "
            + ", ".join(d.replace("_", " ") for d in query.dims) + ": "
            + _listing(table, query.dims, lambda r: table.get(r, query.value)) + ".")


def _ranking(query: Query, frame: Frame, table: Table) -> str:
    n = len(table.rows)
    rows = "; ".join(f"customer {table.get(r, 'customer_id')} ({table.get(r, 'country')}): "
                     f"{table.get(r, 'spend')}" for r in table.rows[:12])
    total = sum(float(table.get(r, "spend").replace(",", "")) for r in table.rows)
    together = f" Together they spent {total:,.2f}." if n == table.total else ""
    return (f"{'Bottom' if frame.order == 'asc' else 'Top'} {n} {query.subject} by spend"
            f"{_period(query)}: {rows}.{together}")


def tool_answer(intent: ToolIntent, summary: str) -> str:
    """The final answer after a non-SQL tool: its summary, introduced."""
    tool = registry.spec(intent.tool)
    intro = tool.heading if tool else ""
    return f"{intro}\n{summary}".strip()
