"""A first mapping file drafted from the files' profiles (`assistant import --draft-mapping`).

Each file is read the way a mapping reads it (warehouse.mapping.sources: delimiter detected,
whitespace included; UTF-8, else Latin-1; every column typed), and profiled: text or number
columns whose values all fit a date format (YYYYMMDD, DD.MM.YYYY, M/D/YYYY H:MM, ...) get that
format; the warehouse table is guessed from the file's name and columns, and each contract
column from the source column names. What the draft could not decide is a line marked CHECK,
left commented out, so the import says exactly what is still missing. Nothing is imported.
"""

from __future__ import annotations

import re
from pathlib import Path

from warehouse.contract import TABLES, TABLES_BY_NAME
from warehouse.errors import ConfigError, ImportFileError
from warehouse.files import write_text_atomic
from warehouse.mapping import formats
from warehouse.mapping.sources import Workspace, quote_ident
from warehouse.mapping.spec import IDENT, Source

# Date formats tried on text and whole-number columns, most specific first.
DATE_FORMATS = ("YYYYMMDD", "YYYY-MM-DD HH:MM:SS", "DD.MM.YYYY", "DD.MM.YYYY HH:MM",
                "DD/MM/YYYY", "M/D/YYYY H:MM", "M/D/YYYY", "YYMMDD", "YYYY/MM/DD")
_SAMPLE = 2_000

# Words in file names that name a table, and words in column names that name a column.
TABLE_WORDS = {
    "customers": ("customer", "client", "kunde", "kunden", "member", "holder", "user", "people"),
    "accounts": ("account", "konto", "konten", "contract", "product"),
    "transactions": ("transaction", "trans", "txn", "log", "payment", "order", "invoice",
                     "purchase", "booking", "sale"),
    "app_events": ("event", "click", "session", "app"),
    "consents": ("consent", "permission", "optin", "opt_in"),
    "campaigns": ("campaign",),
}
COLUMN_WORDS = {
    "customer_id": ("customerid", "customer_id", "custid", "cust_id", "clientid", "client_id",
                    "client", "clientno", "customer", "kunde", "kundennr", "memberid"),
    "account_id": ("accountid", "account_id", "account", "konto", "acct", "accountno"),
    "transaction_id": ("transactionid", "transaction_id", "transid", "trans_id", "txnid", "txn",
                       "invoiceno", "invoice", "bookingid"),
    "ts": ("ts", "timestamp", "date", "datetime", "time", "day", "invoicedate", "bookingdate",
           "transactiondate", "datum"),
    "amount": ("amount", "amt", "value", "betrag", "sum", "total", "price"),
    "birth_date": ("birthdate", "birth_date", "dob", "dateofbirth", "born", "geburt"),
    "gender": ("gender", "sex", "geschlecht"),
    "country": ("country", "land", "nation"),
    "city": ("city", "town", "ort"),
    "signup_date": ("signupdate", "signup", "joined", "since", "seit", "opened", "startdate"),
    "opened_at": ("opened", "openedat", "opendate", "eroeffnet", "start"),
    "closed_at": ("closed", "closedat", "closedate", "geschlossen", "end"),
    "balance": ("balance", "saldo"),
    "product": ("product", "type", "kind", "art"),
    "event_id": ("eventid", "event_id"),
    "event_type": ("eventtype", "event_type", "event", "action"),
}


def _compact(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _source_name(path: Path, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_]+", "_", path.name.split(".")[0]).strip("_").lower() or "file"
    if not base[0].isalpha():
        base = f"f_{base}"
    name, i = base[:50], 2
    while name in taken:
        name, i = f"{base[:47]}_{i}", i + 1
    return name


def _detect_dates(ws: Workspace, table: str, columns: list[str], types: dict[str, str]
                  ) -> dict[str, str]:
    """Columns (text or whole numbers) whose every sampled value fits one date format."""
    found: dict[str, str] = {}
    for col in columns:
        if types.get(col) not in ("VARCHAR", "BIGINT"):
            continue
        q = quote_ident(col)
        values = [r[0] for r in ws.sandbox.execute(
            f"SELECT DISTINCT CAST({q} AS VARCHAR) FROM {quote_ident(table)} WHERE {q} IS NOT "
            f"NULL LIMIT {_SAMPLE}").fetchall()]
        if not values:
            continue
        for fmt in DATE_FORMATS:
            if types[col] == "BIGINT" and not fmt.isalpha():
                continue                       # a number can only be YYYYMMDD or YYMMDD
            sql = formats.parse_sql(fmt, "v")
            ok = ws.sandbox.execute(
                f"SELECT count(*) FILTER (WHERE ({sql}) IS NULL OR year(({sql})) NOT BETWEEN "
                f"1900 AND 2100) FROM (SELECT unnest(?) AS v)", [values]).fetchall()[0][0]
            if ok == 0:
                found[col] = fmt
                break
    return found


def _guess_table(path: Path, columns: list[str]) -> str | None:
    stem = _compact(path.stem)
    for table, words in TABLE_WORDS.items():
        if any(w in stem for w in words):
            return table
    compact = {_compact(c) for c in columns}
    best, score = None, 0
    for t in TABLES:
        hits = sum(1 for c in t.column_names if compact & set(COLUMN_WORDS.get(c, (c,))))
        if hits > score:
            best, score = t.name, hits
    return best if score >= 2 else None


def _guess_column(target: str, columns: list[str], used: set[str]) -> str | None:
    compact = {_compact(c): c for c in columns if c not in used}
    if _compact(target) in compact:
        return compact[_compact(target)]
    for word in COLUMN_WORDS.get(target, ()):
        if word in compact:
            return compact[word]
    return None


def _toml_key(name: str) -> str:
    return name if IDENT.match(name) else '"' + name.replace('"', '\\"') + '"'


def _toml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ref(column: str) -> str:
    """A source column as a mapping expression."""
    return _toml_str(column if IDENT.match(column) else quote_ident(column))


def draft_mapping(files: list[Path], target: Path) -> str:
    """The text of a first mapping for `files`, with paths relative to `target`'s folder."""
    if not files:
        raise ConfigError("--draft-mapping needs the files to profile")
    lines = ["# A first mapping drafted by `assistant import --draft-mapping` from the files'",
             "# profiles. Check every line marked CHECK, then:",
             f"#   assistant import --mapping {target.name} --path YOUR.duckdb",
             "# The format is in the README, 'Your own data'.", "",
             "[mapping]", f"name = {_toml_str(target.stem)}", ""]
    loads: list[str] = []
    taken: set[str] = set()
    with Workspace() as ws:
        for path in files:
            name = _source_name(path, taken)
            taken.add(name)
            source, encoding = _read(ws, path, name)
            data = ws.sources[name]
            dates = _detect_dates(ws, name, data.columns, data.types)
            rel = Path(path).resolve()
            if rel.is_relative_to(target.resolve().parent):
                rel = rel.relative_to(target.resolve().parent)
            lines.append(f"[sources.{name}]")
            lines.append(f"file = {_toml_str(str(rel))}")
            if source.format == "csv" and data.delimiter not in (None, ","):
                shown = {"\t": "tab", formats.WHITESPACE: "whitespace"}.get(data.delimiter,
                                                                          data.delimiter)
                lines.append(f"delimiter = {_toml_str(shown)}")
            if encoding != "utf-8":
                lines.append(f"encoding = {_toml_str(encoding)}   # CHECK: not UTF-8; latin-1 "
                             "reads any byte, the real one may be cp1252 or cp1250")
            if dates:
                inner = ", ".join(f"{_toml_key(c)} = {_toml_str(f)}" for c, f in dates.items())
                lines.append(f"dates = {{ {inner} }}")
            typed = ", ".join(f"{c} {data.types[c]}" for c in data.columns)
            lines.append(f"# {data.rows:,} rows; columns as read: {typed}")
            lines.append("")
            loads += _load_lines(path, name, data.columns, _levels(ws, name, data.columns))
    return "\n".join(lines + loads).rstrip() + "\n"


def _read(ws: Workspace, path: Path, name: str) -> tuple[Source, str]:
    suffixes = "".join(path.suffixes).lower()
    fmt = "parquet" if suffixes.endswith((".parquet", ".pq")) else "csv"
    for encoding in ("utf-8", "latin-1"):
        source = Source(name, [Path(path)], fmt, None, encoding, True, None, 0, '"', [""], ".",
                        "", {}, {})
        try:
            ws.load(source)
            return source, encoding
        except ImportFileError as exc:
            if encoding != "utf-8" or "encoding" not in str(exc):
                raise
    raise ImportFileError("cannot be read as text", file=str(path))


def _levels(ws: Workspace, table: str, columns: list[str]) -> dict[str, list[str]]:
    """The distinct values of each column with at most 12 of them (for recode drafts)."""
    out = {}
    for col in columns:
        q = quote_ident(col)
        rows = ws.sandbox.execute(f"SELECT DISTINCT CAST({q} AS VARCHAR) FROM "
                                  f"{quote_ident(table)} WHERE {q} IS NOT NULL ORDER BY 1 "
                                  "LIMIT 13").fetchall()
        if len(rows) <= 12:
            out[col] = [r[0] for r in rows]
    return out


def _load_lines(path: Path, source: str, columns: list[str],
                levels: dict[str, list[str]]) -> list[str]:
    table = _guess_table(path, columns)
    if table is None:
        return [f"# CHECK: {path.name} looks like no warehouse table; it is loaded as a table of "
                "your own (for `assistant segment --table` or `churn --table`), or set into = "
                "\"customers\" (etc.) and map its columns", "[[load]]",
                f"into = {_toml_str(source)}", "own_table = true", f"from = {_toml_str(source)}",
                ""]
    spec = TABLES_BY_NAME[table]
    out = ["[[load]]", f"into = {_toml_str(table)}   # CHECK: guessed from the file's name and "
           "columns", f"from = {_toml_str(source)}", "[load.columns]"]
    used: set[str] = set()
    for col in spec.columns:
        found = _guess_column(col.name, columns, used)
        if found is not None:
            used.add(found)
            have = levels.get(found)
            if col.values and have is not None and not set(have) <= set(col.values):
                pairs = ", ".join(
                    f"{_toml_key(v)} = {_toml_str(v if v in col.values else 'CHECK')}"
                    for v in have)
                out.append(f"# CHECK: the warehouse's values are {', '.join(col.values)}")
                out.append(f"{col.name} = {{ column = {_toml_str(found)}, "
                           f"recode = {{ {pairs} }} }}")
            else:
                note = ("   # CHECK: values must be " + ", ".join(col.values)
                        if col.values else "")
                out.append(f"{col.name} = {_ref(found)}{note}")
        elif col.required or col.name in spec.key:
            hint = {"direction": '{ value = "debit" }', "category": '{ value = "shopping" }',
                    "status": '{ value = "open" }'}.get(col.name)
            if col.name in spec.key and col.name.endswith("_id") and col.name != "customer_id":
                hint = '{ generate = "row_number" }'
            out.append(f"# CHECK: {col.name} is required; map a column, an expression or a "
                       f"constant, e.g. {hint or chr(34) + 'SOURCE_COLUMN' + chr(34)}")
            out.append(f"# {col.name} = {hint or chr(34) + 'SOURCE_COLUMN' + chr(34)}")
    rest = [c for c in columns if c not in used]
    if rest:
        out.append(f"# not mapped (add those you need; columns of your own need a type): "
                   f"{', '.join(rest)}")
    return [*out, ""]


def write_draft(files: list[Path], out: Path | None) -> tuple[Path, str]:
    """Write the draft mapping (atomically; never over an existing file) and return it."""
    files = [Path(f) for f in files]
    target = Path(out) if out is not None else files[0].resolve().parent / "mapping.toml"
    if target.exists():
        raise ConfigError(f"{target} exists; pass --out with another file name (the draft "
                          "never overwrites a mapping)")
    text = draft_mapping(files, target)
    write_text_atomic(text, target)
    return target, text
