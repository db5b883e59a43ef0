"""Reading import files: format, delimiter and header detection, column matching, rows as Arrow.

Files are read through a separate in-memory DuckDB connection, never the warehouse handle.
"""

from __future__ import annotations

import atexit
import csv
import difflib
import gzip
import io
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from warehouse.connection import describe_error
from warehouse.contract import TABLES, TABLES_BY_NAME, Table
from warehouse.errors import ImportFileError
from warehouse.import_spec import ImportSpec, infer_table

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {"\\t": "\t", "tab": "\t", "TAB": "\t"}
_HEAD_BYTES = 1 << 16
MAX_HEADER_BYTES = 1 << 20   # a header line longer than this is not a CSV header
MAX_COLUMNS = 2_000          # columns a file may have (a 20,000-column file is refused at once)
MAX_NAME_CHARS = 255         # characters a column name may have
LINE = "__line__"  # internal row-number column added to every file
_GLOB_CHARS = re.compile(r"[*?\[\]{}]")
_links: dict[str, str] = {}
_links_dir: list[Path] = []


def literal_path(path: Path) -> str:
    """A path DuckDB reads as exactly this one file. DuckDB expands glob patterns in file
    names (customers[12].csv would load customers1.csv and customers2.csv), so a name with a
    pattern character is read through a link with a plain name in a private folder."""
    text = str(path)
    if not _GLOB_CHARS.search(text):
        return text
    if text not in _links:
        if not _links_dir:
            folder = Path(tempfile.mkdtemp(prefix="assistant-import-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            _links_dir.append(folder)
        suffix = "".join(s for s in path.suffixes if not _GLOB_CHARS.search(s))
        link = _links_dir[0] / f"file{len(_links)}{suffix}"
        link.symlink_to(path.resolve())
        _links[text] = str(link)
    return _links[text]


def names_list(names: Sequence[str], limit: int = 30) -> str:
    """'a, b, c' for a message; a long list is cut, with how many there are."""
    shown = ", ".join(str(n)[:80] for n in list(names)[:limit])
    return shown if len(names) <= limit else f"{shown}, … ({len(names):,} columns)"


@dataclass
class Plan:
    spec: ImportSpec
    table: Table
    fmt: str
    delimiter: str | None
    columns: list[str]  # the file's column names, as written
    assign: dict[str, int]  # contract column -> index of the file column it comes from
    ignored: list[str]
    null_columns: list[str]
    # set by the mapping importer: its rows carry __pre_key / __pre_reason (a bad value found
    # while reading its sources), and which column each such reason is about
    pre_checked: bool = False
    pre_columns: dict[str, str] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return str(self.spec.path)


def load_rank(table: str) -> tuple[int, int]:
    """Parents before children: depth in the parent graph, then contract order."""

    def depth(name: str) -> int:
        parents = TABLES_BY_NAME[name].parents.values()
        return 1 + max((depth(p) for p in parents if p != name), default=-1)

    names = [t.name for t in TABLES]
    return depth(table), names.index(table)


def normalise(name: str) -> str:
    return name.strip().lower()


def suggest(word: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(normalise(word), [normalise(c) for c in candidates], n=3,
                                      cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    return ""


def plan_file(reader: duckdb.DuckDBPyConnection, spec: ImportSpec) -> Plan:
    file = str(spec.path)
    if spec.table is None:
        table = TABLES_BY_NAME[infer_table(spec.path)]
    else:
        name = normalise(spec.table)
        if name not in TABLES_BY_NAME:
            hint = suggest(name, list(TABLES_BY_NAME))
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
        delimiter, columns = csv_header(spec.path, spec.delimiter)
    assign, ignored, null_columns = _resolve_columns(spec, table, columns)
    return Plan(spec, table, fmt, delimiter, columns, assign, ignored, null_columns)


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
    """The first 64 KB of the file, and more up to the end of the header line (at most 1 MB:
    beyond that the file has no usable header)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            head = fh.read(_HEAD_BYTES)
            while b"\n" not in head and len(head) < MAX_HEADER_BYTES:
                more = fh.read(_HEAD_BYTES)
                if not more:
                    break
                head += more
    except (OSError, EOFError) as exc:
        raise ImportFileError(f"cannot be read: {exc}", file=str(path)) from exc
    if b"\n" not in head and len(head) >= MAX_HEADER_BYTES:
        raise ImportFileError(f"line 1 (the header) is longer than {MAX_HEADER_BYTES:,} bytes; "
                              "this is not a CSV file with a header line", file=str(path), row=1)
    return head


def find_binary(path: Path, chunk: int = 1 << 20) -> ImportFileError | None:
    """The error for the first NUL byte anywhere in the file (read in chunks: linear, bounded
    memory), naming its line and character; None for a file without one."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    lines, offset, tail = 0, 0, b""
    try:
        with opener(path, "rb") as fh:
            while True:
                block = fh.read(chunk)
                if not block:
                    return None
                at = block.find(b"\x00")
                if at >= 0:
                    before = block[:at]
                    line = lines + before.count(b"\n") + 1
                    start = before.rfind(b"\n")
                    column = (at - start) if start >= 0 else (len(tail) + at + 1)
                    return ImportFileError(
                        f"contains binary data (a NUL byte on line {line:,}, character "
                        f"{column:,}), not CSV text; save it as CSV (UTF-8)", file=str(path),
                        row=line)
                lines += block.count(b"\n")
                last = block.rfind(b"\n")
                tail = block[last + 1:] if last >= 0 else tail + block
                tail = tail[-(1 << 20):]
                offset += len(block)
    except (OSError, EOFError):
        return None


def binary_problem(head: bytes, file: str) -> ImportFileError | None:
    """An error naming the line and column of the first NUL byte in `head`, if any."""
    at = head.find(b"\x00")
    if at < 0:
        return None
    line = head.count(b"\n", 0, at) + 1
    column = at - (head.rfind(b"\n", 0, at) + 1) + 1
    return ImportFileError(f"contains binary data (a NUL byte on line {line}, character "
                           f"{column}), not CSV text; save it as CSV (UTF-8)", file=file,
                           row=line)


def _parse_delimiter(value: str, file: str) -> str:
    value = _DELIMITER_NAMES.get(value, value)
    if len(value) != 1 or value in "\"\r\n":
        raise ImportFileError(f"the delimiter must be one character such as ',' ';' '|' or "
                              f"'\\t' (tab), not {value!r}", file=file)
    return value


def _show_delim(d: str) -> str:
    return "'\\t'" if d == "\t" else repr(d)


def csv_header(path: Path, delimiter: str | None) -> tuple[str, list[str]]:
    """Detect the delimiter (unless given) and parse the header line of a CSV file."""
    file = str(path)
    head = _read_head(path)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFileError("is UTF-16 text; save it as CSV UTF-8", file=file)
    problem = binary_problem(head, file)
    if problem is not None:
        raise problem
    if len(head) >= _HEAD_BYTES:  # do not split a multi-byte character or the last line
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
    check_header(columns, file)
    columns = [c if c.strip() else f"column{i + 1}" for i, c in enumerate(columns)]
    return delim, columns


def check_header(columns: Sequence[str], file: str, row: int = 1) -> None:
    """Refuse a header too wide to import, or with a column name too long (the same limits for
    every import path: contract tables, user tables, mapping files)."""
    if len(columns) > MAX_COLUMNS:
        raise ImportFileError(f"line {row} (the header) has {len(columns):,} columns; at most "
                              f"{MAX_COLUMNS:,} can be imported", file=file, row=row)
    for i, name in enumerate(columns):
        if len(name) > MAX_NAME_CHARS:
            raise ImportFileError(f"line {row} (the header), column {i + 1}: a column name of "
                                  f"{len(name):,} characters; at most {MAX_NAME_CHARS} are "
                                  "allowed", file=file, row=row)


def _parquet_columns(reader: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    try:
        rel = reader.sql("SELECT * FROM read_parquet(?) LIMIT 0", params=[literal_path(path)])
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
        key = normalise(col)
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
        s, d = normalise(src), normalise(dst)
        if s not in by_norm:
            hint = suggest(s, columns)
            raise ImportFileError(
                f"the column mapping {src}={dst} names a column the file does not have"
                f"{'; ' + hint if hint else ''}; the file's columns are {names_list(columns)}",
                file=file, column=src,
            )
        if d not in contract:
            hint = suggest(d, table.column_names)
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
        hint = suggest(col, spare)
        if hint:
            close = difflib.get_close_matches(col, [normalise(s) for s in spare], n=1, cutoff=0.6)
            advice = f"{hint} Then pass --map {close[0]}={col}"
        else:
            advice = f"if the file names it differently, pass --map file_col={col}"
        others = f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""
        raise ImportFileError(
            f"the file has no column {col!r}, which table {table.name} requires{others}; "
            f"{advice}; the file's columns are {names_list([c.strip() for c in columns])}",
            file=file, column=col,
        )
    if unknown and not spec.ignore_extra:
        free = [c for c in table.column_names if c not in assign]
        parts = []
        for i in unknown[:30]:
            hint = suggest(columns[i], free)
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
def read_rows(reader: duckdb.DuckDBPyConnection, plan: Plan) -> pa.Table:
    """The file's rows as Arrow, columns renamed c0..cN, plus the 1-based line/row number."""
    file = plan.file
    names = [f"c{i}" for i in range(len(plan.columns))]
    try:
        if plan.fmt == "parquet":
            data = reader.sql("SELECT * FROM read_parquet(?)",
                              params=[literal_path(plan.spec.path)]).to_arrow_table()
            data = data.rename_columns(names)
            line = pa.array(np.arange(1, data.num_rows + 1, dtype=np.int64))
        else:
            data = reader.sql(
                "SELECT * FROM read_csv(?, auto_detect=false, header=true, skip=0, delim=?, "
                "quote='\"', escape='\"', columns=?)",
                params=[literal_path(plan.spec.path), plan.delimiter,
                        dict.fromkeys(names, "VARCHAR")],
            ).to_arrow_table()
            line = _csv_lines(data)
    except duckdb.Error as exc:
        raise _read_error(exc, plan) from exc
    if data.num_rows == 0:
        what = "has a header but no data rows" if plan.fmt == "csv" else "has no rows"
        raise ImportFileError(f"{what}; nothing to import", file=file)
    return data.append_column(LINE, line)


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


def _read_error(exc: duckdb.Error, plan: Plan) -> ImportFileError:
    text = str(exc)
    file = plan.file
    if plan.fmt == "csv":
        binary = find_binary(plan.spec.path)
        if binary is not None:
            return binary
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
