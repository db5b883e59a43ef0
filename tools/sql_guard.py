"""The SQL guard: one read-only query over known tables is accepted; the rest refused, with why.

The query is parsed with sqlglot (DuckDB dialect), never sniffed by prefix. Accepted: one SELECT
(or WITH / UNION / INTERSECT / EXCEPT / FROM-first) query whose every table is a warehouse table
or view in schema `main`, one of the assistant tables on the allow-list `MODEL_READABLE` (only
their listed columns: `restricted_sql` rewrites the query so nothing else can be read, not even
through `*`), or a CTE visible where it is used (a CTE inside a subquery does not hide a system
table of the same name elsewhere).

Refused, each with a reason the model can act on:
- several statements, and any statement that is not a query (DDL, DML, PRAGMA, SET, ATTACH,
  DETACH, COPY, EXPORT, IMPORT, INSTALL, LOAD, CALL, CHECKPOINT, VACUUM, USE, DESCRIBE, SHOW,
  SUMMARIZE, EXPLAIN, transactions) and SELECT ... INTO;
- table functions (read_csv, read_parquet, glob, query, sqlite_scan, duckdb_tables() ...), except
  the harmless generators range/generate_series/unnest;
- replacement scans (FROM 'file.csv', FROM "s3://..."): reading files or URLs;
- system catalogs (information_schema, pg_catalog, duckdb_* functions, other attached databases):
  the model describes the warehouse with describe_warehouse instead;
- scalar functions that touch files, the network, the environment, settings or sequences.

This is the first of two locks: the query then runs on a sandboxed handle (no file or network
access, configuration locked) inside a transaction that is always rolled back.
"""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import traverse_scope

from warehouse.contract import ASSISTANT_SCHEMA
from warehouse.errors import SqlRefused

# sqlglot logs a warning when it falls back to a generic Command (LOAD, CALL, ...): we refuse those
# statements ourselves, the warning would only be noise on stderr.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

ALLOWED_SCHEMAS = ("main", ASSISTANT_SCHEMA)
# What model SQL may read in the assistant schema, table -> readable columns (None: all). An
# allow-list: audiences (file paths), drafts, the audit log, trigger logs and any table added
# later stay unreadable unless listed here; no session's question or conversation id is listed.
MODEL_READABLE: dict[str, tuple[str, ...] | None] = {
    "runs": ("run_id", "kind", "created_at", "source_table", "as_of", "params", "metrics",
             "code_version", "protected_attributes_used", "row_count"),
    "segments": None,
    "segment_members": None,
    "scores": None,
}
SYSTEM_SCHEMAS = ("information_schema", "pg_catalog", "system", "temp")
# Table functions that only generate values; everything else in FROM must be a real table.
ALLOWED_TABLE_FUNCTIONS = (exp.GenerateSeries, exp.Unnest, exp.ExplodingGenerateSeries)

# Function names (lower case) that read files, reach the network or the environment, change
# settings or state, or list the catalog. Checked on every function call, wherever it appears.
DENIED_FUNCTIONS = frozenset({
    "glob", "query", "query_table", "getenv", "current_setting", "nextval", "currval", "setval",
    "load_extension", "install_extension", "checkpoint", "force_checkpoint", "system", "shell",
    "arrow_scan", "arrow_scan_dumb", "pandas_scan", "python_map_function", "st_read",
    "read_text", "read_blob", "sniff_csv", "which_secret", "json_execute_serialized_sql",
    "enable_profiling", "disable_profiling", "enable_logging", "disable_logging",
    "truncate_duckdb_logs",
    # echo their arguments into the error message, where no lineage check can follow them
    "error",
})
# Functions whose result can be far larger than their input (a 2-billion-character repeat()
# runs past any time limit and past DuckDB's memory limit, which does not count single values):
# the size argument must be a whole number written in the query, at most MAX_VALUE_SIZE.
MAX_VALUE_SIZE = 10_000
MAX_REPLACEMENT = 1_000
_FORMAT_WIDTH = re.compile(r"%[-+ #0']*(\d+)?(?:\.(\d+))?|\{[^{}]*?(\d+)(?:\.(\d+))?[^{}]*\}")
DENIED_PREFIXES = (
    "read_", "write_", "duckdb_", "pragma_", "parquet_", "iceberg_", "delta_", "sqlite_",
    "postgres_", "mysql_", "http", "s3_", "ducklake_", "copy_", "export_", "import_",
)

_STATEMENT_NAMES = {
    exp.Insert: "INSERT", exp.Update: "UPDATE", exp.Delete: "DELETE", exp.Merge: "MERGE",
    exp.Create: "CREATE", exp.Drop: "DROP", exp.Alter: "ALTER", exp.Copy: "COPY",
    exp.Pragma: "PRAGMA", exp.Set: "SET", exp.Attach: "ATTACH", exp.Detach: "DETACH",
    exp.Use: "USE", exp.Describe: "DESCRIBE", exp.Show: "SHOW", exp.Summarize: "SUMMARIZE",
    exp.Transaction: "BEGIN", exp.Commit: "COMMIT", exp.Rollback: "ROLLBACK",
    exp.Install: "INSTALL", exp.TruncateTable: "TRUNCATE", exp.Grant: "GRANT",
    exp.Revoke: "REVOKE", exp.LoadData: "LOAD", exp.Cache: "CACHE", exp.Uncache: "UNCACHE",
    exp.Refresh: "REFRESH", exp.Analyze: "ANALYZE", exp.Values: "VALUES",
}
_FIRST_WORD = re.compile(r"^\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*([A-Za-z_]+)", re.S)
_PATHLIKE = re.compile(r"[/\\:]|\.(csv|tsv|parquet|json|jsonl|ndjson|txt|xlsx?|gz|zst|db|duckdb"
                       r"|sqlite|arrow)$", re.I)

ONLY_QUERIES = "only read-only SELECT queries are allowed"
STATEMENT_KEYWORDS = frozenset((
    "SET", "RESET", "PRAGMA", "ATTACH", "DETACH", "COPY", "EXPORT", "IMPORT", "INSTALL", "LOAD",
    "CALL", "CHECKPOINT", "VACUUM", "CREATE", "INSERT", "UPDATE", "DELETE", "DROP", "ALTER",
    "TRUNCATE", "MERGE", "COMMENT", "PREPARE", "EXECUTE", "DEALLOCATE", "BEGIN", "START", "COMMIT",
    "ROLLBACK", "ABORT", "END", "USE", "DESCRIBE", "SHOW", "SUMMARIZE", "EXPLAIN", "ANALYZE",
    "GRANT", "REVOKE", "FORCE", "UPSERT", "REPLACE", "REFRESH", "UNPIVOT",
    # Spark's own commands (warehouse/spark/guard.py has the rest of the Spark layer)
    "ADD", "LIST", "MSCK", "CACHE", "UNCACHE", "CLEAR", "REPAIR",
))


@dataclass(frozen=True)
class Catalog:
    """The tables a query may read: {(schema, table): [columns]}, and the database name."""

    tables: dict[tuple[str, str], tuple[str, ...]]
    database: str = ""
    engine: str = "duckdb"      # the engine the query will run on (its layer of refusals)

    def names(self) -> list[str]:
        return sorted(t if s == "main" else f"{s}.{t}" for s, t in self.tables)

    def schema_for_sqlglot(self) -> dict:
        """{schema: {table: {column: type}}} for sqlglot's qualify and lineage."""
        out: dict[str, dict[str, dict[str, str]]] = {}
        for (schema, table), columns in self.tables.items():
            out.setdefault(schema, {})[table] = {c: "UNKNOWN" for c in columns}
        return out


def catalog_of(wh) -> Catalog:
    """The tables and views a query may read in this warehouse (from the engine's catalog):
    every table and view of `main`, and of the assistant schema what MODEL_READABLE allows."""
    database = wh.scalar("SELECT current_database()") or ""
    tables: dict[tuple[str, str], tuple[str, ...]] = {}
    for info in wh.catalog():
        schema, table, cols = info.schema, info.name, info.column_names
        if schema == ASSISTANT_SCHEMA:
            if table not in MODEL_READABLE:
                continue
            allowed = MODEL_READABLE[table]
            cols = [c for c in cols if allowed is None or c in allowed]
        tables[(schema, table)] = tuple(cols)
    return Catalog(tables, database, getattr(wh, "engine", "duckdb"))


def restricted_sql(tree: exp.Query, catalog: Catalog) -> str | None:
    """The SQL to run instead of a checked query that reads an assistant table with a column
    allow-list (each such table becomes a subquery of just those columns, so `*`, structs and
    positions see nothing else); None when the query can run as written."""
    limited = {t for t, cols in MODEL_READABLE.items() if cols is not None}

    def is_limited(node: exp.Table) -> bool:
        return (node.db or "").lower() == ASSISTANT_SCHEMA and node.name.lower() in limited

    if not any(is_limited(t) for t in tree.find_all(exp.Table)):
        return None
    tree = tree.copy()
    for table in [t for t in tree.find_all(exp.Table) if is_limited(t)]:
        name = table.name.lower()
        columns = catalog.tables.get((ASSISTANT_SCHEMA, name), ())
        inner = exp.select(*[exp.column(c, quoted=True) for c in columns]).from_(
            exp.table_(name, db=ASSISTANT_SCHEMA))
        table.replace(exp.Subquery(this=inner, alias=exp.TableAlias(
            this=exp.to_identifier(table.alias or name))))
    return tree.sql(dialect="duckdb")


def _statement_name(node: exp.Expression, sql: str) -> str:
    for kind, name in _STATEMENT_NAMES.items():
        if isinstance(node, kind):
            return name
    m = _FIRST_WORD.match(node.this if isinstance(node, exp.Command) and
                          isinstance(node.this, str) else sql)
    return (m.group(1) if m else type(node).__name__).upper()


def _refuse_statement(name: str) -> SqlRefused:
    hints = {
        "INSERT": "the warehouse is read-only for queries",
        "UPDATE": "the warehouse is read-only for queries",
        "DELETE": "the warehouse is read-only for queries",
        "CREATE": "use a WITH clause (CTE) instead of creating tables or views",
        "DESCRIBE": "call describe_warehouse to see tables and columns",
        "SHOW": "call describe_warehouse to see tables and columns",
        "SUMMARIZE": "compute the statistics you need with SELECT (count, avg, min, max)",
        "PRAGMA": "call describe_warehouse to see tables and columns",
        "VALUES": "wrap the values in a SELECT, e.g. SELECT * FROM (VALUES (1), (2)) t(x)",
        "EXPLAIN": "run the query itself",
    }
    hint = hints.get(name, "rewrite it as one SELECT over the warehouse tables")
    return SqlRefused(f"{name} statements are not allowed; {ONLY_QUERIES} ({hint})")


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.sql_name().lower()


def _denied_function(name: str) -> bool:
    return name in DENIED_FUNCTIONS or name.startswith(DENIED_PREFIXES)


def _literal_int(node) -> int | None:
    negative = False
    while isinstance(node, exp.Neg | exp.Paren | exp.Cast):
        negative ^= isinstance(node, exp.Neg)
        node = node.this
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            value = int(float(node.this))
        except ValueError:
            return None
        return -value if negative else value
    return None


def _too_big(what: str, limit: int = MAX_VALUE_SIZE) -> SqlRefused:
    return SqlRefused(
        f"{what} must be a whole number written in the query, at most {limit:,} (larger "
        "values would exhaust the server's memory); aggregate or shorten instead")


_AMPLIFIERS = ("repeat", "pad", "space", "list_resize", "array_resize", "printf", "format",
               "bar", "generate_series", "regexp_replace", "replace")


def _check_size(node: exp.Func, name: str) -> None:
    """Refuse a call that could build one enormous value (see MAX_VALUE_SIZE)."""
    args = list(node.iter_expressions())
    shown = {"pad": "lpad/rpad"}.get(name, name)
    if name in ("repeat", "pad", "space", "list_resize", "array_resize"):
        inner = args[0] if args else None
        if inner is not None and any(
                isinstance(n, exp.Func) and _function_name(n) in _AMPLIFIERS[:6]
                for n in inner.walk()):
            raise SqlRefused(f"{shown}() of another such function is not allowed: the result "
                             "could exhaust the server's memory")
    if name in ("repeat", "space"):
        count = _literal_int(node.args.get("times") or (args[1] if len(args) > 1 else
                                                        node.this if name == "space" else None))
        this = node.this if name == "repeat" else None
        base = len(this.this) if isinstance(this, exp.Literal) and this.is_string else None
        limit = MAX_VALUE_SIZE if base is not None or name == "space" else 16
        if count is None or count * max(base or 1, 1) > MAX_VALUE_SIZE or count > limit:
            raise _too_big(f"the count of {name}()" + ("" if base is not None or
                           name == "space" else " over a column (at most 16)"), limit)
    elif name in ("pad", "list_resize", "array_resize"):
        size = _literal_int(node.expression if name == "pad" else
                            (args[1] if len(args) > 1 else None))
        if size is None or size > MAX_VALUE_SIZE:
            raise _too_big(f"the length of {shown}()")
    elif name == "bar":
        width = _literal_int(args[3]) if len(args) > 3 else 80
        if width is None or width > MAX_VALUE_SIZE:
            raise _too_big("the width of bar()")
    elif name in ("printf", "format"):
        spec = args[0] if args else None
        if not (isinstance(spec, exp.Literal) and spec.is_string):
            raise SqlRefused(f"the format of {name}() must be text written in the query")
        widths = [int(w) for m in _FORMAT_WIDTH.finditer(spec.this) for w in m.groups() if w]
        if any(w > MAX_VALUE_SIZE for w in widths):
            raise _too_big(f"a width in the format of {name}()")
    elif name == "generate_series" and not isinstance(node.parent, exp.Table):
        start, end = (_literal_int(node.args.get(k)) for k in ("start", "end"))
        step = _literal_int(node.args.get("step")) if node.args.get("step") else 1
        if None in (start, end, step) or step == 0 or \
                abs((end - start) // step) > MAX_VALUE_SIZE:
            raise _too_big("a list made by range() or generate_series() (its length)")
    elif name in ("regexp_replace", "replace"):
        replacement = node.args.get("replacement")
        if not isinstance(replacement, exp.Literal) or len(replacement.this) > MAX_REPLACEMENT:
            raise SqlRefused(f"the replacement of {name}() must be text written in the query, "
                             f"at most {MAX_REPLACEMENT:,} characters")


def _cte_references(tree: exp.Expression) -> set[int]:
    """ids of the Table nodes that name a CTE visible in their own scope. When sqlglot cannot
    scope the query, none are: every name is then checked against the catalog (fail closed)."""
    refs: set[int] = set()
    try:
        scopes = traverse_scope(tree)
    except (SqlglotError, KeyError, ValueError, AttributeError, TypeError):
        return refs
    for scope in scopes:
        visible = {name.lower() for name in scope.cte_sources}
        for table in scope.tables:
            if not table.db and not table.catalog and table.name.lower() in visible:
                refs.add(id(table))
    return refs


def _suggest(name: str, catalog: Catalog) -> str:
    close = difflib.get_close_matches(name.lower(), catalog.names(), n=3, cutoff=0.6)
    known = ", ".join(catalog.names())
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    return f"{hint}The tables are: {known}"


def _check_table(table: exp.Table, catalog: Catalog, is_cte: bool) -> None:
    source = table.this
    if not isinstance(source, exp.Identifier):
        if isinstance(source, ALLOWED_TABLE_FUNCTIONS):
            return
        name = _function_name(source) if isinstance(source, exp.Func) else source.sql()
        raise SqlRefused(
            f"table function {name}() is not allowed: queries may only read the warehouse "
            "tables (files, URLs and the system catalog are off limits)"
        )
    name = table.name
    if source.quoted and _PATHLIKE.search(name):
        raise SqlRefused(
            f"reading the file or URL {name!r} is not allowed; query the warehouse tables "
            "instead (data is loaded with `assistant import`)"
        )
    schema = (table.db or "").lower()
    catalog_name = (table.catalog or "").lower()
    if catalog_name and catalog_name != catalog.database.lower():
        raise SqlRefused(
            f"{table.sql('duckdb')} is in another database; only this warehouse can be queried"
        )
    if schema in SYSTEM_SCHEMAS or (not schema and name.lower().startswith("duckdb_")):
        raise SqlRefused(
            f"the system catalog ({table.sql('duckdb')}) is not available; call "
            "describe_warehouse to see the tables and columns"
        )
    if is_cte:
        return
    if schema and schema not in ALLOWED_SCHEMAS:
        raise SqlRefused(f"unknown schema {schema!r}; {_suggest(name, catalog)}")
    key_schema = schema or "main"
    if (key_schema, name) in catalog.tables or (key_schema, name.lower()) in catalog.tables:
        return
    shown = f"{schema}.{name}" if schema else name
    raise SqlRefused(f"unknown table {shown!r}; {_suggest(name, catalog)}")


def parse_query(sql: str) -> exp.Query:
    """Parse `sql` as exactly one query, or raise SqlRefused saying why it is not one."""
    if not sql or not sql.strip().strip(";").strip():
        raise SqlRefused("the SQL is empty; write one SELECT query")
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except sqlglot.errors.ParseError as exc:
        first = _FIRST_WORD.match(sql)
        word = first.group(1).upper() if first else ""
        if word in STATEMENT_KEYWORDS:
            raise _refuse_statement(word) from None
        detail = str(exc).splitlines()[0]
        raise SqlRefused(f"the SQL could not be parsed ({detail}); write one DuckDB SELECT "
                         "query") from None
    except sqlglot.errors.SqlglotError as exc:
        raise SqlRefused(f"the SQL could not be parsed ({exc}); write one DuckDB SELECT "
                         "query") from None
    if len(statements) != 1:
        raise SqlRefused(
            f"only one SELECT statement is allowed, this has {len(statements)}; split your "
            "query and run the statements one at a time"
        )
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise _refuse_statement(_statement_name(tree, sql))
    return tree


def check(sql: str, catalog: Catalog) -> exp.Query:
    """Return the parsed query when it is one read-only query over known tables; else refuse."""
    tree = parse_query(sql)
    for node in tree.walk():
        if isinstance(node, exp.Query) and node.args.get("into"):
            raise SqlRefused(f"SELECT ... INTO is not allowed; {ONLY_QUERIES}")
        if isinstance(node, exp.Command | exp.DDL | exp.DML | exp.Pragma | exp.Set |
                      exp.Attach | exp.Detach | exp.Copy | exp.Install | exp.Use |
                      exp.Summarize | exp.Describe | exp.Show):
            raise _refuse_statement(_statement_name(node, sql))
        if isinstance(node, exp.Func):
            name = _function_name(node)
            if name in _AMPLIFIERS:
                _check_size(node, name)
        if isinstance(node, exp.Func) and not isinstance(node, ALLOWED_TABLE_FUNCTIONS):
            name = _function_name(node)
            if name == "error":
                raise SqlRefused("the function error() is not allowed: it copies values into "
                                 "error messages; select the values you need instead")
            if _denied_function(name):
                raise SqlRefused(
                    f"the function {name}() is not allowed: it reads files, the network, the "
                    "environment or the system catalog; query the warehouse tables instead"
                )
    ctes = _cte_references(tree)
    for table in tree.find_all(exp.Table):
        _check_table(table, catalog, id(table) in ctes)
    if catalog.engine == "spark":
        from warehouse.spark import guard as spark_guard

        spark_guard.check_canonical(tree)
    return tree
