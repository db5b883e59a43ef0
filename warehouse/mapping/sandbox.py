"""The SQL expressions of a mapping file: checked, then evaluated where they cannot do harm.

A mapping's expressions (derived columns, skip conditions, join conditions, group keys) are
person-written SQL, so two locks:
1. each is parsed with sqlglot (DuckDB dialect) and must be ONE scalar expression: no statement,
   no subquery or table reference, no function that reads files, reaches the network or the
   environment, or changes settings (the same families the model's SQL guard refuses);
2. they run on an in-memory DuckDB connection with file and network access switched off and its
   configuration locked, where the only data are the sources read for this import (registered
   Arrow tables). So even an expression the parser let through could not read a file.
"""

from __future__ import annotations

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from warehouse.errors import ConfigError

DENIED_FUNCTIONS = frozenset({
    "glob", "query", "query_table", "getenv", "current_setting", "nextval", "currval",
    "setval", "load_extension", "install_extension", "checkpoint", "force_checkpoint",
    "system", "shell", "read_text", "read_blob", "sniff_csv", "which_secret", "set_variable",
    "getvariable", "enable_profiling", "disable_profiling", "enable_logging", "disable_logging",
})
DENIED_PREFIXES = ("read_", "write_", "duckdb_", "pragma_", "parquet_", "iceberg_", "delta_",
                   "sqlite_", "postgres_", "mysql_", "http", "s3_", "copy_", "export_",
                   "import_", "arrow_", "pandas_", "python_")
MEMORY_LIMIT = "2GB"


def _function_names(tree: exp.Expression) -> set[str]:
    names = set()
    for node in tree.walk():
        if isinstance(node, exp.Anonymous):
            names.add(str(node.name).lower())
        elif isinstance(node, exp.Func):
            names.add(node.sql_name().lower())
    return names


def check_expression(text: str, where: str) -> exp.Expression:
    """The parsed expression, or ConfigError saying what is not allowed in it."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{where}: the expression is empty")
    try:
        parsed = [e for e in sqlglot.parse(text, read="duckdb") if e is not None]
    except SqlglotError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ConfigError(f"{where}: {text!r} is not a SQL expression DuckDB can read ({first})"
                          ) from None
    if len(parsed) != 1:
        raise ConfigError(f"{where}: write one expression (no ';'), not {text!r}")
    tree = parsed[0]
    if isinstance(tree, exp.Command) or not isinstance(tree, exp.Condition):
        kind = tree.key.upper()
        raise ConfigError(f"{where}: only an expression over the source columns is allowed, not "
                          f"a {kind} statement ({text!r})")
    for node in tree.walk():
        if isinstance(node, exp.Select | exp.Subquery | exp.Table | exp.Union | exp.Query):
            raise ConfigError(f"{where}: subqueries and tables are not allowed in an expression "
                              f"({text!r}); use a join in the mapping ([[load]] join = ...)")
        if isinstance(node, exp.Placeholder | exp.Parameter):
            raise ConfigError(f"{where}: parameters are not allowed ({text!r})")
    for name in _function_names(tree):
        if name in DENIED_FUNCTIONS or name.startswith(DENIED_PREFIXES):
            raise ConfigError(f"{where}: function {name}() is not allowed in a mapping (it "
                              "reads files, the network, the environment or settings)")
    return tree


def is_aggregate(tree: exp.Expression) -> bool:
    """True when the expression aggregates (min(...), count(*), ...), outside any window."""
    for node in tree.walk():
        if isinstance(node, exp.AggFunc) and not isinstance(node.parent, exp.Window):
            return True
    return False


def connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that cannot touch files or the network (see module)."""
    return duckdb.connect(":memory:", config={
        "enable_external_access": False, "memory_limit": MEMORY_LIMIT,
        "lock_configuration": True,
    })
