"""query_metrics: counts, totals, averages and rates asked of the semantic model, never guessed.

The query (metrics, dimensions, filters, subgroup, period, grain, order, limit; see
warehouse/semantic/query.py) is compiled from the semantic model, so every business word means
what the model defines, and run like run_sql's queries: read-only, in a transaction that is
rolled back, with the row cap and the time limit. The summary is one header line and one JSON
object with the rows (aggregates only: the model never splits results by personal data), so a
language model and the offline planner read the same numbers.
"""

from __future__ import annotations

import json
import math
import time
from datetime import date, datetime
from decimal import Decimal

from tools.result import TableResult, ToolContext, ToolResult
from tools.sql import SUMMARY_ALL, SUMMARY_ROWS, SUMMARY_TAIL, Limits, _execute, _frame, chart_hint
from warehouse.errors import InvalidArgument
from warehouse.semantic import Compiled, Query
from warehouse.semantic.compiler import compile_query
from warehouse.semantic.models import model_for, segment_run


def compile_for(ctx_wh, query: Query, table: str = "", run_id: str | None = None) -> Compiled:
    """`query` compiled on the model of `table` (the warehouse's by default) for the engine."""
    model = model_for(ctx_wh, table or None)
    fields = [*query.dimensions, *(c.field for c in [*query.filters, *query.subgroup,
                                                      *(f for m in query.metrics
                                                        for f in m.filters)])]
    uses_segments = any(f in ("segment", "segments.segment") for f in fields)
    params = {"run_id": run_id or (segment_run(ctx_wh) if uses_segments else None)}
    return compile_query(query, model, "duckdb", params=params)


def query_metrics(ctx: ToolContext, query: dict, table: str | None = None,
                  title: str | None = None) -> ToolResult:
    """Compute counts, totals, averages, shares and rates from the semantic model.

    Prefer it to run_sql whenever the model's metrics, dimensions and filters (listed in the
    system prompt) cover the question: the business definitions are applied for you, so
    "active", "spend" or "reachable" always mean the same. The result is a small JSON table.

    Args:
        query: the structured query as an object: {"metrics": [...], "dimensions": [...],
            "filters": [{"field", "op", "values"}], "subgroup": [...], "time": {...},
            "grain": "month", "order": [{"by", "desc"}], "limit": 5}; see the system prompt.
        table: an imported table's name, to ask its own model instead of the warehouse's.
        title: a short title for the table shown to the person.
    """
    try:
        parsed = Query.model_validate(query)
    except ValueError as exc:
        raise InvalidArgument(f"the query is not valid: {_first_error(exc)}") from None
    compiled = compile_for(ctx.wh, parsed, table or "")
    limits = Limits.of(ctx.settings)
    out = _execute(ctx.wh, compiled.sql, limits, time.monotonic() + limits.seconds,
                   names=ctx.names)
    columns, rows, truncated = out.columns, out.rows, out.truncated
    df = _frame(columns, rows)
    title = (title or "").strip() or _title(compiled)
    return ToolResult(summary=summarize(columns, rows, truncated=truncated),
                      tables=[TableResult(title=title, df=df)], sql=[compiled.sql],
                      chart=chart_hint(df, title),
                      data={"rows": len(rows), "columns": columns, "truncated": truncated})


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors) and errors():
        err = errors()[0]
        where = ".".join(str(x) for x in err.get("loc", ()))
        return f"{where}: {err.get('msg', '')}" if where else err.get("msg", "")
    return str(exc).splitlines()[0]


def _title(compiled: Compiled) -> str:
    metrics = [c.label for c in compiled.columns if c.role == "metric"]
    dims = [c.label for c in compiled.columns if c.role == "dimension"]
    text = ", ".join(dict.fromkeys(metrics)) or "Result"
    return (text[:1].upper() + text[1:]) + (f" by {', '.join(dims)}" if dims else "")


def _plain(value):
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def summarize(columns: list[str], rows: list[tuple], *, truncated: bool = False) -> str:
    """'N rows; columns: ...' and a JSON object: {"columns", "rows", and for long results
    "omitted" (rows left out in the middle) and "last_rows"}."""
    n = len(rows)
    head = f"{n:,}{'+' if truncated else ''} row{'s' if n != 1 else ''}; columns: " + \
        ", ".join(columns)
    shown = rows if n <= SUMMARY_ALL else rows[:SUMMARY_ROWS]
    body: dict = {"columns": columns, "rows": [[_plain(v) for v in r] for r in shown]}
    if n > SUMMARY_ALL:
        body["omitted"] = n - SUMMARY_ROWS - SUMMARY_TAIL
        body["last_rows"] = [[_plain(v) for v in r] for r in rows[-SUMMARY_TAIL:]]
    if truncated:
        body["truncated"] = True
    return head + "\n" + json.dumps(body, ensure_ascii=False, default=str)


def read_summary(summary: str) -> dict | None:
    """The JSON object of a query_metrics summary (None when it is not one)."""
    _, _, rest = summary.partition("\n")
    try:
        body = json.loads(rest)
    except ValueError:
        return None
    return body if isinstance(body, dict) and "rows" in body else None
