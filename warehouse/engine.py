"""The engine interface: what every module that reads the warehouse may ask of its handle.

Two engines implement it: DuckDB (`warehouse.connection.Warehouse`, the embedded default) and
Spark (`warehouse.spark.handle.SparkWarehouse`, when one machine is outgrown). Callers write SQL
in the canonical DuckDB dialect; the Spark engine renders it for Spark (warehouse/spark/
dialect.py) and returns results with DuckDB's column names and types, so the rest of the code does
not know which engine answered.

    wh.execute(sql, params=None, *, timeout=None)  # a result with description/fetchall/df
    wh.df(sql) / wh.rows(sql) / wh.scalar(sql)     # DataFrame / list of tuples / one value
    wh.fetch(sql, limit=, timeout=, time_limit=)    # (description, at most `limit` rows)
    wh.catalog()                                    # tables and views: columns, types, comments
    wh.has_table(name, schema) / wh.table_counts() / wh.reference_period()
    wh.register(name, frame) / wh.unregister(name)  # a pandas frame as a table for this thread
    wh.transaction()                                # all or nothing, for the assistant's tables
    wh.engine, wh.dialect                           # "duckdb" or "spark"; the sqlglot dialect

`open_warehouse(...)` chooses the engine from settings-like arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import pandas as pd

EngineName = Literal["duckdb", "spark"]


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str            # DuckDB type name (the canonical dialect's)
    comment: str = ""


@dataclass(frozen=True)
class TableInfo:
    """One readable table or view of the catalog."""

    schema: str          # "main" for the warehouse data, "assistant" for the assistant's tables
    name: str
    kind: Literal["table", "view"]
    columns: tuple[ColumnInfo, ...] = field(default_factory=tuple)
    comment: str = ""
    rows: int | None = None   # estimated row count where the engine knows it cheaply

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


class QueryMethods:
    """`df`, `rows` and `scalar` written once over an engine's `execute` (both engines')."""

    def df(self, sql: str, params: Any = None, *, timeout: float | None = None):
        return self.execute(sql, params, timeout=timeout).df()

    def rows(self, sql: str, params: Any = None) -> list[tuple]:
        return self.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Any = None) -> Any:
        # fetchall, not fetchone: a half-read result blocks the cursor's next register().
        rows = self.execute(sql, params).fetchall()
        return rows[0][0] if rows else None


class Engine(Protocol):
    """The handle every tool receives (see the module docstring)."""

    engine: EngineName
    dialect: str
    path: str
    read_only: bool

    def execute(self, sql: str, params: Any = None, *, timeout: float | None = None) -> Any: ...
    def df(self, sql: str, params: Any = None, *, timeout: float | None = None
           ) -> pd.DataFrame: ...
    def rows(self, sql: str, params: Any = None) -> list[tuple]: ...
    def scalar(self, sql: str, params: Any = None) -> Any: ...
    def fetch(self, sql: str, *, limit: int, timeout: float | None = None,
              time_limit: float | None = None) -> tuple[list[tuple], list[tuple]]: ...
    def catalog(self) -> list[TableInfo]: ...
    def has_table(self, name: str, schema: str = "main") -> bool: ...
    def table_counts(self) -> dict[str, int]: ...
    def reference_period(self) -> dict[str, Any]: ...
    def register(self, name: str, data: Any) -> None: ...
    def unregister(self, name: str) -> None: ...
    def close(self) -> None: ...


def open_warehouse(path: str | Path, *, engine: EngineName = "duckdb", read_only: bool = False,
                   must_exist: bool = True, spark_master: str = "local[2]",
                   spark_tables: str | Path | None = None, spark_state: str | Path | None = None,
                   spark_conf: dict[str, str] | None = None, spark_cache: str = "views",
                   memory_limit: str | None = None):
    """The warehouse handle for `engine`.

    DuckDB: the file at `path`. Spark: the customer data from `spark_tables` (a folder with one
    Parquet dataset per table, as `assistant export --format parquet` writes it) or, without
    it, from the Spark catalog; the assistant's own tables (runs, drafts, audit, registry) in the
    local DuckDB file `spark_state`. `memory_limit` bounds DuckDB's query memory; Spark's is
    its own (spark.driver.memory, spark.executor.memory in ASSISTANT_SPARK_CONF).
    """
    if engine == "spark":
        from warehouse.spark.handle import SparkWarehouse

        return SparkWarehouse.open(master=spark_master, tables=spark_tables,
                                   state=spark_state or "data/spark-state.duckdb",
                                   read_only=read_only, conf=spark_conf, cache=spark_cache)
    from warehouse.connection import Warehouse

    return Warehouse.open(path, read_only=read_only, must_exist=must_exist,
                          memory_limit=memory_limit)
