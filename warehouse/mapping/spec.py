"""A mapping file read into strict objects: sources, loads and columns (see the README section
"Mapping files" for the format, and warehouse/mapping/examples/ for complete ones).

Every mistake is a ConfigError naming the file and the place in it ("load 2 (into accounts),
column card_type: ..."), found before any file is read.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlglot import exp

from warehouse.contract import TABLES_BY_NAME
from warehouse.errors import ConfigError
from warehouse.import_read import suggest
from warehouse.mapping import formats
from warehouse.mapping.sandbox import check_expression

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
LINE_COLUMN = "_line"     # the source row's line in its file, usable in expressions
GENERATORS = ("row_number",)
_SOURCE_KEYS = {"file", "files", "format", "delimiter", "encoding", "header", "columns",
                "skip_lines", "quote", "null", "decimal", "thousands", "types", "dates",
                "comment"}
_LOAD_KEYS = {"into", "own_table", "from", "join", "skip", "group_by", "columns", "comment",
              "description"}
_COLUMN_KEYS = {"column", "sql", "value", "generate", "recode", "default", "type", "comment",
                "personal"}
_JOIN_KEYS = {"source", "as", "on", "how"}
_LITERAL_WORDS = {"true", "false", "null", "current_date", "current_timestamp", "current_time"}


@dataclass
class Source:
    """One source system file (or several files of the same shape, appended)."""

    name: str
    files: list[Path]
    format: str                    # csv or parquet
    delimiter: str | None          # None: detect; formats.WHITESPACE: runs of blanks
    encoding: str
    header: bool
    columns: list[str] | None      # names given in the mapping (no header, or renaming all)
    skip_lines: int
    quote: str
    nulls: list[str]
    decimal: str
    thousands: str
    types: dict[str, str]          # source column -> SQL type
    dates: dict[str, list[str]]    # source column -> date formats, first that fits wins


@dataclass
class Join:
    source: str
    alias: str
    on: str
    how: str                       # left or inner


@dataclass
class Skip:
    where: str
    reason: str


@dataclass
class ColumnSpec:
    """How one target column is made: a source column, an expression, a constant or a key."""

    name: str
    sql: str | None = None         # expression over the source columns (a column name too)
    value: Any = None              # a constant
    generate: str | None = None    # row_number: keys after the largest already in the table
    recode: dict[str, Any] = field(default_factory=dict)
    default: Any = None
    type: str | None = None        # for columns of the user's own (not in the contract)
    comment: str | None = None
    personal: bool = False
    aggregate: bool = False        # the expression aggregates (with group_by)


@dataclass
class Load:
    """One [[load]]: rows of a source (joined with others) into a warehouse table."""

    index: int
    into: str
    own_table: bool
    source: str
    joins: list[Join]
    skips: list[Skip]
    group_by: list[str]
    columns: dict[str, ColumnSpec]
    comment: str | None

    @property
    def where(self) -> str:
        return f"load {self.index} (into {self.into})"


@dataclass
class Mapping:
    path: Path
    name: str
    sources: dict[str, Source]
    loads: list[Load]

    @property
    def folder(self) -> Path:
        return self.path.parent


def _fail(path: Path, where: str, message: str) -> ConfigError:
    return ConfigError(f"mapping {path.name}, {where}: {message}")


def _unknown_keys(given: dict, allowed: set[str], path: Path, where: str) -> None:
    for key in given:
        if key not in allowed:
            hint = suggest(key, sorted(allowed))
            raise _fail(path, where, f"unknown setting {key!r}"
                        f"{'; ' + hint if hint else ''}; the settings are "
                        f"{', '.join(sorted(allowed))}")


def _as_list(value: Any, what: str, path: Path, where: str) -> list:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return value
    raise _fail(path, where, f"{what} must be a text or a list of texts, not {value!r}")


def _expression(text: Any, path: Path, where: str) -> str:
    if not isinstance(text, str):
        raise _fail(path, where, f"expected a SQL expression (text), not {text!r}")
    try:
        check_expression(text, where)
    except ConfigError as exc:
        raise ConfigError(f"mapping {path.name}, {exc}") from None
    return text


def load_mapping(path: str | Path) -> Mapping:
    """Read and validate a mapping file (TOML)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no mapping file at {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(f"mapping {path.name} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"mapping {path.name} is not valid TOML: {exc}") from None
    _unknown_keys(data, {"mapping", "sources", "load"}, path, "top level")
    head = data.get("mapping", {})
    if not isinstance(head, dict):
        raise _fail(path, "[mapping]", "must be a table of settings (name, description)")
    sources_raw = data.get("sources")
    if not isinstance(sources_raw, dict) or not sources_raw:
        raise _fail(path, "[sources]", "name at least one source file: [sources.NAME] file = "
                    "\"export.csv\"")
    sources = {name: _source(name, raw, path) for name, raw in sources_raw.items()}
    loads_raw = data.get("load")
    if not isinstance(loads_raw, list) or not loads_raw:
        raise _fail(path, "[[load]]", "add at least one [[load]] saying which table a source "
                    "goes into (into = \"customers\", from = \"SOURCE\")")
    loads = [_load(i + 1, raw, sources, path) for i, raw in enumerate(loads_raw)]
    own = [ld.into.lower() for ld in loads if ld.own_table]
    for name in own:
        if own.count(name) > 1:
            raise _fail(path, "[[load]]", f"two loads make the table of your own {name}; a table "
                        "of your own comes from one load")
    return Mapping(path=path, name=str(head.get("name") or path.stem), sources=sources,
                   loads=loads)


def _source(name: str, raw: Any, path: Path) -> Source:
    where = f"[sources.{name}]"
    if not IDENT.match(name):
        raise _fail(path, where, "a source name uses letters, digits and _ (it is used in "
                    "expressions, e.g. client.birth_number)")
    if not isinstance(raw, dict):
        raise _fail(path, where, "must be a table of settings (file = ..., delimiter = ...)")
    _unknown_keys(raw, _SOURCE_KEYS, path, where)
    if ("file" in raw) == ("files" in raw):
        raise _fail(path, where, "give exactly one of file = \"x.csv\" or files = [\"a.csv\", "
                    "\"b.csv\"] (paths relative to the mapping file)")
    names = _as_list(raw.get("file", raw.get("files")), "file", path, where)
    if not names or not all(isinstance(f, str) and f.strip() for f in names):
        raise _fail(path, where, "file names must be non-empty texts")
    files = [(path.parent / f).resolve() if not Path(f).is_absolute() else Path(f)
             for f in names]
    fmt = raw.get("format")
    if fmt is None:
        suffixes = "".join(files[0].suffixes).lower()
        fmt = "parquet" if suffixes.endswith((".parquet", ".pq")) else "csv"
    if fmt not in ("csv", "parquet"):
        raise _fail(path, where, f"format must be csv or parquet, not {fmt!r}")
    try:
        delimiter = formats.delimiter(raw.get("delimiter"), where)
        encoding = formats.encoding(raw.get("encoding"), where)
    except ConfigError as exc:
        raise ConfigError(f"mapping {path.name}, {exc}") from None
    header = raw.get("header", True)
    if not isinstance(header, bool):
        raise _fail(path, where, "header must be true or false")
    columns = raw.get("columns")
    if columns is not None:
        if not isinstance(columns, list) or not all(isinstance(c, str) and c for c in columns):
            raise _fail(path, where, "columns must be a list of column names")
        if len({c.lower() for c in columns}) != len(columns):
            raise _fail(path, where, "columns names a column twice")
    elif not header:
        columns = None  # column1, column2, ...
    skip_lines = raw.get("skip_lines", 0)
    if not isinstance(skip_lines, int) or isinstance(skip_lines, bool) or skip_lines < 0:
        raise _fail(path, where, "skip_lines must be a whole number, 0 or more")
    quote = raw.get("quote", '"')
    if not isinstance(quote, str) or len(quote) > 1:
        raise _fail(path, where, "quote must be one character, or \"\" for none")
    nulls = _as_list(raw.get("null", [""]), "null", path, where)
    decimal = raw.get("decimal", ".")
    thousands = raw.get("thousands", "")
    if decimal not in (".", ","):
        raise _fail(path, where, "decimal must be \".\" or \",\"")
    if thousands not in ("", ",", ".", " ", "'") or thousands == decimal:
        raise _fail(path, where, "thousands must be \"\", \",\", \".\", \" \" or \"'\" (and "
                    "not the decimal mark)")
    types_raw = raw.get("types", {})
    dates_raw = raw.get("dates", {})
    if not isinstance(types_raw, dict) or not isinstance(dates_raw, dict):
        raise _fail(path, where, "types and dates are tables: types = { col = \"BIGINT\" }, "
                    "dates = { col = \"DD.MM.YYYY\" }")
    try:
        types = {c: formats.sql_type(t, f"{where} types.{c}") for c, t in types_raw.items()}
        dates = {}
        for c, f in dates_raw.items():
            fmts = _as_list(f, f"dates.{c}", path, where)
            for one in fmts:
                if not isinstance(one, str):
                    raise ConfigError(f"{where} dates.{c}: a format is a text")
                if one.strip().lower() not in (*formats.EPOCHS, *formats.EXCEL, *formats.ISO):
                    formats.strftime(one)
            dates[c] = fmts
    except ConfigError as exc:
        raise ConfigError(f"mapping {path.name}, {exc}") from None
    return Source(name, files, fmt, delimiter, encoding, header, columns, skip_lines, quote,
                  [str(n) for n in nulls], decimal, thousands, types, dates)


def _load(index: int, raw: Any, sources: dict[str, Source], path: Path) -> Load:
    where = f"load {index}"
    if not isinstance(raw, dict):
        raise _fail(path, where, "must be a table of settings")
    _unknown_keys(raw, _LOAD_KEYS, path, where)
    into = raw.get("into")
    own = raw.get("own_table", False)
    if not isinstance(into, str) or not into.strip():
        raise _fail(path, where, "say which table it loads: into = \"customers\" (or a name of "
                    "your own with own_table = true)")
    into = into.strip()
    if not isinstance(own, bool):
        raise _fail(path, where, "own_table must be true or false")
    where = f"load {index} (into {into})"
    if own:
        if not IDENT.match(into):
            raise _fail(path, where, "a table name uses letters, digits and _, starting with a "
                        "letter")
        if into.lower() in TABLES_BY_NAME:
            raise _fail(path, where, f"{into} is a warehouse table: leave out own_table to load "
                        "it with the warehouse's checks, or pick another name")
    elif into.lower() not in TABLES_BY_NAME:
        hint = suggest(into, list(TABLES_BY_NAME))
        raise _fail(path, where, f"there is no warehouse table {into!r}"
                    f"{'; ' + hint if hint else ''}; the tables are "
                    f"{', '.join(TABLES_BY_NAME)}; for a table of your own add own_table = true")
    else:
        into = into.lower()
    src = raw.get("from")
    if src not in sources:
        raise _fail(path, where, f"from = {src!r} is not one of the sources "
                    f"({', '.join(sources)})")
    joins = []
    aliases = {src}
    for j, join in enumerate(_as_list(raw.get("join", []), "join", path, where), 1):
        jw = f"{where}, join {j}"
        if not isinstance(join, dict):
            raise _fail(path, jw, "a join is { source = \"NAME\", on = \"a.x = b.y\" }")
        _unknown_keys(join, _JOIN_KEYS, path, jw)
        if join.get("source") not in sources:
            raise _fail(path, jw, f"source = {join.get('source')!r} is not one of the sources "
                        f"({', '.join(sources)})")
        alias = join.get("as", join["source"])
        if not isinstance(alias, str) or not IDENT.match(alias) or alias in aliases:
            raise _fail(path, jw, f"the join needs a name of its own (as = \"...\"): "
                        f"{alias!r} is taken or not a name")
        aliases.add(alias)
        how = join.get("how", "left")
        if how not in ("left", "inner"):
            raise _fail(path, jw, "how must be left (keep rows without a match) or inner (skip "
                        "them)")
        joins.append(Join(join["source"], alias, _expression(join.get("on"), path,
                                                              f"{jw}, on"), how))
    skips = []
    for k, rule in enumerate(_as_list(raw.get("skip", []), "skip", path, where), 1):
        sw = f"{where}, skip {k}"
        if not isinstance(rule, dict) or set(rule) != {"where", "reason"}:
            raise _fail(path, sw, "a skip rule is { where = \"SQL condition\", reason = \"why "
                        "these rows are left out\" }")
        if not isinstance(rule["reason"], str) or not rule["reason"].strip():
            raise _fail(path, sw, "say why the rows are skipped (reason = \"...\")")
        skips.append(Skip(_expression(rule["where"], path, f"{sw}, where"),
                          rule["reason"].strip()))
    group_by = [_expression(g, path, f"{where}, group_by")
                for g in _as_list(raw.get("group_by", []), "group_by", path, where)]
    cols_raw = raw.get("columns")
    if cols_raw is None and not own:
        raise _fail(path, where, "say how the table's columns are made: [load.columns] "
                    "customer_id = \"CustomerID\", ...")
    if cols_raw is not None and not isinstance(cols_raw, dict):
        raise _fail(path, where, "columns is a table: [load.columns] target = \"source_column\"")
    columns = {}
    for name, spec in (cols_raw or {}).items():
        col = _column(name, spec, path, f"{where}, column {name}", bool(group_by))
        key = name if own else name.lower()
        if key in columns:
            raise _fail(path, where, f"column {name} is given twice")
        columns[key] = col
    comment = raw.get("comment", raw.get("description"))
    return Load(index, into, own, src, joins, skips, group_by, columns,
                comment if isinstance(comment, str) else None)


def _column(name: str, spec: Any, path: Path, where: str, grouped: bool) -> ColumnSpec:
    if not IDENT.match(name):
        raise _fail(path, where, "a column name uses letters, digits and _")
    if isinstance(spec, str):
        # A bare name is a source column, SQL keywords too ("order", "when", "day"), quoted;
        # anything else (and a literal such as true or null) is an expression.
        bare = IDENT.match(spec) and spec.lower() not in _LITERAL_WORDS
        spec = {"column": spec} if bare else {"sql": spec}
    elif isinstance(spec, bool | int | float) or spec is None:
        raise _fail(path, where, f"write a source column or expression as text, or a constant "
                    f"as {{ value = {spec!r} }}")
    if not isinstance(spec, dict):
        raise _fail(path, where, "expected a source column, an expression, or a table such "
                    "as { value = \"debit\" }")
    _unknown_keys(spec, _COLUMN_KEYS, path, where)
    makers = [k for k in ("column", "sql", "value", "generate") if k in spec]
    if len(makers) != 1:
        raise _fail(path, where, "give exactly one of column = \"X\", sql = \"expression\", "
                    "value = constant, generate = \"row_number\"")
    col = ColumnSpec(name=name)
    if "column" in spec:
        if not isinstance(spec["column"], str) or not spec["column"]:
            raise _fail(path, where, "column names a source column (text)")
        col.sql = exp.column(spec["column"], quoted=True).sql("duckdb")
    elif "sql" in spec:
        col.sql = _expression(spec["sql"], path, where)
    elif "value" in spec:
        col.value = spec["value"]
        if isinstance(col.value, dict | list):
            raise _fail(path, where, "value is a constant: text, number, true/false or a date")
    else:
        if spec["generate"] not in GENERATORS:
            raise _fail(path, where, f"generate = {spec['generate']!r}: the generator is "
                        "\"row_number\" (1, 2, 3... after the largest key already in the table)")
        col.generate = spec["generate"]
    recode = spec.get("recode", {})
    if not isinstance(recode, dict) or any(isinstance(v, dict | list) for v in recode.values()):
        raise _fail(path, where, "recode maps source values to warehouse values: recode = "
                    "{ F = \"female\", M = \"male\" } (\"*\" = a value for everything else)")
    col.recode = recode
    col.default = spec.get("default")
    if isinstance(col.default, dict | list):
        raise _fail(path, where, "default is a constant used when the value is empty")
    if "type" in spec:
        try:
            col.type = formats.sql_type(spec["type"], where)
        except ConfigError as exc:
            raise ConfigError(f"mapping {path.name}, {exc}") from None
    if "comment" in spec and not isinstance(spec["comment"], str):
        raise _fail(path, where, "comment is a text saying what the column means")
    col.comment = spec.get("comment")
    personal = spec.get("personal", False)
    if not isinstance(personal, bool):
        raise _fail(path, where, "personal must be true or false")
    col.personal = personal
    if col.sql is not None and grouped:
        from warehouse.mapping.sandbox import is_aggregate

        col.aggregate = is_aggregate(check_expression(col.sql, where))
    return col
