"""Question text, normalised, with matched phrases consumed so leftovers can be checked."""

from __future__ import annotations

import difflib
import re
import unicodedata

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "fifty": 50, "hundred": 100, "a dozen": 12, "a couple of": 2, "a few": 3,
}
# marketers' shorthand, read as the full word
ABBREVIATIONS = {
    "cust": "customer", "custs": "customers", "acct": "account", "accts": "accounts",
    "acc": "account", "accs": "accounts", "txn": "transaction", "txns": "transactions",
    "notif": "notification", "notifs": "notifications", "bal": "balance", "bals": "balances",
    "amt": "amount", "amts": "amounts", "cc": "credit card", "ppl": "people", "mth": "month",
    "mths": "months", "yr": "year", "yrs": "years", "qtr": "quarter", "num": "number",
    # chat spelling
    "wats": "what is", "wuts": "what is", "whts": "what is",
    "wat": "what", "wut": "what", "wht": "what", "hw": "how", "hav": "have", "hv": "have",
    "b4": "before", "2day": "today", "gimme": "give me", "cat": "category",
    "cats": "categories", "wk": "week", "wks": "weeks", "avg": "average", "hows": "how is",
    "whos": "who is",
    # vowels left out
    "spnd": "spend", "spnt": "spent", "spndng": "spending", "trx": "transaction",
    "trxn": "transaction", "trxns": "transactions", "cstmr": "customer", "cstmrs": "customers",
    "cnt": "count", "nbr": "number", "mnth": "month", "mnths": "months", "cntry": "country",
    "ctry": "country", "thru": "through", "msg": "message", "msgs": "messages",
    "r": "are", "u": "you", "ur": "your", "pls": "please", "plz": "please",
    # apostrophes left out
    "havent": "have not", "hasnt": "has not", "hadnt": "had not", "didnt": "did not",
    "dont": "do not", "doesnt": "does not", "isnt": "is not", "arent": "are not",
    "wasnt": "was not", "werent": "were not", "wont": "will not", "cant": "cannot",
}
_ABBREVIATION_RE = re.compile(r"(?<![\w])(" + "|".join(ABBREVIATIONS) + r")(?![\w])")
_NUMBER_RE = re.compile(r"(?<![\w])(" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
                        + r")(?![\w])")


def normalise(text: str) -> str:
    """Lower case, plain quotes, no punctuation except what numbers and ranges need."""
    s = unicodedata.normalize("NFC", text or "").lower()
    s = s.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    s = s.replace("–", "-").replace("—", " ").replace("…", " ")
    s = re.sub(r"\be-mail", "email", s)
    s = re.sub(r"(?<![\w/])w/o(?![\w/])", " without ", s)
    s = re.sub(r"(?<![\w/])w/(?![\w/])", " with ", s)
    s = re.sub(r"(?:^|(?<=\s))(?:no\.|nr\.?|#)\s*of\b|\bno\. ", "number of ", s)
    s = re.sub(r"(?:^|(?<=\s))#\s*(?=\w)", "number of ", s)
    s = re.sub(r"\bcan't\b", "can not", s)
    s = re.sub(r"\bwon't\b", "will not", s)
    s = re.sub(r"n't\b", " not", s)
    s = re.sub(r"'re\b", " are", s)                  # "how're we doing?"
    s = re.sub(r"'(?:d|ll|ve|m)\b", "", s)
    s = re.sub(r"(\d),(\d{3})", r"\1\2", s)          # 10,000 -> 10000
    s = re.sub(r"(\d) (\d{3})(?!\d)", r"\1\2", s)     # 10 000 -> 10000
    s = re.sub(r"(?<=[a-zà-ÿ])-(?=[a-zà-ÿ])", " ", s)  # self-employed -> self employed
    s = re.sub(r"(?<=[a-zà-ÿ])/(?=[a-zà-ÿ])", " or ", s)  # ios/android -> ios or android
    s = re.sub(r"'s\b|s'(?=\s|$)", lambda m: "" if m.group(0) == "'s" else "s", s)
    s = re.sub(r"[?!;:()\[\]{}\"`*]", " ", s)
    s = re.sub(r"(?<!\d)[.,](?!\d)|(?<=\d)[.,](?!\d)|(?<!\d)[.,](?=\d)", " ", s)
    s = s.replace("'", " ")
    s = _ABBREVIATION_RE.sub(lambda m: ABBREVIATIONS[m.group(1)], s)
    s = _NUMBER_RE.sub(lambda m: str(NUMBER_WORDS[m.group(1)]), s)
    s = re.sub(r"\b(which|this|that) 1\b(?! (?:of|or|and|to|in|%))", r"\1 ones", s)   # a pronoun
    s = re.sub(r"(?<![\w])(\d+) ?(d|days?|mo|mos|mths?|months?)(?![\w])",
               lambda m: f"{m.group(1)} {'day' if m.group(2).startswith('d') else 'month'}s"
               if m.group(2) in ("d", "mo", "mos", "mth", "mths") else m.group(0), s)   # 90d
    s = re.sub(r"(?<![\w])(last|this|next|per|each|a|past|prev|previous) mo(?![\w])",
               r"\1 month", s)                                                    # last mo
    return re.sub(r"\s+", " ", s).strip()


def correct_typos(question: str, words: list[str], known: frozenset[str]) -> str:
    """`question` with each of `words` (5+ letters) replaced by a very close known word, e.g.
    'custmers' -> 'customers', or by the known word it is with two letters swapped ('frnace');
    words without a close match stay."""
    for word in dict.fromkeys(words):
        if len(word) < 5 or not word.isalpha():
            continue
        close = difflib.get_close_matches(word, known, n=1, cutoff=0.85) or \
            sorted(_swapped(word) & known)[:1]
        if close and _opposites(word, close[0]):
            continue        # 'subscribers' is never 'unsubscribes', 'active' never 'inactive'
        if close:
            question = re.sub(rf"(?i)(?<![\w]){re.escape(word)}(?![\w])", close[0], question)
    return question


def _opposites(word: str, other: str) -> bool:
    """Whether one word is the other with a negating prefix ('unsubscribes', 'subscribers')."""
    for a, b in ((word, other), (other, word)):
        for prefix in ("un", "in", "non", "dis", "im"):
            if a.startswith(prefix) and not b.startswith(prefix) and \
                    difflib.SequenceMatcher(None, a[len(prefix):], b).ratio() >= 0.8:
                return True
    return False


def _swapped(word: str) -> set[str]:
    """`word` with two neighbouring letters swapped, every way ('frnace' -> 'france')."""
    return {word[:i] + word[i + 1] + word[i] + word[i + 2:] for i in range(len(word) - 1)}


class Text:
    """A normalised question; `take` consumes what it matches (replaced by spaces)."""

    def __init__(self, question: str) -> None:
        self.raw = question
        self.s = " " + normalise(question) + " "

    def peek(self, pattern: str | re.Pattern) -> re.Match | None:
        return re.search(pattern, self.s)

    def take(self, pattern: str | re.Pattern) -> re.Match | None:
        m = re.search(pattern, self.s)
        if m:
            self._blank(m.start(), m.end())
        return m

    def take_all(self, pattern: str | re.Pattern) -> list[re.Match]:
        found = list(re.finditer(pattern, self.s))
        for m in found:
            self._blank(m.start(), m.end())
        return found

    def _blank(self, start: int, end: int) -> None:
        self.s = self.s[:start] + " " * (end - start) + self.s[end:]

    def words(self) -> list[str]:
        return self.s.split()

    @property
    def original(self) -> str:
        return normalise(self.raw)
