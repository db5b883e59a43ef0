"""describe_warehouse: a compact map of the warehouse with the business definitions.

The overview (one line per table) is also put into the system prompt, so it is kept short: the
first model request stays small even when users import many tables. Column meanings come from the
COMMENTs in the warehouse, one table at a time, on request.
"""

from __future__ import annotations

import pandas as pd

from tools.result import TableResult, ToolContext, ToolResult
from warehouse.contract import ASSISTANT_SCHEMA, COUNTRIES, TABLES_BY_NAME
from warehouse.errors import InvalidArgument
from warehouse.schema import VIEW_NAMES
from warehouse.semantic import bank_model

MANY_TABLES = 40   # beyond this, the overview lists table names only


def describe_warehouse(ctx: ToolContext, table: str | None = None) -> ToolResult:
    """Describe the warehouse: tables, columns, allowed values and the business definitions.

    Call it without arguments for the overview, or with a table name for the meaning of each of
    its columns (from the warehouse comments). Columns marked * hold personal data: never select
    them, you would not see them anyway.

    Args:
        table: a table or view name such as "transactions" or "customer_status"; omit it for the
            overview of all tables.
    """
    if table:
        return _describe_table(ctx.wh, table.strip())
    text = overview(ctx.wh)
    return ToolResult(summary=text, data={"overview": text})


def _catalog(wh) -> list[tuple[str, str, str, list[str], str]]:
    """(schema, name, kind, columns, comment) of every readable table and view."""
    return [tuple(r) for r in wh.rows(
        """
        SELECT c.schema_name, c.table_name,
               CASE WHEN v.view_name IS NULL THEN 'table' ELSE 'view' END,
               list(c.column_name ORDER BY c.column_index),
               coalesce(any_value(t.comment), any_value(v.comment), '')
        FROM duckdb_columns() c
        LEFT JOIN duckdb_tables() t ON t.schema_name = c.schema_name
             AND t.table_name = c.table_name AND t.database_name = c.database_name
        LEFT JOIN duckdb_views() v ON v.schema_name = c.schema_name
             AND v.view_name = c.table_name AND v.database_name = c.database_name
        WHERE c.database_name = current_database() AND c.schema_name IN ('main', ?)
          AND NOT c.internal
        GROUP BY ALL ORDER BY c.schema_name DESC, c.table_name
        """,
        [ASSISTANT_SCHEMA],
    )]


def _rows(wh) -> dict[tuple[str, str], int]:
    return {(s, t): int(n or 0) for s, t, n in wh.rows(
        "SELECT schema_name, table_name, estimated_size FROM duckdb_tables() "
        "WHERE database_name = current_database()")}


def _column_label(table: str, column: str) -> str:
    spec = TABLES_BY_NAME.get(table)
    if spec is None or column not in spec.column_names:
        return column
    col = spec.column(column)
    mark = "*" if col.pii else ("†" if col.protected else "")
    if col.values:
        return f"{column}{mark} [{' '.join(col.values)}]"
    if column == "country" and table == "customers":
        return f"{column} [ISO-2: {' '.join(COUNTRIES)}]"
    return column + mark


def overview(wh, own_tables: bool = True) -> str:
    """The compact overview: reference date, definitions, one line per table. Without
    `own_tables`, the assistant's own tables (schema assistant) are named in one line only
    (the system prompt adds them when a question needs them: `own_tables_overview`)."""
    period = wh.reference_period() if wh.has_table("transactions") else {}
    lines = []
    if period.get("reference_date"):
        lines.append(
            f"Reference date {period['reference_date']:%Y-%m-%d} (data from "
            f"{period['data_start']:%Y-%m-%d}); 'last month', 'last 90 days', ages count back "
            "from it, never from today."
        )
    lines.append("Definitions: " + "; ".join(
        v for k, v in bank_model().definitions().items() if k != "reference date") + ".")
    catalog = _catalog(wh)
    lines.append("Tables (rows): columns. * personal data (hidden from you), † protected "
                 "attribute (not for targeting).")
    shown = catalog if own_tables else [t for t in catalog if t[0] != ASSISTANT_SCHEMA]
    lines += _table_lines(wh, shown, many=len(catalog) > MANY_TABLES)
    if not own_tables:
        lines.append(f"Schema {ASSISTANT_SCHEMA}: what the assistant saves (segment runs and "
                     "members, scores, audiences, drafts, audit log).")
    views = [v for v in VIEW_NAMES if any(n == v for _, n, *_ in catalog)]
    if views:
        lines.append(f"Views {' and '.join(views)} apply the definitions; join customer_status "
                     "on customer_id instead of re-deriving active/churned/spend_90d/age.")
    lines.append("describe_warehouse(table=...) gives each column's meaning.")
    return "\n".join(lines)


def own_tables_overview(wh) -> str:
    """One line per table of the assistant's own schema (empty when there are none)."""
    catalog = _catalog(wh)
    own = [t for t in catalog if t[0] == ASSISTANT_SCHEMA]
    return "\n".join(_table_lines(wh, own, many=len(catalog) > MANY_TABLES))


def _table_lines(wh, tables, many: bool) -> list[str]:
    counts = _rows(wh) if tables else {}
    lines = []
    first: dict[tuple[str, str], str] = {}   # (column, value list) -> table that showed it
    for schema, name, kind, columns, _ in tables:
        full = name if schema == "main" else f"{schema}.{name}"
        if many:
            lines.append(f"{full} ({len(columns)} columns)")
            continue
        size = "view" if kind == "view" else f"{counts.get((schema, name), 0):,}"
        labels = []
        for column in columns:
            label = _column_label(name, column)
            values = label[len(column):]
            if values.endswith("]") and (column, values) in first:
                label = f"{column} [as {first[column, values]}]"   # the same values again
            elif values.endswith("]"):
                first[column, values] = name
            labels.append(label)
        lines.append(f"{full} ({size}): {', '.join(labels)}")
    return lines


def _describe_table(wh, name: str) -> ToolResult:
    schema, _, table = name.rpartition(".")
    schema = schema or "main"
    rows = wh.rows(
        "SELECT column_name, data_type, coalesce(comment, '') FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = ? AND table_name = ? "
        "ORDER BY column_index", [schema, table])
    if not rows:
        known = [n if s == "main" else f"{s}.{n}" for s, n, *_ in _catalog(wh)]
        raise InvalidArgument(f"unknown table {name!r}; the tables are {', '.join(known)}")
    comment = next((c for s, n, _, _, c in _catalog(wh) if s == schema and n == table), "")
    lines = [f"{name}: {comment}".rstrip(": ")]
    for column, dtype, text in rows:
        lines.append(f"- {_column_label(table, column)} {dtype}: {text}".rstrip(": "))
    df = pd.DataFrame(rows, columns=["column", "type", "meaning"])
    return ToolResult(summary="\n".join(lines), tables=[TableResult(f"Columns of {name}", df)])
