"""run_sql: one guarded, read-only query; a short PII-free summary for the model, the table for you.

The query is checked by the SQL guard (tools/sql_guard.py), then run on the sandboxed warehouse
handle inside a transaction that is always rolled back, with a row cap (one extra row is fetched
to detect truncation) and a time limit.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

import duckdb
import pandas as pd

from tools import sql_guard
from tools.result import ChartSpec, TableResult, ToolContext, ToolResult
from warehouse import privacy
from warehouse.errors import QueryError

SUMMARY_ROWS = 10        # rows shown to the model when the result is longer than SUMMARY_ALL
SUMMARY_ALL = 15         # results up to this many rows are shown in full
SUMMARY_TAIL = 3         # ... longer ones also show their last rows (ends of a trend)
CELL_CHARS = 60


def run_sql(ctx: ToolContext, sql: str, title: str = "") -> ToolResult:
    """Run one read-only DuckDB SELECT query on the warehouse and return its result.

    Use it for every count, sum, average, rate, top list or trend. Write one query (WITH, JOINs,
    GROUP BY, window functions are fine) over the warehouse tables and views; no DDL, DML, PRAGMA,
    files or several statements. Prefer the views customer_status and reference_period for the
    business definitions (active, churned, spend_90d, age, reference date). You see the row
    count, columns and first rows, numbers rounded; personal-data columns are hidden from you
    while the person sees the full table. Aggregate in SQL rather than listing customers.

    Args:
        sql: the query, DuckDB dialect, e.g. "SELECT country, count(*) AS customers FROM
            customers GROUP BY country ORDER BY customers DESC".
        title: a short title for the result table shown to the person, e.g. "Customers by
            country".
    """
    settings = ctx.settings
    catalog = sql_guard.catalog_of(ctx.wh)
    tree = sql_guard.check(sql, catalog)
    runnable = sql_guard.restricted_sql(tree, catalog) or sql
    columns, rows = _execute(ctx.wh, runnable, cap=settings.row_cap,
                             timeout=settings.query_timeout)
    truncated = len(rows) > settings.row_cap
    rows = rows[: settings.row_cap]
    reads_pii = any(privacy.is_pii_column(c)
                    for t in tree.find_all(sql_guard.exp.Table)
                    for c in catalog.tables.get((t.db or "main", t.name), ()))
    hidden = privacy.hidden_columns(tree, catalog.schema_for_sqlglot(), columns, rows, reads_pii)
    df = _frame(columns, rows)
    title = title.strip() or "Query result"
    return ToolResult(
        summary=summarize(columns, rows, hidden=hidden, truncated=truncated,
                          cap=settings.row_cap),
        tables=[TableResult(title=title, df=df)],
        sql=[sql.strip()],
        chart=chart_hint(df, title),
        data={"rows": len(rows), "columns": columns, "truncated": truncated, "hidden": hidden},
    )


def _execute(wh, sql: str, *, cap: int, timeout: float) -> tuple[list[str], list[tuple]]:
    """Run `sql` in a transaction that is always rolled back; return columns and rows."""
    cur = wh.cursor()
    cur.execute("BEGIN TRANSACTION")
    try:
        result = wh.execute(sql, timeout=timeout)
        if result.description is None:
            raise QueryError("the statement returned no result; only queries are allowed")
        columns = [d[0] for d in result.description]
        rows = result.fetchmany(cap + 1)
    except duckdb.Error as exc:
        raise QueryError(describe_duckdb_error(exc)) from None
    finally:
        with contextlib.suppress(duckdb.Error):
            cur.execute("ROLLBACK")
    return columns, rows


_LINE_RE = re.compile(r"^LINE \d+:")


def describe_duckdb_error(exc: Exception) -> str:
    """The useful lines of a DuckDB error (message and candidate names), without the caret art."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    keep = []
    for ln in lines:
        if _LINE_RE.match(ln) or set(ln) <= {"^", " "}:
            break
        keep.append(ln)
    text = " ".join(keep) or type(exc).__name__
    text = re.sub(r"^(\w+ Error): ", "", text)
    return f"the query failed: {text}"


def _frame(columns: list[str], rows: list[tuple]) -> pd.DataFrame:
    df = pd.DataFrame.from_records(rows, columns=_unique(columns)) if rows else \
        pd.DataFrame(columns=_unique(columns))
    for col in df.columns:
        if df[col].dtype == object and len(df) and any(isinstance(v, Decimal) for v in df[col]):
            df[col] = pd.to_numeric(df[col].map(lambda v: float(v) if isinstance(v, Decimal)
                                                 else v), errors="coerce")
    return df


def _unique(columns: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for c in columns:
        n = seen.get(c, 0)
        out.append(c if n == 0 else f"{c}_{n + 1}")
        seen[c] = n + 1
    return out


def fmt(value, column: str = "") -> str:
    """A value as the model sees it: rounded numbers, ISO dates, short text."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if column.endswith("id") or "year" in column else f"{value:,}"
    if isinstance(value, float | Decimal):
        v = float(value)
        if math.isnan(v):
            return "NULL"
        if abs(v) >= 1 or v == 0:
            return f"{v:,.2f}".rstrip("0").rstrip(".")
        return f"{v:.3g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour or value.minute) else \
            value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(fmt(v, column) for v in value) + "]"
    text = str(value).replace("|", "/").replace("\n", " ")
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"


def summarize(columns: list[str], rows: list[tuple], *, hidden: Sequence[str] = (),
              truncated: bool = False, cap: int = 0) -> str:
    """Row count, columns and the first rows, numbers rounded, personal-data columns dropped."""
    n = len(rows)
    shown_cols = [i for i, c in enumerate(columns) if c not in hidden]
    head = f"{n:,}{'+' if truncated else ''} row{'s' if n != 1 else ''}"
    lines = [f"{head}; columns: {', '.join(columns[i] for i in shown_cols) or '(none visible)'}"]
    if hidden:
        lines.append(f"column{'s' if len(hidden) > 1 else ''} {', '.join(hidden)} hidden from "
                     "the assistant: personal data (the person sees them in the table)")
    if n == 0:
        lines.append("No rows matched. Check the filter values (value sets and codes are listed "
                     "by describe_warehouse, e.g. country codes like 'DE').")
        return "\n".join(lines)
    head = rows if n <= SUMMARY_ALL else rows[:SUMMARY_ROWS]
    tail = [] if n <= SUMMARY_ALL else rows[-SUMMARY_TAIL:]
    if shown_cols:
        lines.append(" | ".join(columns[i] for i in shown_cols))
        lines.extend(" | ".join(fmt(r[i], columns[i]) for i in shown_cols) for r in head)
    if tail:
        lines.append(f"… {n - len(head) - len(tail):,} more rows in the table shown to the "
                     f"person; the last {len(tail)}:")
        if shown_cols:
            lines.extend(" | ".join(fmt(r[i], columns[i]) for i in shown_cols)
                         for r in tail)
    if truncated:
        lines.append(f"The result was cut at the row cap of {cap:,} rows; aggregate or filter "
                     "to see everything.")
    return "\n".join(lines)


def chart_hint(df: pd.DataFrame, title: str) -> ChartSpec | None:
    """A line chart for a time column with numbers, a bar chart for a category with numbers."""
    if df.empty or len(df.columns) < 2 or len(df) > 500:
        return None
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])
               and not pd.api.types.is_bool_dtype(df[c])]
    others = [c for c in df.columns if c not in numeric]
    if not numeric or not others:
        return None
    x = others[0]
    timeish = pd.api.types.is_datetime64_any_dtype(df[x]) or \
        bool(re.search(r"month|date|day|week|year|period", str(x), re.I))
    series = others[1] if len(others) > 1 else None
    y = numeric[:1] if series else numeric[:3]
    return ChartSpec(kind="line" if timeish else "bar", x=x, y=y, series=series, title=title)
