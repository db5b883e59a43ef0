"""Personal data stays away from the model: which columns are personal, which query outputs
derive from them, and masking of every text the model (or a log) receives.

Four layers, each cheap and each linear in its input:
1. columns: the contract's personal columns, personal-looking names in other tables, and, in
   tables the user imported, columns whose *values* are personal (emails, phone numbers in
   local formats, person names such as "van Dijk, Niels" or "MANUEL RUIZ", birth dates such as
   06.09.2000), detected once and remembered in the column's COMMENT;
2. lineage (warehouse/privacy_lineage.py): outputs of a query derived from a personal column,
   through aliases, CTEs, structs, lists, maps, whole rows, `*`, `COLUMNS(...)`, `#2`, PIVOT and
   UNPIVOT, are hidden from the model (the person still sees them);
3. values: any output whose values look personal is hidden too, whatever the lineage says;
4. text: every text sent to the model or written to the audit log is scanned, and emails,
   phones, customers' names (any case, either order, quoted or split by punctuation) and birth
   dates are replaced by placeholders.

No LangChain here: tools and the warehouse import this module.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from sqlglot import exp

from warehouse import privacy_values as pv
from warehouse.contract import PII_COLUMNS, TABLES_BY_NAME
from warehouse.privacy_lineage import Taint, trace

__all__ = [
    "NOT_PERSONAL_MARK",
    "PERSONAL_MARK",
    "NameIndex",
    "Taint",
    "column_kind",
    "hidden_columns",
    "is_pii_column",
    "looks_personal",
    "mask_text",
    "mask_value",
    "personal_columns",
    "safe_label",
    "safe_name",
    "trace",
]

# Column names that hold personal data in tables outside the contract (user imports), in the
# languages of the markets we serve.
PII_NAME_RE = re.compile(
    r"(^|_)(e?mail|email_address|e_mail|phone|mobile|telephone|tel|telefon|telefoon|"
    r"telefono|t[ée]l[ée]phone|handy|first_?name|last_?name|given_?name|family_?name|surname|"
    r"full_?name|fore_?name|vor_?name|nach_?name|voor_?naam|achter_?naam|naam|nombre|apellidos?|"
    r"nome|cognome|pr[ée]nom|nom|(customer|client|holder|owner|contact|account_holder|"
    r"person|member|user)_?name|birth_?date|date_of_birth|birthday|dob|geburtsdatum|"
    r"geboortedatum|fecha_de_nacimiento|date_de_naissance|data_di_nascita|address|street|"
    r"adresse|adres|direcci[oó]n|indirizzo|iban|ssn|passport|tax_?id|"
    r"national_?id|correo|courriel)($|_)",
    re.I,
)
PERSONAL_MARK = "Personal data"     # prefix of the COMMENT of a personal column in a user table
# prefix of the COMMENT of a user-table column named like personal data whose values, read at
# import, are a flag or a code (Statlog's own_telephone A191/A192): not personal
NOT_PERSONAL_MARK = "Not personal data"


def is_pii_column(name: str) -> bool:
    """True for contract PII columns and for personal-looking column names in other tables."""
    return name.lower() in PII_COLUMNS or bool(PII_NAME_RE.search(name))


# -- columns whose values are personal ------------------------------------------------------------
SAMPLE_ROWS = 1000


def _lexicon() -> frozenset[str]:
    from warehouse.reference_data import FIRST_NAMES

    return frozenset(n.casefold() for sexes in FIRST_NAMES.values() for names in sexes
                     for n in names)


def column_kind(values: Sequence, today: date | None = None) -> str | None:
    """What personal data a column's values are ("email addresses", "phone numbers", "person
    names", "birth dates"), or None. Built for a sample of up to SAMPLE_ROWS values."""
    sample = [v for v in values if v is not None][:SAMPLE_ROWS]
    if not sample:
        return None
    texts = [v.strip() for v in sample if isinstance(v, str) and v.strip()]
    if texts:
        head = [t[:300] for t in texts]
        if any(next(pv.email_spans(t), None) for t in head):
            return "email addresses"
        if sum(pv.is_phone(t) for t in head) >= max(1, 0.2 * len(head)):
            return "phone numbers"
        names = [pv.split_name(t) for t in head]
        shaped = [n for n in names if n is not None]
        if len(shaped) >= 0.6 * len(head) and len(set(head)) >= 0.3 * len(head):
            lexicon = _lexicon()
            comma = sum("," in t for t in head)
            upper = sum(t.isupper() for t in head)
            known = sum(first.split(" ")[0].casefold() in lexicon for first, _ in shaped)
            if comma >= 0.2 * len(head) or upper >= 0.2 * len(head) or \
                    known >= 0.1 * len(head) or len(set(head)) >= 0.9 * len(head):
                return "person names"
    dates = [v.date() if isinstance(v, datetime) else v for v in sample
             if isinstance(v, date)]
    dates += [d for d in (pv.parse_date(t) for t in texts[:SAMPLE_ROWS]) if d is not None]
    if len(dates) >= 0.6 * len(sample) and len(dates) >= 5:
        today = today or date.today()
        years = sorted(d.year for d in dates)
        median = years[len(years) // 2]
        if median <= today.year - 16 and years[-1] - years[0] >= 10 and \
                years[-1] <= today.year:
            return "birth dates"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in sample):
        long = sum(11 <= len(str(abs(v))) <= 15 for v in sample)
        if long >= 0.6 * len(sample) and len(set(sample)) >= 0.5 * len(sample):
            return "phone numbers"
    return None


_cache: dict[tuple, dict[str, str]] = {}
_cache_lock = threading.Lock()


def personal_columns(wh, table: str, schema: str = "main") -> dict[str, str]:
    """{column: what personal data it holds} for one table of `wh`: the contract's personal
    columns, personal-looking names, columns whose COMMENT marks them personal, and columns
    whose values look personal (sampled once per table shape and remembered)."""
    spec = TABLES_BY_NAME.get(table) if schema == "main" else None
    if spec is not None:
        return {c.name: "personal data" for c in spec.columns if c.pii}
    info = next((t for t in wh.catalog() if t.schema == schema and t.name == table), None)
    rows = [(c.name, c.type, c.comment or "") for c in info.columns] if info else []
    found = {c: "personal data" for c, _, comment in rows
             if (is_pii_column(c) and not comment.startswith(NOT_PERSONAL_MARK))
             or comment.startswith(PERSONAL_MARK) or mask_text(c) != c}
    candidates = [c for c, t, _ in rows if c not in found and _sampled_type(t)]
    if not candidates:
        return found
    size = info.rows
    key = (wh.path, schema, table, tuple((c, t) for c, t, _ in rows), size)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is None:
        cols = ", ".join('"' + c.replace('"', '""') + '"' for c in candidates)
        sample = wh.rows(f'SELECT {cols} FROM "{schema}"."{table}" LIMIT {SAMPLE_ROWS}')
        cached = {}
        for i, column in enumerate(candidates):
            kind = column_kind([r[i] for r in sample])
            if kind:
                cached[column] = kind
        with _cache_lock:
            _cache[key] = cached
    return {**found, **cached}


def _sampled_type(dtype: str) -> bool:
    return dtype in ("VARCHAR", "DATE", "BIGINT", "HUGEINT") or dtype.startswith("TIMESTAMP")


# -- lineage and values of a query result ---------------------------------------------------------
def looks_personal(values: Iterable, names: NameIndex | None = None) -> bool:
    """True when any of the (first few hundred) values looks like an email, a phone number or a
    customer's name, or is a customer's birth date."""
    for i, value in enumerate(values):
        if i >= 500:
            break
        if isinstance(value, str):
            text = value[:300]
            if next(pv.email_spans(text), None) or next(pv.phone_spans(text), None):
                return True
            if names is not None and next(names.spans(text), None):
                return True
        elif names is not None and isinstance(value, date) and names.is_birth_date(value):
            return True
    return False


def hidden_columns(tree: exp.Query, personal: dict, columns_of: dict, columns: Sequence[str],
                   rows: Sequence[Sequence], *, names: NameIndex | None = None,
                   deadline: float | None = None) -> tuple[list[int], Taint]:
    """Positions of the result columns the model must not see (personal by lineage or by
    value), and the lineage verdict (which says whether the names themselves are personal)."""
    taint = trace(tree, personal, columns_of, columns, deadline=deadline)
    hidden = set(taint.hidden)
    for i in range(len(columns)):
        if i not in hidden and looks_personal((r[i] for r in rows), names):
            hidden.add(i)
    return sorted(hidden), taint


# -- names the model may read ---------------------------------------------------------------------
_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|instruction|instructions|prompt|system|assistant|jailbreak|override|"
    r"pretend|you are|you must|reveal|previous)\b", re.I)
_NAME_OK = re.compile(r"[^\W\d][\w $().%/\-]{0,63}")


def safe_name(name: str, names: NameIndex | None = None) -> str | None:
    """`name` (a table or column name from the user's data) when it is fit for the model's
    eyes: a short plain name, not personal-looking, not an instruction; else None."""
    if not isinstance(name, str) or not _NAME_OK.fullmatch(name) or len(name.split()) > 5:
        return None
    if _INSTRUCTION.search(name.replace("_", " ")):
        return None
    if mask_text(name, names) != name:
        return None
    return name


def safe_label(name: str, names: NameIndex | None = None) -> str | None:
    """A result column's name as the model may read it: any short name that is neither personal
    data nor an instruction (expressions such as "avg(s.spend_90d)" are fine); else None."""
    if not isinstance(name, str) or not name.strip() or len(name) > 120 or "\n" in name:
        return None
    if _INSTRUCTION.search(name.replace("_", " ")) or mask_text(name, names) != name:
        return None
    return name


# -- free text ------------------------------------------------------------------------------------
class NameIndex:
    """Known personal values to catch in free text: customers' first and last names (matched in
    any case, in either order, across quotes and punctuation: "Sarah Roberts", "ROBERTS,
    Sarah", "'sarah', 'roberts'") and birth dates."""

    def __init__(self, first: Iterable[str], last: Iterable[str],
                 birth_dates: Iterable[date] = (), born_before: date | None = None) -> None:
        self.first = {" ".join(f.casefold().split()) for f in first if f}
        self.last = {" ".join(n.casefold().split()) for n in last if n}
        self.birth_dates = frozenset(birth_dates)
        self.born_before = born_before
        # for each first word of a name, the word counts of the names it starts: only these
        # can start a pair, and only those lengths are tried
        self._first_len = _lengths(self.first)
        self._last_len = _lengths(self.last)
        self._heads = set(self._first_len) | set(self._last_len)
        self._orders = ((self.first, self._first_len, self.last, self._last_len),
                        (self.last, self._last_len, self.first, self._first_len))

    @classmethod
    def from_warehouse(cls, wh) -> NameIndex:
        first: set[str] = set()
        last: set[str] = set()
        births: set[date] = set()
        reference = None
        if wh.has_table("customers"):
            first = {r[0] for r in wh.rows("SELECT DISTINCT first_name FROM customers")}
            last = {r[0] for r in wh.rows("SELECT DISTINCT last_name FROM customers")}
            births = {r[0] for r in wh.rows(
                "SELECT DISTINCT birth_date FROM customers WHERE birth_date IS NOT NULL")}
            reference = wh.scalar("SELECT max(signup_date) FROM customers")
        for table, column in _user_name_columns(wh):
            for (value,) in wh.rows(f'SELECT DISTINCT "{column}" FROM "{table}" '
                                    f"WHERE \"{column}\" IS NOT NULL LIMIT 200000"):
                parts = pv.split_name(str(value))
                if parts:
                    first.add(parts[0])
                    last.add(parts[1])
        cutoff = None
        if isinstance(reference, date):
            cutoff = reference - timedelta(days=16 * 365)
        return cls(first, last, births, cutoff)

    def is_birth_date(self, value: date) -> bool:
        if isinstance(value, datetime):
            value = value.date()
        return value in self.birth_dates and (self.born_before is None or
                                              value < self.born_before)

    def spans(self, text: str) -> Iterable[tuple[int, int]]:
        """(start, end) of every known name pair in `text`, first-last or last-first."""
        matches = list(pv.WORD_RE.finditer(text))
        words = [m.group(0).casefold() for m in matches]
        n = len(words)
        i = 0
        while i < n:
            hit = None
            if words[i] in self._heads:
                hit = self._pair_at(text, matches, words, i)
            if hit is not None:
                yield matches[i].start(), matches[hit].end()
                i = hit + 1
            else:
                i += 1

    def _name(self, text: str, matches, words, a: int, length: int) -> str | None:
        """Words a .. a+length-1 as one name, when only spaces or hyphens separate them."""
        if length == 1:
            return words[a]
        for k in range(a, a + length - 1):
            if text[matches[k].end():matches[k + 1].start()] not in (" ", "-"):
                return None
        return " ".join(words[a:a + length])

    def _pair_at(self, text: str, matches, words, i: int) -> int | None:
        n = len(words)
        for head, head_len, tail, tail_len in self._orders:
            for a_len in head_len.get(words[i], ()):
                if i + a_len > n or self._name(text, matches, words, i, a_len) not in head:
                    continue
                j = i + a_len
                if j >= n or words[j] not in tail_len:
                    continue
                gap = text[matches[j - 1].end():matches[j].start()]
                if len(gap) > 4 or any(c.isalnum() or c == "\n" for c in gap):
                    continue
                for b_len in tail_len[words[j]]:
                    if j + b_len <= n and self._name(text, matches, words, j, b_len) in tail:
                        return j + b_len - 1
        return None

    def mask(self, text: str) -> str:
        return _replace(text, list(self.spans(text)), "[name]")


def _lengths(names: set[str]) -> dict[str, tuple[int, ...]]:
    """{first word: word counts of the names starting with it, longest first}."""
    found: dict[str, set[int]] = {}
    for name in names:
        words = name.split(" ")
        found.setdefault(words[0], set()).add(len(words))
    return {w: tuple(sorted(c, reverse=True)) for w, c in found.items()}


def _user_name_columns(wh) -> list[tuple[str, str]]:
    """(table, column) of person-name columns in the user's own tables."""
    from warehouse.contract import TABLES_BY_NAME as contract

    out = []
    try:
        tables = [t.name for t in wh.catalog() if t.schema == "main" and t.kind == "table"]
    except Exception:   # a handle that cannot list tables has none of the user's
        return out
    for table in tables:
        if table in contract:
            continue
        for column, kind in personal_columns(wh, table).items():
            if kind == "person names" or re.search(r"name|naam|nom", column, re.I):
                out.append((table, column))
    return out


def _replace(text: str, spans: list[tuple[int, int]], placeholder: str) -> str:
    if not spans:
        return text
    out, last = [], 0
    for start, end in sorted(spans):
        if start < last:
            continue
        out.append(text[last:start])
        out.append(placeholder)
        last = end
    out.append(text[last:])
    return "".join(out)


BIRTH_CONTEXT = 40     # characters before a date in which a birth word makes it a birth date


def _birth_date_spans(text: str, names: NameIndex | None) -> list[tuple[int, int]]:
    spans = []
    for start, end, dates in pv.date_spans(text):
        near = text[max(0, start - BIRTH_CONTEXT):start]
        if pv.BIRTH_WORDS.search(near) or (names is not None and
                                            any(names.is_birth_date(d) for d in dates)):
            spans.append((start, end))
    return spans


def mask_text(text: str, names: NameIndex | None = None) -> str:
    """Replace emails, phone numbers, birth dates (after a birth word, or a customer's) and
    known customer names by placeholders. Linear in the length of `text`."""
    if not text or not isinstance(text, str):
        return text
    text = _replace(text, list(pv.email_spans(text)), "[email]")
    text = _replace(text, _birth_date_spans(text, names), "[date of birth]")
    text = _replace(text, list(pv.phone_spans(text)), "[phone]")
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
