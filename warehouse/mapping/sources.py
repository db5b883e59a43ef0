"""Reading a mapping's source files into the sandbox, typed, with every bad value named.

Each source is read once: its files as text through a plain (unsandboxed) in-memory DuckDB
connection (the only one here that may touch files: it runs no person-written SQL), transcoded
to UTF-8 first when the mapping names another encoding, then registered in the sandbox
(warehouse.mapping.sandbox), where every column gets its type:

- `dates` columns are parsed with their formats (the first that fits wins) into TIMESTAMP;
- `types` columns are cast to the type given (numbers after removing the thousands separator
  and reading the decimal mark);
- the other columns get the narrowest type every value fits: BIGINT (whole numbers without
  leading zeros: '0042' stays text), DOUBLE, BOOLEAN (true/false), DATE or TIMESTAMP (ISO
  8601), else VARCHAR.

A value that does not fit its declared type or date format is not an error here: the row carries
the reason (`__src_key`, `__src_reason`), and the load it feeds rejects it with the file's line
number like any other bad value (or skips it, within --max-rejects).
"""

from __future__ import annotations

import csv
import gzip
import io
import shutil
import tempfile
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from warehouse.connection import describe_error
from warehouse.errors import ImportFileError
from warehouse.import_checks import sql_literal
from warehouse.import_read import LINE, _csv_lines, check_header, find_binary, literal_path
from warehouse.mapping import formats
from warehouse.mapping.spec import Source

DETECT = (",", ";", "\t", "|")
SRC_KEY, SRC_REASON = "__src_key", "__src_reason"
_HEAD_LINES = 50
_BOOL_WORDS = {"true": True, "false": False}
SHOW = 60


def literal(path: Path) -> str:
    """The path as DuckDB must read it: exactly this file, never a pattern."""
    return literal_path(path)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class SourceData:
    """A source in the sandbox: table `name` with __line__, typed columns, __src_key/reason."""

    source: Source
    columns: list[str]                 # as named in the file (or the mapping)
    types: dict[str, str]              # column -> type it got
    delimiter: str | None
    rows: int
    bad: dict[str, int] = field(default_factory=dict)   # reason key -> rows
    files: list[Path] = field(default_factory=list)

    @property
    def file_label(self) -> str:
        return ", ".join(f.name for f in self.files)


class Workspace:
    """The reader and the sandbox of one mapping import, and the temporary files it made."""

    def __init__(self) -> None:
        from warehouse.mapping.sandbox import connection

        self.reader = duckdb.connect(":memory:")
        self.sandbox = connection()
        self._tmp: Path | None = None
        self.sources: dict[str, SourceData] = {}

    def temp_file(self, suffix: str) -> Path:
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="assistant-mapping-"))
        return self._tmp / f"part{len(list(self._tmp.iterdir()))}{suffix}"

    def close(self) -> None:
        for con in (self.reader, self.sandbox):
            with suppress(duckdb.Error):
                con.close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def load(self, source: Source) -> SourceData:
        """Read `source` into the sandbox (once)."""
        if source.name not in self.sources:
            self.sources[source.name] = read_source(self, source)
        return self.sources[source.name]


# -- text files ------------------------------------------------------------------------------------
def _open_text(path: Path, encoding: str):
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    return io.TextIOWrapper(opener(path, "rb"), encoding=encoding, errors="strict",
                            newline="")


def _check_file(path: Path) -> None:
    if not path.exists():
        raise ImportFileError("no such file (the mapping names it; paths are relative to the "
                              "mapping file)", file=str(path))
    if not path.is_file():
        raise ImportFileError("is not a file (a folder?)", file=str(path))


def _utf8_copy(ws: Workspace, source: Source, path: Path) -> Path:
    """The file as UTF-8 (transcoded from the mapping's encoding), for DuckDB to read."""
    target = ws.temp_file(".csv")
    try:
        with _open_text(path, source.encoding) as fh, target.open("w", encoding="utf-8",
                                                                   newline="") as out:
            shutil.copyfileobj(fh, out, 1 << 20)
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"is not {source.encoding} text (a byte at position {exc.start:,} "
                              "does not fit); set encoding = \"...\" in the mapping's source to "
                              "the file's real encoding", file=str(path)) from None
    except (OSError, EOFError) as exc:
        raise ImportFileError(f"cannot be read: {exc}", file=str(path)) from None
    return target


def _head(path: Path, encoding: str, skip: int) -> list[str]:
    """The first lines after `skip`, for the header and delimiter."""
    lines: list[str] = []
    try:
        with _open_text(path, encoding) as fh:
            for i, line in enumerate(fh):
                if i < skip:
                    continue
                if len(line) > 1 << 20:
                    raise ImportFileError("has a line over 1 MB long; this is not a delimited "
                                          "text file", file=str(path), row=i + 1)
                lines.append(line.rstrip("\r\n"))
                if len(lines) >= _HEAD_LINES:
                    break
    except UnicodeDecodeError:
        raise ImportFileError(f"is not {encoding} text; set encoding = \"...\" (for example "
                              "latin-1 or cp1252) in the mapping's source", file=str(path)
                              ) from None
    except (OSError, EOFError) as exc:
        raise ImportFileError(f"cannot be read: {exc}", file=str(path)) from None
    if "\x00" in "".join(lines):
        raise ImportFileError("contains binary data, not text; is the encoding utf-16? (set "
                              "encoding = \"utf-16\")", file=str(path))
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    return lines


def detect_delimiter(lines: list[str], quote: str) -> str:
    """The delimiter that splits the first lines into the most, equal, columns; runs of spaces
    when none of , ; tab | appears."""
    sample = [ln for ln in lines if ln.strip()][:20]
    if not sample:
        return ","

    def widths(d: str) -> list[int]:
        return [len(row) for row in csv.reader(sample, delimiter=d, quotechar=quote or None)]

    best, score = ",", (0, 0)
    for d in DETECT:
        w = widths(d)
        candidate = (int(len(set(w)) == 1 and w[0] > 1), w[0] if w else 0)
        if candidate > score:
            best, score = d, candidate
    if score[1] <= 1 and any(len(ln.split()) > 1 for ln in sample):
        return formats.WHITESPACE
    return best


def _names(source: Source, first: list[str] | None, width: int, file: str) -> list[str]:
    check_header(list(first or source.columns or [""] * width), file, row=source.skip_lines + 1)
    if source.columns is not None:
        if len(source.columns) != width:
            raise ImportFileError(f"has {width} columns but the mapping's columns list names "
                                  f"{len(source.columns)}", file=file)
        return list(source.columns)
    if not source.header or first is None:
        return [f"column{i + 1}" for i in range(width)]
    names = [c.strip() or f"column{i + 1}" for i, c in enumerate(first)]
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        key = n.lower()
        if key in seen:
            raise ImportFileError(f"the header has the column {n!r} twice (columns {seen[key] + 1} "
                                  f"and {i + 1}); name them in the mapping: columns = [...]",
                                  file=file, row=source.skip_lines + 1)
        seen[key] = i
    return names


def _read_csv_file(ws: Workspace, source: Source, path: Path) -> tuple[list[str], pa.Table, str]:
    """One CSV file as text columns c0..cN plus its line numbers."""
    file = str(path)
    head = _head(path, source.encoding, source.skip_lines)
    if not any(ln.strip() for ln in head):
        raise ImportFileError("is empty: no header and no data", file=file)
    delim = source.delimiter or detect_delimiter(head, source.quote)
    readable = path if source.encoding == "utf-8" else _utf8_copy(ws, source, path)
    if delim == formats.WHITESPACE:
        return _read_whitespace(ws, source, readable, head, file)
    first = next(csv.reader([head[0]], delimiter=delim, quotechar=source.quote or None), [])
    names = _names(source, first if source.header else None, len(first), file)
    cols = {f"c{i}": "VARCHAR" for i in range(len(names))}
    quote = source.quote
    try:
        data = ws.reader.sql(
            "SELECT * FROM read_csv(?, auto_detect=false, header=?, skip=?, delim=?, quote=?, "
            "escape=?, columns=?, strict_mode=true)",
            params=[literal(readable), source.header, source.skip_lines, delim, quote, quote,
                    cols]).to_arrow_table()
    except duckdb.Error as exc:
        binary = find_binary(path) if readable == path else None
        if binary is not None:
            raise binary from None
        raise _csv_error(exc, source, file, delim) from None
    lines = np.asarray(_csv_lines(data)) if data.num_rows else np.zeros(0, dtype=np.int64)
    if not source.header:
        lines = lines - 1
    lines = lines + source.skip_lines
    return names, data.append_column(LINE, pa.array(lines, type=pa.int64())), delim


def _csv_error(exc: duckdb.Error, source: Source, file: str, delim: str) -> ImportFileError:
    text = str(exc)
    import re

    m = re.search(r"Line: (\d+)", text)
    line = int(m.group(1)) if m else None
    cols = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    shown = "'\\t'" if delim == "\t" else repr(delim)
    if cols:
        return ImportFileError(
            f"line {line} has {cols.group(2)} values but the header has {cols.group(1)} columns; "
            f"check the delimiter ({shown}) and quoting (quote = ...) in the mapping",
            file=file, row=line)
    if "unterminated quote" in text.lower():
        return ImportFileError(f"line {line} opens a quote that is never closed; if quotes are "
                               "ordinary characters in this file, set quote = \"\"", file=file,
                               row=line)
    if "unicode" in text.lower() or "utf-8" in text.lower():
        return ImportFileError("is not UTF-8 text; set encoding = \"...\" (latin-1, cp1252, ...) "
                               "in the mapping's source", file=file, row=line)
    return ImportFileError(f"cannot be read as CSV: {describe_error(exc)}", file=file, row=line)


def _read_whitespace(ws: Workspace, source: Source, path: Path, head: list[str],
                     file: str) -> tuple[list[str], pa.Table, str]:
    """A file whose values are separated by runs of spaces or tabs (no quoting)."""
    first_line = next((ln for ln in head if ln.strip()), "")
    first = first_line.split()
    names = _names(source, first if source.header else None, len(first), file)
    try:
        lines = ws.reader.sql(
            "SELECT * FROM read_csv(?, auto_detect=false, header=false, skip=?, delim=?, "
            "quote='', escape='', columns={'line': 'VARCHAR'})",
            params=[literal(path), source.skip_lines, "\x1f"]).to_arrow_table()
    except duckdb.Error as exc:
        raise ImportFileError(f"cannot be read: {describe_error(exc)}", file=file) from None
    ws.sandbox.register("__ws_lines", lines)
    try:
        width = len(names)
        parts = ", ".join(f"parts[{i + 1}] AS c{i}" for i in range(width))
        rel = ws.sandbox.sql(f"""
            WITH numbered AS (
                SELECT row_number() OVER () + {source.skip_lines} AS {LINE},
                       regexp_split_to_array(regexp_replace(line, '^\\s+|\\s+$', '', 'g'),
                                             '\\s+') AS parts
                FROM __ws_lines),
            kept AS (SELECT * FROM numbered WHERE parts <> [''] AND parts IS NOT NULL)
            SELECT {parts}, {LINE}, len(parts) AS __width FROM kept
            {'WHERE ' + LINE + ' > (SELECT min(' + LINE + ') FROM kept)' if source.header
             else ''}
            ORDER BY {LINE}""")
        data = rel.to_arrow_table()
    finally:
        ws.sandbox.unregister("__ws_lines")
    widths = np.asarray(data.column("__width"))
    wrong = np.nonzero(widths != width)[0]
    if len(wrong):
        at = int(np.asarray(data.column(LINE))[wrong[0]])
        raise ImportFileError(f"line {at} has {int(widths[wrong[0]])} values but the header has "
                              f"{width} (values are separated by spaces or tabs; a value with a "
                              "space in it needs another delimiter)", file=file, row=at)
    return names, data.drop_columns(["__width"]), formats.WHITESPACE


def _read_parquet_file(ws: Workspace, path: Path) -> tuple[list[str], pa.Table]:
    try:
        data = ws.reader.sql("SELECT * FROM read_parquet(?)",
                             params=[literal(path)]).to_arrow_table()
    except duckdb.Error as exc:
        raise ImportFileError(f"is not a readable Parquet file: {describe_error(exc)}",
                              file=str(path)) from None
    names = list(data.column_names)
    check_header(names, str(path))
    data = data.rename_columns([f"c{i}" for i in range(len(names))])
    line = pa.array(np.arange(1, data.num_rows + 1, dtype=np.int64))
    return names, data.append_column(LINE, line)


# -- typing ----------------------------------------------------------------------------------------
def read_source(ws: Workspace, source: Source) -> SourceData:
    """Read the source's files and give every column its type (see the module docstring)."""
    names: list[str] | None = None
    parts: list[pa.Table] = []
    delim = None
    offset = 0
    for path in source.files:
        _check_file(path)
        if source.format == "parquet":
            these, data = _read_parquet_file(ws, path)
        else:
            these, data, delim = _read_csv_file(ws, source, path)
        if names is None:
            names = these
        elif [n.lower() for n in these] != [n.lower() for n in names]:
            raise ImportFileError(f"has the columns {', '.join(these)}, not those of "
                                  f"{source.files[0].name} ({', '.join(names)}); the files of "
                                  "one source must have the same columns", file=str(path))
        if offset:
            data = data.set_column(data.column_names.index(LINE), LINE,
                                   pa.compute.add(data.column(LINE), offset))
        offset += data.num_rows + 1
        parts.append(data)
    assert names is not None
    raw = pa.concat_tables(parts, promote_options="permissive") if len(parts) > 1 else parts[0]
    by_lower = {n.lower(): i for i, n in enumerate(names)}
    for what, cols in (("types", source.types), ("dates", source.dates)):
        for col in cols:
            if col.lower() not in by_lower:
                from warehouse.import_read import suggest

                hint = suggest(col, names)
                raise ImportFileError(
                    f"the mapping's {what} names a column {col!r} the file does not have"
                    f"{'; ' + hint if hint else ''}; its columns are {', '.join(names)}",
                    file=str(source.files[0]), column=col)
    raw_name = f"__raw_{source.name}"
    ws.sandbox.register(raw_name, raw)
    try:
        typed = _type_sql(ws, source, names, raw, raw_name)
        ws.sandbox.execute(f"CREATE OR REPLACE TEMP TABLE {quote_ident(source.name)} AS "
                           f"{typed.sql}")
    finally:
        ws.sandbox.unregister(raw_name)
    bad = dict(ws.sandbox.execute(
        f"SELECT {SRC_KEY}, count(*) FROM {quote_ident(source.name)} WHERE {SRC_KEY} IS NOT NULL "
        "GROUP BY 1 ORDER BY 2 DESC").fetchall())
    return SourceData(source, names, typed.types, delim, raw.num_rows, bad, list(source.files))


@dataclass
class _Typed:
    sql: str
    types: dict[str, str]


def _text(i: int, nulls: list[str]) -> str:
    t = f"NULLIF(trim(CAST(c{i} AS VARCHAR), chr(32) || chr(9) || chr(13) || chr(160)), '')"
    extra = [n for n in nulls if n != ""]
    if extra:
        listed = ", ".join(sql_literal(n) for n in extra)
        t = f"CASE WHEN {t} IN ({listed}) THEN NULL ELSE {t} END"
    return t


def _number_text(t: str, source: Source) -> str:
    if source.thousands:
        t = f"replace({t}, {sql_literal(source.thousands)}, '')"
    if source.decimal == ",":
        t = f"replace({t}, ',', '.')"
    return t


def _cast(t: str, typ: str, source: Source) -> str:
    if typ == "BOOLEAN":
        true = "'true', 't', 'yes', 'y', '1'"
        false = "'false', 'f', 'no', 'n', '0'"
        return (f"CASE WHEN lower({t}) IN ({true}) THEN true WHEN lower({t}) IN ({false}) "
                "THEN false END")
    if typ == "BIGINT":
        n = _number_text(t, source)
        return (f"CASE WHEN regexp_full_match({n}, '[+-]?[0-9]+([.]0*)?') THEN "
                f"TRY_CAST({n} AS BIGINT) END")
    if typ == "DOUBLE" or typ.startswith("DECIMAL"):
        return f"TRY_CAST({_number_text(t, source)} AS {typ})"
    if typ in ("DATE", "TIMESTAMP"):
        return f"TRY_CAST({t} AS {typ})"
    return f"CAST({t} AS {typ})"


def _infer(ws: Workspace, source: Source, names: list[str], raw: pa.Table, raw_name: str,
           todo: list[int]) -> dict[int, str]:
    """The narrowest type every value of each text column fits (see the module docstring)."""
    if not todo:
        return {}
    parts = []
    for i in todo:
        t = _text(i, source.nulls)
        n = _number_text(t, source)
        parts += [
            f"count({t})",
            f"count_if({t} IS NOT NULL AND NOT regexp_full_match({t}, '[+-]?(0|[1-9][0-9]*)') )",
            f"count_if({t} IS NOT NULL AND TRY_CAST({n} AS DOUBLE) IS NULL)",
            f"count_if({t} IS NOT NULL AND lower({t}) NOT IN ('true', 'false'))",
            f"count_if({t} IS NOT NULL AND NOT (regexp_full_match({t}, "
            f"'[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') AND TRY_CAST({t} AS DATE) IS NOT NULL))",
            f"count_if({t} IS NOT NULL AND NOT (regexp_full_match({t}, "
            f"'[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[ T][0-9]{{2}}:[0-9]{{2}}"
            f"(:[0-9]{{2}}([.][0-9]+)?)?') AND TRY_CAST({t} AS TIMESTAMP) IS NOT NULL))",
            f"count_if({t} IS NOT NULL AND regexp_full_match({n}, '[+-]?[0-9]+') AND "
            f"TRY_CAST({n} AS BIGINT) IS NULL)",
        ]
    row = ws.sandbox.execute(f"SELECT {', '.join(parts)} FROM {raw_name}").fetchall()[0]
    out = {}
    for k, i in enumerate(todo):
        filled, not_int, not_num, not_bool, not_date, not_ts, too_big = row[7 * k: 7 * k + 7]
        if filled == 0:
            out[i] = "VARCHAR"
        elif not_int == 0 and too_big == 0:
            out[i] = "BIGINT"
        elif not_num == 0 and not _leading_zeros(ws, raw_name, i, source):
            out[i] = "DOUBLE"
        elif not_bool == 0:
            out[i] = "BOOLEAN"
        elif not_date == 0:
            out[i] = "DATE"
        elif not_ts == 0:
            out[i] = "TIMESTAMP"
        else:
            out[i] = "VARCHAR"
    return out


def _leading_zeros(ws: Workspace, raw_name: str, i: int, source: Source) -> bool:
    """A numeric-looking column with codes such as '0042' (kept as text)."""
    t = _text(i, source.nulls)
    return bool(ws.sandbox.execute(
        f"SELECT count_if(regexp_full_match({t}, '0[0-9]+')) FROM {raw_name}").fetchall()[0][0])


def _type_sql(ws: Workspace, source: Source, names: list[str], raw: pa.Table,
              raw_name: str) -> _Typed:
    types_by_lower = {c.lower(): t for c, t in source.types.items()}
    dates_by_lower = {c.lower(): f for c, f in source.dates.items()}
    arrow_types = {f"c{i}": raw.schema.field(f"c{i}").type for i in range(len(names))}
    todo = [i for i, n in enumerate(names) if n.lower() not in types_by_lower
            and n.lower() not in dates_by_lower and pa.types.is_string(arrow_types[f"c{i}"])]
    inferred = _infer(ws, source, names, raw, raw_name, todo)
    select, checks, types = [LINE], [], {}
    for i, name in enumerate(names):
        q = quote_ident(name)
        low = name.lower()
        t = _text(i, source.nulls)
        if low in dates_by_lower:
            fmts = dates_by_lower[low]
            parsed = [formats.parse_sql(f, t) for f in fmts]
            value = parsed[0] if len(parsed) == 1 else f"coalesce({', '.join(parsed)})"
            typ = types_by_lower.get(low, "TIMESTAMP")
            if typ == "DATE":
                value = f"CAST({value} AS DATE)"
            elif typ != "TIMESTAMP":
                typ = "TIMESTAMP"
            wanted = " or ".join(fmts)
            checks.append((f"{t} IS NOT NULL AND {value} IS NULL",
                           f"source {source.name}: column {name!r} is not a date in the format "
                           f"{wanted}", name, f"not a date in the format {wanted}", t))
        elif low in types_by_lower:
            typ = types_by_lower[low]
            value = _cast(t, typ, source)
            checks.append((f"{t} IS NOT NULL AND {value} IS NULL",
                           f"source {source.name}: column {name!r} is not a {typ}", name,
                           f"not a {typ}", t))
        elif i in inferred:
            typ = inferred[i]
            value = _cast(t, typ, source) if typ != "VARCHAR" else t
        else:   # a typed (Parquet) column, kept as it is
            value = f"c{i}"
            typ = str(ws.sandbox.execute(f"SELECT typeof(c{i}) FROM {raw_name} LIMIT 1")
                      .fetchall()[0][0]) if raw.num_rows else "VARCHAR"
        types[name] = typ
        select.append(f"{value} AS {q}")
    if checks:
        key = " ".join(f"WHEN {cond} THEN {sql_literal(k)}" for cond, k, *_ in checks)
        reason = " ".join(
            f"WHEN {cond} THEN {sql_literal(f'column {col!r} of {source.name} has ' + chr(39))} "
            f"|| left({t}, {SHOW}) || {sql_literal(chr(39) + ', ' + what)}"
            for cond, _k, col, what, t in checks)
        select += [f"CASE {key} END AS {SRC_KEY}", f"CASE {reason} END AS {SRC_REASON}"]
    else:
        select += [f"CAST(NULL AS VARCHAR) AS {SRC_KEY}", f"CAST(NULL AS VARCHAR) AS {SRC_REASON}"]
    return _Typed(f"SELECT {', '.join(select)} FROM {raw_name}", types)


def source_column_of(key: str) -> str | None:
    """The source column a __src_key reason is about ("source s: column 'x' is ...")."""
    import re

    m = re.search(r"column '([^']+)'", key)
    return m.group(1) if m else None


