"""Per-column value checks of an import, as SQL over the trimmed text of each file column."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from warehouse.contract import Column, Table

SHOW_CHARS = 80  # characters of a bad value quoted in a message
WHITESPACE = "chr(32) || chr(9) || chr(10) || chr(13) || chr(160)"
QUOTE = "'"
_BOOL_TRUE = ("true", "t", "yes", "y", "1")
_BOOL_FALSE = ("false", "f", "no", "n", "0")


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"



def _lowercase_set(values: tuple[str, ...]) -> bool:
    return all(re.fullmatch(r"[a-z_]+", v) for v in values)


def is_country(col: Column) -> bool:
    return col.name == "country" or col.name.endswith("_country")


@dataclass
class Check:
    key: str  # the reason as counted in the report
    column: str
    cond: str  # SQL over t_<col> (trimmed text) and x_<col> (converted value)
    detail: str  # SQL expression for the per-row reason


def convert_sql(col: Column, t: str) -> tuple[str, str]:
    """(SQL converting trimmed text `t` to the column's type, description of the wanted form)."""
    typ = col.type.upper()
    if typ == "VARCHAR":
        if col.values is not None and _lowercase_set(col.values):
            return f"lower({t})", ""
        if is_country(col):
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
        true = ", ".join(sql_literal(v) for v in _BOOL_TRUE)
        false = ", ".join(sql_literal(v) for v in _BOOL_FALSE)
        return (f"CASE WHEN lower({t}) IN ({true}) THEN true "
                f"WHEN lower({t}) IN ({false}) THEN false END",
                "not a BOOLEAN (use true/false, yes/no or 1/0)")
    return f"TRY_CAST({t} AS {col.type})", f"not a {col.type}"


def column_checks(table: Table, cols: list[Column]) -> list[Check]:
    checks: list[Check] = []
    for col in cols:
        name = col.name
        t, x = f"t_{name}", f"x_{name}"
        shown = f"left({t}, {SHOW_CHARS})"

        def has(text: str, name: str = name, shown: str = shown) -> str:
            # SQL for: column 'x' has '<value>'<text>
            head = sql_literal(f"column {name!r} has {QUOTE}")
            return f"{head} || {shown} || {sql_literal(QUOTE + text)}"

        if col.required or name in table.key:
            msg = f"column {name!r} is empty, but a value is required"
            checks.append(Check(msg, name, f"{t} IS NULL", sql_literal(msg)))
        _, wanted = convert_sql(col, t)
        if wanted:
            checks.append(Check(f"column {name!r} is {wanted}", name,
                                 f"{t} IS NOT NULL AND {x} IS NULL", has(f", {wanted}")))
        if col.values is not None:
            allowed = ", ".join(col.values)
            checks.append(Check(
                f"column {name!r} is not one of {allowed}", name,
                f"{x} IS NOT NULL AND {x} NOT IN ({', '.join(sql_literal(v) for v in col.values)})",
                has(f", not one of {allowed}"),
            ))
        if is_country(col):
            checks.append(Check(
                f"column {name!r} is not a two-letter ISO country code", name,
                f"{x} IS NOT NULL AND NOT regexp_full_match({x}, '[A-Z]{{2}}')",
                has(", not a two-letter ISO country code (like DE)"),
            ))
        if name == "amount":
            # Zero is allowed: a free item, a fully discounted purchase or a card check is a
            # transaction (it counts for activity and frequency) that adds nothing to spend.
            checks.append(Check(
                f"column {name!r} is negative", name, f"{x} IS NOT NULL AND {x} < 0",
                has(", but amounts are never negative (direction gives the sign: a refund or a "
                    "cancellation is a credit; map it with abs() and direction)"),
            ))
    return checks


def key_description(cols: Sequence[str], alias: str) -> str:
    parts = [f"{sql_literal(c + '=')} || CAST({alias}.{c} AS VARCHAR)" for c in cols]
    return " || ', ' || ".join(parts)
