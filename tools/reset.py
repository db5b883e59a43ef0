"""After an import: forget what the assistant built on data that is gone, rebuild the state.

`after_import(wh)` gives the importer (warehouse.importer `after=`) one function that runs inside
the import's transaction: when the import removed demo data or replaced tables, every run on the
warehouse's customers and every row of theirs (segments, memberships, scores, lifetime values,
audiences, drafts: any assistant table with a `run_id`), every per-customer row (live scores,
segment changes, the customer state: any assistant table with a `customer_id`) and the
registry's models of the warehouse's customers are deleted, so no answer is built on rows that
were replaced; then the customer state (tools/realtime/state.py) is rebuilt from the tables as
they now are. The audit log and runs on the user's own tables are kept. An append only rebuilds
the state.
"""

from __future__ import annotations

from collections.abc import Callable

from warehouse.connection import Warehouse
from warehouse.contract import ASSISTANT_SCHEMA, TABLES

S = ASSISTANT_SCHEMA
KEEP = frozenset({"audit_log", "data_origin"})
CONTRACT = tuple(t.name for t in TABLES)


def _columns(cur) -> dict[str, set[str]]:
    tables: dict[str, set[str]] = {}
    for table, column in cur.execute(
            "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = ?",
            [S]).fetchall():
        if table not in KEEP:
            tables.setdefault(table, set()).add(column)
    return tables


def clear_derived(cur) -> dict[str, int]:
    """Delete what the assistant derived from the contract tables (see the module docstring);
    returns rows removed per assistant table."""
    tables = _columns(cur)
    removed: dict[str, int] = {}

    def delete(table: str, where: str, params: list | None = None) -> None:
        n = cur.execute(f"SELECT count(*) FROM {S}.{table} WHERE {where}",
                        params or []).fetchall()[0][0]
        if n:
            cur.execute(f"DELETE FROM {S}.{table} WHERE {where}", params or [])
            removed[table] = removed.get(table, 0) + int(n)

    contract = ", ".join(f"'{t}'" for t in CONTRACT)
    if "runs" in tables:
        runs = f"(SELECT run_id FROM {S}.runs WHERE source_table IN ({contract}))"
        for table, cols in tables.items():
            if "run_id" in cols and table != "runs":
                delete(table, f"run_id IN {runs}")
        delete("runs", f"source_table IN ({contract})")
    if "models" in tables:
        scope = "scope = 'customers' OR scope LIKE 'customers %'"
        if "model_events" in tables:
            delete("model_events", f"model_id IN (SELECT model_id FROM {S}.models WHERE {scope})")
        delete("models", scope)
    for table, cols in tables.items():
        if "customer_id" in cols:
            delete(table, "customer_id IS NOT NULL")
    return removed


def after_import(wh: Warehouse) -> Callable:
    """The importer's `after` hook: clear derived rows when old data went away, rebuild the
    customer state (in the import's transaction)."""
    from tools.realtime import state

    def run(cur, report) -> None:
        if report.removed_demo or report.replaced or report.emptied:
            report.cleared = clear_derived(cur)
        info = state.build(wh, cur)
        report.notes.append(f"customer state rebuilt for {info.customers:,} customers")

    return run
