"""The SQL guard's Spark layer: Spark's own ways out of a read-only query, refused.

Model SQL is first checked by the one guard (tools/sql_guard.py) in the canonical DuckDB dialect:
one read-only query over known tables, no files, no system catalogs, no DDL or DML. On the Spark
engine two more locks apply:

- `check_canonical(tree)`, called by the guard: functions that reach Java or files on Spark but
  are unknown to DuckDB (`reflect`, `java_method`, `input_file_name`, the XML readers, ...), and
  file-format "schemas" (`parquet."/path"`, `csv.x`, `delta.y`);
- `check_spark(sql)`, called on every statement the Spark engine is about to run: the rendered
  Spark SQL must parse as exactly one query, with no path tables (parquet.`/path`), no
  `reflect`/`java_method`, no script TRANSFORM ... USING, no function registration, no SET,
  ADD JAR, CACHE, REFRESH or other commands, no DDL or DML.

The session itself has `spark.sql.runSQLOnFiles=false`, so a path table that got past both would
still find nothing.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

from warehouse.errors import SqlRefused

# Functions that call Java, read files or describe the files a row came from.
JAVA_OR_FILES = frozenset({
    "reflect", "java_method", "try_reflect", "input_file_name", "input_file_block_start",
    "input_file_block_length", "xpath", "xpath_string", "xpath_boolean", "xpath_int",
    "xpath_long", "xpath_short", "xpath_float", "xpath_double", "xpath_number", "from_xml",
    "schema_of_xml", "from_avro", "to_avro", "from_protobuf", "to_protobuf", "read_files",
})
# Data source names that Spark SQL accepts as a "schema" to read a path: format.`/path`.
FILE_FORMATS = frozenset({
    "parquet", "csv", "json", "orc", "text", "avro", "binaryfile", "delta", "iceberg", "hudi",
    "jdbc", "hive", "libsvm", "image", "xml", "file", "dbfs", "s3", "s3a", "hdfs", "gs", "abfss",
})
_PATHLIKE = re.compile(r"[/\\:]|\.(csv|tsv|parquet|json|orc|avro|txt|xml)$", re.I)
_SCRIPT = re.compile(r"\bUSING\s+'", re.I)


def _function_name(node: exp.Func) -> str:
    return (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()


def _refuse_function(name: str) -> SqlRefused:
    return SqlRefused(f"the function {name}() is not allowed on the Spark engine: it calls Java "
                      "or reads files; query the warehouse tables instead")


def _check_table(table: exp.Table) -> None:
    schema = (table.db or "").lower()
    if schema in FILE_FORMATS or _PATHLIKE.search(table.name or ""):
        raise SqlRefused(f"reading files by path ({table.sql('spark')}) is not allowed; query "
                         "the warehouse tables instead")


def check_canonical(tree: exp.Expression) -> None:
    """The Spark-only refusals on a DuckDB-dialect query the guard has accepted."""
    for node in tree.walk():
        if isinstance(node, exp.Func) and _function_name(node) in JAVA_OR_FILES:
            raise _refuse_function(_function_name(node))
        if isinstance(node, exp.Table):
            _check_table(node)


def check_spark(sql: str) -> None:
    """Refuse Spark SQL that is not one plain read-only query (see the module docstring)."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="spark") if s is not None]
    except sqlglot.errors.SqlglotError:
        raise SqlRefused("the query could not be checked for the Spark engine; write one plain "
                         "SELECT") from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise SqlRefused("only one read-only SELECT query may run on the Spark engine")
    tree = statements[0]
    for node in tree.walk():
        if isinstance(node, exp.Command | exp.DDL | exp.DML | exp.Set | exp.QueryTransform):
            raise SqlRefused("only read-only SELECT queries may run on the Spark engine (no "
                             "SET, ADD JAR, functions, scripts, DDL or DML)")
        if isinstance(node, exp.Func) and _function_name(node) in JAVA_OR_FILES:
            raise _refuse_function(_function_name(node))
        if isinstance(node, exp.Table):
            _check_table(node)
    if _SCRIPT.search(_strip_strings(sql)):
        raise SqlRefused("script transforms (TRANSFORM ... USING) are not allowed on Spark")


def _strip_strings(sql: str) -> str:
    """`sql` with the insides of quoted strings blanked, so keywords in them are not seen."""
    return re.sub(r"'(?:[^'\\]|\\.|'')*'", "'", sql)
