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
   - `amount` must not be negative (the sign is given by `direction`; 0 is a free purchase);
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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

from warehouse import origin, schema
from warehouse.connection import Warehouse, describe_error
from warehouse.contract import TABLES, Column, Table
from warehouse.errors import AssistantError, DemoDataPresent, ImportFileError
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
    "Prepared",
    "import_files",
    "infer_table",
    "load_prepared",
    "parse_mapping",
]

Mode = Literal["append", "replace"]
AfterImport = Callable[[duckdb.DuckDBPyConnection, ImportReport], None]
PRE_KEY, PRE_REASON = "__pre_key", "__pre_reason"   # a bad value found before the checks

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
    remove_demo: bool = False,
    after: AfterImport | None = None,
) -> ImportReport:
    """Load CSV/Parquet files into the contract tables in one transaction; all or nothing.

    `mode="append"` adds rows (a key already in the table is a bad row); `mode="replace"` first
    empties every table a file is given for and every table that depends on one (replacing
    customers empties accounts, transactions, app events, consents and campaign events too:
    rows of replaced customers never stay behind). `max_rejects` is how many bad rows each file
    may have (skipped and written to a rejects CSV in `rejects_dir`, default next to the file);
    0 means the first bad row stops the import.

    A warehouse holding generated demo data refuses the import (DemoDataPresent), unless
    `remove_demo`, which deletes every demo row of every contract table first. `after(cur,
    report)` runs inside the transaction once the rows are in (the caller clears what the
    assistant derived from the old data there). Raises ImportFileError (naming file, column and
    row) and leaves the warehouse unchanged on any problem.
    """
    reader = duckdb.connect(":memory:")
    try:
        # Cheap checks first (format, header, columns) for every file, before any loading.
        plans = [plan_file(reader, spec) for spec in files] if files else []
        loads = [Prepared(plan, lambda plan=plan: read_rows(reader, plan)) for plan in plans]
        return load_prepared(wh, loads, mode=mode, max_rejects=max_rejects,
                             rejects_dir=rejects_dir, remove_demo=remove_demo, after=after)
    finally:
        reader.close()


@dataclass
class Prepared:
    """One load into a contract table: its plan and how to get its rows (Arrow, columns c0..cN
    plus the line number, see warehouse.import_read.read_rows). The mapping importer
    (warehouse/mapping) builds these from its sources; `extra` are columns the table gains
    (`add columns freely`), `skipped` rows the mapping skipped on purpose, by reason."""

    plan: Plan
    rows: Callable[[], pa.Table]
    extra: tuple[Column, ...] = ()
    skipped: dict[str, int] = field(default_factory=dict)
    source: str | None = None   # how the report names the input (default: the file name)
    grouped_from: int | None = None   # a grouped load: the source rows its rows summarise


def load_prepared(
    wh: Warehouse,
    loads: Sequence[Prepared],
    *,
    mode: Mode = "append",
    max_rejects: int = 0,
    rejects_dir: Path | None = None,
    remove_demo: bool = False,
    after: AfterImport | None = None,
    before: AfterImport | None = None,
) -> ImportReport:
    """Check and load prepared rows into the contract tables in ONE transaction (see
    `import_files`); `before(cur, report)` runs first inside it (the mapping importer creates
    its own tables there)."""
    if mode not in ("append", "replace"):
        raise AssistantError(f"import mode must be 'append' or 'replace', not {mode!r}")
    if max_rejects < 0:
        raise AssistantError(f"max_rejects must be 0 or more, not {max_rejects}")
    if not loads and before is None:
        raise AssistantError("no files to import")
    if wh.read_only:
        raise AssistantError(
            f"the warehouse {wh.path} is open read-only; open it for writing to import files"
        )
    # parents first; stable: the given order within a table
    loads = sorted(loads, key=lambda p: load_rank(p.plan.table.name))
    report = ImportReport(mode=mode)
    rejects: list[tuple[FileReport, pa.Table]] = []
    targets = set(dict.fromkeys(p.plan.table.name for p in loads))
    with wh.transaction() as cur:
        # the tables, comments and views, inside the import's own transaction: a failed
        # import leaves the warehouse file exactly as it was
        schema.apply(cur)
        if targets:
            _guard_demo(wh, cur, report, remove_demo)
        if before is not None:
            before(cur, report)
        if mode == "replace" and targets:
            _replace(cur, report, targets)
        for item in loads:
            file_report, rejected = _load(wh, cur, item, max_rejects)
            report.files.append(file_report)
            if rejected is not None:
                rejects.append((file_report, rejected))
        if targets:
            origin.record(cur, "own", last_import=sorted(targets))
        if after is not None:
            after(cur, report)
        # Written last and inside the transaction: a failed write rolls the import back.
        for file_report, rejected in rejects:
            target = _rejects_path(file_report.path, rejects_dir)
            _write_csv_atomic(rejected, target)
            file_report.rejects_file = target
    return report


def _guard_demo(wh: Warehouse, cur: duckdb.DuckDBPyConnection, report: ImportReport,
                remove_demo: bool) -> None:
    """Never mix the user's rows with generated demo rows: refuse, or remove the demo first."""
    demo = origin.demo_rows(cur, wh.path)
    if not demo:
        return
    if not remove_demo:
        held = ", ".join(f"{n:,} {t}" for t, n in demo.items())
        raise DemoDataPresent(
            f"the warehouse {wh.path} holds generated demo data ({held}); importing your files "
            "into it would mix your customers with made-up ones. Start an empty warehouse with "
            "`assistant init --empty --path data/mine.duckdb` and import there, or pass "
            "--remove-demo to delete every demo row (and the segments, scores and models built "
            "on them) first")
    for name in reversed([t.name for t in TABLES]):   # children before parents
        if demo.get(name):
            cur.execute(f"DELETE FROM {name}")
    report.removed_demo = demo


def _replace(cur: duckdb.DuckDBPyConnection, report: ImportReport, targets: set[str]) -> None:
    """Empty the target tables and every table that depends on one (children first)."""
    order = [t.name for t in TABLES]
    dependents = origin.descendants(targets)
    for name in sorted(targets | set(dependents), key=order.index, reverse=True):
        n = int(_scalar(cur, f"SELECT count(*) FROM {name}"))
        if name in targets:
            report.replaced[name] = n
        elif n:
            report.emptied[name] = n
        cur.execute(f"DELETE FROM {name}")
    report.replaced = {t: report.replaced[t] for t in order if t in report.replaced}
    report.emptied = {t: report.emptied[t] for t in order if t in report.emptied}


def _add_columns(cur: duckdb.DuckDBPyConnection, table: Table, extra: Sequence[Column]) -> None:
    """Columns of the user's own on a contract table (the contract allows adding columns)."""
    have = {name: dtype for name, dtype in cur.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'main' AND "
        "table_name = ?", [table.name]).fetchall()}
    for col in extra:
        if col.name in table.column_names:
            continue
        if col.name in have:
            if have[col.name].upper() != col.type.upper():
                raise AssistantError(
                    f"table {table.name} already has a column {col.name} of type "
                    f"{have[col.name]}; the mapping gives it type {col.type}: use the same "
                    "type, or another name")
        else:
            cur.execute(f'ALTER TABLE {table.name} ADD COLUMN "{col.name}" {col.type}')
        cur.execute(f'COMMENT ON COLUMN {table.name}."{col.name}" IS {sql_literal(col.comment)}')


def _scalar(cur: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> Any:
    # fetchall, not fetchone: DuckDB 2.0 keeps a half-read result open, and an open result makes
    # register() and sql() on the same cursor fail.
    rows = cur.execute(sql, params).fetchall()
    return rows[0][0] if rows else None


def _load(wh: Warehouse, cur: duckdb.DuckDBPyConnection, item: Prepared,
          max_rejects: int) -> tuple[FileReport, pa.Table | None]:
    plan = item.plan
    table = plan.table
    report = FileReport(path=plan.spec.path, table=table.name, format=plan.fmt,
                        delimiter=plan.delimiter, ignored_columns=list(plan.ignored),
                        null_columns=list(plan.null_columns), source=item.source,
                        skipped=dict(item.skipped),
                        added_columns=[c.name for c in item.extra])
    if item.extra:
        _add_columns(cur, table, item.extra)
        plan = replace(plan, table=replace(table, columns=table.columns + tuple(
            c for c in item.extra if c.name not in table.column_names)))
    data = item.rows()
    report.grouped_from = item.grouped_from
    report.rows_read = data.num_rows + (sum(item.skipped.values())
                                        if item.grouped_from is None else 0)
    cur.complete()  # finish any half-read result, or register() refuses to run (DuckDB 2.0)
    if not data.num_rows:
        return report, None
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
    column_of = {c.key: c.column for c in checks} | dict(plan.pre_columns)
    text_sql = ", ".join(
        f"NULLIF(trim(CAST(c{plan.assign[n]} AS VARCHAR), {WHITESPACE}), '') AS t_{n}"
        for n in names)
    conv_sql = ", ".join(f"{convert_sql(c, f't_{c.name}')[0]} AS x_{c.name}" for c in cols)
    key_case = " ".join(f"WHEN {c.cond} THEN {sql_literal(c.key)}" for c in checks)
    detail_case = " ".join(f"WHEN {c.cond} THEN {c.detail}" for c in checks)
    pre = ""
    if plan.pre_checked:   # the mapping found bad values in its sources (formats, types)
        key_case = f"WHEN {PRE_KEY} IS NOT NULL THEN {PRE_KEY} {key_case}"
        detail_case = f"WHEN {PRE_KEY} IS NOT NULL THEN {PRE_REASON} {detail_case}"
        pre = f", {PRE_KEY}, {PRE_REASON}"
    cases = bool(checks) or plan.pre_checked
    cur.execute(f"""
        CREATE OR REPLACE TEMP TABLE {_STAGE} AS
        WITH t AS (SELECT {LINE}, {text_sql}{pre} FROM {_SRC}),
        x AS (SELECT *, {conv_sql} FROM t)
        SELECT {LINE}, {', '.join(f'x_{n} AS {n}' for n in names)},
               {f'CASE {key_case} END' if cases else 'NULL'}::VARCHAR AS __reason_key,
               {f'CASE {detail_case} END' if cases else 'NULL'}::VARCHAR AS __reason
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
    report.rows_loaded = report.rows_read - report.rows_rejected - (
        sum(report.skipped.values()) if report.grouped_from is None else 0)
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
def _rejects_path(path: Path, rejects_dir: Path | None) -> Path:
    stem = path.name.split(".", 1)[0]
    folder = Path(rejects_dir) if rejects_dir is not None else path.parent
    return folder / f"{stem}.rejects.csv"


def _write_csv_atomic(data: pa.Table, target: Path) -> None:
    with atomic_path(target) as tmp:
        pacsv.write_csv(data, tmp, write_options=pacsv.WriteOptions(quoting_style="needed"))
