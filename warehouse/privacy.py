"""Personal data stays away from the model: which query outputs derive from PII, and masking.

Three layers, each cheap:
1. lineage: sqlglot traces every output column of a query through aliases, CTEs, subqueries,
   unions and expressions (concat, lower, ...) to the table columns it comes from; outputs that
   derive from a personal-data column are hidden from the model (the person still sees them);
2. values: any output column whose values look like email addresses or phone numbers is hidden
   too, whatever the lineage says (a backstop for SQL the analysis cannot follow);
3. text: every text sent to the model is scanned, and email-like and phone-like strings and
   "First Last" pairs of customer names are replaced by placeholders.

No LangChain here: tools and the warehouse import this module.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.lineage import lineage

from warehouse.contract import PII_COLUMNS

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# E.164 (+ and 7 to 15 digits, as stored), common grouped forms, and long bare digit runs.
PHONE_RE = re.compile(
    r"(?<![\w.])\+\d[\d ()\-]{6,18}\d(?!\w)"
    r"|(?<![\w.,])\(?\d{3}\)?[ .\-]\d{3}[ .\-]\d{4}(?![\w])"
    r"|(?<![\w.,])\d{11,15}(?![\w.,])"
)
# Column names that hold personal data in tables outside the contract (user imports).
PII_NAME_RE = re.compile(
    r"(^|_)(e?mail|email_address|phone|mobile|telephone|first_?name|last_?name|given_?name|"
    r"family_?name|surname|full_?name|birth_?date|date_of_birth|dob|address|street|iban|ssn|"
    r"passport|tax_id)($|_)",
    re.I,
)
# Aggregates whose value reveals nothing personal even over a personal column.
_HARMLESS_TOPS = (exp.Count, exp.Predicate, exp.Not, exp.Is)


def is_pii_column(name: str) -> bool:
    """True for contract PII columns and for personal-looking column names in other tables."""
    return name.lower() in PII_COLUMNS or bool(PII_NAME_RE.search(name))


@dataclass(frozen=True)
class Lineage:
    """Which output positions derive from personal data, and whether the analysis was complete."""

    pii_positions: frozenset[int]
    complete: bool


def _leaf_columns(node) -> set[str]:
    cols = set()
    for n in node.walk():
        if isinstance(n.expression, exp.Table):
            cols.add(n.name.split(".")[-1].strip('"'))
    return cols


def _harmless(node) -> bool:
    expr = node.expression
    top = expr.this if isinstance(expr, exp.Alias) else expr
    if isinstance(top, exp.Filter):        # count(*) FILTER (WHERE ...)
        top = top.this
    return isinstance(top, _HARMLESS_TOPS)


def pii_lineage(tree: exp.Query, schema: dict, n_outputs: int) -> Lineage:
    """Trace each output column of `tree` to its source columns; flag those from personal data.

    `schema` is {schema: {table: {column: type}}}; `n_outputs` is the number of columns the
    database returned. When the analysis fails or does not line up with the result (COLUMNS(),
    star expansions sqlglot cannot follow), `complete` is False and callers must fail closed.
    """
    if tree.find(exp.Columns):
        return Lineage(frozenset(), complete=False)
    try:
        nodes = lineage(None, tree, schema=schema, dialect="duckdb")
    except (SqlglotError, KeyError, ValueError, AttributeError, IndexError, TypeError):
        return Lineage(frozenset(), complete=False)
    items = list(nodes.values())
    flagged = {
        i for i, node in enumerate(items)
        if not _harmless(node) and any(is_pii_column(c) for c in _leaf_columns(node))
    }
    return Lineage(frozenset(flagged), complete=len(items) == n_outputs)


def looks_personal(values: Iterable) -> bool:
    """True when any of the (first few hundred) values looks like an email or a phone number."""
    for i, value in enumerate(values):
        if i >= 500:
            break
        if isinstance(value, str) and (EMAIL_RE.search(value) or PHONE_RE.search(value)):
            return True
    return False


def hidden_columns(tree: exp.Query, schema: dict, columns: Sequence[str],
                   rows: Sequence[Sequence], reads_pii_table: bool) -> list[str]:
    """The result columns the model must not see: from PII by lineage, or personal by value.

    When lineage is incomplete and the query reads a table with personal data, every text or
    date column is hidden (fail closed); numbers stay visible.
    """
    found = pii_lineage(tree, schema, len(columns))
    hidden = set()
    for i, name in enumerate(columns):
        values = [r[i] for r in rows]
        by_lineage = found.complete and i in found.pii_positions
        unsure = not found.complete and reads_pii_table and (
            is_pii_column(name) or not all(_is_number(v) for v in values))
        if by_lineage or unsure or looks_personal(values):
            hidden.add(name)
    return [c for c in columns if c in hidden]


def _is_number(value) -> bool:
    from decimal import Decimal

    return value is None or (isinstance(value, int | float | Decimal) and
                             not isinstance(value, bool))


class NameIndex:
    """Customer first and last names, to catch "First Last" pairs in free text."""

    def __init__(self, first: Iterable[str], last: Iterable[str]) -> None:
        self.first = {f for f in first if f}
        self.last = {n for n in last if n}
        self._word = re.compile(r"[A-ZÀ-Þ][\w'\-]*")

    @classmethod
    def from_warehouse(cls, wh) -> NameIndex:
        if not wh.has_table("customers"):
            return cls((), ())
        first = [r[0] for r in wh.rows("SELECT DISTINCT first_name FROM customers")]
        last = [r[0] for r in wh.rows("SELECT DISTINCT last_name FROM customers")]
        return cls(first, last)

    def mask(self, text: str) -> str:
        words = list(self._word.finditer(text))
        spans = []
        for a, b in itertools.pairwise(words):
            if (a.group(0) in self.first and b.group(0) in self.last
                    and not text[a.end():b.start()].strip()
                    and (not spans or spans[-1][1] <= a.start())):
                spans.append((a.start(), b.end()))
        for start, end in reversed(spans):
            text = text[:start] + "[name]" + text[end:]
        return text


def mask_text(text: str, names: NameIndex | None = None) -> str:
    """Replace email-like and phone-like strings (and known "First Last" names) by placeholders."""
    if not text:
        return text
    text = EMAIL_RE.sub("[email]", text)
    text = PHONE_RE.sub("[phone]", text)
    return names.mask(text) if names is not None else text


def mask_value(value, names: NameIndex | None = None):
    """mask_text applied through dicts and lists (tool arguments for the audit log)."""
    if isinstance(value, str):
        return mask_text(value, names)
    if isinstance(value, dict):
        return {k: mask_value(v, names) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v, names) for v in value]
    return value
