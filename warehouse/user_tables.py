"""Import any customer-level CSV or Parquet file as a table of its own (`assistant import FILE
--as NAME`), for segmentation and propensity models on the user's own data.

Unlike `warehouse.importer`, which loads files into the contract tables with strict checks, a
user table keeps the file's columns and the types DuckDB infers. The table goes into schema
`main` in one transaction (created, or dropped and re-created with `mode="replace"`), with a
COMMENT saying where it came from; contract tables and views can never be overwritten, and
`replace` only replaces an earlier user table. The file is read through a separate, unsandboxed
in-memory DuckDB connection (the warehouse handle itself cannot read files).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

import duckdb

from warehouse import privacy
from warehouse.connection import Warehouse, describe_error
from warehouse.contract import ASSISTANT_SCHEMA, TABLES_BY_NAME
from warehouse.errors import ImportFileError, InvalidArgument
from warehouse.import_read import MAX_COLUMNS, csv_header, find_binary, literal_path
from warehouse.schema import VIEW_NAMES

COMMENT_PREFIX = "User table imported from"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_STAGE = "__user_table_stage"


@dataclass
class UserTableReport:
    table: str
    file: Path
    rows: int
    columns: dict[str, str] = field(default_factory=dict)  # name -> DuckDB type
    replaced: bool = False
    personal: dict[str, str] = field(default_factory=dict)  # column -> what personal data
    notes: list[str] = field(default_factory=list)          # what a person should check
    parsed: dict[str, str] = field(default_factory=dict)    # column -> numbers read from text

    def to_dict(self) -> dict:
        return {"table": self.table, "file": str(self.file), "rows": self.rows,
                "columns": dict(self.columns), "replaced": self.replaced,
                "personal": dict(self.personal), "notes": list(self.notes),
                "parsed": dict(self.parsed)}

    def to_text(self) -> str:
        cols = ", ".join(f"{c} {t}" for c, t in self.columns.items())
        verb = "Replaced" if self.replaced else "Created"
        text = (f"{verb} table {self.table} from {self.file}: {self.rows:,} rows, "
                f"{len(self.columns)} columns ({cols}).")
        if self.parsed:
            text += " " + "; ".join(f"{c}: {how}" for c, how in self.parsed.items()) + "."
        if self.personal:
            found = ", ".join(f"{c} ({k})" for c, k in self.personal.items())
            text += (f" Personal data, kept from the language model and from segmentation "
                     f"features: {found}.")
        for note in self.notes:
            text += f" Check: {note}."
        return text


def check_name(name: str) -> str:
    """A valid new table name, or InvalidArgument saying why not."""
    name = (name or "").strip()
    if not _NAME.match(name):
        raise InvalidArgument(f"{name!r} is not a usable table name: use letters, digits and _ "
                              "(starting with a letter), e.g. cc_customers")
    reserved = {*TABLES_BY_NAME, *VIEW_NAMES, ASSISTANT_SCHEMA}
    if name.lower() in reserved:
        raise InvalidArgument(f"{name} is a warehouse table; load data into it with `assistant "
                              f"import FILE --table {name}`, or pick another name for your own "
                              "table")
    return name


def _read(path: Path, delimiter: str | None) -> duckdb.DuckDBPyRelation:
    suffixes = "".join(path.suffixes).lower()
    parquet = ".parquet" in suffixes or suffixes.endswith(".pq")
    if not parquet:
        # the header first: a 20,000-column or binary file is refused before DuckDB's type
        # detection, which would otherwise take minutes and gigabytes on it
        delimiter, _ = csv_header(path, delimiter)
    reader = duckdb.connect(":memory:")
    source = literal_path(path)         # exactly this file, even with [ ] * ? in its name
    try:
        if parquet:
            rel = reader.sql("SELECT * FROM read_parquet(?)", params=[source])
            if len(rel.columns) > MAX_COLUMNS:
                raise ImportFileError(f"has {len(rel.columns):,} columns; at most "
                                      f"{MAX_COLUMNS:,} can be imported", file=str(path))
        else:
            rel = reader.sql("SELECT * FROM read_csv(?, header = true, delim = ?)",
                             params=[source, delimiter])
            rel = _two_digit_years(reader, rel, source, delimiter)
        return rel.to_arrow_table()
    except duckdb.Error as exc:
        binary = None if parquet else find_binary(path)
        if binary is not None:
            raise binary from None
        text = describe_error(exc).replace(source, str(path))
        line = re.search(r"[Ll]ine:? (\d+)", text)
        raise ImportFileError(f"could not be read: {text}", file=str(path),
                              row=int(line.group(1)) if line else None) from None
    finally:
        reader.close()


# Birth-date-like columns: a two-digit year that lands after today is a century earlier.
_BIRTH = re.compile(r"birth|dob|born|geburt", re.I)


def _two_digit_years(reader, rel, source: str, delimiter: str | None):
    """DuckDB's CSV sniffer reads '10/1/94' with a four-digit year pattern (year 94 AD, and
    '1/1/00' as a year before the calendar, which no program can read back). Date columns
    with years below 1000 are read again as text and parsed with a two-digit year (69-99 as
    19xx, 00-68 as 20xx; four-digit years, such as a 1800 placeholder, as written); in a birth
    date column a year after today is a century earlier ('12/5/68' is 1968)."""
    types = {c: str(t) for c, t in zip(rel.columns, rel.types, strict=True)}
    dates = [c for c, t in types.items() if t in ("DATE", "TIMESTAMP")]
    if not dates:
        return rel
    lows = rel.aggregate(", ".join(f"min(year({_q(c)}))" for c in dates)).fetchall()[0]
    short = [c for c, low in zip(dates, lows, strict=True) if low is not None and low < 1000]
    if not short:
        return rel
    date_fmt, ts_fmt = reader.sql("SELECT DateFormat, TimestampFormat FROM sniff_csv(?, "
                                  "delim = ?)", params=[source, delimiter]).fetchall()[0]
    text = reader.read_csv(source, header=True, sep=delimiter, dtype={c: "VARCHAR"
                                                                      for c in short})
    select = []
    for c in text.columns:
        if c not in short:
            select.append(_q(c))
            continue
        kind = types[c]
        four = (date_fmt if kind == "DATE" else ts_fmt) or "%d/%m/%Y"
        value = f"CAST(try_strptime({_q(c)}, ['{four.replace('%Y', '%y')}', '{four}']) AS {kind})"
        if _BIRTH.search(c):
            value = (f"CASE WHEN {value} > current_date THEN CAST({value} - INTERVAL 100 YEAR "
                     f"AS {kind}) ELSE {value} END")
        select.append(f"{value} AS {_q(c)}")
    return text.project(", ".join(select))


def _date_notes(data) -> list[str]:
    """Dates before 1900 (a placeholder such as 1/1/1800 for 'not known'), said with their
    count: they are kept as written, and would make ages and tenures absurd."""
    import pyarrow as pa
    import pyarrow.compute as pc

    notes = []
    for name in data.column_names:
        column = data.column(name)
        if not (pa.types.is_date(column.type) or pa.types.is_timestamp(column.type)):
            continue
        years = pc.year(column)
        old = pc.sum(pc.less(years, 1900)).as_py() or 0
        if old:
            first = pc.min(years).as_py()
            notes.append(f"{name} has {old:,} dates before 1900 (the earliest in {first}), "
                         "probably a placeholder for 'not known'; they are kept as written")
    return notes


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _existing(cur, name: str) -> tuple[str, str | None] | None:
    rows = cur.execute(
        "SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'main' "
        "AND lower(table_name) = lower(?)", [name]).fetchall()
    return rows[0] if rows else None


def import_user_table(wh: Warehouse, path: str | Path, name: str, *,
                      mode: Literal["create", "replace"] = "create",
                      delimiter: str | None = None) -> UserTableReport:
    """Load `path` (CSV or Parquet) as table `name` in schema main, all or nothing."""
    if mode not in ("create", "replace"):
        raise InvalidArgument(f"mode must be create or replace, not {mode!r}")
    name = check_name(name)
    path = Path(path)
    if not path.is_file():
        raise ImportFileError("does not exist", file=str(path))
    if wh.read_only:
        raise InvalidArgument(f"the warehouse {wh.path} is open read-only; open it for writing "
                              "to import a table")
    data = _read(path, delimiter)
    if data.num_rows == 0:
        raise ImportFileError("has no data rows; nothing to import", file=str(path))
    data, parsed = numbers_from_text(data)
    data, months = months_from_text(data)
    parsed.update(months)
    comment = (f"{COMMENT_PREFIX} {path.name} on {datetime.now():%Y-%m-%d %H:%M}; one row per "
               "customer (or account); columns as in the file.").replace("'", "''")
    replaced = False
    with wh.transaction() as cur:
        existing = _existing(cur, name)
        if existing is not None:
            stored, old_comment = existing
            if not (old_comment or "").startswith(COMMENT_PREFIX):
                raise InvalidArgument(f"table {stored} exists and was not imported with --as; "
                                      "pick another name")
            if mode != "replace":
                raise InvalidArgument(f"table {stored} already exists; use --mode replace to "
                                      "overwrite it")
            cur.execute(f'DROP TABLE "{stored}"')
            replaced = True
        cur.register(_STAGE, data)
        try:
            cur.execute(f'CREATE TABLE "{name}" AS SELECT * FROM {_STAGE}')
        finally:
            cur.unregister(_STAGE)
        cur.execute(f"COMMENT ON TABLE \"{name}\" IS '{comment}'")
        columns = {c: t for c, t in cur.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'main' "
            "AND table_name = ? ORDER BY column_index", [name]).fetchall()}
        personal = _mark_personal(cur, name, data)
    return UserTableReport(table=name, file=path, rows=data.num_rows, columns=columns,
                           replaced=replaced, personal=personal, notes=_date_notes(data),
                           parsed=parsed)


_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def numbers_from_text(data) -> tuple[object, dict[str, str]]:
    """Text columns that hold numbers, read as numbers: Telco's TotalCharges (a blank ' ' for
    new customers) or a balance written with spaces between thousands ('1 234'). A column is
    read as numbers when every value, spaces taken out, is a plain number or empty (then NULL);
    codes with a leading zero ('0123'), '+' phone numbers and personal-looking columns stay
    text. Returns the table and {column: what was done}, for the import's report."""
    import pyarrow as pa

    parsed: dict[str, str] = {}
    for i, column in enumerate(data.column_names):
        values = data.column(i)
        if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
            continue
        if privacy.is_pii_column(column):
            continue
        texts = values.to_pylist()
        cleaned = [None if v is None else re.sub(r"[\s\u00a0\u202f]+", "", v) for v in texts]
        present = [c for c in cleaned if c]
        if not present or len(present) < len(cleaned) / 2:
            continue
        # Lending Club's int_rate '13.56%', revol_util '84.5%': every value a percentage
        percent = all(c.endswith("%") for c in present)
        if percent:
            cleaned = [c[:-1] if c else c for c in cleaned]
            present = [c for c in cleaned if c]
        if any(not _NUMBER.fullmatch(c) or re.match(r"[-+]?0\d", c) or c.startswith("+")
               for c in present):
            continue
        whole = all(re.fullmatch(r"[-+]?\d+", c) for c in present) and \
            all(abs(int(c)) < 2 ** 62 for c in present)
        whole = whole and not percent
        numbers = [None if not c else (int(c) if whole else float(c)) for c in cleaned]
        blanks = sum(1 for t, c in zip(texts, cleaned, strict=True) if t is not None and not c)
        spaced = sum(1 for t, c in zip(texts, cleaned, strict=True)
                     if t and c and t.strip() != c + ("%" if percent else ""))
        data = data.set_column(i, column, pa.array(numbers, pa.int64() if whole else
                                                   pa.float64()))
        said = [f"percentages stored as text ('{present[0]}%'), read as numbers ({present[0]})"
                if percent else
                f"numbers stored as text, read as {'whole numbers' if whole else 'numbers'}"]
        if blanks:
            said.append(f"{blanks:,} blank{'s' if blanks > 1 else ''} left empty")
        if spaced:
            said.append(f"{spaced:,} with spaces inside")
        parsed[column] = "; ".join(said)
    return data, parsed


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_YEAR = re.compile(r"(?i)^([a-z]{3})[a-z]*[-/ .]?(\d{4}|\d{2})$")


def months_from_text(data) -> tuple[object, dict[str, str]]:
    """Text columns of months written 'Dec-2018' (Lending Club's issue_d), 'Dec-18' or
    'December 2018', read as the month's first day (a DATE): the sniffer keeps them as text,
    and a text month can be neither a period nor a trend. Two-digit years are 20xx up to the
    current year, 19xx above it."""
    import pyarrow as pa

    parsed: dict[str, str] = {}
    this_year = datetime.now().year % 100
    for i, column in enumerate(data.column_names):
        values = data.column(i)
        if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
            continue
        texts = values.to_pylist()
        present = [t.strip() for t in texts if t is not None and t.strip()]
        if not present or len(present) < len(texts) / 2:
            continue
        found = [_MONTH_YEAR.match(t) for t in present]
        if not all(m and m.group(1).lower() in _MONTHS for m in found):
            continue
        out = []
        for t in texts:
            m = _MONTH_YEAR.match(t.strip()) if t is not None else None
            if m is None:
                out.append(None)
                continue
            year = int(m.group(2))
            if len(m.group(2)) == 2:
                year += 2000 if year <= this_year else 1900
            out.append(datetime(year, _MONTHS.index(m.group(1).lower()) + 1, 1).date())
        data = data.set_column(i, column, pa.array(out, pa.date32()))
        parsed[column] = (f"months written as text ('{present[0]}'), read as dates (the "
                          "month's first day)")
    return data, parsed


def _mark_personal(cur, table: str, data) -> dict[str, str]:
    """Find the columns that hold personal data (by name or by value: emails, phones, names,
    birth dates) and say so in their COMMENT, which keeps them from the model and from
    segmentation features for good."""
    found: dict[str, str] = {}
    coded: dict[str, list] = {}
    head = data.slice(0, privacy.SAMPLE_ROWS)
    for column in data.column_names:
        try:
            values = head.column(column).to_pylist()
        except (OverflowError, ValueError):     # a date Python cannot hold (year 0, 10000)
            values = head.column(column).cast("string").to_pylist()
        kind = privacy.column_kind(values)
        if privacy.is_pii_column(column) and privacy.mask_text(column) == column and not kind:
            levels = _levels_of(data, column)
            if levels is not None:
                # own_telephone A191/A192: named after a phone, holding a flag or a code
                coded[column] = levels
                continue
        if privacy.is_pii_column(column) or privacy.mask_text(column) != column:
            found[column] = "personal data"
            continue
        if kind:
            found[column] = kind
    for column, levels in coded.items():
        shown = ", ".join(str(x) for x in levels)
        text = (f"{privacy.NOT_PERSONAL_MARK}: named like personal data, its values are a flag "
                f"or a code ({shown})").replace("'", "''")
        quoted = column.replace('"', '""')
        cur.execute(f'COMMENT ON COLUMN "{table}"."{quoted}" IS \'{text}\'')
    for column, kind in found.items():
        text = (f"{privacy.PERSONAL_MARK} ({kind}); hidden from the language model"
                ).replace("'", "''")
        quoted = column.replace('"', '""')
        cur.execute(f'COMMENT ON COLUMN "{table}"."{quoted}" IS \'{text}\'')
    return found


def _levels_of(data, column: str) -> list | None:
    """The values of a column when it is a flag or a code (at most 3 values in 20 rows or
    more, each yes/no, true/false, a number or a code such as A191), else None: such a column
    cannot hold anyone's phone number, address or name, whatever it is named."""
    import pyarrow.compute as pc

    if data.num_rows < 20:
        return None
    levels = pc.unique(data.column(column).drop_null()).to_pylist()
    if not levels or len(levels) > 3 or not all(_FLAG_OR_CODE.match(str(x).strip())
                                                for x in levels):
        return None
    return sorted(levels, key=str)


_FLAG_OR_CODE = re.compile(r"(?i)^(?:[a-z]{0,3}\d{1,4}|yes|no|y|n|true|false|t|f)$")


def create_from_rows(cur, name: str, data, *, mode: str, source: str,
                     description: str = "", personal: tuple[str, ...] = ()) -> UserTableReport:
    """Make (or, with mode replace, re-make; with append, extend) the user table `name` from
    Arrow rows, inside the caller's transaction (a mapping import's `[[load]] own_table`)."""
    name = check_name(name)
    if data.num_rows == 0:
        raise InvalidArgument(f"the rows for table {name} are all skipped; nothing to load")
    when = f"{datetime.now():%Y-%m-%d %H:%M}"
    comment = (f"{COMMENT_PREFIX} {source} on {when}; "
               f"{description or 'one row per customer (or account)'}.").replace("'", "''")
    existing = _existing(cur, name)
    replaced = appended = False
    cur.register(_STAGE, data)
    try:
        if existing is not None:
            stored, old_comment = existing
            if not (old_comment or "").startswith(COMMENT_PREFIX):
                raise InvalidArgument(f"table {stored} exists and was not imported by you; pick "
                                      "another name")
            if mode == "append":
                try:
                    cur.execute(f'INSERT INTO "{stored}" BY NAME SELECT * FROM {_STAGE}')
                except duckdb.Error as exc:
                    raise InvalidArgument(f"the rows do not fit table {stored} as it is "
                                          f"({describe_error(exc)}); use --mode replace to "
                                          "make it again") from None
                appended = True
                name = stored
            else:
                cur.execute(f'DROP TABLE "{stored}"')
                replaced = True
        if not appended:
            cur.execute(f'CREATE TABLE "{name}" AS SELECT * FROM {_STAGE}')
    finally:
        cur.unregister(_STAGE)
    cur.execute(f"COMMENT ON TABLE \"{name}\" IS '{comment}'")
    found = _mark_personal(cur, name, data)
    for col in personal:
        if col not in found:
            found[col] = "marked in the mapping"
            text = (f"{privacy.PERSONAL_MARK} (marked in the mapping); hidden from the language "
                    "model")
            quoted = col.replace('"', '""')
            cur.execute(f'COMMENT ON COLUMN "{name}"."{quoted}" IS \'{text}\'')
    columns = {c: t for c, t in cur.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'main' "
        "AND table_name = ? ORDER BY column_index", [name]).fetchall()}
    rows = cur.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0]
    return UserTableReport(table=name, file=Path(source), rows=int(rows), columns=columns,
                           replaced=replaced, personal=found)
