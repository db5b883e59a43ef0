"""A first semantic model for a table the user imported, drafted from its profile.

The profile (tools/table_features.py) says what each column is; the draft turns that into the
semantic model's terms: the key, a count of rows, a measure per number column (average by
default, every statistic allowed), a dimension per category, yes/no flag and low-cardinality
number (tenure in years, number of products), a rate for a yes/no outcome (churned, exited,
subscribed), the words people use for each, personal-data columns left out and protected
attributes marked. The draft is TOML the person can read and edit (`assistant model edit`);
it is validated like the warehouse's own model.
"""

from __future__ import annotations

import re

from tools.table_features import (
    TableProfile,
    humanize,
    is_protected,
    merge_words,
    profile_table,
    quote_ident,
    words,
)
from warehouse.connection import Warehouse

# Words a column name stands for, beyond its own ("Exited" is churn, "y" a subscription).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "exited": ("churned", "churn", "exited", "left", "churner", "attrited", "lost"),
    "churn": ("churned", "churn", "churner", "left", "attrited", "lost"),
    "churned": ("churned", "churn", "churner", "left", "attrited", "lost"),
    "attrition": ("churned", "churn", "attrition", "attrited", "left"),
    "y": ("subscribed", "subscription", "term deposit", "converted", "conversion", "said yes"),
    "subscribed": ("subscribed", "subscription", "term deposit", "converted"),
    "geography": ("country", "geography", "market", "region", "location"),
    "estimated salary": ("salary", "estimated salary", "income", "earnings"),
    "number of products": ("products", "number of products", "product count"),
    "credit score": ("credit score", "score", "credit rating"),
    "purchases": ("purchases", "purchase amount", "spend", "spending"),
    "credit limit": ("credit limit", "limit", "card limit"),
    "is active member": ("active", "active member", "active members"),
    "has credit card": ("credit card", "card", "credit card holder"),
    "cash advance": ("cash advance", "cash advances"),
    "job": ("job", "occupation", "profession", "job type"),
    "marital": ("marital status", "marital", "married"),
    "education": ("education", "education level"),
}
_OUTCOMES = ("exited", "churn", "churned", "attrition", "y", "subscribed", "default",
             "converted", "response")
LOW_CARDINALITY = 12


def _name(column: str, taken: set[str]) -> str:
    base = "_".join(words(column)) or "column"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    taken.add(name)
    return name


def _words(column: str) -> list[str]:
    label = humanize(column)
    found = [label, *SYNONYMS.get(label, ()), *SYNONYMS.get(column.lower(), ())]
    return list(dict.fromkeys(w for w in found if w))


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _list(items) -> str:
    return "[" + ", ".join(_q(x) for x in items) + "]"


def _flag_phrase(label: str) -> tuple[str, str]:
    """How a yes/no column reads as a filter: 'has credit card' -> 'with a credit card'."""
    if label.startswith("has "):
        return f"with a {label[4:]}", f"without a {label[4:]}"
    if label.startswith("is "):
        return label[3:], f"not {label[3:]}"
    if label in SYNONYMS and SYNONYMS[label][0].endswith("ed"):
        return SYNONYMS[label][0], f"not {SYNONYMS[label][0]}"
    return label, f"not {label}"


def _flag_true(wh: Warehouse, table: str, column: str, dtype: str) -> str:
    """The SQL test for the 'yes' value of a two-valued column."""
    col = f"u.{quote_ident(column)}"
    if dtype == "BOOLEAN":
        return col
    if dtype == "VARCHAR":
        levels = [str(r[0]).strip().lower() for r in wh.rows(
            f"SELECT DISTINCT {quote_ident(column)} FROM {quote_ident(table)} WHERE "
            f"{quote_ident(column)} IS NOT NULL")]
        yes = next((v for v in levels if v in ("yes", "y", "true", "t", "1")), sorted(levels)[-1])
        return f"lower(trim({col})) = '{yes.replace(chr(39), chr(39) * 2)}'"
    top = wh.scalar(f"SELECT max({quote_ident(column)}) FROM {quote_ident(table)}")
    return f"{col} = {top}"


def _flag(wh: Warehouse, prof: TableProfile, col: str, name: str) -> tuple[str, list[str]]:
    """A yes/no column: its boolean dimension, and for an outcome (churned, subscribed) a named
    filter and a rate metric."""
    entity, label = prof.table, humanize(col)
    true = _flag_true(wh, prof.table, col, prof.types[col])
    phrase, negated = _flag_phrase(label)
    protected = "\nprotected = true" if is_protected(col) else ""
    dim = (f"[entities.{entity}.dimensions.{name}]\nexpr = {_q(true)}\nkind = \"boolean\"\n"
           f"label = {_q(label)}\nwords = {_list(_words(col))}\nphrase = {_q(phrase)}\n"
           f"negated = {_q(negated)}{protected}")
    if label not in _OUTCOMES and col.lower() not in _OUTCOMES:
        return dim, []
    word = (SYNONYMS.get(label) or SYNONYMS.get(col.lower()) or (label,))[0]
    rate = "churn rate" if word == "churned" else f"{word} rate"
    return dim, [
        f"[metrics.{name}_rate]\nnumerator = {{measure = \"rows\", filter = \"{name}\"}}\n"
        f"denominator = \"rows\"\npercent = true\nlabel = {_q(rate)}\n"
        f"words = {_list([rate, f'{label} rate', f'share {word}'])}\n"
        f"definition = {_q(f'{rate} = rows where {label} is yes divided by all rows')}",
        f"[filters.{name}]\nentity = {_q(entity)}\nexpr = {_q(true)}\nlabel = {_q(phrase)}\n"
        f"negated_label = {_q(negated)}\nwords = {_list(_words(col))}"]


MERGED = "# merged: "


def _category_expr(column: str, merged: dict[str, str]) -> str:
    """The SQL of a category: the column, or with spellings that differ only by case or
    surrounding spaces grouped under one name ('france', ' France' -> 'France'), written with
    lower/trim/CASE so that it reads the same on DuckDB and Spark."""
    col = f"u.{quote_ident(column)}"
    if not merged:
        return col
    lit = lambda text: "'" + text.replace("'", "''") + "'"  # noqa: E731
    whens = " ".join(f"WHEN {lit(name.lower())} THEN {lit(name)}"
                     for name in sorted(set(merged.values())))
    return f"CASE lower(trim({col})) {whens} ELSE {col} END"


def draft_model(wh: Warehouse, table: str, source: str = "") -> str:
    """The drafted model of user table `table`, as TOML text."""
    prof: TableProfile = profile_table(wh, table, include_protected=True)
    distinct = {c: int(n) for c, n in zip(prof.types, wh.rows(
        "SELECT " + ", ".join(f"count(DISTINCT {quote_ident(c)})" for c in prof.types) +
        f" FROM {quote_ident(prof.table)}")[0], strict=True)}
    entity = prof.table
    taken: set[str] = set()
    rows_word = "customers" if (prof.key and re.search(r"cust|client|member", prof.key.lower())) \
        or any(w in ("customer", "client") for w in words(entity)) else "rows"
    lines = [
        f"# Semantic model of the imported table {entity}{f' (from {source})' if source else ''}.",
        "# Drafted from the table's profile: check the words and what each column means, then",
        f"# save it with `assistant model edit {entity}` (validated before it is used).",
        f"name = {_q(entity)}",
        f"description = {_q(f'Imported table {entity}: {prof.rows:,} rows, one per customer.')}",
        "",
    ]
    if prof.pii:
        lines.append(f"# personal data, never used or shown: {', '.join(prof.pii)}")
    lines += [f"{MERGED}{line}" for line in merge_words(prof.spellings)]
    ignored = {c: r for c, r in prof.ignored.items() if r not in ("personal data", "key")}
    if ignored:
        lines.append("# left out: " + ", ".join(f"{c} ({r})" for c, r in ignored.items()))
    values: list[str] = []
    dims: list[str] = []
    measures: list[str] = []
    metrics: list[str] = []
    for col, scale in prof.numeric.items():
        name = _name(col, taken)
        label = humanize(col)
        expr = f"u.{quote_ident(col)}"
        protected = "\nprotected = true" if is_protected(col) else ""
        if scale == "flag":
            dim, extra = _flag(wh, prof, col, name)
            dims.append(dim)
            metrics += extra
            continue
        ordered = distinct.get(col, 99) <= LOW_CARDINALITY and not prof.types[col].startswith(
            ("DOUBLE", "FLOAT", "DECIMAL", "REAL"))     # tenure in years, products: a split
        dims.append(f"[entities.{entity}.dimensions.{name}]\nexpr = {_q(expr)}\n"
                    f"kind = \"number\"\n{'ordered = true' + chr(10) if ordered else ''}"
                    f"label = {_q(label)}\nwords = {_list(_words(col))}{protected}")
        measures.append(f"[measures.{name}]\nentity = {_q(entity)}\nagg = \"avg\"\n"
                        f"expr = {_q(expr)}\nstats = [\"avg\", \"sum\", \"median\", \"min\", "
                        f"\"max\"]\nunit = \"amount\"\ndecimals = 2\nlabel = {_q(label)}\n"
                        f"words = {_list(_words(col))}")
    for col, levels in prof.categorical.items():
        name = _name(col, taken)
        label = humanize(col)
        lower = {v.strip().lower() for v in levels}
        if len(levels) == 2 and lower <= {"yes", "no", "y", "n", "true", "false"}:
            dim, extra = _flag(wh, prof, col, name)
            dims.append(dim)
            metrics += extra
            continue
        values.append(f"[values.{name}]\n" + "\n".join(
            f"{_q(v)} = {_list([v, v.lower()])}" for v in levels))
        protected = "\nprotected = true" if is_protected(col) else ""
        expr = _category_expr(col, prof.spellings.get(col, {}))
        dims.append(f"[entities.{entity}.dimensions.{name}]\nexpr = {_q(expr)}\n"
                    f"values = {_q(name)}\nlabel = {_q(label)}\nwords = {_list(_words(col))}\n"
                    f"phrase = {_q('in {values}')}\nnegated = {_q('not in {values}')}{protected}")
    key = prof.key or "rowid"
    lines += ["", f"[entities.{entity}]", f"table = {_q(entity)}", 'alias = "u"',
              f"key = {_q(key)}", f"label = {_q(rows_word)}",
              f"singular = {_q(rows_word.rstrip('s'))}",
              f"words = {_list(['customer', 'client', 'row', 'record', 'people'])}",
              "user_table = true", ""]
    lines += [*(d + "\n" for d in dims)]
    lines += [f"[measures.rows]\nentity = {_q(entity)}\nagg = \"count\"\nlabel = {_q(rows_word)}\n"
              f"words = {_list(['customer', 'client', 'row', 'record', 'people'])}\n"]
    lines += [*(m + "\n" for m in measures), *(m + "\n" for m in metrics),
              *(v + "\n" for v in values)]
    return "\n".join(lines).rstrip() + "\n"
