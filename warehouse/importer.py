"""Import a user's own CSV or Parquet files into the contract tables, all or nothing.

`import_files(wh, [ImportSpec(path), ...])` reads each file through a separate, unsandboxed
in-memory DuckDB connection (the warehouse handle itself is normally sandboxed and cannot read
files), hands the rows to the warehouse as Arrow, checks them there in SQL (vectorised, no Python
loop per row) and loads them inside ONE warehouse transaction: any error rolls everything back.

What the checks do, in order, per file:

1. Columns. `ImportSpec.mapping` renames file columns first (file column -> contract column);
   names match case-insensitively after trimming. A missing required or key column, or a file
   column the contract does not know (unless `ignore_extra`), is an error with "did you mean"
   suggestions. Optional contract columns absent from the file load as NULL.
2. Values, per column, after trimming spaces, tabs and line breaks; an empty value is NULL:
   - BIGINT: whole numbers only (`12`, `12.0`; not `12.5`, `1e3`, `0x10`);
   - DECIMAL: plain numbers with a dot (`1234.5`, `-3`, `1e2`); more decimals than the column
     keeps are rounded (amounts to cents);
   - DATE: `YYYY-MM-DD` (a midnight time part such as `2024-01-31 00:00:00` is accepted);
   - TIMESTAMP: `YYYY-MM-DD HH:MM[:SS[.ffffff]]` (or with `T`); a time-zone offset is dropped,
     the contract stores local times;
   - BOOLEAN: true/false, t/f, yes/no, y/n, 1/0 in any case;
   - value sets (`Column.values`): when every allowed value is a lower-case word (`verified`,
     `paid_search`, ...) the value is lower-cased before the check, so `Verified` loads as
     `verified`; other sets (`income_band` such as `50-100k`, `jurisdiction` GDPR/CCPA/OTHER) are
     only trimmed and checked case-sensitively. `currency` has no value set and is only trimmed;
   - `country` and `*_country` columns are upper-cased and must be two letters (ISO-2);
   - `amount` must be positive (the sign is given by `direction`);
   - NULL in a required or key column is a bad value.
3. Keys: a key repeated within the file; in append mode a key already in the table (also from a
   file loaded earlier in the same import).
4. Parents (`Table.parents`): a customer_id / account_id / campaign_id with no row in the parent
   table, counting rows loaded earlier in the same import. Files are loaded parents first
   (customers and campaigns, then accounts, then the rest) whatever order they are given in.

With `max_rejects == 0` the first bad row raises `ImportFileError` naming the file, column and
row. With `max_rejects > 0` up to that many bad rows per file are skipped and written, with their
original values plus `line` and `reason`, to `<stem>.rejects.csv` (next to the file or in
`rejects_dir`), only once the whole import has succeeded.

Row numbers: for CSV the row number is the line in the file, the header being line 1 (so the
first data row is line 2; a quoted value spanning several lines is accounted for, blank lines
that the reader skips are not). For Parquet it is the 1-based data row.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

from warehouse import schema
from warehouse.connection import Warehouse, describe_error
from warehouse.contract import TABLES
from warehouse.errors import AssistantError, ImportFileError
from warehouse.files import atomic_path
from warehouse.import_checks import (
    WHITESPACE,
    column_checks,
    convert_sql,
    key_description,
    sql_literal,
)
from warehouse.import_read import LINE, Plan, load_rank, normalise, plan_file, read_rows
from warehouse.import_spec import FileReport, ImportReport, ImportSpec, infer_table, parse_mapping

__all__ = [
    "FileReport",
    "ImportReport",
    "ImportSpec",
    "import_files",
    "infer_table",
    "parse_mapping",
]

Mode = Literal["append", "replace"]

_SRC = "__import_src"
_STAGE = "__import_stage"


# -- the import ----------------------------------------------------------------------------------
def import_files(
    wh: Warehouse,
    files: Sequence[ImportSpec],
    *,
    mode: Mode = "append",
    max_rejects: int = 0,
    rejects_dir: Path | None = None,
) -> ImportReport:
    """Load CSV/Parquet files into the contract tables in one transaction; all or nothing.

    `mode="append"` adds rows (a key already in the table is a bad row); `mode="replace"` first
    empties every table a file is given for. `max_rejects` is how many bad rows each file may have
    (skipped and written to a rejects CSV in `rejects_dir`, default next to the file); 0 means the
    first bad row stops the import. Raises ImportFileError (naming file, column and row) and leaves
    the warehouse unchanged on any problem.
    """
    if mode not in ("append", "replace"):
        raise AssistantError(f"import mode must be 'append' or 'replace', not {mode!r}")
    if max_rejects < 0:
        raise AssistantError(f"max_rejects must be 0 or more, not {max_rejects}")
    if not files:
        raise AssistantError("no files to import")
    if wh.read_only:
        raise AssistantError(
            f"the warehouse {wh.path} is open read-only; open it for writing to import files"
        )

    reader = duckdb.connect(":memory:")
    try:
        # Cheap checks first (format, header, columns) for every file, before any loading.
        plans = [plan_file(reader, spec) for spec in files]
        plans.sort(key=lambda p: load_rank(p.table.name))  # stable: given order within a table
        report = ImportReport(mode=mode)
        rejects: list[tuple[FileReport, pa.Table]] = []
        with wh.transaction() as cur:
            # the tables, comments and views, inside the import's own transaction: a failed
            # import leaves the warehouse file exactly as it was
            schema.apply(cur)
            if mode == "replace":
                for name in dict.fromkeys(p.table.name for p in plans):
                    report.replaced[name] = int(_scalar(cur, f"SELECT count(*) FROM {name}"))
                    cur.execute(f"DELETE FROM {name}")
            for plan in plans:
                file_report, rejected = _load(wh, cur, reader, plan, max_rejects)
                report.files.append(file_report)
                if rejected is not None:
                    rejects.append((file_report, rejected))
            if mode == "replace":
                report.warnings.extend(_orphan_warnings(cur, set(report.replaced)))
            # Written last and inside the transaction: a failed write rolls the import back.
            for file_report, rejected in rejects:
                target = _rejects_path(file_report.path, rejects_dir)
                _write_csv_atomic(rejected, target)
                file_report.rejects_file = target
        return report
    finally:
        reader.close()


def _scalar(cur: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> Any:
    # fetchall, not fetchone: DuckDB 2.0 keeps a half-read result open, and an open result makes
    # register() and sql() on the same cursor fail.
    rows = cur.execute(sql, params).fetchall()
    return rows[0][0] if rows else None


def _existing_tables(cur: duckdb.DuckDBPyConnection) -> set[str]:
    rows = cur.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'")
    return {r[0] for r in rows.fetchall()}


def _load(wh: Warehouse, cur: duckdb.DuckDBPyConnection, reader: duckdb.DuckDBPyConnection,
          plan: Plan, max_rejects: int) -> tuple[FileReport, pa.Table | None]:
    table = plan.table
    report = FileReport(path=plan.spec.path, table=table.name, format=plan.fmt,
                        delimiter=plan.delimiter, ignored_columns=list(plan.ignored),
                        null_columns=list(plan.null_columns))
    data = read_rows(reader, plan)
    report.rows_read = data.num_rows
    cur.complete()  # finish any half-read result, or register() refuses to run (DuckDB 2.0)
    wh.register(_SRC, data)
    try:
        return _check_and_insert(cur, plan, report, max_rejects)
    except duckdb.Error as exc:
        raise ImportFileError(f"could not be loaded into {table.name}: {describe_error(exc)}",
                              file=plan.file) from exc
    finally:
        try:
            wh.unregister(_SRC)
            cur.execute(f"DROP TABLE IF EXISTS {_STAGE}")
        except duckdb.Error:
            pass  # the transaction failed already; its rollback discards the temp table


def _check_and_insert(cur: duckdb.DuckDBPyConnection, plan: Plan, report: FileReport,
                      max_rejects: int) -> tuple[FileReport, pa.Table | None]:
    table = plan.table
    cols = [table.column(c) for c in plan.assign]
    names = [c.name for c in cols]
    unit = "line" if plan.fmt == "csv" else "row"

    def where(n: int) -> str:
        if plan.fmt == "csv":
            return f" (line {n} of the file, counting the header as line 1)"
        return f" (data row {n})"

    # 1. Values: one pass computing trimmed text, converted value and the first failing check.
    checks = column_checks(table, cols)
    column_of = {c.key: c.column for c in checks}
    text_sql = ", ".join(
        f"NULLIF(trim(CAST(c{plan.assign[n]} AS VARCHAR), {WHITESPACE}), '') AS t_{n}"
        for n in names)
    conv_sql = ", ".join(f"{convert_sql(c, f't_{c.name}')[0]} AS x_{c.name}" for c in cols)
    key_case = " ".join(f"WHEN {c.cond} THEN {sql_literal(c.key)}" for c in checks)
    detail_case = " ".join(f"WHEN {c.cond} THEN {c.detail}" for c in checks)
    cur.execute(f"""
        CREATE OR REPLACE TEMP TABLE {_STAGE} AS
        WITH t AS (SELECT {LINE}, {text_sql} FROM {_SRC}),
        x AS (SELECT *, {conv_sql} FROM t)
        SELECT {LINE}, {', '.join(f'x_{n} AS {n}' for n in names)},
               {f'CASE {key_case} END' if checks else 'NULL'}::VARCHAR AS __reason_key,
               {f'CASE {detail_case} END' if checks else 'NULL'}::VARCHAR AS __reason
        FROM x""")

    hints: dict[str, str] = {}  # reason -> advice appended to the error message

    def enforce() -> None:
        [(bad, first)] = cur.execute(
            f"SELECT count(*), min({LINE}) FROM {_STAGE} WHERE __reason_key IS NOT NULL"
        ).fetchall()
        if bad <= max_rejects:
            return
        [(key, detail)] = cur.execute(
            f"SELECT __reason_key, __reason FROM {_STAGE} WHERE {LINE} = ?", [first]
        ).fetchall()
        hint = hints.get(key, "")
        if max_rejects:
            message = (f"{bad:,} rows are bad, more than the {max_rejects:,} allowed "
                       f"(--max-rejects); the first: {detail}{where(first)}{hint}")
        else:
            message = f"{detail}{where(first)}{hint}"
        raise ImportFileError(message, file=plan.file, column=column_of.get(key), row=first)

    enforce()

    ok = "__reason_key IS NULL"
    key_cols = list(table.key)
    key_list = ", ".join(key_cols)
    if key_cols:
        # 2. Keys repeated within the file: the first occurrence loads, later ones are bad.
        dup_key = "key repeated within the file"
        column_of[dup_key] = key_list
        dups = _scalar(cur, f"SELECT count(*) FROM (SELECT 1 FROM {_STAGE} WHERE {ok} "
                            f"GROUP BY {key_list} HAVING count(*) > 1)")
        if dups:
            cur.execute(f"""
                UPDATE {_STAGE} AS s SET __reason_key = {sql_literal(dup_key)},
                    __reason = 'key ' || {key_description(key_cols, 'd')} || ' is repeated: {unit} '
                               || d.{LINE} || ' has the same key as {unit} ' || d.first_line
                FROM (SELECT {LINE}, {key_list},
                             min({LINE}) OVER (PARTITION BY {key_list}) AS first_line
                      FROM {_STAGE} WHERE {ok}) AS d
                WHERE s.{LINE} = d.{LINE} AND d.{LINE} > d.first_line""")
            enforce()
        # 3. Keys already in the table (rows from before, or from an earlier file of this run).
        exists_key = f"key already in table {table.name}"
        column_of[exists_key] = key_list
        hints[exists_key] = ("; use --mode replace to replace the table's rows, or remove the "
                             "row from the file")
        match = " AND ".join(f"w.{k} = s.{k}" for k in key_cols)
        cur.execute(f"""
            UPDATE {_STAGE} AS s SET __reason_key = {sql_literal(exists_key)},
                __reason = 'key ' || {key_description(key_cols, 's')} || ' is already in table '
                           || {sql_literal(table.name)}
            WHERE s.{ok} AND EXISTS (SELECT 1 FROM {table.name} w WHERE {match})""")
        enforce()
    # 4. Parents: references must exist (rows loaded earlier in this import count).
    for fk, parent in table.parents.items():
        if fk not in plan.assign:
            continue
        orphan_key = f"column {fk!r} not in table {parent}"
        column_of[orphan_key] = fk
        hints[orphan_key] = (f"; import {parent} first (in this import or before), or remove "
                             "the row")
        cur.execute(f"""
            UPDATE {_STAGE} AS s SET __reason_key = {sql_literal(orphan_key)},
                __reason = {sql_literal(f"column {fk!r} has ")} || s.{fk}
                           || {sql_literal(f", which is not in table {parent}")}
            WHERE s.{ok} AND s.{fk} IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.{fk} = s.{fk})""")
        enforce()

    # Load the good rows; count and collect the bad ones.
    col_list = ", ".join(names)
    cur.execute(f"INSERT INTO {table.name} ({col_list}) SELECT {col_list} FROM {_STAGE} "
                f"WHERE {ok}")
    counts = cur.execute(
        f"SELECT __reason_key, count(*) FROM {_STAGE} WHERE __reason_key IS NOT NULL "
        f"GROUP BY __reason_key ORDER BY count(*) DESC, __reason_key"
    ).fetchall()
    report.rejected_reasons = {k: int(n) for k, n in counts}
    report.rows_rejected = sum(report.rejected_reasons.values())
    report.rows_loaded = report.rows_read - report.rows_rejected
    if not report.rows_rejected:
        return report, None
    originals = ", ".join(f"src.c{i}" for i in range(len(plan.columns)))
    rejected = cur.sql(
        f"SELECT {originals}, s.{LINE}, s.__reason FROM {_STAGE} s "
        f"JOIN {_SRC} src ON src.{LINE} = s.{LINE} "
        f"WHERE s.__reason_key IS NOT NULL ORDER BY s.{LINE}"
    ).to_arrow_table()
    taken = {normalise(c) for c in plan.columns}
    extra = []
    for name in ("line", "reason"):
        while normalise(name) in taken:
            name = "_" + name
        taken.add(normalise(name))
        extra.append(name)
    return report, rejected.rename_columns([*plan.columns, *extra])


# -- after loading ---------------------------------------------------------------------------------
def _orphan_warnings(cur: duckdb.DuckDBPyConnection, replaced: set[str]) -> list[str]:
    """Rows of other tables left pointing at rows a replace removed."""
    warnings = []
    for t in TABLES:
        for fk, parent in t.parents.items():
            if parent not in replaced:
                continue
            n = _scalar(cur, f"SELECT count(*) FROM {t.name} c WHERE c.{fk} IS NOT NULL AND "
                             f"NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.{fk} = c.{fk})")
            if n:
                warnings.append(
                    f"{n:,} rows of {t.name} refer to a {fk} that is no longer in {parent}; "
                    f"import {t.name} again (with --mode replace) so they match"
                )
    return warnings


def _rejects_path(path: Path, rejects_dir: Path | None) -> Path:
    stem = path.name.split(".", 1)[0]
    folder = Path(rejects_dir) if rejects_dir is not None else path.parent
    return folder / f"{stem}.rejects.csv"


def _write_csv_atomic(data: pa.Table, target: Path) -> None:
    with atomic_path(target) as tmp:
        pacsv.write_csv(data, tmp, write_options=pacsv.WriteOptions(quoting_style="needed"))
