"""A first mapping file drafted from the files' profiles (`assistant import --draft-mapping`).

Each file is read the way a mapping reads it (warehouse.mapping.sources: delimiter detected,
whitespace included; UTF-8, else Latin-1; every column typed), and profiled: text or number
columns whose values all fit a date format (YYYYMMDD, DD.MM.YYYY, M/D/YYYY H:MM, ...) get that
format; the warehouse table is guessed from the file's name and columns, and each contract
column from the source column names. What the draft could not decide is a line marked CHECK,
left commented out, so the import says exactly what is still missing. Nothing is imported.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from warehouse.contract import TABLES, TABLES_BY_NAME
from warehouse.errors import ConfigError, ImportFileError
from warehouse.files import write_text_atomic
from warehouse.mapping import formats
from warehouse.mapping.sources import Workspace, quote_ident
from warehouse.mapping.spec import IDENT, Source

# Date formats tried on text and whole-number columns, most specific first.
DATE_FORMATS = ("YYYYMMDD", "YYYY-MM-DD HH:MM:SS", "DD.MM.YYYY", "DD.MM.YYYY HH:MM",
                "DD/MM/YYYY", "M/D/YYYY H:MM", "M/D/YYYY", "DD/MM/YY", "M/D/YY", "DD-MM-YYYY",
                "DD.MM.YY", "YYMMDD", "YYYY/MM/DD")
# Formats that read the same values with day and month swapped: when every value fits both,
# the draft keeps the first and says it could not tell.
SWAPPED = {"DD/MM/YYYY": "M/D/YYYY", "M/D/YYYY": "DD/MM/YYYY", "DD/MM/YY": "M/D/YY",
           "M/D/YY": "DD/MM/YY"}
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
    "city": ("city", "town", "ort", "location"),
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


def _fits(ws: Workspace, fmt: str, values: list[str]) -> bool:
    sql = formats.parse_sql(fmt, "v")
    bad = ws.sandbox.execute(
        f"SELECT count(*) FILTER (WHERE ({sql}) IS NULL OR year(({sql})) NOT BETWEEN "
        f"1900 AND 2100) FROM (SELECT unnest(?) AS v)", [values]).fetchall()[0][0]
    return bad == 0


def _detect_dates(ws: Workspace, table: str, columns: list[str], types: dict[str, str]
                  ) -> dict[str, tuple[str, str | None]]:
    """Columns (text or whole numbers) whose every sampled value fits one date format, with
    what the draft could not be sure of (day/month order, two-digit years)."""
    found: dict[str, tuple[str, str | None]] = {}
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
            if not _fits(ws, fmt, values):
                continue
            notes = []
            other = SWAPPED.get(fmt)
            if other and _fits(ws, other, values):
                notes.append(f"every value fits {fmt} and {other} (no day above 12 in the "
                             "sample): say which")
            if "YYYY" not in fmt and "YY" in fmt:
                notes.append("two-digit years: 69-99 read as 1969-1999, 00-68 as 2000-2068")
            found[col] = (fmt, "; ".join(notes) or None)
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


def _guess_column(target: str, columns: list[str], used: set[str],
                  kinds: dict[str, str] | None = None, want: str | None = None) -> str | None:
    """The source column for `target`: its name, one of its words, or (for a column that is
    not a key, given `kinds` and the kind `want`ed) a column whose name contains one of its
    words and whose values are of that kind ("TransactionAmount (INR)" -> amount)."""
    compact = {_compact(c): c for c in columns if c not in used}
    if _compact(target) in compact:
        return compact[_compact(target)]
    for word in COLUMN_WORDS.get(target, ()):
        if word in compact:
            return compact[word]
    if kinds is None or want is None or target.endswith("_id"):
        return None
    for word in COLUMN_WORDS.get(target, ()):
        hits = [c for k, c in compact.items() if kinds.get(c) == want
                and (word in _tokens(c) or (len(word) >= 6 and word in k))]
        if len(hits) == 1:
            return hits[0]
    return None


def _tokens(name: str) -> set[str]:
    """The words of a column name: 'CustomerDOB' -> customer, dob; 'txn_amount' -> txn, amount."""
    return {t.lower() for t in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)}


def _kind(sql_type: str) -> str:
    if sql_type in ("DATE",) or sql_type.startswith("TIMESTAMP"):
        return "date"
    if sql_type in ("BIGINT", "INTEGER", "DOUBLE", "FLOAT", "HUGEINT") or \
            sql_type.startswith("DECIMAL"):
        return "number"
    return "text"


def _toml_key(name: str) -> str:
    return name if IDENT.match(name) else '"' + name.replace('"', '\\"') + '"'


def _toml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ref(column: str) -> str:
    """A source column as a mapping expression."""
    return _toml_str(column if IDENT.match(column) else quote_ident(column))


@dataclass
class _Profile:
    """What the draft learnt of one file."""

    path: Path
    name: str                             # its source name in the mapping
    columns: list[str]
    kinds: dict[str, str]                 # column -> date, number or text (dates detected)
    levels: dict[str, list[str]]          # columns with at most 12 values -> the values
    nulls: set[str]                       # columns with empty values
    keys: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # text id -> SQL
    date_notes: dict[str, str | None] = field(default_factory=dict)


def draft_mapping(files: list[Path], target: Path) -> str:
    """The text of a first mapping for `files`, with paths relative to `target`'s folder."""
    if not files:
        raise ConfigError("--draft-mapping needs the files to profile")
    lines = ["# A first mapping drafted by `assistant import --draft-mapping` from the files'",
             "# profiles. Check every line marked CHECK, then:",
             f"#   assistant import --mapping {target.name} --path YOUR.duckdb",
             "# The format is in the README, 'Your own data'.", "",
             "[mapping]", f"name = {_toml_str(target.stem)}", ""]
    profiles: list[_Profile] = []
    taken: set[str] = set()
    with Workspace() as ws:
        for path in files:
            name = _source_name(path, taken)
            taken.add(name)
            source, encoding = _read(ws, path, name)
            data = ws.sources[name]
            dates = _detect_dates(ws, name, data.columns, data.types)
            lines.append(f"[sources.{name}]")
            lines.append(f"file = {_toml_str(_relative(Path(path), target))}")
            if source.format == "csv" and data.delimiter not in (None, ","):
                shown = {"\t": "tab", formats.WHITESPACE: "whitespace"}.get(data.delimiter,
                                                                          data.delimiter)
                lines.append(f"delimiter = {_toml_str(shown)}")
            if encoding != "utf-8":
                lines.append(f"encoding = {_toml_str(encoding)}   # CHECK: not UTF-8; latin-1 "
                             "reads any byte, the real one may be cp1252 or cp1250")
            if dates:
                inner = ", ".join(f"{_toml_key(c)} = {_toml_str(f)}"
                                  for c, (f, _) in dates.items())
                lines.append(f"dates = {{ {inner} }}")
                lines += [f"# CHECK: {c}: {note}" for c, (_, note) in dates.items() if note]
            typed = ", ".join(f"{c} {data.types[c]}" for c in data.columns)
            lines.append(f"# {data.rows:,} rows; columns as read: {typed}")
            lines.append("")
            kinds = {c: "date" if c in dates else _kind(data.types[c]) for c in data.columns}
            profile = _Profile(Path(path), name, data.columns, kinds,
                               _levels(ws, name, data.columns), _null_columns(ws, name, data))
            profile.keys = {c: _text_key(ws, name, c) for c in data.columns
                            if data.types[c] == "VARCHAR" and c not in dates}
            profile.date_notes = {c: note for c, (_, note) in dates.items()}
            profiles.append(profile)
    guessed = [_guess_table(p.path, p.columns) for p in profiles]
    loads: list[str] = []
    for profile, table in zip(profiles, guessed, strict=True):
        taken_columns: set[str] = set()
        if table in ("transactions", "app_events", "campaign_events") and \
                "customers" not in guessed:
            more, taken_columns = _customers_from_log(profile, table)
            loads += more
        loads += _load_lines(profile, table, taken_columns)
    return "\n".join(lines + loads).rstrip() + "\n"


def _relative(path: Path, target: Path) -> str:
    """The file as the mapping names it: relative to the mapping's folder (also with ../)."""
    try:
        return os.path.relpath(path.resolve(), target.resolve().parent)
    except ValueError:                      # another drive (Windows): only a full path works
        return str(path.resolve())


def _null_columns(ws: Workspace, table: str, data) -> set[str]:
    if not data.columns:
        return set()
    counts = ws.sandbox.execute("SELECT " + ", ".join(
        f"count(*) FILTER (WHERE {quote_ident(c)} IS NULL)" for c in data.columns)
        + f" FROM {quote_ident(table)}").fetchall()[0]
    return {c for c, n in zip(data.columns, counts, strict=True) if n}


def _text_key(ws: Workspace, table: str, column: str) -> tuple[str, str | None]:
    """A whole-number key made from a text id column, and what the draft says of it: the
    number of ids such as 'C1000138' (one prefix, numbers distinct), else a stable number
    from the id's MD5 (60 bits: collisions are refused by the import as repeated keys)."""
    q = quote_ident(column)
    values, prefixes, numbers, other = ws.sandbox.execute(
        f"SELECT count(*), count(DISTINCT regexp_extract(v, '^[^0-9]*')), "
        f"count(DISTINCT TRY_CAST(regexp_extract(v, '[0-9]+$') AS BIGINT)), "
        f"count(*) FILTER (WHERE NOT regexp_full_match(v, '[A-Za-z_#-]*[0-9]{{1,18}}')) "
        f"FROM (SELECT DISTINCT {q} AS v FROM {quote_ident(table)} WHERE {q} IS NOT NULL)"
    ).fetchall()[0]
    if values and not other and prefixes == 1 and numbers == values:
        prefix = ws.sandbox.execute(f"SELECT regexp_extract(min({q}), '^[^0-9]*') FROM "
                                    f"{quote_ident(table)}").fetchall()[0][0]
        sql = (f"CAST(substr({q}, {len(prefix) + 1}) AS BIGINT)" if prefix
               else f"CAST({q} AS BIGINT)")
        return sql, f"{column} is text ({prefix!r} and a number): the number is the key"
    return (f"CAST('0x' || substr(md5({q}), 1, 15) AS BIGINT)",
            f"{column} is text and keys are whole numbers: a number drawn from its MD5 "
            "(the same id gives the same number at every import)")


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


def _load_lines(profile: _Profile, table: str | None, taken: set[str] = frozenset()
                ) -> list[str]:
    source = profile.name
    if table is None:
        return [f"# CHECK: {profile.path.name} looks like no warehouse table; it is loaded as a "
                "table of your own (for `assistant segment --table` or `churn --table`), or set "
                "into = \"customers\" (etc.) and map its columns", "[[load]]",
                f"into = {_toml_str(source)}", "own_table = true", f"from = {_toml_str(source)}",
                ""]
    out = ["[[load]]", f"into = {_toml_str(table)}   # CHECK: guessed from the file's name and "
           "columns", f"from = {_toml_str(source)}"]
    used: set[str] = set()
    columns = _column_lines(profile, table, used)
    key = next((c for c in used if _guess_column("customer_id", [c], set()) == c), None)
    if key is not None and key in profile.nulls:
        out.append(f"skip = [{{ where = {_toml_str(quote_ident(key) + ' IS NULL')}, "
                   "reason = \"lines without a customer\" }]")
    out += ["[load.columns]", *columns]
    rest = [c for c in profile.columns if c not in used and c not in taken]
    if rest:
        out.append(f"# not mapped (add those you need; columns of your own need a type): "
                   f"{', '.join(rest)}")
    return [*out, ""]


def _customers_from_log(profile: _Profile, table: str) -> tuple[list[str], set[str]]:
    """A customers load drafted from a log that names its customers (one row per customer,
    the values of their first line), when no file of the customers themselves is given; and
    the source columns it maps."""
    key = _guess_column("customer_id", profile.columns, set())
    if key is None:
        return [], set()
    used: set[str] = set()
    columns = _column_lines(profile, "customers", used, grouped=True)
    out = [f"# One customer per {key}: the log is the only file naming them (no customers file "
           "given).", "[[load]]", 'into = "customers"', f"from = {_toml_str(profile.name)}"]
    if key in profile.nulls:
        out.append(f"skip = [{{ where = {_toml_str(quote_ident(key) + ' IS NULL')}, "
                   "reason = \"lines without a customer\" }]")
    out += [f"group_by = [{_ref(key)}]", "[load.columns]", *columns]
    ts = _guess_column("ts", profile.columns, set(), profile.kinds, "date")
    if "signup_date" not in " ".join(columns) and ts is not None:
        out.append(f"# CHECK: no signup date in the file: the first {table} line stands for it")
        out.append(f"signup_date = {_toml_str('min(' + quote_ident(ts) + ')')}")
    return [*out, ""], used - {key}


def _column_lines(profile: _Profile, table: str, used: set[str], grouped: bool = False
                  ) -> list[str]:
    """The [load.columns] lines of `table` guessed from the file's columns (adds to `used`)."""
    spec = TABLES_BY_NAME[table]
    out: list[str] = []
    for col in spec.columns:
        found = _guess_column(col.name, profile.columns, used, profile.kinds, _kind(col.type))
        if found is not None:
            used.add(found)
            out += _column_line(profile, col, found)
        elif (col.required or col.name in spec.key) and not grouped:
            hint = {"direction": '{ value = "debit" }', "category": '{ value = "shopping" }',
                    "status": '{ value = "open" }'}.get(col.name)
            if col.name in spec.key and col.name.endswith("_id") and col.name != "customer_id":
                hint = '{ generate = "row_number" }'
            out.append(f"# CHECK: {col.name} is required; map a column, an expression or a "
                       f"constant, e.g. {hint or chr(34) + 'SOURCE_COLUMN' + chr(34)}")
            out.append(f"# {col.name} = {hint or chr(34) + 'SOURCE_COLUMN' + chr(34)}")
    return out


# Source values that mean one of the warehouse's values whatever the file's spelling.
VALUE_WORDS = {"gender": {"f": "female", "w": "female", "woman": "female", "m": "male",
                          "man": "male"}}


def _column_line(profile: _Profile, col, found: str) -> list[str]:
    if col.name.endswith("_id") and col.type == "BIGINT" and profile.kinds[found] == "text":
        sql, note = profile.keys[found]
        return [f"# CHECK: {note}", f"{col.name} = {_toml_str(sql)}"]
    have = profile.levels.get(found)
    if col.values and have is not None and not set(have) <= set(col.values):
        words = VALUE_WORDS.get(col.name, {})
        pairs = ", ".join(f"{_toml_key(v)} = {_toml_str(_value_for(v, col.values, words))}"
                          for v in have)
        return [f"# CHECK: the warehouse's values are {', '.join(col.values)}",
                f"{col.name} = {{ column = {_toml_str(found)}, recode = {{ {pairs} }} }}"]
    if col.name == "birth_date" and "two-digit years" in (profile.date_notes.get(found) or ""):
        q = quote_ident(found)
        sql = f"CASE WHEN {q} > current_date THEN {q} - INTERVAL 100 YEAR ELSE {q} END"
        return ["# CHECK: two-digit years: a birth date after today is moved back 100 years",
                f"birth_date = {_toml_str(sql)}"]
    note = "   # CHECK: values must be " + ", ".join(col.values) if col.values else ""
    return [f"{col.name} = {_ref(found)}{note}"]


def _value_for(value: str, allowed: tuple[str, ...], words: dict[str, str]) -> str:
    low = value.strip().lower()
    if low in allowed:
        return low
    return words.get(low, "CHECK")


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
