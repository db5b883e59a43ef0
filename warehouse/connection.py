"""The DuckDB engine: the embedded default implementation of the engine interface.

Everything DuckDB-specific (connection options, cursors per thread, interrupts, error types) stays
behind `Warehouse`; the interface it shares with the Spark engine is in warehouse/engine.py.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import duckdb

from warehouse.contract import ASSISTANT_SCHEMA, TABLES
from warehouse.engine import ColumnInfo, QueryMethods, TableInfo
from warehouse.errors import QueryError, WarehouseBusy, WarehouseNotFound

# DuckDB checkpoints at a commit whose estimated write-ahead log passes checkpoint_threshold
# (16 MiB by default). An update to a large table is estimated large: at the default, every event
# micro-batch (tools/realtime) checkpointed at its commit, 0.3 s at 100k customers and 1-2 s at
# 1M. The event writer checkpoints when it is idle instead (tools/realtime/writer.py).
CHECKPOINT_THRESHOLD = "1GB"
_LOCK_RE = re.compile(r"Conflicting lock is held in (?P<prog>\S+) \(PID (?P<pid>\d+)\)")


def _translate(exc: duckdb.Error, path: str) -> Exception:
    text = str(exc)
    if "Could not set lock" in text or "Conflicting lock" in text:
        m = _LOCK_RE.search(text)
        holder = f" (process {m['pid']})" if m else ""
        return WarehouseBusy(
            f"the warehouse {path} is open in another program{holder}, probably the chat app "
            "or another `assistant` command; stop it or wait for it to finish, then try again"
        )
    if "different configuration than existing connections" in text:
        return WarehouseBusy(
            f"the warehouse {path} is already open in this program with other settings (read-only "
            "or sandboxed); close that handle first, or use it"
        )
    return exc


def late_message(seconds: float | None) -> str:
    return (f"the query took longer than {seconds or 0:g} s and was stopped; narrow it down "
            "(filter a period, aggregate before joining) or raise the time limit "
            "(ASSISTANT_QUERY_TIMEOUT)")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Warehouse(QueryMethods):
    """A DuckDB warehouse file (or in-memory database) with one cursor per thread.

    `sandboxed=True` (the default) disables file and network access and locks the configuration:
    no query run through this handle can read, write or fetch anything outside the database.
    Only the generator and the importer open an unsandboxed handle, for their own use.
    """

    engine = "duckdb"
    dialect = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection, path: str, read_only: bool) -> None:
        self._con = con
        self.path = path
        self.read_only = read_only
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._lock = threading.Lock()

    # -- opening -----------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False, sandboxed: bool = True,
             must_exist: bool = True, threads: int | None = None,
             memory_limit: str | None = None) -> Warehouse:
        """Open the warehouse at `path`; raise WarehouseNotFound or WarehouseBusy for people."""
        path = str(path)
        if path != ":memory:" and must_exist and not Path(path).exists():
            raise WarehouseNotFound(
                f"no warehouse at {path}; create one with `assistant init` (or set "
                "ASSISTANT_WAREHOUSE to the path of an existing DuckDB file)"
            )
        config: dict[str, Any] = {}
        if sandboxed:
            config["enable_external_access"] = False
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = memory_limit
        if not read_only:
            config["checkpoint_threshold"] = CHECKPOINT_THRESHOLD
        if sandboxed:
            config["lock_configuration"] = True
        try:
            con = duckdb.connect(path, read_only=read_only, config=config)
        except duckdb.Error as exc:
            raise _translate(exc, path) from exc
        return cls(con, path, read_only)

    @classmethod
    def memory(cls, *, sandboxed: bool = False) -> Warehouse:
        """An empty in-memory warehouse (tests, scratch work)."""
        return cls.open(":memory:", sandboxed=sandboxed, must_exist=False)

    # -- cursors -----------------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor: DuckDB connections must not be shared across threads."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._con.cursor()
            self._local.cursor = cur
            with self._lock:
                self._cursors.append(cur)
        return cur

    def execute(self, sql: str, params: Any = None, *,
                timeout: float | None = None) -> duckdb.DuckDBPyConnection:
        """Run `sql` on this thread's cursor; stop it after `timeout` seconds if given."""
        cur = self.cursor()
        timer = None
        if timeout:
            timer = threading.Timer(timeout, cur.interrupt)
            timer.daemon = True
            timer.start()
        try:
            return cur.execute(sql, params) if params is not None else cur.execute(sql)
        except duckdb.InterruptException as exc:
            raise QueryError(late_message(timeout)) from exc
        finally:
            if timer is not None:
                timer.cancel()

    def fetch(self, sql: str, *, limit: int, timeout: float | None = None,
              time_limit: float | None = None) -> tuple[list[tuple], list[tuple]]:
        """(description, up to `limit` rows) of `sql`; `timeout` (the seconds left of the
        caller's `time_limit`) covers running the query and fetching its rows."""
        cur = self.cursor()
        timer = None
        if timeout is not None:
            if timeout <= 0:
                raise QueryError(late_message(time_limit or timeout))
            timer = threading.Timer(timeout, cur.interrupt)
            timer.daemon = True
            timer.start()
        try:
            result = cur.execute(sql)
            description = list(result.description or [])
            return description, (result.fetchmany(limit) if description else [])
        except duckdb.InterruptException as exc:
            raise QueryError(late_message(time_limit or timeout)) from exc
        finally:
            if timer is not None:
                timer.cancel()

    def register(self, name: str, data: Any) -> None:
        """Expose a DataFrame or Arrow table as a view on this thread's cursor."""
        self.cursor().register(name, data)

    def unregister(self, name: str) -> None:
        self.cursor().unregister(name)

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: commit when the block ends, roll back if it raises."""
        cur = self.cursor()
        cur.execute("BEGIN TRANSACTION")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        else:
            cur.execute("COMMIT")

    # -- what is in it -----------------------------------------------------------------------
    def has_table(self, name: str, schema: str = "main") -> bool:
        return bool(self.scalar(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
            [schema, name],
        ))

    def catalog(self) -> list[TableInfo]:
        """Every table and view of `main` and of the assistant schema, with comments."""
        rows = self.rows(
            """
            SELECT c.schema_name, c.table_name,
                   CASE WHEN v.view_name IS NULL THEN 'table' ELSE 'view' END,
                   list(struct_pack(n := c.column_name, t := c.data_type,
                                    m := coalesce(c.comment, '')) ORDER BY c.column_index),
                   coalesce(any_value(t.comment), any_value(v.comment), ''),
                   any_value(t.estimated_size)
            FROM duckdb_columns() c
            LEFT JOIN duckdb_tables() t ON t.schema_name = c.schema_name
                 AND t.table_name = c.table_name AND t.database_name = c.database_name
            LEFT JOIN duckdb_views() v ON v.schema_name = c.schema_name
                 AND v.view_name = c.table_name AND v.database_name = c.database_name
            WHERE c.database_name = current_database() AND c.schema_name IN ('main', ?)
              AND NOT c.internal
            GROUP BY ALL ORDER BY c.schema_name DESC, c.table_name
            """, [ASSISTANT_SCHEMA])
        return [TableInfo(schema, name, kind,
                          tuple(ColumnInfo(c["n"], c["t"], c["m"]) for c in columns),
                          comment, None if size is None else int(size))
                for schema, name, kind, columns, comment, size in rows]

    def table_counts(self) -> dict[str, int]:
        """Row counts of the contract tables that exist here."""
        counts = {}
        for t in TABLES:
            if self.has_table(t.name):
                counts[t.name] = int(self.scalar(f"SELECT count(*) FROM {t.name}"))
        return counts

    def reference_period(self) -> dict[str, Any]:
        """The reference date (latest transaction; without transactions, the latest dated event
        of another table, named in `reference_source`) and where the data starts, or Nones."""
        keys = ("reference_ts", "reference_date", "active_window_start", "data_start",
                "reference_source")
        try:
            rows = self.rows(f"SELECT {', '.join(keys)} FROM reference_period")
        except duckdb.BinderException:   # a warehouse made before reference_source existed
            rows = [(*self.rows(f"SELECT {', '.join(keys[:4])} FROM reference_period")[0],
                     "transactions")]
        row = rows[0] if rows else None
        out = dict(zip(keys, row or (None,) * 5, strict=True))
        if out["reference_ts"] is None:
            out["reference_source"] = None
        return out

    def close(self) -> None:
        with self._lock:
            for cur in self._cursors:
                with suppress(duckdb.Error):
                    cur.close()
            self._cursors.clear()
        self._con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def describe_error(exc: Exception) -> str:
    """A one-line, person-readable account of a DuckDB error."""
    return _first_line(exc)

