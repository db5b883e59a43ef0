"""The words marketers use for the warehouse's values, mapped to the contract's value sets.

Value sets come from warehouse/contract.py; places, campaigns and merchants are read from the
warehouse itself (`Vocabulary.from_warehouse`). Phrases are regular-expression fragments matched
on normalised text (lower case, hyphens between letters turned into spaces).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from warehouse import contract

# -- places ---------------------------------------------------------------------------------
COUNTRY_PHRASES: dict[str, tuple[str, ...]] = {
    "DE": ("germany", "german", "germans", "deutschland", "allemagne", "alemania", "germania",
           "duitsland"),
    "FR": ("france", "french", "frankreich", "francia", "frankrijk"),
    "ES": ("spain", "spanish", "spaniards", "spanien", "espagne", "espana", "españa", "spagna",
           "spanje"),
    "IT": ("italy", "italian", "italians", "italien", "italie", "italia", "italië"),
    "NL": ("netherlands", "the netherlands", "holland", "dutch", "niederlande", "pays bas",
           "paises bajos", "países bajos", "paesi bassi", "nederland"),
    "GB": ("united kingdom", "the uk", "uk", "u k", "great britain", "britain", "british",
           "brits", "vereinigtes königreich", "royaume uni", "reino unido", "regno unito"),
    "US": ("united states", "united states of america", "the us", "usa", "u s a", "u s",
           "america", "american", "americans", "vereinigte staaten", "etats unis", "états unis",
           "estados unidos", "stati uniti"),
    "CA": ("canada", "canadian", "canadians", "kanada", "canadá"),
}
COUNTRY_NAMES = {"DE": "Germany", "FR": "France", "ES": "Spain", "IT": "Italy",
                 "NL": "the Netherlands", "GB": "the United Kingdom", "US": "the United States",
                 "CA": "Canada"}
# Groups of the warehouse's countries: (name, phrases, countries).
COUNTRY_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("the eurozone", r"(?:the )?(?:(?:eurozone|euro zone|euro area)(?: countries| markets"
                     r"| member states| nations)?|euro countries)", ("DE", "FR", "ES", "IT", "NL")),
    ("North America", r"(?:the )?north america(?:n)?(?: countries| markets)?", ("US", "CA")),
)
# Upper-case ISO codes are only trusted in the original text ("DE", not "de" or "us").
COUNTRY_CODES = {c: c for c in contract.COUNTRIES} | {"UK": "GB", "USA": "US"}

LANGUAGE_PHRASES: dict[str, tuple[str, ...]] = {
    "en": ("english",), "de": ("german",), "fr": ("french",), "es": ("spanish",),
    "it": ("italian",), "nl": ("dutch",),
}
LANGUAGE_NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish",
                  "it": "Italian", "nl": "Dutch"}

# -- products, categories, channels ------------------------------------------------------------
PRODUCT_PHRASES: dict[str, tuple[str, ...]] = {
    "credit_card": ("credit cards?", "credit card accounts?", "credit card holders?",
                    "cc holders?"),
    "checking": ("checking accounts?", "current accounts?", "checking", "giro accounts?",
                 "debit accounts?"),
    "savings": ("savings accounts?", "savings products?", "saving accounts?", "savers",
                "savings"),
    "personal_loan": ("personal loans?", "consumer loans?", "loans?"),
    "mortgage": ("mortgages?", "home loans?", "mortgage holders?"),
    "investment": ("investment accounts?", "investment products?", "brokerage accounts?",
                   "investments?", "investors?", "investing", "portfolios?"),
    "crypto": ("crypto accounts?", "crypto wallets?", "cryptocurrency accounts?",
               "crypto products?", "crypto"),
}
PRODUCT_NAMES = {"credit_card": "a credit card", "checking": "a checking account",
                 "savings": "a savings account", "personal_loan": "a personal loan",
                 "mortgage": "a mortgage", "investment": "an investment account",
                 "crypto": "a crypto account"}
PRODUCT_PLURALS = {"credit_card": "credit cards", "checking": "checking accounts",
                   "savings": "savings accounts", "personal_loan": "personal loans",
                   "mortgage": "mortgages", "investment": "investment accounts",
                   "crypto": "crypto accounts"}
CREDIT_PRODUCTS = ("credit_card", "personal_loan", "mortgage")

CATEGORY_PHRASES: dict[str, tuple[str, ...]] = {
    "groceries": ("groceries", "grocery", "supermarkets?", "food shopping"),
    "dining": ("dining", "restaurants?", "eating out", "food and drink", "takeaways?",
               "food delivery"),
    "travel": ("travel", "travelling", "traveling", "trips?", "flights?", "hotels?"),
    "shopping": ("shopping", "retail"),
    "entertainment": ("entertainment", "streaming", "leisure"),
    "utilities": ("utilities", "utility bills?", "bills", "energy"),
    "rent": ("rent", "rental payments?", "housing"),
    "salary": ("salary", "salaries", "wages?", "income payments?", "paychecks?", "payroll",
               "pensions?"),
    "transfer": ("transfers?",),
    "investment": ("investment", "investing"),
    "crypto": ("crypto", "cryptocurrency", "bitcoin"),
    "fees": ("fees", "bank fees", "charges"),
    "cash": ("cash", "cash withdrawals?"),
}
TX_CHANNEL_PHRASES: dict[str, tuple[str, ...]] = {
    "card_present": ("card present", "in store", "in person", "point of sale", "pos",
                     "contactless", "card payments?"),
    "online": ("online", "e commerce", "ecommerce", "internet"),
    "atm": ("atms?", "cash machines?", "atm withdrawals?"),
    "p2p": ("p2p", "peer to peer", "person to person"),
    "direct_debit": ("direct debits?",),
    "bank_transfer": ("bank transfers?", "wire transfers?", "wires"),
}
ACQUISITION_PHRASES: dict[str, tuple[str, ...]] = {
    "organic": ("organic", "organically"),
    "paid_search": ("paid search", "search ads", "google ads", "sem", "search engine ads"),
    "paid_social": ("paid social", "social ads", "social media ads", "facebook ads",
                    "instagram ads", "social media"),
    "referral": ("referrals?", "referred", "refer a friend", "word of mouth"),
    "partner": ("partners?", "partnerships?", "partner channel"),
    "app_store": ("app stores?", "app store downloads?"),
}
EMPLOYMENT_PHRASES: dict[str, tuple[str, ...]] = {
    "employed": ("employed", "employees", "salaried", "in work", "working", "workers"),
    "self_employed": ("self employed", "freelancers?", "freelance", "contractors?",
                      "gig workers?", "independents?", "sole traders?"),
    "student": ("students?", "in education", "studying"),
    "retired": ("retired", "retirees?", "pensioners?", "seniors?"),
    "unemployed": ("unemployed", "jobless", "out of work", "job seekers?"),
}
EMPLOYMENT_NAMES = {"employed": "employed", "self_employed": "self-employed",
                    "student": "students", "retired": "retired", "unemployed": "unemployed"}
GENDER_PHRASES: dict[str, tuple[str, ...]] = {
    "female": ("female", "women", "woman", "ladies"),
    "male": ("male", "men", "man"),
    "non_binary": ("non binary", "nonbinary"),
}
KYC_PHRASES: dict[str, tuple[str, ...]] = {
    "verified": ("kyc verified", "verified"),
    "pending": ("kyc pending", "pending kyc", "pending verification", "pending"),
    "rejected": ("kyc rejected", "rejected kyc", "rejected"),
}
PLATFORM_PHRASES: dict[str, tuple[str, ...]] = {
    "ios": ("ios", "iphone", "apple devices?"),
    "android": ("android",),
    "web": ("web", "web banking", "online banking", "internet banking", "browser", "desktop",
            "website"),
}
CONTACT_PHRASES: dict[str, tuple[str, ...]] = {
    "email": ("emails?", "newsletters?"),
    "sms": ("sms", "text messages?", "texts"),
    "push": ("push", "push notifications?", "notifications?"),
}
CAMPAIGN_CHANNEL_PHRASES = CONTACT_PHRASES | {"in_app": ("in app", "in app messages?")}
EVENT_TYPE_PHRASES: dict[str, tuple[str, ...]] = {
    "login": ("logins?", "log ins?", "logged in", "logged", "sign ins?", "signed in", "sessions?",
              "app logins?", "app log ins?", "app sessions?", "app sign ins?"),
    "view_product": ("product views?", "viewed products?", "product page views?"),
    "start_application": ("started applications?", "application starts?",
                          "applications started"),
    "complete_application": ("completed applications?", "application completions?",
                             "applications completed"),
    "support_chat": ("support chats?", "chats? with support", "support contacts?",
                     "support requests?"),
    "push_open": ("push opens?", "opened push notifications?"),
}

# Words that carry no meaning of their own in a question: anything else left over after
# parsing means the planner did not understand part of the question, and it refuses.
FILLER = frozenset((
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "from", "by", "with", "and", "or",
    "our", "my", "your", "their", "its", "we", "i", "you", "me", "us", "they", "is", "are", "was",
    "were", "be", "been", "being", "do", "does", "did", "have", "has", "had", "having", "can",
    "could", "would", "should", "will", "shall", "may", "might", "must", "please", "pls", "kindly",
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
        pairs.sort(key=lambda p: len(p[1]), reverse=True)
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
            sources += [measures.SHARE_WORDS, *measures.AGG_WORDS.values(), KNOWN_EXTRA]
            sources += [normalise(x) for x in (*self.regions, *self.cities, *self.campaigns)]
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
        if wh is None or not wh.has_table("customers"):
            return cls()

        def distinct(sql: str) -> tuple[str, ...]:
            return tuple(r[0] for r in wh.rows(sql) if r[0])

        period = wh.reference_period() if wh.has_table("transactions") else {}
        return cls(
            regions=distinct("SELECT DISTINCT region FROM customers"),
            cities=distinct("SELECT DISTINCT city FROM customers"),
            campaigns=distinct("SELECT DISTINCT name FROM campaigns")
            if wh.has_table("campaigns") else (),
            merchants=distinct("SELECT merchant FROM transactions GROUP BY merchant "
                               "ORDER BY count(*) DESC LIMIT 500")
            if wh.has_table("transactions") else (),
            reference_date=period.get("reference_date") or date.today(),
            reference_ts=period.get("reference_ts"),
            data_start=(period["data_start"].date() if period.get("data_start") else None),
        )

