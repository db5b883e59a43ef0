"""run_sql: one guarded, read-only query; a short PII-free summary for the model, the table for you.

The query is checked by the SQL guard (tools/sql_guard.py), then run on the sandboxed warehouse
handle inside a transaction that is always rolled back, with a row cap (one extra row is fetched
to detect truncation), long values cut in the database, and one time limit that covers the
whole call: the guard, the run, the fetch and the personal-data analysis. Engine errors reach
the model, the audit log and the person without the values they may echo.
"""

from __future__ import annotations

import contextlib
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import duckdb
import pandas as pd

from tools import sql_guard
from tools.result import ChartSpec, TableResult, ToolContext, ToolResult
from warehouse import privacy
from warehouse.connection import late_message
from warehouse.errors import InvalidArgument, QueryError, SqlRefused

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
    limits = Limits.of(ctx.settings)
    deadline = time.monotonic() + limits.seconds     # covers the whole call, analysis included
    tree, catalog, out = guarded_query(ctx.wh, sql, limits, deadline, names=ctx.names)
    personal, columns_of = personal_sources(ctx.wh, tree, catalog)
    hidden, taint = privacy.hidden_columns(tree, personal, columns_of, out.columns, out.rows,
                                           names=ctx.names, deadline=deadline)
    if time.monotonic() > deadline:
        raise QueryError(late_message(limits.seconds))
    hidden_names = [out.columns[i] for i in hidden]
    df = _frame(out.columns, out.rows)
    title = title.strip() if isinstance(title, str) and title.strip() else "Query result"
    summary = summarize(out.columns, out.rows, hidden=hidden, truncated=out.truncated,
                        cap=out.cap, shown_names=_header_names(out.columns, hidden, taint, sql,
                                                               catalog, ctx.names),
                        everything=taint.everything)
    if out.cut:
        summary += (f"\nValues longer than {limits.cell_chars:,} characters were cut in "
                    f"column{'s' if len(out.cut) > 1 else ''} "
                    f"{', '.join(str(i + 1) for i in out.cut)} (the person sees them cut too).")
    return ToolResult(
        summary=summary,
        tables=[TableResult(title=title, df=df,
                            personal=[c for i, c in enumerate(df.columns) if i in hidden])],
        sql=[sql.strip()],
        chart=chart_hint(df, title),
        data={"rows": len(out.rows), "columns": out.columns, "truncated": out.truncated,
              "hidden": hidden_names},
    )


def guarded_query(wh, sql, limits: Limits, deadline: float, *, names=None):
    """(parsed query, catalog, fetched result) of one model or person query: size-checked,
    guarded, run within `deadline` with the row, cell and memory limits."""
    sql = check_size(sql, limits.sql_chars)
    catalog = sql_guard.catalog_of(wh)
    tree = sql_guard.check(sql, catalog)
    runnable = sql_guard.restricted_sql(tree, catalog) or sql
    out = _execute(wh, runnable, limits, deadline, known=_known_words(sql, catalog),
                   names=names)
    return tree, catalog, out


@dataclass(frozen=True)
class Limits:
    """The limits one query runs under (from settings; defaults for contexts without them)."""

    seconds: float = 30.0
    rows: int = 10_000
    sql_chars: int = 20_000
    cell_chars: int = 10_000
    cells: int = 500_000          # rows x columns fetched at most (a wide result gets fewer rows)

    @classmethod
    def of(cls, settings) -> Limits:
        return cls(seconds=float(getattr(settings, "query_timeout", cls.seconds)),
                   rows=int(getattr(settings, "row_cap", cls.rows)),
                   sql_chars=int(getattr(settings, "max_sql_chars", cls.sql_chars)),
                   cell_chars=int(getattr(settings, "max_cell_chars", cls.cell_chars)),
                   cells=int(getattr(settings, "max_result_cells", cls.cells)))


def check_size(sql, limit: int) -> str:
    """`sql` when it is text of at most `limit` characters; else a refusal saying so."""
    if not isinstance(sql, str):
        raise InvalidArgument(f"sql must be the text of one query, not {type(sql).__name__}")
    if len(sql) > limit:
        raise SqlRefused(f"the SQL is {len(sql):,} characters long; at most {limit:,} are "
                         "allowed (ASSISTANT_MAX_SQL_CHARS): write a shorter query")
    return sql


def personal_sources(wh, tree, catalog) -> tuple[dict, dict]:
    """({(schema, table): personal columns}, {(schema, table): all columns}) of the tables the
    query reads, keys in lower case (DuckDB matches names case-insensitively)."""
    by_lower = {(s.lower(), t.lower()): (s, t) for s, t in catalog.tables}
    personal: dict[tuple[str, str], set[str]] = {}
    columns: dict[tuple[str, str], tuple[str, ...]] = {}
    for table in tree.find_all(sql_guard.exp.Table):
        if not isinstance(table.this, sql_guard.exp.Identifier):
            continue
        key = ((table.db or "main").lower(), table.name.lower())
        real = by_lower.get(key)
        if real is None or key in columns:
            continue
        columns[key] = catalog.tables[real]
        if real[0] == "main":
            personal[key] = set(privacy.personal_columns(wh, real[1]))
    return personal, columns


def _known_words(sql: str, catalog) -> frozenset[str]:
    """Words that may appear in an error message: the query's own text and the catalog."""
    words = {w.lower() for w in re.findall(r"[\w.]+", sql)}
    for (schema, table), cols in catalog.tables.items():
        words |= {schema.lower(), table.lower(), f"{schema}.{table}".lower()}
        words |= {c.lower() for c in cols} | {f"{table}.{c}".lower() for c in cols}
    return frozenset(words)


def _header_names(columns, hidden, taint, sql: str, catalog, names) -> list[str | None]:
    """The name of each column as the model may read it (None: withheld). A hidden column keeps
    its name only when the name is the model's own (in its SQL) or the catalog's."""
    known = {c.lower() for cols in catalog.tables.values() for c in cols}
    text = sql.lower()
    shown: list[str | None] = []
    for i, name in enumerate(columns):
        safe = privacy.safe_name(str(name), names) if i in hidden else \
            privacy.safe_label(str(name), names)
        if i in hidden and (taint.names_hidden or (str(name).lower() not in known and
                                                   str(name).lower() not in text)):
            safe = None
        shown.append(safe)
    return shown


@dataclass
class _Fetched:
    columns: list[str]
    rows: list[tuple]
    truncated: bool
    cap: int
    cut: list[int]


_NESTED = re.compile(r"\[|^(STRUCT|MAP|UNION|LIST)\b")


def _body(sql: str) -> str:
    """The query without trailing semicolons and comments, ready to nest in parentheses."""
    text = sql.strip()
    while True:
        stripped = re.sub(r"(?:--[^\n]*|/\*(?:(?!\*/).)*\*/|;|\s)+\Z", "", text, flags=re.S)
        if stripped == text:
            return text
        text = stripped


def _execute(wh, sql: str, limits: Limits, deadline: float, *, known=frozenset(),
             names=None) -> _Fetched:
    """Run `sql` in a transaction that is always rolled back: first bound (names and types),
    then nested in a select that fetches at most the row cap and cuts long values in the
    database, so no huge value or result ever reaches Python."""
    cur = wh.cursor()
    cur.execute("BEGIN TRANSACTION")
    try:
        body = _body(sql)
        statements = cur.extract_statements(f"SELECT * FROM (\n{body}\n)")
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
            raise QueryError("only one SELECT query can run; this reads as several statements")
        described = wh.fetch(f"DESCRIBE SELECT * FROM (\n{body}\n)", limit=100_000,
                             timeout=deadline - time.monotonic(), time_limit=limits.seconds)[1]
        if not described:
            raise QueryError("the statement returned no result; only queries are allowed")
        columns = [r[0] for r in described]
        types = [str(r[1]) for r in described]
        cap = max(1, min(limits.rows, limits.cells // max(1, len(columns))))
        n = limits.cell_chars
        aliases = [f"c{i}" for i in range(len(columns))]
        select, flags = [], []
        for alias, dtype in zip(aliases, types, strict=True):
            flag = ""
            if dtype in ("VARCHAR", "JSON") or dtype.startswith("VARCHAR("):
                expr = f"left({alias}::VARCHAR, {n + 1})"
            elif dtype == "BLOB":
                expr = f"CASE WHEN octet_length({alias}) > {n} THEN NULL ELSE {alias} END"
                flag = f"coalesce(octet_length({alias}) > {n}, false)"
            elif _NESTED.search(dtype):
                # a list or map by its length (cheap); a struct by its text (a few fields);
                # array_length and cardinality, not len: they mean the same on Spark
                size = (f"array_length({alias})" if dtype.endswith("]") else
                        f"cardinality({alias})" if dtype.startswith("MAP") else
                        f"strlen(CAST({alias} AS VARCHAR))")
                expr = f"CASE WHEN {size} > {n} THEN NULL ELSE {alias} END"
                flag = f"coalesce({size} > {n}, false)"
            else:
                expr = alias
            select.append(f"{expr} AS {alias}")
            flags.append(flag)
        extra = [f"{f} AS f{i}" for i, f in enumerate(flags) if f]
        wrapped = (f"SELECT {', '.join(select + extra)} FROM (\n{body}\n) AS q"
                   f"({', '.join(aliases)}) LIMIT {cap + 1}")
        _, rows = wh.fetch(wrapped, limit=cap + 1, timeout=deadline - time.monotonic(),
                           time_limit=limits.seconds)
    except duckdb.Error as exc:
        raise QueryError(describe_duckdb_error(exc, known=known, names=names)) from None
    finally:
        with contextlib.suppress(duckdb.Error):
            cur.execute("ROLLBACK")
    flagged = [i for i, f in enumerate(flags) if f]
    truncated = len(rows) > cap
    rows = rows[:cap]
    cut: set[int] = set()
    width = len(columns)
    fixed = []
    for row in rows:
        values = list(row[:width])
        for k, i in enumerate(flagged):
            if row[width + k]:
                cut.add(i)
        for i, v in enumerate(values):
            if isinstance(v, str) and len(v) > n:
                values[i] = v[: n - 1] + "…"
                cut.add(i)
        fixed.append(tuple(values))
    return _Fetched(columns, fixed, truncated, cap, sorted(cut))


_LINE_RE = re.compile(r"^LINE \d+:")
_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")
# Engine errors that are about the query text (names, syntax) rather than about a value.
_ABOUT_THE_QUERY = ("Parser Error", "Binder Error", "Catalog Error", "Not implemented Error",
                    "Syntax Error", "Permission Error", "Dependency Error")
_VALUE_ERRORS = {
    "Conversion Error": "a value could not be converted{target}",
    "Invalid Input Error": "a value could not be processed by a function in the query",
    "Out of Range Error": "a value was out of range for its type (an overflow or an invalid "
                          "date)",
    "Constraint Error": "a value broke a constraint",
    "Invalid Error": "a value could not be processed",
}


def describe_duckdb_error(exc: Exception, *, known=frozenset(), names=None) -> str:
    """A short, value-free account of a DuckDB error for the model, the audit log and the person.

    Engine messages echo data ("Could not convert string 'sarah roberts' to INT32", a birth date
    in a strftime error). Errors about the query (names, syntax) keep their text, but any quoted
    fragment that is neither in the query nor a table or column name is replaced; errors about
    values keep only what kind of problem it was and the target type.
    """
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    keep = []
    for ln in lines:
        if _LINE_RE.match(ln) or set(ln) <= {"^", " "}:
            break
        keep.append(ln)
    text = " ".join(keep)[:2000] or type(exc).__name__
    m = re.match(r"^([A-Z][A-Za-z ]*? Error): ", text)
    kind = m.group(1) if m else ""
    body = text[m.end():] if m else text
    if kind == "Out of Memory Error":
        return ("the query needed more memory than the warehouse engine may use "
                "(ASSISTANT_MEMORY_LIMIT) and was stopped; aggregate, filter or select fewer "
                "columns")
    if kind not in _ABOUT_THE_QUERY:
        target = re.search(r"\bto (\w+)(?:\W|$)", body) if kind == "Conversion Error" else None
        template = _VALUE_ERRORS.get(kind, "a value in the data could not be processed")
        hint = ("; the value is not shown (it may be personal data): check the column types, "
                "use TRY_CAST, or filter out values that do not fit")
        what = template.format(target=f" to {target.group(1)}" if target else "")
        return f"the query failed: {what}{hint}"

    def keep_or_hide(match: re.Match) -> str:
        inner = match.group(0)[1:-1].replace("''", "'").replace('""', '"').lower()
        return match.group(0) if inner in known or not inner else "[value]"

    body = _QUOTED.sub(keep_or_hide, body)
    body = privacy.mask_text(body, names)
    if len(body) > 400:
        body = body[:399] + "…"
    return f"the query failed: {body}"


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


def summarize(columns: list[str], rows: list[tuple], *, hidden: Sequence = (),
              truncated: bool = False, cap: int = 0, shown_names: Sequence | None = None,
              everything: str = "") -> str:
    """Row count, columns and the first rows, numbers rounded, personal-data columns dropped.

    `hidden` are positions (or names) of the columns the model must not see; `shown_names` the
    name of each column as the model may read it (None: withheld, e.g. a PIVOT header that is a
    customer's name)."""
    n = len(rows)
    hidden_at = {i for i, c in enumerate(columns) if i in hidden or c in hidden}
    labels = list(shown_names) if shown_names is not None else list(columns)
    labels = [lab if lab is not None else f"column {i + 1}" if i not in hidden_at else None
              for i, lab in enumerate(labels)]
    shown_cols = [i for i in range(len(columns)) if i not in hidden_at]
    head = f"{n:,}{'+' if truncated else ''} row{'s' if n != 1 else ''}"
    lines = [f"{head}; columns: {', '.join(labels[i] for i in shown_cols) or '(none visible)'}"]
    if hidden_at:
        named = [labels[i] for i in sorted(hidden_at) if labels[i] is not None]
        unnamed = len(hidden_at) - len(named)
        what = f"column{'s' if len(named) > 1 else ''} {', '.join(named)}" if named else ""
        if unnamed:
            more = f"{unnamed:,} {'more ' if named else ''}column{'s' if unnamed > 1 else ''} " \
                   "(names withheld)"
            what = f"{what} and {more}" if what else more
        lines.append(f"{what} hidden from the assistant: personal data (the person sees "
                     f"{'them' if len(hidden_at) > 1 else 'it'} in the table)")
        if everything:
            lines.append(f"Every column is hidden because the query uses {everything}; select "
                         "the columns you need by name, or aggregate them.")
    if n == 0:
        lines.append("No rows matched. Check the filter values (value sets and codes are listed "
                     "by describe_warehouse, e.g. country codes like 'DE').")
        return "\n".join(lines)
    head = rows if n <= SUMMARY_ALL else rows[:SUMMARY_ROWS]
    tail = [] if n <= SUMMARY_ALL else rows[-SUMMARY_TAIL:]
    if shown_cols:
        lines.append(" | ".join(labels[i] for i in shown_cols))
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
    varying = [c for c in others if df[c].nunique(dropna=False) > 1]
    if varying:                 # a category with one value (the channel asked for) is no axis
        others = varying
    elif len(others) > 1:       # one row ('which country has the best ...'): the last grouping
        others = others[-1:]
    x = others[0]
    timeish = pd.api.types.is_datetime64_any_dtype(df[x]) or \
        bool(re.search(r"month|date|day|week|year|period", str(x), re.I))
    series = others[1] if len(others) > 1 else None
    y = numeric[:1] if series else numeric[:3]
    return ChartSpec(kind="line" if timeish else "bar", x=x, y=y, series=series, title=title)
