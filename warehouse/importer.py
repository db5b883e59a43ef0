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

import csv
import difflib
import gzip
import io
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from assistant.errors import AssistantError, ConfigError, ImportFileError
from warehouse import schema
from warehouse.connection import Warehouse, describe_error
from warehouse.contract import TABLES, TABLES_BY_NAME, Column, Table

__all__ = [
    "FileReport",
    "ImportReport",
    "ImportSpec",
    "import_files",
    "infer_table",
    "parse_mapping",
]

Mode = Literal["append", "replace"]

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {"\\t": "\t", "tab": "\t", "TAB": "\t"}
_HEAD_BYTES = 1 << 16
_LINE = "__line__"  # internal row-number column added to every file
_SRC = "__import_src"
_STAGE = "__import_stage"
_SHOW = 80  # characters of a bad value quoted in a message
_WS = "chr(32) || chr(9) || chr(10) || chr(13) || chr(160)"
_Q = "'"
_BOOL_TRUE = ("true", "t", "yes", "y", "1")
_BOOL_FALSE = ("false", "f", "no", "n", "0")


# -- public data types ---------------------------------------------------------------------------
@dataclass
class ImportSpec:
    """One file to import and how to read it.

    `table=None` infers the table from the file name (`customers.csv`, `accounts_2024.parquet`).
    `mapping` renames file columns to contract columns (`{"cust_id": "customer_id"}`).
    `delimiter=None` detects it from the header line. `ignore_extra` skips file columns the
    contract does not know instead of failing.
    """

    path: Path
    table: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    delimiter: str | None = None
    ignore_extra: bool = False

    def __post_init__(self) -> None:
        self.path = Path(self.path)


@dataclass
class FileReport:
    """What happened to one file."""

    path: Path
    table: str
    format: str  # "csv" or "parquet"
    delimiter: str | None  # CSV only
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rejected_reasons: dict[str, int] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    null_columns: list[str] = field(default_factory=list)  # optional columns absent: NULL
    rejects_file: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "table": self.table,
            "format": self.format,
            "delimiter": self.delimiter,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "rejected_reasons": dict(self.rejected_reasons),
            "ignored_columns": list(self.ignored_columns),
            "null_columns": list(self.null_columns),
            "rejects_file": None if self.rejects_file is None else str(self.rejects_file),
        }


@dataclass
class ImportReport:
    """What an import did: one FileReport per file (in load order) plus totals."""

    mode: str
    files: list[FileReport] = field(default_factory=list)
    replaced: dict[str, int] = field(default_factory=dict)  # table -> rows removed (replace)
    warnings: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)

    @property
    def tables(self) -> dict[str, int]:
        """Rows loaded per table."""
        out: dict[str, int] = {}
        for f in self.files:
            out[f.table] = out.get(f.table, 0) + f.rows_loaded
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "files": [f.to_dict() for f in self.files],
            "replaced": dict(self.replaced),
            "warnings": list(self.warnings),
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "tables": self.tables,
        }

    def to_text(self) -> str:
        n = len(self.files)
        lines = [
            f"Imported {n} file{'s' if n != 1 else ''} ({self.mode}): {self.rows_loaded:,} rows "
            f"loaded, {self.rows_rejected:,} rejected, of {self.rows_read:,} read."
        ]
        for table, removed in self.replaced.items():
            lines.append(f"  replaced {table}: removed the {removed:,} rows it had")
        for f in self.files:
            lines.append(
                f"  {f.path.name} -> {f.table}: {f.rows_loaded:,} loaded, "
                f"{f.rows_rejected:,} rejected of {f.rows_read:,}"
            )
            for reason, count in f.rejected_reasons.items():
                lines.append(f"      {count:,} x {reason}")
            if f.rejects_file is not None:
                lines.append(f"      rejected rows written to {f.rejects_file}")
            if f.ignored_columns:
                lines.append(f"      ignored columns: {', '.join(f.ignored_columns)}")
            if f.null_columns:
                lines.append(f"      not in the file, left empty: {', '.join(f.null_columns)}")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)


# -- small public helpers ------------------------------------------------------------------------
def parse_mapping(text: str) -> dict[str, str]:
    """Parse `"cust_id=customer_id,mail=email"` into `{"cust_id": "customer_id", ...}`.

    Entries are separated by commas (repeated `--map` values joined with commas work too); spaces
    around names are ignored, empty entries are skipped. Raises ConfigError for an entry that is
    not `file_col=contract_col` or for a file column mapped to two different contract columns.
    """
    mapping: dict[str, str] = {}
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        parts = entry.split("=")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise ConfigError(
                f"column mapping {entry!r} is not of the form file_col=contract_col "
                "(for example --map cust_id=customer_id,mail=email)"
            )
        src, dst = parts[0].strip(), parts[1].strip()
        if src in mapping and mapping[src] != dst:
            raise ConfigError(
                f"column mapping names file column {src!r} twice ({src}={mapping[src]} and "
                f"{src}={dst}); map each file column once"
            )
        mapping[src] = dst
    targets: dict[str, str] = {}
    for src, dst in mapping.items():
        key = dst.lower()
        if key in targets:
            raise ConfigError(
                f"column mapping sends both {targets[key]!r} and {src!r} to {dst!r}; "
                "a contract column can come from one file column only"
            )
        targets[key] = src
    return mapping


def infer_table(path: str | Path) -> str:
    """The contract table a file is for, from its name: `customers.csv`, `accounts_2024.parquet`.

    The file name (without its extensions, case ignored) must be a table name or start with one
    followed by something other than a letter. Raises ImportFileError otherwise.
    """
    path = Path(path)
    stem = path.name.split(".", 1)[0].strip().lower()
    matches = [t.name for t in TABLES if re.match(rf"{re.escape(t.name)}(?![a-z])", stem)]
    if not matches:
        raise ImportFileError(
            f"cannot tell which table the file is for from its name; name it after a table "
            f"(for example customers.csv or accounts_2024.parquet) or pass the table explicitly "
            f"(--table); the tables are {', '.join(TABLES_BY_NAME)}",
            file=str(path),
        )
    return max(matches, key=len)


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
        plans = [_plan(reader, spec) for spec in files]
        plans.sort(key=lambda p: _load_rank(p.table.name))  # stable: given order within a table
        report = ImportReport(mode=mode)
        rejects: list[tuple[FileReport, pa.Table]] = []
        with wh.transaction() as cur:
            existing = _existing_tables(cur)
            if any(t.name not in existing for t in TABLES):
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


# -- planning: format, header, columns ------------------------------------------------------------
@dataclass
class _Plan:
    spec: ImportSpec
    table: Table
    fmt: str
    delimiter: str | None
    columns: list[str]  # the file's column names, as written
    assign: dict[str, int]  # contract column -> index of the file column it comes from
    ignored: list[str]
    null_columns: list[str]

    @property
    def file(self) -> str:
        return str(self.spec.path)


def _load_rank(table: str) -> tuple[int, int]:
    """Parents before children: depth in the parent graph, then contract order."""

    def depth(name: str) -> int:
        parents = TABLES_BY_NAME[name].parents.values()
        return 1 + max((depth(p) for p in parents if p != name), default=-1)

    names = [t.name for t in TABLES]
    return depth(table), names.index(table)


def _norm(name: str) -> str:
    return name.strip().lower()


def _suggest(word: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(_norm(word), [_norm(c) for c in candidates], n=3,
                                      cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    return ""


def _plan(reader: duckdb.DuckDBPyConnection, spec: ImportSpec) -> _Plan:
    file = str(spec.path)
    if spec.table is None:
        table = TABLES_BY_NAME[infer_table(spec.path)]
    else:
        name = _norm(spec.table)
        if name not in TABLES_BY_NAME:
            hint = _suggest(name, list(TABLES_BY_NAME))
            raise ImportFileError(
                f"there is no table {spec.table!r}{'; ' + hint if hint else ''}; the tables are "
                f"{', '.join(TABLES_BY_NAME)}",
                file=file,
            )
        table = TABLES_BY_NAME[name]
    fmt = _detect_format(spec.path)
    if fmt == "parquet":
        delimiter = None
        columns = _parquet_columns(reader, spec.path)
    else:
        delimiter, columns = _csv_header(spec.path, spec.delimiter)
    assign, ignored, null_columns = _resolve_columns(spec, table, columns)
    return _Plan(spec, table, fmt, delimiter, columns, assign, ignored, null_columns)


def _detect_format(path: Path) -> str:
    file = str(path)
    if not path.exists():
        raise ImportFileError("no such file", file=file)
    if not path.is_file():
        raise ImportFileError("is not a file (a folder?); give the path of a CSV or Parquet file",
                              file=file)
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise ImportFileError(f"cannot be read: {exc.strerror or exc}", file=file) from exc
    suffixes = [s.lower() for s in path.suffixes]
    last = suffixes[-1] if suffixes else ""
    if magic == b"PAR1":
        return "parquet"
    if last in PARQUET_SUFFIXES:
        raise ImportFileError("is not a Parquet file (it does not start with the Parquet "
                              "signature); is it damaged or misnamed?", file=file)
    if magic.startswith(b"PK\x03\x04"):
        raise ImportFileError("looks like an Excel workbook or a zip archive, not a CSV file; "
                              "save it as CSV (UTF-8) or Parquet", file=file)
    data_suffix = suffixes[-2] if last == ".gz" and len(suffixes) > 1 else last
    if data_suffix not in CSV_SUFFIXES:
        raise ImportFileError(
            f"is not a CSV or Parquet file (expected a name ending in "
            f"{', '.join(CSV_SUFFIXES + PARQUET_SUFFIXES)}, optionally .gz for CSV)",
            file=file,
        )
    return "csv"


def _read_head(path: Path) -> bytes:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            return fh.read(_HEAD_BYTES)
    except (OSError, EOFError) as exc:
        raise ImportFileError(f"cannot be read: {exc}", file=str(path)) from exc


def _parse_delimiter(value: str, file: str) -> str:
    value = _DELIMITER_NAMES.get(value, value)
    if len(value) != 1 or value in "\"\r\n":
        raise ImportFileError(f"the delimiter must be one character such as ',' ';' '|' or "
                              f"'\\t' (tab), not {value!r}", file=file)
    return value


def _show_delim(d: str) -> str:
    return "'\\t'" if d == "\t" else repr(d)


def _csv_header(path: Path, delimiter: str | None) -> tuple[str, list[str]]:
    """Detect the delimiter (unless given) and parse the header line of a CSV file."""
    file = str(path)
    head = _read_head(path)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFileError("is UTF-16 text; save it as CSV UTF-8", file=file)
    if b"\x00" in head:
        raise ImportFileError("contains binary data, not CSV text; save it as CSV (UTF-8)",
                              file=file)
    if len(head) == _HEAD_BYTES:  # do not split a multi-byte character or the last line
        head = head[: head.rfind(b"\n") + 1] or head
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            "is not UTF-8 text (perhaps Windows-1252 or Latin-1); save it as CSV UTF-8",
            file=file,
        ) from exc
    if not text.strip():
        raise ImportFileError("is empty: there is no header line and no data", file=file)

    def header(d: str) -> list[str]:
        return next(csv.reader(io.StringIO(text), delimiter=d, quotechar='"'), [])

    if delimiter is None:
        # The candidate that splits the header into the most columns; a header without any of
        # them is a one-column file.
        delim = max(DELIMITERS, key=lambda d: len(header(d)))
    else:
        delim = _parse_delimiter(delimiter, file)
    columns = header(delim)
    if len(columns) == 1:
        others = [d for d in DELIMITERS if d != delim and d in columns[0]]
        if others:
            seems = max(others, key=lambda d: columns[0].count(d))
            raise ImportFileError(
                f"the header reads as a single column {columns[0][:60]!r} with delimiter "
                f"{_show_delim(delim)}; the file seems to use {_show_delim(seems)} as its "
                f"delimiter: pass --delimiter {_show_delim(seems)}",
                file=file,
            )
    columns = [c if c.strip() else f"column{i + 1}" for i, c in enumerate(columns)]
    return delim, columns


def _parquet_columns(reader: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    try:
        rel = reader.sql("SELECT * FROM read_parquet(?) LIMIT 0", params=[str(path)])
        return list(rel.columns)
    except duckdb.Error as exc:
        raise ImportFileError(f"is not a readable Parquet file: {describe_error(exc)}",
                              file=str(path)) from exc


def _resolve_columns(spec: ImportSpec, table: Table,
                     columns: list[str]) -> tuple[dict[str, int], list[str], list[str]]:
    """Apply the mapping and match file columns to contract columns (case-insensitive)."""
    file = str(spec.path)
    by_norm: dict[str, int] = {}
    for i, col in enumerate(columns):
        key = _norm(col)
        if key in by_norm:
            raise ImportFileError(
                f"the header has {columns[by_norm[key]]!r} and {col!r}, the same column name "
                "twice (names are compared ignoring case and spaces); rename one",
                file=file, column=col,
            )
        by_norm[key] = i
    contract = set(table.column_names)
    mapping: dict[str, str] = {}
    for src, dst in spec.mapping.items():
        s, d = _norm(src), _norm(dst)
        if s not in by_norm:
            hint = _suggest(s, columns)
            raise ImportFileError(
                f"the column mapping {src}={dst} names a column the file does not have"
                f"{'; ' + hint if hint else ''}; the file's columns are {', '.join(columns)}",
                file=file, column=src,
            )
        if d not in contract:
            hint = _suggest(d, table.column_names)
            raise ImportFileError(
                f"the column mapping {src}={dst} names a column table {table.name} does not "
                f"have{'; ' + hint if hint else ''}; its columns are "
                f"{', '.join(table.column_names)}",
                file=file, column=dst,
            )
        mapping[s] = d
    assign: dict[str, int] = {}
    unknown: list[int] = []
    for key, i in by_norm.items():
        target = mapping.get(key, key if key in contract else None)
        if target is None:
            unknown.append(i)
            continue
        if target in assign:
            raise ImportFileError(
                f"both {columns[assign[target]]!r} and {columns[i]!r} would load into column "
                f"{target!r}; map only one of them (--map file_col=contract_col)",
                file=file, column=target,
            )
        assign[target] = i
    needed = [c.name for c in table.columns if c.required or c.name in table.key]
    missing = [c for c in needed if c not in assign]
    if missing:
        spare = [columns[i] for i in unknown]
        col = missing[0]
        hint = _suggest(col, spare)
        if hint:
            close = difflib.get_close_matches(col, [_norm(s) for s in spare], n=1, cutoff=0.6)
            advice = f"{hint} Then pass --map {close[0]}={col}"
        else:
            advice = f"if the file names it differently, pass --map file_col={col}"
        others = f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""
        raise ImportFileError(
            f"the file has no column {col!r}, which table {table.name} requires{others}; "
            f"{advice}; the file's columns are {', '.join(c.strip() for c in columns)}",
            file=file, column=col,
        )
    if unknown and not spec.ignore_extra:
        free = [c for c in table.column_names if c not in assign]
        parts = []
        for i in unknown:
            hint = _suggest(columns[i], free)
            parts.append(f"{columns[i]!r}" + (f" ({hint})" if hint else ""))
        several = len(parts) > 1
        raise ImportFileError(
            f"table {table.name} has no column{'s' if several else ''} {', '.join(parts)}; "
            f"rename {'them' if several else 'it'} with --map file_col=contract_col, or pass "
            f"--ignore-extra to skip columns the table does not have; the table's columns are "
            f"{', '.join(table.column_names)}",
            file=file, column=columns[unknown[0]].strip(),
        )
    ignored = [columns[i] for i in unknown]
    null_columns = [c for c in table.column_names if c not in assign]
    ordered = {c: assign[c] for c in table.column_names if c in assign}
    return ordered, ignored, null_columns


# -- reading ---------------------------------------------------------------------------------------
def _read(reader: duckdb.DuckDBPyConnection, plan: _Plan) -> pa.Table:
    """The file's rows as Arrow, columns renamed c0..cN, plus the 1-based line/row number."""
    file = plan.file
    names = [f"c{i}" for i in range(len(plan.columns))]
    try:
        if plan.fmt == "parquet":
            data = reader.sql("SELECT * FROM read_parquet(?)",
                              params=[str(plan.spec.path)]).to_arrow_table()
            data = data.rename_columns(names)
            line = pa.array(np.arange(1, data.num_rows + 1, dtype=np.int64))
        else:
            data = reader.sql(
                "SELECT * FROM read_csv(?, auto_detect=false, header=true, skip=0, delim=?, "
                "quote='\"', escape='\"', columns=?)",
                params=[str(plan.spec.path), plan.delimiter, dict.fromkeys(names, "VARCHAR")],
            ).to_arrow_table()
            line = _csv_lines(data)
    except duckdb.Error as exc:
        raise _read_error(exc, plan) from exc
    if data.num_rows == 0:
        what = "has a header but no data rows" if plan.fmt == "csv" else "has no rows"
        raise ImportFileError(f"{what}; nothing to import", file=file)
    return data.append_column(_LINE, line)


def _csv_lines(data: pa.Table) -> pa.Array:
    """Line of each record: header is line 1; quoted values with line breaks push lines down."""
    n = data.num_rows
    base = np.arange(2, n + 2, dtype=np.int64)
    if n == 0:
        return pa.array(base)
    extra = np.zeros(n, dtype=np.int64)
    for col in data.columns:
        breaks = pc.fill_null(pc.count_substring(col, "\n"), 0)
        extra += breaks.to_numpy(zero_copy_only=False).astype(np.int64)
    if extra.any():
        base += np.concatenate(([0], np.cumsum(extra)[:-1]))
    return pa.array(base)


_CSV_LINE_RE = re.compile(r"CSV Error on Line: (\d+)")
_COLUMNS_RE = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def _read_error(exc: duckdb.Error, plan: _Plan) -> ImportFileError:
    text = str(exc)
    file = plan.file
    if plan.fmt == "parquet":
        return ImportFileError(f"is not a readable Parquet file: {describe_error(exc)}", file=file)
    m = _CSV_LINE_RE.search(text)
    line = int(m.group(1)) if m else None
    where = f" on line {line}" if line else ""
    if "Invalid unicode" in text or "not utf-8" in text:
        return ImportFileError(f"is not UTF-8 text{where} (perhaps Windows-1252 or Latin-1); "
                               "save it as CSV UTF-8", file=file, row=line)
    cols = _COLUMNS_RE.search(text)
    if cols:
        expected, found = cols.groups()
        return ImportFileError(
            f"line {line} has {found} values but the header has {expected} columns (line 1 is "
            f"the header); check for a stray {_show_delim(plan.delimiter or ',')} or an "
            "unquoted value, or pass the right --delimiter",
            file=file, row=line,
        )
    if "unterminated quote" in text:
        return ImportFileError(f"line {line} has a quote (\") that is never closed", file=file,
                               row=line)
    return ImportFileError(f"cannot be read as CSV{where}: {describe_error(exc)}", file=file,
                           row=line)


# -- checking and loading --------------------------------------------------------------------------
def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _scalar(cur: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> Any:
    # fetchall, not fetchone: DuckDB 2.0 keeps a half-read result open, and an open result makes
    # register() and sql() on the same cursor fail.
    rows = cur.execute(sql, params).fetchall()
    return rows[0][0] if rows else None


def _existing_tables(cur: duckdb.DuckDBPyConnection) -> set[str]:
    rows = cur.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'")
    return {r[0] for r in rows.fetchall()}


def _lowercase_set(values: tuple[str, ...]) -> bool:
    return all(re.fullmatch(r"[a-z_]+", v) for v in values)


def _is_country(col: Column) -> bool:
    return col.name == "country" or col.name.endswith("_country")


@dataclass
class _Check:
    key: str  # the reason as counted in the report
    column: str
    cond: str  # SQL over t_<col> (trimmed text) and x_<col> (converted value)
    detail: str  # SQL expression for the per-row reason


def _convert(col: Column, t: str) -> tuple[str, str]:
    """(SQL converting trimmed text `t` to the column's type, description of the wanted form)."""
    typ = col.type.upper()
    if typ == "VARCHAR":
        if col.values is not None and _lowercase_set(col.values):
            return f"lower({t})", ""
        if _is_country(col):
            return f"upper({t})", ""
        return t, ""
    if typ == "BIGINT":
        return (f"CASE WHEN regexp_full_match({t}, '[+-]?[0-9]+([.]0*)?') "
                f"THEN TRY_CAST({t} AS BIGINT) END", "not a whole number")
    if typ.startswith("DECIMAL"):
        return (f"CASE WHEN regexp_full_match({t}, '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)"
                f"([eE][+-]?[0-9]+)?') THEN TRY_CAST({t} AS {col.type}) END",
                "not a number (use a dot for decimals, no thousands separators or currency "
                "signs)")
    if typ == "DATE":
        return (f"CASE WHEN regexp_full_match({t}, "
                f"'[0-9]{{4}}-[0-9]{{1,2}}-[0-9]{{1,2}}([ T]00:00(:00([.]0*)?)?)?') "
                f"THEN CAST(TRY_CAST({t} AS TIMESTAMP) AS DATE) END",
                "not a DATE (use YYYY-MM-DD)")
    if typ == "TIMESTAMP":
        return (f"CASE WHEN regexp_full_match({t}, '[0-9]{{4}}-[0-9]{{1,2}}-[0-9]{{1,2}}.*') "
                f"THEN TRY_CAST({t} AS TIMESTAMP) END",
                "not a TIMESTAMP (use YYYY-MM-DD HH:MM:SS)")
    if typ == "BOOLEAN":
        true = ", ".join(_lit(v) for v in _BOOL_TRUE)
        false = ", ".join(_lit(v) for v in _BOOL_FALSE)
        return (f"CASE WHEN lower({t}) IN ({true}) THEN true "
                f"WHEN lower({t}) IN ({false}) THEN false END",
                "not a BOOLEAN (use true/false, yes/no or 1/0)")
    return f"TRY_CAST({t} AS {col.type})", f"not a {col.type}"


def _checks(table: Table, cols: list[Column]) -> list[_Check]:
    checks: list[_Check] = []
    for col in cols:
        name = col.name
        t, x = f"t_{name}", f"x_{name}"
        shown = f"left({t}, {_SHOW})"

        def has(text: str, name: str = name, shown: str = shown) -> str:
            # SQL for: column 'x' has '<value>'<text>
            return f"{_lit(f'column {name!r} has {_Q}')} || {shown} || {_lit(_Q + text)}"

        if col.required or name in table.key:
            msg = f"column {name!r} is empty, but a value is required"
            checks.append(_Check(msg, name, f"{t} IS NULL", _lit(msg)))
        _, wanted = _convert(col, t)
        if wanted:
            checks.append(_Check(f"column {name!r} is {wanted}", name,
                                 f"{t} IS NOT NULL AND {x} IS NULL", has(f", {wanted}")))
        if col.values is not None:
            allowed = ", ".join(col.values)
            checks.append(_Check(
                f"column {name!r} is not one of {allowed}", name,
                f"{x} IS NOT NULL AND {x} NOT IN ({', '.join(_lit(v) for v in col.values)})",
                has(f", not one of {allowed}"),
            ))
        if _is_country(col):
            checks.append(_Check(
                f"column {name!r} is not a two-letter ISO country code", name,
                f"{x} IS NOT NULL AND NOT regexp_full_match({x}, '[A-Z]{{2}}')",
                has(", not a two-letter ISO country code (like DE)"),
            ))
        if name == "amount":
            checks.append(_Check(
                f"column {name!r} is not positive", name, f"{x} IS NOT NULL AND {x} <= 0",
                has(", but amounts must be positive (direction gives the sign)"),
            ))
    return checks


def _key_desc(cols: Sequence[str], alias: str) -> str:
    parts = [f"{_lit(c + '=')} || CAST({alias}.{c} AS VARCHAR)" for c in cols]
    return " || ', ' || ".join(parts)


def _load(wh: Warehouse, cur: duckdb.DuckDBPyConnection, reader: duckdb.DuckDBPyConnection,
          plan: _Plan, max_rejects: int) -> tuple[FileReport, pa.Table | None]:
    table = plan.table
    report = FileReport(path=plan.spec.path, table=table.name, format=plan.fmt,
                        delimiter=plan.delimiter, ignored_columns=list(plan.ignored),
                        null_columns=list(plan.null_columns))
    data = _read(reader, plan)
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


def _check_and_insert(cur: duckdb.DuckDBPyConnection, plan: _Plan, report: FileReport,
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
    checks = _checks(table, cols)
    column_of = {c.key: c.column for c in checks}
    text_sql = ", ".join(
        f"NULLIF(trim(CAST(c{plan.assign[n]} AS VARCHAR), {_WS}), '') AS t_{n}" for n in names)
    conv_sql = ", ".join(f"{_convert(c, f't_{c.name}')[0]} AS x_{c.name}" for c in cols)
    key_case = " ".join(f"WHEN {c.cond} THEN {_lit(c.key)}" for c in checks)
    detail_case = " ".join(f"WHEN {c.cond} THEN {c.detail}" for c in checks)
    cur.execute(f"""
        CREATE OR REPLACE TEMP TABLE {_STAGE} AS
        WITH t AS (SELECT {_LINE}, {text_sql} FROM {_SRC}),
        x AS (SELECT *, {conv_sql} FROM t)
        SELECT {_LINE}, {', '.join(f'x_{n} AS {n}' for n in names)},
               {f'CASE {key_case} END' if checks else 'NULL'}::VARCHAR AS __reason_key,
               {f'CASE {detail_case} END' if checks else 'NULL'}::VARCHAR AS __reason
        FROM x""")

    hints: dict[str, str] = {}  # reason -> advice appended to the error message

    def enforce() -> None:
        [(bad, first)] = cur.execute(
            f"SELECT count(*), min({_LINE}) FROM {_STAGE} WHERE __reason_key IS NOT NULL"
        ).fetchall()
        if bad <= max_rejects:
            return
        [(key, detail)] = cur.execute(
            f"SELECT __reason_key, __reason FROM {_STAGE} WHERE {_LINE} = ?", [first]
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
                UPDATE {_STAGE} AS s SET __reason_key = {_lit(dup_key)},
                    __reason = 'key ' || {_key_desc(key_cols, 'd')} || ' is repeated: {unit} '
                               || d.{_LINE} || ' has the same key as {unit} ' || d.first_line
                FROM (SELECT {_LINE}, {key_list},
                             min({_LINE}) OVER (PARTITION BY {key_list}) AS first_line
                      FROM {_STAGE} WHERE {ok}) AS d
                WHERE s.{_LINE} = d.{_LINE} AND d.{_LINE} > d.first_line""")
            enforce()
        # 3. Keys already in the table (rows from before, or from an earlier file of this run).
        exists_key = f"key already in table {table.name}"
        column_of[exists_key] = key_list
        hints[exists_key] = ("; use --mode replace to replace the table's rows, or remove the "
                             "row from the file")
        match = " AND ".join(f"w.{k} = s.{k}" for k in key_cols)
        cur.execute(f"""
            UPDATE {_STAGE} AS s SET __reason_key = {_lit(exists_key)},
                __reason = 'key ' || {_key_desc(key_cols, 's')} || ' is already in table '
                           || {_lit(table.name)}
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
            UPDATE {_STAGE} AS s SET __reason_key = {_lit(orphan_key)},
                __reason = {_lit(f"column {fk!r} has ")} || s.{fk}
                           || {_lit(f", which is not in table {parent}")}
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
        f"SELECT {originals}, s.{_LINE}, s.__reason FROM {_STAGE} s "
        f"JOIN {_SRC} src ON src.{_LINE} = s.{_LINE} "
        f"WHERE s.__reason_key IS NOT NULL ORDER BY s.{_LINE}"
    ).to_arrow_table()
    taken = {_norm(c) for c in plan.columns}
    extra = []
    for name in ("line", "reason"):
        while _norm(name) in taken:
            name = "_" + name
        taken.add(_norm(name))
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
    """Write `data` as CSV to `target` via a temporary file in the same folder and os.replace."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        pacsv.write_csv(data, tmp, write_options=pacsv.WriteOptions(quoting_style="needed"))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
