"""DuckDB's names and types for results computed by Spark.

The shadow is an in-memory DuckDB database holding the catalog's tables and views, all empty.
Before a query goes to Spark, DuckDB's binder describes it there: the result's column names
(`count_star()`, `sum(amount)`, the aliases as written) and types (avg is DOUBLE, median of a
DECIMAL is a DECIMAL, date_trunc gives a TIMESTAMP). Spark's Arrow result is then read back
through the shadow, cast column by column to those types, so every caller gets what DuckDB would
have returned: the same names, types, Decimal and datetime objects, and DataFrame dtypes. The
binder also checks the query first and explains an unknown column in DuckDB's words.

The shadow has no file or network access and holds no data.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from warehouse.engine import TableInfo

_COUNTER = itertools.count()


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Shadow:
    """An empty DuckDB copy of the catalog, one cursor per thread."""

    def __init__(self) -> None:
        self._con = duckdb.connect(":memory:", config={"enable_external_access": False})
        self._local = threading.local()
        self._lock = threading.Lock()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            with self._lock:
                cur = self._con.cursor()
            self._local.cursor = cur
        return cur

    def define(self, tables: Iterable[TableInfo], views: Iterable[tuple[str, str]] = ()) -> None:
        """Create the tables (empty) and then the views (DuckDB SQL over them)."""
        with self._lock:
            con = self._con
            for t in tables:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(t.schema)}")
                cols = ", ".join(f"{_ident(c.name)} {c.type}" for c in t.columns)
                con.execute(f"CREATE OR REPLACE TABLE {_ident(t.schema)}.{_ident(t.name)} "
                            f"({cols})")
            for name, body in views:
                con.execute(f"CREATE OR REPLACE VIEW {_ident(name)} AS {body}")

    def table_types(self, schema: str, name: str) -> list[tuple[str, str]]:
        return self.cursor().execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? AND "
            "table_name = ? ORDER BY column_index", [schema, name]).fetchall()

    def describe(self, sql: str) -> list[tuple[str, str]]:
        """(name, DuckDB type) of every column `sql` returns; duckdb.Error when it does not
        bind (unknown column, wrong types), with DuckDB's message."""
        return [(r[0], r[1]) for r in self.cursor().execute(f"DESCRIBE {sql}").fetchall()]

    def register(self, name: str, data) -> None:
        self.cursor().register(name, data)

    def unregister(self, name: str) -> None:
        self.cursor().unregister(name)

    def result(self, table: pa.Table, columns: list[tuple[str, str]]
               ) -> duckdb.DuckDBPyConnection:
        """A DuckDB cursor over Spark's result, with DuckDB's names and types."""
        table = _plain(table)
        name = f"__spark_result_{next(_COUNTER) % 4}"
        positional = table.rename_columns([f"c{i}" for i in range(table.num_columns)])
        cur = self.cursor()
        cur.register(name, positional)
        select = ", ".join(
            f"CAST(c{i} AS {ctype}) AS {_ident(cname)}" if ctype else
            f"c{i} AS {_ident(cname)}" for i, (cname, ctype) in enumerate(columns))
        try:
            return cur.execute(f"SELECT {select} FROM {name}")
        except duckdb.Error:
            # a type DuckDB cannot cast to from Spark's Arrow type: keep Spark's value there
            return cur.execute("SELECT " + ", ".join(
                f"c{i} AS {_ident(cname)}" for i, (cname, _) in enumerate(columns))
                + f" FROM {name}")


def _plain(table: pa.Table) -> pa.Table:
    """Zone-aware timestamps (Spark's TIMESTAMP, always UTC here) as DuckDB's plain TIMESTAMP."""
    columns = []
    changed = False
    for col in table.columns:
        if pa.types.is_timestamp(col.type) and col.type.tz is not None:
            col = pc.cast(col, pa.timestamp(col.type.unit))
            changed = True
        columns.append(col)
    return pa.table(columns, names=table.column_names) if changed else table
