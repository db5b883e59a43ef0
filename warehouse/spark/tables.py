"""Where the customer data comes from on Spark, and the contract's views over it.

Two sources:
- a folder (ASSISTANT_SPARK_TABLES) with one Parquet dataset per table: `DIR/customers/` (a
  folder of Parquet files) or `DIR/customers.parquet`, as `assistant export --format parquet DIR`
  writes them from a DuckDB warehouse, together with `DIR/_catalog.json` (table and column
  comments, DuckDB types). Each dataset becomes a temporary view named after it; nothing is
  written to any catalog;
- the Spark catalog (a Hive metastore or Unity/Glue catalog configured for the cluster): the
  tables and views of the current database, with their comments.

Comments missing from the source are filled in from the contract (warehouse/contract.py) for the
contract tables. The contract's views (reference_period, customer_status) are created as
temporary views from their DuckDB definitions rendered for Spark (warehouse/spark/dialect.py),
so the business definitions mean the same on both engines.
"""

from __future__ import annotations

import json
from pathlib import Path

from warehouse.contract import TABLES_BY_NAME
from warehouse.engine import ColumnInfo, TableInfo
from warehouse.errors import ConfigError

CATALOG_FILE = "_catalog.json"


def duckdb_type(dtype) -> str:
    """A Spark data type as the DuckDB type of the same values."""
    from pyspark.sql import types as T

    simple = {
        T.LongType: "BIGINT", T.IntegerType: "INTEGER", T.ShortType: "SMALLINT",
        T.ByteType: "TINYINT", T.DoubleType: "DOUBLE", T.FloatType: "FLOAT",
        T.StringType: "VARCHAR", T.BooleanType: "BOOLEAN", T.DateType: "DATE",
        T.TimestampType: "TIMESTAMP", T.TimestampNTZType: "TIMESTAMP", T.BinaryType: "BLOB",
        T.NullType: "INTEGER",
    }
    for kind, name in simple.items():
        if isinstance(dtype, kind):
            return name
    if isinstance(dtype, T.DecimalType):
        return f"DECIMAL({dtype.precision},{dtype.scale})"
    if isinstance(dtype, T.ArrayType):
        return f"{duckdb_type(dtype.elementType)}[]"
    if isinstance(dtype, T.MapType):
        return f"MAP({duckdb_type(dtype.keyType)}, {duckdb_type(dtype.valueType)})"
    if isinstance(dtype, T.StructType):
        fields = ", ".join(f'"{f.name}" {duckdb_type(f.dataType)}' for f in dtype.fields)
        return f"STRUCT({fields})"
    if isinstance(dtype, T.VarcharType | T.CharType):
        return "VARCHAR"
    return "VARCHAR"


def _datasets(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_dir() and any(entry.rglob("*.parquet")):
            found[entry.name.lower()] = entry
        elif entry.suffix == ".parquet" and entry.is_file():
            found[entry.stem.lower()] = entry
    return found


def _comments(folder: Path | None) -> dict:
    if folder is None or not (folder / CATALOG_FILE).exists():
        return {}
    try:
        return json.loads((folder / CATALOG_FILE).read_text()).get("tables", {})
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{folder / CATALOG_FILE} is not valid JSON ({exc}); re-run "
                          "`assistant export --format parquet`") from None


def _info(name: str, schema, kind: str, comment: str, column_comments: dict[str, str]
          ) -> TableInfo:
    contract = TABLES_BY_NAME.get(name)
    contract_cols = {c.name: c.comment for c in contract.columns} if contract else {}
    columns = tuple(
        ColumnInfo(f.name, duckdb_type(f.dataType),
                   column_comments.get(f.name) or (f.metadata or {}).get("comment")
                   or contract_cols.get(f.name, ""))
        for f in schema.fields)
    return TableInfo("main", name, kind, columns,
                     comment or (contract.comment if contract else ""))


def register_folder(spark, folder: Path) -> list[TableInfo]:
    """One temporary view per Parquet dataset in `folder`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"ASSISTANT_SPARK_TABLES={folder} is not a folder; write one with "
                          "`assistant export --format parquet DIR` from a DuckDB warehouse")
    datasets = _datasets(folder)
    if not datasets:
        raise ConfigError(f"{folder} holds no Parquet datasets (one folder or .parquet file per "
                          "table, e.g. customers/, transactions/)")
    comments = _comments(folder)
    infos = []
    for name, path in datasets.items():
        frame = spark.read.parquet(str(path))
        frame.createOrReplaceTempView(name)
        meta = comments.get(name, {})
        infos.append(_info(name, frame.schema, "table", meta.get("comment", ""),
                           meta.get("columns", {})))
    return infos


def register_catalog(spark) -> list[TableInfo]:
    """The tables and views of the Spark catalog's current database."""
    infos = []
    for table in spark.catalog.listTables():
        if table.isTemporary and table.name.startswith("__"):   # the handle's own views
            continue
        name = table.name.lower()
        schema = spark.table(table.name).schema
        columns = {c.name: c.description or "" for c in spark.catalog.listColumns(table.name)}
        infos.append(_info(name, schema, "view" if table.tableType == "VIEW" else "table",
                           table.description or "", columns))
    if not infos:
        raise ConfigError("the Spark catalog has no tables; set ASSISTANT_SPARK_TABLES to a "
                          "folder written by `assistant export --format parquet DIR`, or "
                          "configure the cluster's catalog (SPARK_CONF_DIR)")
    return infos
