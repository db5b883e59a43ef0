"""The Spark engine: customer data in Spark, the assistant's own tables in a local DuckDB file.

`SparkWarehouse` implements the engine interface (warehouse/engine.py) over a SparkSession:

- every statement arrives in the canonical DuckDB dialect. A query that reads a warehouse table
  or view (schema `main`) runs on Spark: DuckDB's binder names and types its columns on an empty
  copy of the catalog (warehouse/spark/shadow.py), the tree is rendered for Spark with DuckDB's
  meaning (warehouse/spark/dialect.py), Spark computes it, and the Arrow result is read back
  through DuckDB with those names and types. Callers get a DuckDB cursor either way;
- everything else (writes, and queries over the assistant's tables only: runs, drafts, audit,
  triggers, model registry) runs on the DuckDB state file (ASSISTANT_SPARK_STATE);
- a Spark query that joins an assistant table (segment memberships, scores) reads a Parquet copy
  of it that is refreshed when the table has changed (beside the state file, in
  `<state>.tables/`); a pandas frame registered with `register()` is handed to Spark the same
  way, under a name private to the thread;
- timeouts and cancellation use Spark job groups: the thread's jobs are cancelled when the time
  limit passes, and again every half second until the query has stopped (a job submitted after
  the first cancel, e.g. the main job after its broadcasts, would otherwise run unbounded).
  Cancelling interrupts the tasks' threads, but Spark's generated code only looks at that
  between input batches, and a join's loop over its matches never does: a many-to-many join
  kept a killed task computing for many minutes, holding its core. So every query that joins
  is run with an interrupt check on its joined rows (`_interruptible`): one row in 4,096 asks
  whether the task's thread was interrupted and fails the task if so (measured: the cores free
  within a second of the cancel, and no measurable cost). On a cluster, Spark's task reaper
  (warehouse/spark/session.py) is the backstop: an executor whose killed task still runs is
  replaced. Read-only: the SQL guard's Spark layer refuses anything that is not a query and
  Spark's own escape hatches (warehouse/spark/guard.py), file paths in SQL are switched off in
  the session, and the tables are temporary views over files nobody writes through Spark.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp

from warehouse.connection import Warehouse, late_message
from warehouse.contract import ASSISTANT_SCHEMA, TABLES
from warehouse.engine import ColumnInfo, QueryMethods, TableInfo
from warehouse.errors import ConfigError, QueryError, SqlRefused
from warehouse.spark import dialect, guard
from warehouse.spark.session import get_session
from warehouse.spark.shadow import Shadow
from warehouse.spark.tables import register_catalog, register_folder

log = logging.getLogger(__name__)
_GROUPS = itertools.count()
_SPARK_ERROR = re.compile(r"^\[(?P<cls>[A-Z_.]+)\]\s*")
RECANCEL_EVERY = 0.5          # seconds between cancels of a query past its time limit
INTERRUPT_CHECK_EVERY = 4096  # joined rows per look at the task thread's interrupt flag
_INTERRUPT_CHECK = (
    f"(monotonically_increasing_id() % {INTERRUPT_CHECK_EVERY} <> 0 "
    "OR reflect('java.lang.Thread', 'interrupted') = 'false' "
    "OR raise_error('the query was cancelled'))")
# where a SELECT may take the check: reached from the top through FROM, JOIN, WITH and set
# operations only (Spark refuses non-deterministic filters in correlated subqueries)
_CHECKABLE_PARENTS = (exp.Subquery, exp.From, exp.Join, exp.CTE, exp.With, exp.SetOperation,
                      exp.Select)


@lru_cache(maxsize=1024)
def _parse(sql: str) -> exp.Expression | None:
    try:
        statements = sqlglot.parse(sql, read="duckdb")
    except sqlglot.errors.SqlglotError:
        return None
    return statements[0] if len(statements) == 1 and statements[0] is not None else None


def _literal(value: Any) -> exp.Expression:
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, int | float | Decimal):
        return exp.Literal.number(value)
    if isinstance(value, datetime | pd.Timestamp):
        return exp.cast(exp.Literal.string(pd.Timestamp(value).isoformat(sep=" ")), "TIMESTAMP")
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, list | tuple):
        return exp.Array(expressions=[_literal(v) for v in value])
    return exp.Literal.string(str(value))


def _checkable(select: exp.Select) -> bool:
    node = select
    while node.parent is not None:
        parent = node.parent
        if not isinstance(parent, _CHECKABLE_PARENTS):
            return False
        if isinstance(parent, exp.Select) and node.arg_key not in ("from_", "joins", "with_"):
            return False
        node = parent
    return True


def _interruptible(tree: exp.Expression) -> exp.Expression:
    """`tree` (Spark's) with the interrupt check (see the module docstring) added to the WHERE
    of every SELECT that joins, after its own conditions (so they are still pushed down);
    `tree` itself when nothing joins."""
    if not any(s.args.get("joins") for s in tree.find_all(exp.Select)):
        return tree
    tree = tree.copy()
    for select in list(tree.find_all(exp.Select)):
        if select.args.get("joins") and _checkable(select):
            select.where(sqlglot.parse_one(_INTERRUPT_CHECK, read="spark"), append=True,
                         copy=False)
    return tree


def bind(tree: exp.Expression, params: Any) -> exp.Expression:
    """`tree` with its `?` placeholders replaced by literals of `params`, in order."""
    if params is None:
        return tree
    values = list(params)
    holders = [p for p in tree.find_all(exp.Placeholder) if not p.this]
    if len(holders) != len(values):
        raise QueryError(f"the query has {len(holders)} parameters but {len(values)} were given")
    tree = tree.copy()
    for holder, value in zip([p for p in tree.find_all(exp.Placeholder) if not p.this], values,
                             strict=True):
        holder.replace(_literal(value))
    return tree


def _cte_names(tree: exp.Expression) -> set[str]:
    return {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}


def _tables(tree: exp.Expression) -> list[exp.Table]:
    ctes = _cte_names(tree)
    return [t for t in tree.find_all(exp.Table) if isinstance(t.this, exp.Identifier)
            and not (not t.db and t.name.lower() in ctes)]


# Spark error classes about the query's text (names, syntax, types), whose message keeps its
# identifiers; every other error is about a value and is told without it.
_ABOUT_THE_QUERY = ("UNRESOLVED_", "TABLE_OR_VIEW_NOT_FOUND", "PARSE_", "DATATYPE_MISMATCH",
                    "AMBIGUOUS_", "MISSING_", "WRONG_NUM_ARGS", "UNSUPPORTED_", "INVALID_SQL",
                    "GROUP_BY_", "MISSING_AGGREGATION", "NOT_SUPPORTED")
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'")


def _java_exception(exc: BaseException):
    """The JVM exception behind a Python one (py4j's, or pyspark's captured), or None."""
    return getattr(exc, "java_exception", None) or getattr(exc, "_origin", None)


def jvm_causes(exc: BaseException) -> list[tuple[str, str]]:
    """(class, first line of message) of the JVM exception behind `exc` and of each cause, the
    outermost first; [] when `exc` did not come from the JVM (or the JVM is gone)."""
    java, chain = _java_exception(exc), []
    try:
        while java is not None and len(chain) < 12:
            message = str(java.getMessage() or "").strip().splitlines()
            chain.append((str(java.getClass().getName()), message[0] if message else ""))
            java = java.getCause()
    except Exception:    # the gateway may be down: say what was read
        pass
    return chain


def jvm_trace(exc: BaseException) -> str:
    """The JVM stack trace behind `exc` (for the log), or '' when there is none."""
    java = _java_exception(exc)
    if java is None:
        return ""
    try:
        from pyspark import SparkContext

        return str(SparkContext._jvm.org.apache.spark.util.Utils.exceptionString(java))
    except Exception:
        return ""


# What a JVM failure was, for a person: (a class or message fragment, what to say). The first
# fragment found in the chain of causes (innermost first) decides.
_JVM_KINDS = (
    (("OutOfMemoryError", "SparkOutOfMemoryError", "Java heap space", "GC overhead limit",
      "UNABLE_TO_ACQUIRE_MEMORY"),
     "Spark ran out of memory ({cause}); give it more (ASSISTANT_SPARK_CONF="
     "spark.driver.memory=8g on one machine, spark.executor.memory on a cluster) or ask about "
     "fewer customers"),
    (("No space left on device",),
     "Spark's local disk is full ({cause}): its shuffle and spill files need room in "
     "spark.local.dir"),
    (("FileNotFoundException", "FAILED_READ_FILE"),
     "a data file Spark was reading is gone ({cause}): the tables' files changed after they "
     "were registered; restart the assistant to read them again"),
    (("FetchFailedException", "ExecutorLostFailure", "executor lost", "Executor heartbeat"),
     "Spark lost an executor while the query ran ({cause}); it may have run out of memory: "
     "check the executors' memory and logs"),
)
_PY4J_GONE = ("Py4JNetworkError", "Answer from Java side is empty", "Connection refused",
              "SparkContext was shut down", "Cannot call methods on a stopped SparkContext")


def _short_class(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _safe(line: str) -> str:
    from warehouse import privacy

    line = privacy.mask_text(_STRING.sub("[value]", line))
    return line if len(line) <= 200 else line[:199] + "…"


def jvm_message(exc: BaseException) -> str | None:
    """What a failure inside the JVM was, in a short value-free sentence with its cause (e.g.
    "Spark ran out of memory (OutOfMemoryError: Java heap space); ..."), or None when `exc`
    says it better itself (an error class of Spark's) or did not come from the JVM."""
    text = f"{type(exc).__name__}: {exc}"
    if any(gone in text for gone in _PY4J_GONE):
        return ("the Spark driver stopped while the query ran (it may have run out of memory: "
                "spark.driver.memory); restart the assistant")
    chain = jvm_causes(exc)
    if not chain:
        return None
    inner_first = list(reversed(chain))
    for fragments, message in _JVM_KINDS:
        for cls, line in inner_first:
            if any(f in cls or f in line for f in fragments):
                return message.format(cause=_safe(f"{_short_class(cls)}: {line}"))
    if "PythonException" in chain[0][0]:
        # the worker's traceback: its last line is the error
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        last = next((ln for ln in reversed(lines) if not ln.startswith(("File ", "at "))), "")
        return f"Python code on the executors failed ({_safe(last)})"
    if _SPARK_ERROR.match(str(exc).strip()):
        return None                          # Spark's own error class says what it was
    classed = next((line for _, line in inner_first if _SPARK_ERROR.match(line)), None)
    if classed is not None:                  # told by its error class, without values
        return _line_message(classed)
    cls, line = inner_first[0]
    return f"Spark failed inside the JVM ({_safe(f'{_short_class(cls)}: {line}')})"


def spark_message(exc: Exception) -> str:
    """A value-free first line of a Spark error, without its error class, SQLSTATE or JVM trace.

    Spark's messages echo data ("The value 'sarah roberts' of the type STRING cannot be cast"):
    errors about the query keep their text with any quoted string replaced, errors about values
    say only what kind of problem it was. A failure inside the JVM, which py4j reports as
    "An error occurred while calling o198.count", is told by its cause (`jvm_message`)."""
    told = jvm_message(exc)
    if told is not None:
        return told
    text = str(getattr(exc, "desc", None) or exc).strip().splitlines()
    return _line_message(text[0] if text else type(exc).__name__)


def _line_message(line: str) -> str:
    """spark_message of one line of Spark's (an error class first, when it has one)."""
    from warehouse import privacy

    found = _SPARK_ERROR.match(line)
    kind = found.group("cls") if found else ""
    line = re.sub(r"\s*SQLSTATE: \w+\.?$", "", _SPARK_ERROR.sub("", line))
    if kind and not kind.startswith(_ABOUT_THE_QUERY):
        what = kind.split(".")[0].lower().replace("_", " ")
        return (f"a value in the data could not be processed ({what}); the value is not shown "
                "(it may be personal data): check the column types, use TRY_CAST, or filter "
                "out values that do not fit")
    line = _STRING.sub("[value]", line)
    line = privacy.mask_text(line)
    return line if len(line) <= 400 else line[:399] + "…"


class SparkWarehouse(QueryMethods):
    """Customer data on Spark, assistant tables in DuckDB (see the module docstring)."""

    engine = "spark"
    dialect = "spark"

    def __init__(self, spark, state: Warehouse, infos: list[TableInfo], *, source: str,
                 cache: str = "views") -> None:
        self.spark = spark
        self.state = state
        self.source = source
        # where the assistant writes (runs, drafts, model files beside it): the state file
        self.path = str(state.path)
        self.description = f"Spark ({spark.sparkContext.master}) over {source}"
        self._infos = {t.name: t for t in infos}
        self._shadow = Shadow()
        self._local = threading.local()
        self._lock = threading.RLock()
        self._mirrored: dict[str, tuple] = {}
        self._mirror_dir = Path(str(state.path) + ".tables")
        self._scratch = Path(tempfile.mkdtemp(prefix="assistant-spark-"))
        self._counts: dict[str, int] | None = None
        self._view_sql: dict[str, str] = {}
        self._pending: set[str] = set()
        self._shadow.define(infos)
        self._define_views()
        self._cache(cache)

    # -- opening -----------------------------------------------------------------------------
    @classmethod
    def open(cls, *, master: str = "local[2]", tables: str | Path | None = None,
             state: str | Path = "data/spark-state.duckdb", read_only: bool = False,
             conf: dict[str, str] | None = None, cache: str = "views") -> SparkWarehouse:
        """Start (or join) the Spark session and register the customer data."""
        spark = get_session(master, conf=conf, in_memory_catalog=tables is not None)
        if tables is not None:
            infos, source = register_folder(spark, Path(tables)), str(tables)
        else:
            infos, source = register_catalog(spark), "the Spark catalog"
        state_path = Path(state)
        state_path.parent.mkdir(parents=True, exist_ok=True)
        handle = Warehouse.open(state_path, read_only=read_only and state_path.exists(),
                                must_exist=False)
        return cls(spark, handle, infos, source=source, cache=cache)

    @property
    def read_only(self) -> bool:
        return self.state.read_only

    def _define_views(self) -> None:
        """The contract's views as Spark temporary views, from their DuckDB definitions."""
        from warehouse.schema import VIEWS

        names = set(self._infos)
        for name, body, comment, column_comments in VIEWS:
            tree = _parse(body.strip())
            needed = {t.name.lower() for t in _tables(tree)} - set(self._infos)
            if name in names or needed:
                continue       # the catalog already has it, or lacks a table it reads
            self._shadow.define((), [(name, body)])
            spark_sql = self._render(tree)
            self.spark.sql(f"CREATE OR REPLACE TEMP VIEW {name} AS {spark_sql}")
            self._view_sql[name] = spark_sql
            columns = tuple(ColumnInfo(c, t, column_comments.get(c, ""))
                            for c, t in self._shadow.table_types("main", name))
            self._infos[name] = TableInfo("main", name, "view", columns, comment)

    def _cache(self, what: str) -> None:
        """What Spark keeps once computed (`what`): the contract's views (one row per
        customer, read by most questions), every table too, or nothing.

        A view is materialized on first use (localCheckpoint: computed once, kept on the
        executors) rather than CACHE TABLE'd: Spark does not use cached data inside a CTE, and
        most of the planner's and the model's queries read the views inside CTEs. Tables are
        CACHE TABLE'd (lazily); the data is read once per process, so a lakehouse table that
        changes is seen after a restart."""
        if what not in ("views", "all", "none"):
            raise ConfigError(f"ASSISTANT_SPARK_CACHE must be views, all or none, not {what!r}")
        for info in self._infos.values():
            if info.kind == "view" and what != "none" and info.name in self._view_sql:
                self._pending.add(info.name)
            elif what == "all" and info.kind == "table":
                self.spark.sql(f"CACHE LAZY TABLE {info.name}")

    def _materialize(self, name: str) -> None:
        """Compute a pending view once and keep its rows (see `_cache`)."""
        with self._lock:
            if name not in self._pending:
                return
            with self._job(None):
                frame = self.spark.sql(self._view_sql[name]).localCheckpoint(eager=True)
            frame.createOrReplaceTempView(name)
            self._pending.discard(name)

    # -- what the SQL reads ----------------------------------------------------------------------
    def _registered(self) -> dict[str, dict]:
        reg = getattr(self._local, "registered", None)
        if reg is None:
            reg = self._local.registered = {}
        return reg

    def _schema(self) -> dict:
        """{db: {table: {column: type}}} for sqlglot's qualify."""
        main = {t.name: {c.name: c.type for c in t.columns} for t in self._infos.values()}
        for name in self._registered():
            main[name] = dict(self._shadow.describe(f"SELECT * FROM {name}"))
        assistant = {name: dict(self._shadow.table_types(ASSISTANT_SCHEMA, name))
                     for name in self._mirrored}
        return {"main": main, ASSISTANT_SCHEMA: assistant}

    def _on_spark(self, tree: exp.Expression | None) -> bool:
        """True when `tree` is a query reading warehouse data (Spark); else the state file."""
        if tree is None or not isinstance(tree, exp.Query):
            return False
        generators = (exp.GenerateSeries, exp.Unnest, exp.ExplodingGenerateSeries)
        if any(not isinstance(t.this, (exp.Identifier, *generators))
               for t in tree.find_all(exp.Table)):
            return False                 # duckdb_tables() and the like: the state's catalog
        registered = self._registered()
        for t in _tables(tree):
            db = (t.db or "main").lower()
            if db == "main" and t.name.lower() in self._infos and \
                    t.name.lower() not in registered:
                return True
        return False

    def _render(self, tree: exp.Expression) -> str:
        """Spark SQL for a bound DuckDB tree, with names resolved to Spark's views."""
        return self._sql(self._spark_tree(tree))

    @staticmethod
    def _sql(tree: exp.Expression, *, interruptible: bool = False) -> str:
        """The Spark SQL of `tree`, checked by the guard's Spark layer; `interruptible` adds the
        interrupt check to its joins after that check (the check calls Java, which the guard
        refuses in anything else)."""
        sql = tree.sql(dialect=dialect.Spark4, unsupported_level=sqlglot.ErrorLevel.RAISE)
        guard.check_spark(sql)
        if interruptible:
            checked = _interruptible(tree)
            if checked is not tree:
                sql = checked.sql(dialect=dialect.Spark4,
                                  unsupported_level=sqlglot.ErrorLevel.RAISE)
        return sql

    def _spark_tree(self, tree: exp.Expression) -> exp.Expression:
        """The bound DuckDB tree rewritten for Spark, names resolved to Spark's views."""
        rewritten = dialect.rewrite(tree, self._schema())
        registered = self._registered()
        ctes = _cte_names(rewritten)
        for t in list(rewritten.find_all(exp.Table)):
            if not isinstance(t.this, exp.Identifier):
                continue
            db, name = (t.db or "main").lower(), t.name.lower()
            if not t.db and name in ctes:
                continue
            if db == ASSISTANT_SCHEMA:
                target = self._mirror(name)
            elif name in registered:
                target = self._spark_view(name)
            else:
                target = name
            alias = t.alias
            t.set("db", None)
            t.set("catalog", None)
            t.set("this", exp.to_identifier(target))
            if not alias and target != name:
                t.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
        return rewritten

    @contextmanager
    def _ctes_computed_once(self, tree: exp.Expression) -> Iterator[exp.Expression]:
        """`tree` with each top-level CTE it reads more than once computed first and read as
        a view. DuckDB computes such a CTE once; Spark inlines it at every reference (and does
        not reuse cached data inside CTEs), so a question whose CTEs build on each other would
        recompute the same join many times over."""
        ctes = tree.args.get("with_")
        views: list[str] = []
        if not isinstance(tree, exp.Query) or ctes is None:
            yield tree
            return
        tree = tree.copy()
        ctes = tree.args["with_"]
        try:
            for cte in list(ctes.expressions):
                name = cte.alias_or_name.lower()
                refs = [t for t in tree.find_all(exp.Table)
                        if not t.db and t.name.lower() == name]
                if len(refs) < 2 or cte.args.get("recursive"):
                    continue
                earlier = [c.copy() for c in ctes.expressions if c is not cte and
                           c.find_ancestor(exp.With) is ctes and
                           list(ctes.expressions).index(c) < list(ctes.expressions).index(cte)]
                body = cte.this.copy()
                if earlier:
                    body.set("with_", exp.With(expressions=earlier))
                view = f"__cte_{name}_{uuid.uuid4().hex[:8]}"
                self.spark.sql(self._sql(body, interruptible=True)).localCheckpoint(eager=True) \
                    .createOrReplaceTempView(view)
                views.append(view)
                for ref in refs:
                    alias = ref.alias or name
                    ref.set("this", exp.to_identifier(view))
                    ref.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
                cte.pop()
            if not ctes.expressions:
                tree.set("with_", None)
            yield tree
        finally:
            for view in views:
                self.spark.catalog.dropTempView(view)

    # -- the assistant's tables, as Spark sees them ---------------------------------------------
    def _mirror(self, name: str) -> str:
        """The Spark view of assistant.`name`, refreshed when the table has changed."""
        view = f"__assistant_{name}"
        with self._lock:
            if not self.state.has_table(name, ASSISTANT_SCHEMA):
                return view      # Spark then says the table does not exist, as DuckDB would
            columns = self.state.rows(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? "
                "AND table_name = ? ORDER BY column_index", [ASSISTANT_SCHEMA, name])
            # the run tables only grow: their row count (and latest run) says what changed
            latest = ", max(run_id)" if any(c == "run_id" for c, _ in columns) else ""
            signature = tuple(self.state.rows(
                f"SELECT count(*){latest} FROM {ASSISTANT_SCHEMA}.{name}")[0]) + \
                tuple(columns)
            if self._mirrored.get(name) == signature:
                return view
            table = self.state.cursor().sql(f"SELECT * FROM {ASSISTANT_SCHEMA}.{name}"
                                            ).to_arrow_table()
            folder = self._mirror_dir / name
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{uuid.uuid4().hex}.parquet"
            pq.write_table(table, target)
            self.spark.read.parquet(str(target)).createOrReplaceTempView(view)
            for old in folder.glob("*.parquet"):
                if old != target:
                    old.unlink(missing_ok=True)
            self._shadow.define([TableInfo(ASSISTANT_SCHEMA, name, "table",
                                           tuple(ColumnInfo(c, t) for c, t in columns))])
            self._mirrored[name] = signature
        return view

    def _spark_view(self, name: str) -> str:
        entry = self._registered()[name]
        if entry.get("view") is None:
            # (Spark skips files whose names start with _ or .)
            path = self._scratch / f"frame-{name.strip('_')}-{uuid.uuid4().hex}.parquet"
            data = entry["data"]
            table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(
                data, preserve_index=False)
            pq.write_table(table, path)
            view = f"__{name.strip('_')}_{threading.get_ident()}_{next(_GROUPS)}"
            self.spark.read.parquet(str(path)).createOrReplaceTempView(view)
            entry.update(view=view, path=path)
        return entry["view"]

    # -- running ---------------------------------------------------------------------------------
    def spark_sql(self, sql: str, params: Any = None) -> str:
        """The Spark SQL that `sql` (DuckDB dialect) runs as on this engine."""
        tree = _parse(sql)
        if tree is None:
            raise QueryError("the SQL could not be parsed as one DuckDB statement")
        tree = bind(tree, params)
        self._prepare(tree)
        return self._render(tree)

    def _prepare(self, tree: exp.Expression) -> list[tuple[str, str]]:
        """Make what `tree` reads ready on Spark (assistant tables mirrored, views computed
        once); return DuckDB's names and types of its result."""
        for t in _tables(tree):
            name = t.name.lower()
            if (t.db or "").lower() == ASSISTANT_SCHEMA:
                self._mirror(name)
            elif name in self._pending:
                self._materialize(name)
        return self._shadow.describe(tree.sql(dialect="duckdb"))

    @contextmanager
    def _job(self, timeout: float | None, time_limit: float | None = None) -> Iterator[dict]:
        """Run the block's Spark jobs in a job group of their own, cancelled after `timeout`."""
        sc = self.spark.sparkContext
        if getattr(self._local, "group", None):      # already in a job group: join it
            yield self._local.state
            return
        group = f"assistant-{next(_GROUPS)}"
        state = {"cancelled": False}
        self._local.group, self._local.state = group, state
        sc.setJobGroup(group, "assistant query", interruptOnCancel=True)

        done = threading.Event()

        def cancel() -> None:
            # again until the block ends: a cancel only reaches the jobs running at that moment
            if done.wait(timeout):
                return
            state["cancelled"] = True
            while not done.is_set():
                sc.cancelJobGroup(group)
                done.wait(RECANCEL_EVERY)

        timer = threading.Thread(target=cancel, daemon=True, name=f"{group}-limit") \
            if timeout else None
        if timer is not None:
            timer.start()
        try:
            yield state
        except SqlRefused:
            raise
        except Exception as exc:
            if state["cancelled"]:
                raise QueryError(late_message(time_limit or timeout)) from None
            if isinstance(exc, QueryError | duckdb.Error):
                raise
            message = spark_message(exc)
            log.error("a Spark job failed: %s; causes: %s\n%s", message,
                      " <- ".join(f"{c}: {m}" for c, m in jvm_causes(exc)) or exc.__class__,
                      jvm_trace(exc))
            raise QueryError(f"the query failed on Spark: {message}") from None
        finally:
            done.set()
            self._local.group = None
            sc.setLocalProperty("spark.jobGroup.id", None)

    def frame(self, sql: str, params: Any = None, *, ctes_once: bool = False):
        """The Spark DataFrame of a query (DuckDB dialect), with DuckDB's column names. With
        `ctes_once`, the CTEs it reads more than once are computed first, now, and kept
        (`_ctes_computed_once`; the frame holds their data after their names are dropped)."""
        tree = bind(_parse(sql), params)
        columns = self._prepare(tree)
        if not ctes_once:
            return self.spark.sql(self._render(tree)).toDF(*[name for name, _ in columns])
        with self._job(None), self._ctes_computed_once(self._spark_tree(tree)) as ready:
            return self.spark.sql(self._sql(ready)).toDF(*[name for name, _ in columns])

    def rows_of(self, sql: str, *, key: str, where: str | None = None):
        """The rows of a query kept in Spark, for segmentation and scoring at scale
        (warehouse/spark/rows.py): those that pass `where` (a condition on its columns),
        the others only counted. The query's ORDER BY is dropped (the rows are ordered by
        `key` where it matters), and the CTEs it reads twice are computed once."""
        from warehouse.spark.rows import SparkRows

        tree = _parse(sql)
        if isinstance(tree, exp.Query) and tree.args.get("order") is not None:
            tree = tree.copy()
            tree.set("order", None)
        return SparkRows(self, tree.sql(dialect="duckdb"), key=key, where=where)

    def write_csv(self, sql: str, target: str | Path) -> int:
        """Write the rows of a query (DuckDB dialect) as one CSV file at `target`, written by
        Spark (the rows never pass through the driver); return how many were written. The file
        appears complete or not at all. On a cluster `target` must be on storage the executors
        write to (a shared mount), as every Spark output is."""
        from pyspark.sql import functions as F

        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        folder = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.spark"
        frame = self.frame(sql)
        stamps = [f.name for f in frame.schema.fields
                  if f.dataType.typeName() in ("timestamp", "timestamp_ntz")]
        for name in stamps:
            frame = frame.withColumn(name, F.date_format(name, "yyyy-MM-dd'T'HH:mm:ss"))
        try:
            with self._job(None):
                frame.coalesce(1).write.csv(str(folder), header=True, escape='"',
                                            emptyValue="", dateFormat="yyyy-MM-dd")
                count = int(self.spark.read.csv(str(folder), header=True).count())
            part = next(folder.glob("part-*.csv"))
            part.replace(target)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return count

    def execute(self, sql: str, params: Any = None, *, timeout: float | None = None,
                cap: int | None = None, time_limit: float | None = None):
        """Run `sql` where it belongs (see the module docstring); a DuckDB cursor either way."""
        tree = _parse(sql)
        if not self._on_spark(tree):
            return self.state.execute(sql, params, timeout=timeout)
        tree = bind(tree, params)
        columns = self._prepare(tree)
        with self._job(timeout, time_limit), \
                self._ctes_computed_once(self._spark_tree(tree)) as ready:
            frame = self.spark.sql(self._sql(ready, interruptible=True))
            if cap is not None:
                frame = frame.limit(cap + 1)
            table = frame.toArrow()
        return self._shadow.result(table, columns)

    def fetch(self, sql: str, *, limit: int, timeout: float | None = None,
              time_limit: float | None = None) -> tuple[list[tuple], list[tuple]]:
        """(description, at most `limit` rows) of `sql`, as the DuckDB engine's `fetch`. A
        DESCRIBE of a query over the warehouse is answered by DuckDB's binder on the shadow
        (names and types; no Spark job, no data)."""
        tree = _parse(sql)
        if isinstance(tree, exp.Describe) and self._on_spark(tree.this):
            columns = self._prepare(tree.this)
            return [("column_name",), ("column_type",)], columns
        if not self._on_spark(tree):
            return self.state.fetch(sql, limit=limit, timeout=timeout, time_limit=time_limit)
        if timeout is not None and timeout <= 0:
            raise QueryError(late_message(time_limit or timeout))
        result = self.execute(sql, timeout=timeout, cap=max(0, limit - 1),
                              time_limit=time_limit)
        return list(result.description or []), result.fetchmany(limit)

    # -- the assistant's own tables (DuckDB state) -----------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self.state.cursor()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.state.transaction() as cur:
            yield cur

    def register(self, name: str, data: Any) -> None:
        """A frame as a table for this thread's queries, on both engines."""
        self.unregister(name)
        self.state.register(name, data)
        self._shadow.register(name, data)
        self._registered()[name] = {"data": data, "view": None}

    def unregister(self, name: str) -> None:
        entry = self._registered().pop(name, None)
        if entry is None:
            return
        with contextlib.suppress(duckdb.Error):
            self.state.unregister(name)
        with contextlib.suppress(duckdb.Error):
            self._shadow.unregister(name)
        if entry.get("view"):
            self.spark.catalog.dropTempView(entry["view"])
            Path(entry["path"]).unlink(missing_ok=True)

    # -- what is in it -----------------------------------------------------------------------
    def catalog(self) -> list[TableInfo]:
        counts = self._row_counts()
        main = [TableInfo(t.schema, t.name, t.kind, t.columns, t.comment, counts.get(t.name))
                for t in sorted(self._infos.values(), key=lambda t: t.name)]
        assistant = [t for t in self.state.catalog() if t.schema == ASSISTANT_SCHEMA]
        return main + assistant

    def _row_counts(self) -> dict[str, int]:
        if self._counts is None:
            counts = {}
            for name, info in self._infos.items():
                if info.kind == "table":
                    with self._job(None):
                        counts[name] = int(self.spark.table(name).count())
            self._counts = counts
        return self._counts

    def has_table(self, name: str, schema: str = "main") -> bool:
        if schema == "main":
            return name.lower() in self._infos
        return self.state.has_table(name, schema)

    def table_counts(self) -> dict[str, int]:
        counts = self._row_counts()
        return {t.name: counts[t.name] for t in TABLES if t.name in counts}

    def reference_period(self) -> dict[str, Any]:
        keys = ("reference_ts", "reference_date", "active_window_start", "data_start")
        if "reference_period" not in self._infos:
            return dict.fromkeys(keys)
        rows = self.rows(f"SELECT {', '.join(keys)} FROM reference_period")
        return dict(zip(keys, rows[0] if rows else (None,) * 4, strict=True))

    def close(self) -> None:
        for name in list(self._registered()):
            self.unregister(name)
        self.state.close()
        shutil.rmtree(self._scratch, ignore_errors=True)

    def __enter__(self) -> SparkWarehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
