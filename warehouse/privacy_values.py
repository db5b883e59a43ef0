"""What personal data looks like: emails, phone numbers, person names and dates in free text and
in a column's values. Every scan here is linear in the length of the text.

Why hand-written rather than one regular expression each: a pattern such as `[\\w.]+@...` tries
every start position and re-reads the rest of the text from each, which is quadratic on a long
run of word characters (300,000 'a's took minutes and, holding the interpreter lock, froze every
other session). Here emails are found from their '@', phone numbers from short bounded
candidates, names from a single pass over words, so no input can make a scan slow.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

EMAIL_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
EMAIL_DOMAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
MAX_LOCAL = 64
MAX_DOMAIN = 255


_LOCAL_CHARS = "".join(sorted(EMAIL_LOCAL))
_DOMAIN_CHARS = "".join(sorted(EMAIL_DOMAIN))


def email_spans(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of every email address in `text`: found from each '@', the local part and
    the domain measured with str.rstrip/lstrip (C speed, each bounded by RFC lengths)."""
    floor = 0
    i = text.find("@")
    while i != -1:
        left = text[max(floor, i - MAX_LOCAL):i]
        start = i - (len(left) - len(left.rstrip(_LOCAL_CHARS)))
        right = text[i + 1:i + 1 + MAX_DOMAIN]
        domain = right[: len(right) - len(right.lstrip(_DOMAIN_CHARS))].rstrip(".-")
        end = i + 1 + len(domain)
        tld = domain.rsplit(".", 1)[-1] if "." in domain else ""
        if start < i and len(tld) >= 2 and tld.isalpha() and not domain.startswith("."):
            yield start, end
            floor = end
        i = text.find("@", max(end, i + 1))


def is_email(value: str) -> bool:
    value = value.strip()
    return any(s == 0 and e == len(value) for s, e in email_spans(value))


# A phone candidate: an optional + or (, a digit, then digits and separators, ending on a digit.
# Bounded, so each start position costs at most a few dozen steps.
_PHONE_CANDIDATE = re.compile(r"(?<![\w.,/+])[+(]?\d[\d ()\-/.]{5,22}\d(?!\w|[.,]\d)")
_US = re.compile(r"\(?\d{3}\)?[ .\-]\d{3}[ .\-]\d{4}")
_DATE_LIKE = re.compile(r"\d{1,4}([./-])\d{1,2}\1\d{1,4}")


def _phone_shaped(text: str) -> bool:
    """True when the whole of `text` (a candidate) reads as a phone number."""
    digits = sum(c.isdigit() for c in text)
    if not 7 <= digits <= 15 or _DATE_LIKE.fullmatch(text):
        return False
    if "." in text and not re.fullmatch(r"[+(]?\d+(?:[.]\d+){2,}", text):
        return False                     # 1234.56 and the like are numbers, not phones
    if text.startswith("+"):
        return digits >= 8
    if text.startswith(("00", "(00")):
        return digits >= 10
    if text.lstrip("(").startswith("0"):
        return 9 <= digits <= 12         # a national number with its trunk 0
    if _US.fullmatch(text):
        return True
    return text.isdigit() and digits >= 11


def phone_spans(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of every phone-number-like run: international (+, 00), national with a
    trunk 0 (0612345678, 030 1234567, 06-12345678, (020) 123 4567, 06 12 34 56 78), US style
    (415) 555-0100, and bare runs of 11 to 15 digits."""
    for m in _PHONE_CANDIDATE.finditer(text):
        cand = m.group(0).rstrip(" -/(")
        if cand.count("(") != cand.count(")") and not cand.startswith("("):
            cand = cand.replace(")", "")[: len(cand)]
        if _phone_shaped(cand):
            yield m.start(), m.start() + len(cand)
            continue
        # a number in front of a phone ("customer 12 0612345678"): try each group's start
        for g in re.finditer(r"[ ]", cand):
            tail = cand[g.end():]
            if tail[:1] in "+(0123456789" and _phone_shaped(tail):
                yield m.start() + g.end(), m.start() + len(cand)
                break


def is_phone(value: str) -> bool:
    value = value.strip()
    return bool(value) and any(s == 0 and e == len(value) for s, e in phone_spans(value))


# -- dates ----------------------------------------------------------------------------------------
MONTHS = {
    # en, de, fr, es, it, nl (lower case, also the usual abbreviations through the prefix rule)
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "januar": 1, "februar": 2, "märz": 3, "mai": 5, "juni": 6, "juli": 7, "oktober": 10,
    "dezember": 12, "janvier": 1, "février": 2, "mars": 3, "avril": 4, "juin": 6,
    "juillet": 7, "août": 8, "septembre": 9, "octobre": 10, "novembre": 11, "décembre": 12,
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "septiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
    "gennaio": 1, "febbraio": 2, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7,
    "settembre": 9, "ottobre": 10, "dicembre": 12, "januari": 1, "februari": 2, "maart": 3,
    "mei": 5, "augustus": 8,
}
_MONTH_WORD = r"[A-Za-zÀ-ÿ]{3,10}\.?"
_DATE_RE = re.compile(
    r"(?<![\d.:/-])(?:"
    r"(?P<y1>\d{4})[./-](?P<m1>\d{1,2})[./-](?P<d1>\d{1,2})"            # 2000-09-06
    r"|(?P<a2>\d{1,2})(?P<s2>[./-])(?P<b2>\d{1,2})(?P=s2)(?P<y2>\d{4}|\d{2})"  # 06.09.2000
    r"|(?P<d3>\d{1,2})\.?\s(?P<mw3>" + _MONTH_WORD + r")\s(?P<y3>\d{4})"  # 6 September 2000
    r"|\b(?P<mw4>" + _MONTH_WORD + r")\s(?P<d4>\d{1,2}),?\s(?P<y4>\d{4})"  # September 6, 2000
    r")(?![\d:]|[./-]\d)"
)


def _month(word: str | None) -> int | None:
    if not word:
        return None
    w = word.lower().rstrip(".")
    if w in MONTHS:
        return MONTHS[w]
    hits = {n for name, n in MONTHS.items() if len(w) >= 3 and name.startswith(w)}
    return hits.pop() if len(hits) == 1 else None


def _make(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _year(text: str) -> int:
    y = int(text)
    return y if len(text) == 4 else (2000 + y if y < 30 else 1900 + y)


def date_spans(text: str) -> Iterator[tuple[int, int, tuple[date, ...]]]:
    """(start, end, candidate dates) of every full date written in a common local format;
    06/09/2000 gives both readings (6 September and 9 June)."""
    for m in _DATE_RE.finditer(text):
        g = m.groupdict()
        found: list[date | None] = []
        if g["y1"]:
            found.append(_make(int(g["y1"]), int(g["m1"]), int(g["d1"])))
        elif g["y2"]:
            y, a, b = _year(g["y2"]), int(g["a2"]), int(g["b2"])
            found += [_make(y, b, a), _make(y, a, b)]
        elif g["y3"]:
            month = _month(g["mw3"])
            found.append(_make(int(g["y3"]), month, int(g["d3"])) if month else None)
        else:
            month = _month(g["mw4"])
            found.append(_make(int(g["y4"]), month, int(g["d4"])) if month else None)
        dates = tuple(dict.fromkeys(d for d in found if d is not None))
        if dates:
            yield m.start(), m.end(), dates


def parse_date(value: str) -> date | None:
    """The date a cell holds when the whole cell is one date (the day-first reading first)."""
    value = value.strip()
    for s, e, dates in date_spans(value):
        if s == 0 and e == len(value):
            return dates[0]
    return None


BIRTH_WORDS = re.compile(
    r"\b(born|birth|birthday|birthdate|dob|d\.o\.b|geboren|geburt\w*|né|née|nacid[oa]|"
    r"nacimiento|naissance|nato|nata|nascita|geboorte\w*)\b", re.I)


# -- names ----------------------------------------------------------------------------------------
WORD_RE = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
PARTICLES = frozenset({
    "van", "von", "der", "den", "de", "da", "di", "del", "della", "dos", "das", "du", "le", "la",
    "ten", "ter", "te", "bin", "al", "el", "mac", "st", "y", "zu", "vom",
})


def split_name(value: str) -> tuple[str, str] | None:
    """(first, last) of a person-name-shaped value: "Niels van Dijk", "van Dijk, Niels",
    "MANUEL RUIZ"; None when the value does not look like a name (digits, one word, too many
    words, punctuation other than a comma, apostrophe, hyphen or dot)."""
    value = " ".join(value.split())
    if not value or len(value) > 80 or any(c.isdigit() for c in value):
        return None
    if re.search(r"[^\w\s,'’.\-]", value):
        return None
    if value.count(",") == 1:
        last, first = (p.strip() for p in value.split(","))
    elif "," in value:
        return None
    else:
        words = value.split(" ")
        if len(words) < 2:
            return None
        first, last = words[0], " ".join(words[1:])
    words = [*first.split(" "), *last.split(" ")]
    if not first or not last or not 2 <= len(words) <= 5:
        return None
    core = [w for w in words if w.lower().strip(".") not in PARTICLES]
    if len(core) < 2 and "," not in value:
        return None
    if not all(WORD_RE.fullmatch(w.strip(".")) for w in words if w.strip(".")):
        return None
    if not all(w[0].isupper() for w in core):
        return None                      # "paid search", "gold card" are not names
    return first, last
