"""The words marketers use for the warehouse's values: the semantic model's, as regex phrases.

Value sets, their labels and the words people use for them come from the semantic model
(warehouse/semantic/bank.toml); places, campaigns and merchants are read from the warehouse
itself (`Vocabulary.from_warehouse`). Phrases are regular-expression fragments matched on
normalised text (lower case, hyphens between letters turned into spaces). Below them: the words
that carry no meaning of their own in a question (anything else left over is not understood).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from warehouse import contract
from warehouse.schema import reference_note
from warehouse.semantic import bank_model

PLURAL = "(?:s|es)?"


def _phrase(text: str) -> str:
    """A phrase of the semantic model as a regex fragment: words as written, plural s allowed."""
    body = re.escape(text).replace(r"\ ", " ")
    return body if text.endswith("s") else body + PLURAL


def phrases(value_set: str) -> dict[str, tuple[str, ...]]:
    """{value: regex phrases} of a value set of the semantic model (the words people use)."""
    return {value: tuple(_phrase(w) for w in spec.words)
            for value, spec in MODEL.values[value_set].items()}


def labels(value_set: str) -> dict[str, str]:
    """{value: how an answer names it} of a value set of the semantic model."""
    return {value: spec.label for value, spec in MODEL.values[value_set].items()}


MODEL = bank_model()
COUNTRY_PHRASES = phrases("country")
COUNTRY_NAMES = labels("country")
# Groups of the warehouse's countries: (name, phrases, countries).
COUNTRY_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("the eurozone", r"(?:the )?(?:(?:eurozone|euro zone|euro area)(?: countries| markets"
                     r"| member states| nations)?|euro countries)", ("DE", "FR", "ES", "IT", "NL")),
    ("North America", r"(?:the )?north america(?:n)?(?: countries| markets)?", ("US", "CA")),
)
# Upper-case ISO codes are only trusted in the original text ("DE", not "de" or "us").
COUNTRY_CODES = {c: c for c in contract.COUNTRIES} | {"UK": "GB", "USA": "US"}
LANGUAGE_PHRASES = phrases("language")
LANGUAGE_NAMES = labels("language")
PRODUCT_PHRASES = phrases("product")
PRODUCT_NAMES = labels("product")
PRODUCT_PLURALS = {"credit_card": "credit cards", "checking": "checking accounts",
                   "savings": "savings accounts", "personal_loan": "personal loans",
                   "mortgage": "mortgages", "investment": "investment accounts",
                   "crypto": "crypto accounts"}
CATEGORY_PHRASES = phrases("category")
TX_CHANNEL_PHRASES = phrases("tx_channel")
ACQUISITION_PHRASES = phrases("acquisition_channel")
EMPLOYMENT_PHRASES = phrases("employment_status")
EMPLOYMENT_NAMES = labels("employment_status")
GENDER_PHRASES = phrases("gender")
KYC_PHRASES = phrases("kyc_status")
PLATFORM_PHRASES = phrases("platform")
CONTACT_PHRASES = phrases("contact_channel")
CAMPAIGN_CHANNEL_PHRASES = phrases("campaign_channel")
EVENT_TYPE_PHRASES = phrases("event_type")

# Words that carry no meaning of their own in a question: anything else left over after
# parsing means the planner did not understand part of the question, and it refuses.
FILLER = frozenset((
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "from", "by", "with", "and", "or",
    "our", "my", "your", "their", "its", "we", "i", "you", "me", "us", "they", "is", "are", "was",
    "were", "be", "been", "being", "do", "does", "did", "have", "has", "had", "having", "can",
    "could", "would", "should", "will", "shall", "may", "might", "must", "please", "pls", "kindly",
    "plz", "thx", "rn", "u", "ur", "r",     # chat spelling ('rn': right now)
    "tell", "show", "give", "list", "get", "find", "display", "provide", "report", "calculate",
    "compute", "work", "out", "see", "know", "want", "need", "like", "look", "let", "lets",
    "let's", "check", "what", "what's", "whats", "which", "who", "whom", "whose", "how", "how's",
    "many", "much", "number", "numbers", "count", "counts", "total", "overall", "all", "any",
    "each", "every", "per", "there", "here", "that", "this", "these", "those", "it", "them", "as",
    "than", "then", "so", "about", "into", "out", "up", "currently", "current", "right", "now",
    "today", "just", "also", "again", "only", "please", "thanks", "thank", "customer", "customers",
    "client", "clients", "people", "users", "user", "members", "member", "persons", "person",
    "accounts", "account", "holders", "holder", "base", "our", "across", "among", "within",
    "between", "versus", "vs", "compared", "compare", "comparison", "against", "figure", "figures",
    "stats", "statistics", "data", "table", "give", "me", "overview", "summary", "summarise",
    "summarize", "look", "looking", "like", "s", "whole", "entire", "ever", "still", "already",
    "yet", "some", "do", "we", "altogether", "exactly", "roughly", "approximately", "approx",
    "around", "hold", "holds", "held", "holding", "own", "owns", "owned", "owning", "use", "uses",
    "used", "using", "having", "got", "make", "makes", "made", "did", "doing", "done", "live",
    "lives", "living", "based", "located", "come", "comes", "coming", "came", "reside", "resides",
    "residing", "presently", "registered", "who", "that", "which", "where", "when", "while",
    "whose", "both", "either", "neither", "one", "ones", "bank", "banks", "banking", "measure",
    "metric", "metrics", "kpi", "kpis", "break", "down", "distributed", "grouped", "segmented",
    "divided", "popular", "common", "open", "vary", "varies", "varying", "differ", "differs",
    "different", "difference", "pay", "pays", "paid", "size", "sizes", "ticket", "typically",
    "usually", "generally", "brings", "bring", "brought", "generates", "generated", "generate",
    "drives", "drove", "delivers", "delivered", "process", "processed", "processes", "but", "go",
    "goes", "went", "big", "large", "small", "select", "hey", "hi", "hello", "ppl", "folks",
    "individuals", "sorted", "ordered",
    # chat openers and tags that ask nothing ('yo how many ppl joined this yr', 'ok so ...')
    "yo", "ok", "okay", "lol", "btw", "sup", "um", "uh", "hmm", "quick", "question", "guys",
))


# Verbs and phrases that only restate what is measured: "students on our books", "the balance
# sitting in savings", "transactions booked in August". Consumed once the metric is known.
METRIC_FILLER: dict[str, str] = {
    "*": r"\bon (?:our|the|the bank s) books\b",
    "balance": r"\b(?:sitting|sits|sit|parked|kept|lying|stored|deposited) (?=in\b|on\b)",
    "transactions": r"\b(?:booked|(?<=we )book|recorded|posted|logged|executed|conducted"
                    r"|carried out"
                    r"|put through)\b",
    "events": r"\b(?:to|on|in|into|via|through|with|using) (?:the |our |their )?(?:mobile "
              r"|banking )?app\b(?! stores?)",
}


def meaningful(words: list[str]) -> list[str]:
    """The words left over after parsing that carry meaning: what was not understood."""
    return [w for w in words if w not in FILLER and not re.fullmatch(r"[&,.\-+/%]", w)]


# Words the recognisers use that are not in the tables above (time words, verbs, rankings).
KNOWN_EXTRA = """
january february march april june july august september october november december quarter
month months year years week weeks days last past previous this current since today yesterday
active inactive churned churn churners dormant transacted transactions signed signups joined
opted consent marketable reachable segment segments cluster clusters audience audiences draft
write email emails describe predict likely risk compare versus highest lowest biggest largest
smallest most least fewest average median total percentage proportion share rate rates number
category categories merchants merchant channel channels country countries region regions city
cities product products customers customer clients people prefer preferring speaking platform
income earning earners aged older younger between under over above below students retirees
holders holding without never campaign campaigns opened clicked converted unsubscribed spend
spending spent balance balances deposits mortgage mortgages savings checking credit cards
investment crypto loans loan german french spanish italian dutch british american canadian
everything every profiling opened openings unsubscribes unsubscribe allow business looking
half first second third fourth between after following received reach contactable
"""


def alternation(phrases) -> str:
    """One regex alternation of phrases, longest first, on word boundaries."""
    ordered = sorted(set(phrases), key=len, reverse=True)
    return r"(?<![\w])(?:" + "|".join(ordered) + r")(?![\w])"


_COMPILED: dict[tuple, list[tuple[str, re.Pattern]]] = {}


def value_patterns(table: dict[str, tuple[str, ...]]) -> list[tuple[str, re.Pattern]]:
    """[(value, compiled phrase regex)], longest phrases first across values (cached)."""
    key = tuple((value, phrases) for value, phrases in table.items())
    found = _COMPILED.get(key)
    if found is None:
        pairs = [(value, phrase) for value, phrases in table.items() for phrase in phrases]
        pairs.sort(key=lambda p: len(p[1].replace(PLURAL, "")), reverse=True)
        found = [(v, re.compile(rf"(?<![\w]){p}(?![\w])")) for v, p in pairs]
        if len(_COMPILED) < 256:
            _COMPILED[key] = found
    return found


@dataclass
class Vocabulary:
    """What the planner knows about this warehouse beyond the contract."""

    regions: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()
    campaigns: tuple[str, ...] = ()
    merchants: tuple[str, ...] = ()
    reference_date: date = date(2026, 10, 31)
    reference_ts: datetime | None = None
    data_start: date | None = None
    tables: dict = field(default_factory=dict)     # user table -> its semantic model
    table_dates: dict = field(default_factory=dict)  # user table -> its latest date (time dim.)
    demo: bool = False                             # the customer tables hold generated data
    reference_note: str = ""   # where the reference date comes from, when not transactions
    coverage: object = None    # coverage.Coverage: which of the model's data is loaded
    extra: dict = field(default_factory=dict)

    def known_words(self) -> frozenset[str]:
        """Every word the planner can read: for typo correction (cached)."""
        cached = self.extra.get("known")
        if cached is None:
            from assistant.planner import measures
            from assistant.planner.text import normalise

            sources = [" ".join(FILLER)]
            for table in (COUNTRY_PHRASES, LANGUAGE_PHRASES, PRODUCT_PHRASES, CATEGORY_PHRASES,
                          TX_CHANNEL_PHRASES, ACQUISITION_PHRASES, EMPLOYMENT_PHRASES,
                          GENDER_PHRASES, KYC_PHRASES, PLATFORM_PHRASES, CAMPAIGN_CHANNEL_PHRASES,
                          EVENT_TYPE_PHRASES):
                sources += [p for ps in table.values() for p in ps]
            sources += list(measures.DIMENSIONS.values()) + list(measures.METRIC_WORDS.values())
            sources += [measures.SHARE_WORDS, *measures.AGG_WORDS.values(), KNOWN_EXTRA,
                        measures._TREND]
            sources += [normalise(x) for x in (*self.regions, *self.cities, *self.campaigns)]
            # the imported tables' words are words too: 'contract' of a Telco table is never
            # 'corrected' to the warehouse's 'contact'
            for model in self.tables.values():
                sources += [normalise(w) for e in model.entities.values() for d in
                            e.dimensions.values() for w in (*d.words, d.label)]
                sources += [normalise(w) for m in (*model.measures.values(),
                                                   *model.metrics.values(),
                                                   *model.filters.values()) for w in m.words]
                sources += [normalise(w) for vs in model.values.values() for x in vs.values()
                            for w in (*x.words, x.label)]
            words = set()
            for source in sources:
                words.update(w for w in re.findall(r"[a-zà-ÿ]+", source) if len(w) >= 3)
            cached = frozenset(words)
            self.extra["known"] = cached
        return cached

    def phrases(self, kind: str) -> dict[str, tuple[str, ...]]:
        """{value: (escaped normalised name,)} for 'cities', 'regions', 'merchants' (cached)."""
        cached = self.extra.get(kind)
        if cached is None:
            from assistant.planner.text import normalise

            cached = {}
            for value in getattr(self, kind):
                name = normalise(value)
                if len(name) > 2:
                    cached[value] = (re.escape(name),)
            self.extra[kind] = cached
        return cached

    @classmethod
    def from_warehouse(cls, wh) -> Vocabulary:
        from assistant.planner.coverage import Coverage
        from warehouse.origin import holds_demo_data
        from warehouse.semantic.models import user_models

        tables = {name: model for name, model in user_models(wh).items()
                  if wh.has_table(name)} if wh is not None else {}
        coverage = Coverage(wh, MODEL) if wh is not None else None
        dates = _latest_dates(wh, tables)
        if wh is None or not wh.has_table("customers"):
            return cls(tables=tables, table_dates=dates, coverage=coverage)

        def distinct(sql: str) -> tuple[str, ...]:
            return tuple(r[0] for r in wh.rows(sql) if r[0])

        period = wh.reference_period() if wh.has_table("transactions") else {}
        return cls(
            # ordered, so that the vocabulary is the same on every engine and every run
            regions=distinct("SELECT DISTINCT region FROM customers ORDER BY 1"),
            cities=distinct("SELECT DISTINCT city FROM customers ORDER BY 1"),
            campaigns=distinct("SELECT DISTINCT name FROM campaigns ORDER BY 1")
            if wh.has_table("campaigns") else (),
            merchants=distinct("SELECT merchant FROM transactions GROUP BY merchant "
                               "ORDER BY count(*) DESC, merchant LIMIT 500")
            if wh.has_table("transactions") else (),
            reference_date=period.get("reference_date") or date.today(),
            reference_ts=period.get("reference_ts"),
            data_start=(period["data_start"].date() if period.get("data_start") else None),
            tables=tables, table_dates=dates, demo=holds_demo_data(wh),
            reference_note=reference_note(period), coverage=coverage,
        )


def _latest_dates(wh, tables: dict) -> dict[str, date]:
    """{user table: the latest date of its model's time dimension} ('last month' on a user
    table counts back from it, as the compiler's reference for that table does)."""
    out = {}
    for name, model in tables.items():
        entity = next((e for e in model.entities.values() if e.user_table and e.time), None)
        if entity is None or entity.time not in entity.dimensions:
            continue
        expr = entity.dimensions[entity.time].expr
        latest = wh.rows(f'SELECT max({expr}) FROM "{entity.table}" {entity.alias}')[0][0]
        if isinstance(latest, datetime):
            latest = latest.date()
        if isinstance(latest, date):
            out[name] = latest
    return out
