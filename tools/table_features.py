"""Features from a customer-level table the user imported (one row per customer or account).

`profile_table` looks at every column once (one SQL pass for the statistics) and decides what it
is: the key (a unique, id-like column), row numbers and other identifiers, personal data (names,
emails, phones, addresses, birth dates: never features, never shown to the model), protected
attributes (gender, age, race, religion, marital status...: features only when explicitly
asked), numeric features (log-scaled when heavy-tailed), binary flags, low-cardinality
categories (one-hot encoded) and columns left out (free text, dates, constants). Detection is by
column name (split into words, so "percentage" is not "age") and by the values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tools.features import Feature, suggest
from warehouse import privacy
from warehouse.connection import Warehouse
from warehouse.contract import TABLES_BY_NAME
from warehouse.errors import EmptyResult, InvalidArgument

PII_WORDS = frozenset({
    "name", "surname", "firstname", "lastname", "fullname", "forename", "email", "mail",
    "phone", "mobile", "telephone", "tel", "address", "street", "zip", "zipcode", "postcode",
    "postal", "birth", "birthday", "birthdate", "dob", "ssn", "passport", "iban", "username",
    "ip",
})
PROTECTED_WORDS = frozenset({
    "gender", "sex", "age", "birth", "birthday", "birthdate", "dob", "race", "ethnicity",
    "ethnic", "religion", "religious", "marital", "married", "nationality", "disability",
    "disabled", "pregnant", "pregnancy", "orientation",
})
ID_WORDS = frozenset({"id", "key", "uuid", "guid", "identifier"})
# Two-valued columns named like an outcome: the target of a propensity model, never a
# clustering feature unless named in `columns` (Exited, churn, y, default, Attrition_Flag...).
OUTCOME_WORDS = frozenset({
    "exited", "exit", "churn", "churned", "target", "label", "outcome", "y", "response",
    "responded", "converted", "conversion", "attrition", "default", "defaulted", "fraud",
    "left", "subscribed", "class",
})
ROW_NUMBER_NAMES = frozenset({"rownumber", "rownum", "row", "index", "unnamed0", "unnamed", ""})
MAX_CATEGORIES = 12
NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                 "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "REAL")


def words(name: str) -> list[str]:
    """Column name as lower-case words: 'NumOfProducts' -> num, of, products; 'CUST_ID' -> cust,
    id."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def _compact(name: str) -> str:
    return "".join(words(name))


def is_pii(name: str) -> bool:
    w = set(words(name))
    compact = _compact(name)
    return bool(w & PII_WORDS) or compact in PII_WORDS or {"card", "number"} <= w or \
        compact in ("dateofbirth", "emailaddress", "phonenumber", "cardnumber")


def is_protected(name: str) -> bool:
    w = set(words(name))
    return bool(w & PROTECTED_WORDS) or _compact(name) in ("dateofbirth", "agegroup", "ageband")


def is_outcome_like(name: str) -> bool:
    w = words(name)
    return bool(w) and (bool(set(w) & OUTCOME_WORDS) or _compact(name) in OUTCOME_WORDS)


def is_id_like(name: str) -> bool:
    w = words(name)
    return bool(w) and (w[-1] in ID_WORDS or w[0] in ID_WORDS or _compact(name).endswith("id"))


# Words of a column name that, on a unique column of integers or text, say it identifies the
# row: CLIENTNUM, Account_No, cust_code, member_ref, CustomerNumber (never a measure or input).
KEY_WORDS = frozenset({"num", "number", "no", "nr", "nbr", "key", "code", "ref", "reference",
                       "account", "acct", "client", "customer", "cust", "member", "contract"})
_KEY_ENDS = ("id", "num", "number", "no", "nr", "nbr", "key", "code", "ref")
_KEY_STARTS = ("client", "cust", "member", "account", "acct")


def is_key_like(name: str) -> bool:
    """Whether a column's name reads like an identifier (id-like, or an account/client number
    or code); only a unique, non-fractional column with such a name is taken for a key."""
    w, compact = words(name), _compact(name)
    return is_id_like(name) or (bool(w) and (w[-1] in KEY_WORDS or w[0] in KEY_WORDS)) or \
        compact.endswith(_KEY_ENDS) or compact.startswith(_KEY_STARTS)


# Abbreviations common in exported customer tables, spelled out for labels and names.
ABBREVIATIONS = {
    "num": "number", "nb": "number", "cnt": "count", "qty": "quantity", "amt": "amount",
    "avg": "average", "min": "minimum", "max": "maximum", "bal": "balance", "cr": "credit",
    "prc": "percent", "pct": "percent", "perc": "percent", "freq": "frequency",
    "trx": "transactions", "txn": "transactions", "txns": "transactions", "tx": "transactions",
    "oneoff": "one-off", "est": "estimated", "acct": "account", "accts": "accounts",
    "yrs": "years", "mths": "months", "cust": "customer", "trans": "transaction",
    "ct": "count", "mon": "months", "mo": "months", "mos": "months", "util": "utilization",
    "no": "number", "nr": "number", "nbr": "number", "chng": "change", "chg": "change",
    "tot": "total", "inq": "inquiries", "dep": "dependents", "rev": "revolving",
    "amnt": "amount", "prods": "products", "prod": "product", "cmp": "campaign",
    "inc": "income", "mnt": "amount spent on",
}
_PERIOD_UNITS = ("months", "days", "weeks", "years")


def humanize(name: str) -> str:
    """'CASH_ADVANCE' -> 'cash advance', 'NumOfProducts' -> 'number of products',
    'PRC_FULL_PAYMENT' -> 'percent full payment', 'Months_Inactive_12_mon' -> 'months
    inactive (12 months)'."""
    spelled = [ABBREVIATIONS.get(w, w) for w in words(name)]
    if len(spelled) > 2 and spelled[-2].isdigit() and spelled[-1] in _PERIOD_UNITS:
        return " ".join(spelled[:-2]) + f" ({spelled[-2]} {spelled[-1]})"
    return " ".join(spelled) or name


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class TableProfile:
    """What each column of a user table is and how it is used."""

    table: str
    rows: int
    key: str | None                       # None: rows are numbered (rowid)
    numeric: dict[str, str] = field(default_factory=dict)    # column -> scale (log/linear/flag)
    categorical: dict[str, list[str]] = field(default_factory=dict)  # column -> levels
    pii: list[str] = field(default_factory=list)
    protected: list[str] = field(default_factory=list)       # detected (used or not)
    protected_used: list[str] = field(default_factory=list)
    ignored: dict[str, str] = field(default_factory=dict)    # column -> reason
    types: dict[str, str] = field(default_factory=dict)
    # column -> {spelling: level} where values differing only by case or spaces were merged
    spellings: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def feature_columns(self) -> list[str]:
        return list(self.numeric) + list(self.categorical)

    def describe(self) -> str:
        parts = [f"key {self.key or '(row number)'}",
                 f"{len(self.feature_columns)} feature columns"]
        if self.pii:
            parts.append(f"personal data left out: {', '.join(self.pii)}")
        unused = [c for c in self.protected if c not in self.protected_used]
        if unused:
            parts.append(f"protected attributes left out: {', '.join(unused)}")
        if self.protected_used:
            parts.append(f"protected attributes USED on request: {', '.join(self.protected_used)}")
        outcomes = [c for c, r in self.ignored.items() if r.startswith("looks like an outcome")]
        if outcomes:
            parts.append(f"outcome-like columns left out (name them in columns to use them): "
                         f"{', '.join(outcomes)}")
        excluded = [c for c, r in self.ignored.items() if r == "excluded"]
        if excluded:
            parts.append(f"excluded as asked: {', '.join(excluded)}")
        return "; ".join(parts)


def merge_words(spellings: dict[str, dict[str, str]]) -> list[str]:
    """"Geography: 'france', 'GERMANY' merged with France, Germany", one per column."""
    return [f"{col}: {', '.join(repr(raw) for raw in merged)} merged with "
            f"{', '.join(dict.fromkeys(merged.values()))}" for col, merged in spellings.items()]


def _main_tables(wh: Warehouse) -> list[str]:
    """Tables and views of schema main, from the engine's catalog (DuckDB or Spark)."""
    return sorted({t.name for t in wh.catalog() if t.schema == "main"})


def user_tables(wh: Warehouse) -> list[str]:
    """Tables and views in schema main that are not part of the contract."""
    return [name for name in _main_tables(wh) if name not in TABLES_BY_NAME]


def resolve_table(wh: Warehouse, table: str) -> str:
    """The table's name as stored (case-insensitive match), or InvalidArgument with hints."""
    names = {name.lower(): name for name in _main_tables(wh)}
    if table.lower() in names:
        return names[table.lower()]
    mine = user_tables(wh)
    listed = f"; imported tables: {', '.join(mine)}" if mine else \
        "; import one with `assistant import FILE --as NAME`"
    hint = suggest(table, list(names.values()))
    raise InvalidArgument(f"no table {table!r} in the warehouse{hint}{listed}")


def _column_types(wh: Warehouse, table: str) -> dict[str, str]:
    info = next((t for t in wh.catalog() if t.schema == "main" and t.name == table), None)
    return {c.name: c.type for c in info.columns} if info else {}


def _is_numeric(dtype: str) -> bool:
    return dtype.startswith(NUMERIC_TYPES) or dtype.startswith("DECIMAL")


def _is_integer(dtype: str) -> bool:
    return _is_numeric(dtype) and not dtype.startswith(("FLOAT", "DOUBLE", "REAL", "DECIMAL"))


def _stats(wh: Warehouse, table: str, types: dict[str, str]) -> tuple[int, dict[str, dict]]:
    parts = ["count(*)"]
    for col, dtype in types.items():
        q = quote_ident(col)
        parts += [f"count({q})", f"count(DISTINCT {q})"]
        if _is_numeric(dtype):
            parts += [f"min({q})::DOUBLE", f"max({q})::DOUBLE", f"skewness({q}::DOUBLE)",
                      f"(max({q}) - min({q}) + 1 = count(DISTINCT {q}))::BOOLEAN"]
        else:
            parts += ["NULL", "NULL", "NULL", "NULL"]
        # values that differ only by case or surrounding spaces count once ('France', 'france')
        parts.append(f"count(DISTINCT {fold_sql(q)})" if dtype == "VARCHAR" else "NULL")
    row = wh.rows(f"SELECT {', '.join(parts)} FROM {quote_ident(table)}")[0]
    n = int(row[0])
    stats = {}
    for i, col in enumerate(types):
        nn, distinct, lo, hi, skew, dense, folded = row[1 + 7 * i: 8 + 7 * i]
        stats[col] = {"non_null": nn, "distinct": distinct, "min": lo, "max": hi,
                      "skew": skew, "dense": dense,
                      "folded": distinct if folded is None else folded}
    return n, stats


_CODE = re.compile(r"^[A-Za-z]{1,3}\d{5,}$")


def _impersonal(wh: Warehouse, table: str, col: str, dtype: str, stat: dict) -> bool:
    """A column named like personal data whose values cannot be anyone's name, address or
    birth date: identifier codes (PaySim's nameOrig 'C1231006815', an account, not a person's
    name) or a year of birth alone (Year_Birth 1957: no day or month; an age, so a protected
    attribute, never a birth date)."""
    w = set(words(col))
    if "year" in w and w & {"birth", "born"} and _is_integer(dtype):
        return stat["min"] is not None and stat["min"] >= 1850 and stat["max"] <= 2100
    if dtype != "VARCHAR" or not w & {"name", "username"}:
        return False
    q = quote_ident(col)
    sample = [r[0] for r in wh.rows(f"SELECT {q} FROM {quote_ident(table)} WHERE {q} IS NOT "
                                    f"NULL LIMIT 500")]
    return bool(sample) and all(_CODE.match(str(v).strip()) for v in sample)


def profile_table(wh: Warehouse, table: str, *, columns: list[str] | None = None,
                  target: str | None = None, include_protected: bool = False,
                  exclude: list[str] | None = None, model_inputs: bool = False
                  ) -> TableProfile:
    """Classify every column of `table` (see the module docstring).

    `columns` restricts the features to those named (validated, case-insensitive); `exclude`
    leaves the named ones out; `target` is left out of the features. With `model_inputs` (the
    features of a segmentation or a propensity model), identifier-like columns (CUST_ID,
    district_id) are left out, unique or not, and without a target (a segmentation) so is a
    two-valued column named like an outcome (Exited, churn, y), unless named in `columns`.
    Raises InvalidArgument for unknown, personal-data or (without
    include_protected) protected columns named explicitly, EmptyResult for an empty table.
    """
    table = resolve_table(wh, table)
    types = _column_types(wh, table)
    by_lower = {c.lower(): c for c in types}

    def resolve(name: str, what: str) -> str:
        col = by_lower.get(name.strip().lower())
        if col is None:
            raise InvalidArgument(f"table {table} has no {what} {name!r}"
                                  f"{suggest(name.strip(), list(types))}; its columns are "
                                  f"{', '.join(types)}")
        return col

    target_col = resolve(target, "target column") if target else None
    wanted = [resolve(c, "column") for c in columns] if columns else None
    unwanted = {resolve(c, "column to exclude") for c in exclude or []}
    n, stats = _stats(wh, table, types)
    if n == 0:
        raise EmptyResult(f"table {table} has no rows")
    prof = TableProfile(table=table, rows=n, key=None, types=types)
    personal = set(privacy.personal_columns(wh, table))   # by name, comment or value

    def is_personal(col: str) -> bool:
        # a yes/no flag named after a phone or an email (Telco's PhoneService) holds no one's
        # number or address: personal by its name only when its values could be personal
        flag = types[col] == "BOOLEAN" or (n >= 20 and stats[col]["distinct"] <= 3)
        return col in personal or (is_pii(col) and not flag and
                                   not _impersonal(wh, table, col, types[col], stats[col]))

    unique = [c for c in types if stats[c]["distinct"] == n and stats[c]["non_null"] == n]
    row_numbers = [c for c in unique if _is_numeric(types[c]) and stats[c]["dense"]
                   and (_compact(c) in ROW_NUMBER_NAMES or not is_id_like(c))]
    id_like = [c for c in unique if is_id_like(c) and c not in row_numbers
               and not is_personal(c)]
    # CLIENTNUM, Account_No: unique whole numbers or codes named like an identifier
    key_like = [c for c in unique if c not in row_numbers and c not in id_like
                and is_key_like(c) and not is_personal(c)
                and (types[c] == "VARCHAR" or _is_integer(types[c]))]
    keys = id_like + key_like
    prof.key = keys[0] if keys else (row_numbers[0] if row_numbers else None)
    for col, dtype in types.items():
        s = stats[col]
        if col == target_col:
            prof.ignored[col] = "target"
        elif col == prof.key:
            prof.ignored[col] = "key"
        elif is_personal(col):
            prof.pii.append(col)
            prof.ignored[col] = "personal data"
        elif col in row_numbers:
            prof.ignored[col] = "row number"
        elif ((col in unique and (is_id_like(col) or col in key_like
                                  or not _is_numeric(dtype)))
              or (model_inputs and is_id_like(col) and (wanted is None or col not in wanted))):
            prof.ignored[col] = "identifier"
        elif col in unwanted:
            prof.ignored[col] = "excluded"
        elif wanted is not None and col not in wanted:
            prof.ignored[col] = "not selected"
        elif (model_inputs and target_col is None and wanted is None and s["distinct"] == 2
              and is_outcome_like(col)):
            prof.ignored[col] = "looks like an outcome (a target), not a trait"
        elif is_protected(col) and not include_protected:
            prof.protected.append(col)
            prof.ignored[col] = "protected attribute"
        elif s["distinct"] <= 1:
            prof.ignored[col] = "constant"
        elif dtype == "BOOLEAN" or (_is_numeric(dtype) and s["distinct"] == 2):
            prof.numeric[col] = "flag"
        elif _is_numeric(dtype):
            heavy = s["min"] is not None and s["min"] >= 0 and (s["skew"] or 0) > 1
            prof.numeric[col] = "log" if heavy else "linear"
        elif dtype == "VARCHAR" and s["folded"] <= MAX_CATEGORIES and s["folded"] < n / 2:
            prof.categorical[col] = []
        else:
            prof.ignored[col] = ("date or time (not used)" if dtype.startswith(("DATE", "TIME"))
                                 else "free text or too many distinct values")
        if is_protected(col) and include_protected and col not in prof.ignored:
            prof.protected.append(col)
            prof.protected_used.append(col)
    if wanted is not None:
        for col in wanted:
            reason = prof.ignored.get(col)
            if reason == "personal data":
                raise InvalidArgument(f"column {col} is personal data and is never used as a "
                                      "feature")
            if reason == "protected attribute":
                raise InvalidArgument(f"column {col} is a protected attribute; it is used only "
                                      "when include_protected is set (and the run records it)")
            if reason in ("key", "row number", "identifier", "target"):
                raise InvalidArgument(f"column {col} is the table's {reason}, not a feature")
            if reason is not None and reason != "not selected":
                raise InvalidArgument(f"column {col} cannot be used: {reason}")
    for col in list(prof.categorical):
        prof.categorical[col], merged = _levels(wh, table, col)
        if merged:
            prof.spellings[col] = merged
    if not prof.feature_columns:
        left_out = ", ".join(f"{c} ({r})" for c, r in prof.ignored.items())
        raise InvalidArgument(f"table {table} has no usable feature columns; left out: "
                              f"{left_out}")
    return prof


def fold_sql(column_sql: str) -> str:
    """The SQL of a text value as spellings of one level compare: case, surrounding spaces,
    hyphens and underscores aside ('Month-to-month', 'month to month', 'Month_to_month');
    plain lower/trim/replace, so that it reads the same on DuckDB and Spark."""
    return f"replace(replace(lower(trim({column_sql})), '-', ' '), '_', ' ')"


def fold(text: str) -> str:
    """`fold_sql` in Python, for a literal."""
    return text.strip().lower().replace("-", " ").replace("_", " ")


def _levels(wh: Warehouse, table: str, col: str) -> tuple[list[str], dict[str, str]]:
    """A category's levels, one per group of spellings that differ only by case, surrounding
    spaces, hyphens or underscores ('France', 'france', ' France'; 'Month-to-month', 'Month to
    month'), each named by its most frequent spelling (spaces
    trimmed); and {other spelling: that name} for every spelling that is not its name."""
    q = quote_ident(col)
    rows = wh.rows(f"SELECT {fold_sql(q)}, {q}, count(*) FROM {quote_ident(table)} WHERE {q} "
                   f"IS NOT NULL GROUP BY 1, 2")
    groups: dict[str, list[tuple[int, str]]] = {}
    for folded, raw, n in rows:
        groups.setdefault(str(folded), []).append((-int(n), str(raw)))
    levels, merged = [], {}
    for spellings in groups.values():
        spellings.sort()
        name = spellings[0][1].strip(" ") or spellings[0][1]
        levels.append(name)
        merged |= {raw: name for _, raw in spellings if raw != name}
    return sorted(levels), merged


def load_table_features(wh: Warehouse, prof: TableProfile, *, extra: tuple[str, ...] = ()
                        ) -> tuple[pd.DataFrame, list[Feature]]:
    """The feature frame (key column `__key` first, then features) and their Feature specs.

    Categories become one flag per level ("Geography=France"); `extra` columns (a target) are
    loaded as they are.
    """
    key_sql = quote_ident(prof.key) if prof.key else "rowid"
    cols = [quote_ident(c) for c in prof.feature_columns + list(extra)]
    frame = wh.df(f"SELECT {key_sql} AS __key, {', '.join(cols)} FROM {quote_ident(prof.table)} "
                  f"ORDER BY __key")
    features: list[Feature] = []
    used = set(prof.protected_used)
    for col, scale in prof.numeric.items():
        if scale == "flag":
            values = frame[col]
            if values.dtype == bool or str(values.dtype) == "boolean":
                frame[col] = values.astype("float64")
            else:
                top = values.max()
                frame[col] = (values == top).astype("float64").where(values.notna())
        else:
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
        features.append(Feature(col, quote_ident(col), humanize(col),
                                "%" if scale == "flag" else "", scale,
                                0.5 if scale == "flag" else 1.0, protected=col in used))
    for col, levels in prof.categorical.items():
        values = frame.pop(col).astype("string")
        if col in prof.spellings:
            values = values.replace(prof.spellings[col])
        for level in levels:
            name = f"{col}={level}"
            frame[name] = (values == level).astype("float64").where(values.notna())
            features.append(Feature(name, quote_ident(col), f"{humanize(col)} is {level}", "%",
                                    "flag", 0.5, protected=col in used))
    if frame.empty:
        raise EmptyResult(f"table {prof.table} has no rows")
    frame.attrs["sql"] = (f"SELECT {key_sql} AS __key, {', '.join(cols)} FROM "
                          f"{quote_ident(prof.table)}")
    return frame, features


# The value of a two-valued outcome that is the event to predict, and the one that is not.
POSITIVE_WORDS = frozenset({
    "1", "true", "t", "yes", "y", "attrited", "attrition", "churned", "churn", "churner",
    "exited", "exit", "closed", "left", "lost", "cancelled", "canceled", "terminated", "gone",
    "defaulted", "default", "subscribed", "converted", "responded", "bad", "fraud",
})
NEGATIVE_WORDS = frozenset({
    "0", "false", "f", "no", "n", "existing", "active", "retained", "stayed", "current",
    "open", "kept", "good", "none", "not", "non", "never",
})


def positive_value(series: pd.Series, column: str, positive: str | None = None) -> str:
    """Which of a two-valued column's values is the outcome to predict ('Attrited Customer',
    'yes', 1): `positive` when given, else by meaning (attrited, churned, exited, closed, left,
    lost, yes, true, 1 against existing, active, no, false, 0); InvalidArgument naming the
    values when it cannot tell. Values are compared trimmed and in any case."""
    if series.dtype == bool or str(series.dtype) == "boolean":
        levels = {"true": "true", "false": "false"}
    else:
        levels = {}
        for raw in series.dropna().unique():
            text = str(raw).strip()
            if isinstance(raw, float) and raw.is_integer():
                text = str(int(raw))
            levels.setdefault(text.lower(), text)
    shown = ", ".join(repr(v) for v in sorted(levels.values()))
    if len(levels) != 2:
        raise InvalidArgument(f"the target {column} must have exactly two values (0/1, "
                              f"yes/no, true/false); it has {len(levels)}: {shown}"[:400])
    if positive is not None:
        chosen = levels.get(str(positive).strip().lower())
        if chosen is None:
            raise InvalidArgument(f"{positive!r} is not a value of {column}; its values are "
                                  f"{shown}")
        return chosen

    if _numeric_levels(levels):         # 0/1, or two other numbers: the larger is the event
        return max(levels.values(), key=float)

    def says(level: str, vocabulary: frozenset[str]) -> bool:
        return bool(set(words(level)) & vocabulary) or level in vocabulary

    yes = [v for k, v in levels.items() if says(k, POSITIVE_WORDS) and not says(k, NEGATIVE_WORDS)]
    no = [v for k, v in levels.items() if says(k, NEGATIVE_WORDS)]
    if len(yes) == 1:
        return yes[0]
    if len(no) == 1:
        return next(v for v in levels.values() if v != no[0])
    raise InvalidArgument(f"cannot tell which value of {column} is the outcome to predict (the "
                          f"customers who churned, said yes...): its values are {shown}; say "
                          f"which with --positive VALUE")


def _numeric_levels(levels: dict[str, str]) -> bool:
    try:
        [float(v) for v in levels.values()]
    except ValueError:
        return False
    return True


def flag_values(series: pd.Series, positive: str) -> np.ndarray:
    """A two-valued column as 0/1: 1 where it is `positive` (see positive_value), NaN where
    empty."""
    s = series
    if s.dtype == bool or str(s.dtype) == "boolean":
        s = s.astype("object").map(lambda v: v if pd.isna(v) else str(bool(v)).lower())
    text = s.map(lambda v: v if pd.isna(v) else (
        str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)).strip().lower())
    want = str(positive).strip().lower()
    return text.map(lambda v: np.nan if pd.isna(v) else float(v == want)).to_numpy(
        dtype="float64")
