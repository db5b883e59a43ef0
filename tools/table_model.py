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

import pandas as pd

from tools.table_features import (
    ABBREVIATIONS,
    MAX_CATEGORIES,
    TableProfile,
    _levels,
    fold,
    fold_sql,
    humanize,
    is_id_like,
    is_outcome_like,
    is_protected,
    merge_words,
    positive_value,
    profile_table,
    quote_ident,
    words,
)
from warehouse.connection import Warehouse
from warehouse.errors import InvalidArgument

# Words a column name stands for, beyond its own ("Exited" is churn, "y" a subscription).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "exited": ("churned", "churn", "exited", "left", "churner", "attrited", "lost"),
    "churn": ("churned", "churn", "churner", "left", "attrited", "lost"),
    "churned": ("churned", "churn", "churner", "left", "attrited", "lost"),
    "attrition": ("churned", "churn", "attrition", "attrited", "left"),
    "y": ("subscribed", "subscription", "term deposit", "converted", "conversion", "said yes",
          "subscriber", "subscribers", "subscribed to a term deposit"),
    "subscribed": ("subscribed", "subscription", "term deposit", "converted"),
    "fraud": ("fraud", "fraudulent", "frauds", "fraud cases", "fraudulent transactions"),
    # a 0/1 column named for an event (Complain): the event's words, a rate of it
    "complain": ("complained", "complaint", "complaints", "complainer", "complainers",
                 "complaining", "filed a complaint", "made a complaint"),
    "complaint": ("complained", "complaint", "complaints", "complainer", "complainers"),
    "response": ("responded", "response", "responders", "responder"),
    "int rate": ("interest rate", "rate of interest", "interest", "int rate"),
    "year birth": ("year of birth", "birth year", "year born", "born"),
    "geography": ("country", "geography", "market", "region", "location"),
    "estimated salary": ("salary", "estimated salary", "income", "earnings"),
    "number of products": ("products", "number of products", "product count"),
    "credit score": ("credit score", "score", "credit rating"),
    "purchases": ("purchases", "purchase amount", "spend", "spending"),
    "credit limit": ("credit limit", "limit", "card limit"),
    "limit balance": ("limit balance", "credit limit", "card limit", "credit line", "limit"),
    "credit amount": ("credit amount", "loan amount", "amount of credit", "amount borrowed"),
    "purpose": ("purpose", "loan purpose", "credit purpose", "purpose of the loan"),
    "checking status": ("checking status", "checking account", "checking account status"),
    "savings status": ("savings status", "savings", "savings account"),
    "customer location": ("customer location", "location", "city", "customer city"),
    "customer gender": ("customer gender", "gender"),
    "customer account balance": ("customer account balance", "account balance", "balance"),
    "is active member": ("active", "active member", "active members"),
    "has credit card": ("credit card", "card", "credit card holder"),
    "cash advance": ("cash advance", "cash advances"),
    "job": ("job", "occupation", "profession", "job type"),
    "marital": ("marital status", "marital", "married"),
    "education": ("education", "education level", "level of education"),
    "sex": ("sex", "gender"),
    "marriage": ("marriage", "marital status"),
    # bank marketing (UCI): the words of its documentation and of the people who ask
    "housing": ("housing", "housing loan", "home loan", "mortgage"),
    "loan": ("loan", "personal loan", "consumer loan"),
    "default": ("default", "credit in default", "in default", "defaulted", "defaulter",
                "has credit in default"),
    "duration": ("duration", "call duration", "call length", "length of the call",
                 "last contact duration", "duration of the call"),
    # never 'number of contacts': that counts the rows of a call log
    "campaign": ("campaign", "contacts during the campaign", "calls in the campaign"),
    "pdays": ("pdays", "days since the previous contact", "days since previous contact",
              "days since last contact"),
    "previous": ("previous", "previous contacts", "contacts before the campaign"),
    "poutcome": ("poutcome", "previous outcome", "outcome of the previous campaign",
                 "previous campaign outcome", "p outcome"),
    "contact": ("contact", "contact type", "contact method", "contact channel", "contacted by",
                "contacted via", "contacted on", "called on", "reached on", "reached by"),
    "month": ("month", "contact month", "last contact month"),
    "day": ("day", "day of the month", "contact day"),
    # Telco customer churn (Kaggle)
    "monthly charges": ("monthly charges", "monthly charge", "monthly bill", "monthly fee"),
    "total charges": ("total charges", "total charge", "total billed", "lifetime charges"),
    "contract": ("contract", "contract type", "plan"),
    "payment method": ("payment method", "payment type", "way of paying"),
    "internet service": ("internet service", "internet", "internet type"),
    "senior citizen": ("senior citizen", "senior", "seniors", "senior citizens", "elderly"),
    "partner": ("partner", "a partner", "spouse"),
    "dependents": ("dependents", "dependent", "kids", "children"),
    "phone service": ("phone service", "phone line", "phone"),
    "paperless billing": ("paperless billing", "paperless", "e billing"),
    "multiple lines": ("multiple lines", "several lines", "more than 1 line"),
    "tech support": ("tech support", "technical support"),
    "streaming tv": ("streaming tv", "tv streaming"),
    "streaming movies": ("streaming movies", "movie streaming"),
    "online security": ("online security",),
    "online backup": ("online backup",),
    "device protection": ("device protection",),
}
_OUTCOMES = ("exited", "churn", "churned", "attrition", "y", "subscribed", "default",
             "converted", "response", "fraud", "complain", "complaint")
# how the rate of an outcome is called when its first word is not ('complained rate')
_RATE_LABELS = {"complain": "complaint rate", "complaint": "complaint rate",
                "response": "response rate"}
LOW_CARDINALITY = 12


def _name(column: str, taken: set[str]) -> str:
    base = "_".join(words(column)) or "column"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    taken.add(name)
    return name


# A column named with one of these is a churn outcome (Exited, Churn, Attrition_Flag).
CHURN_WORDS = frozenset({"exited", "churn", "churned", "attrition", "attrited"})
CHURN_SYNONYMS = ("churned", "churn", "churner", "attrited", "attrition", "exited", "left",
                  "lost")


def is_churn(column: str) -> bool:
    return bool(set(words(column)) & CHURN_WORDS)


def _plural(word: str) -> str:
    return word if word.endswith("s") else word + "s"


def forms(label: str) -> list[str]:
    """The ways people say a column's label: 'total transaction count' is also 'transaction
    count', 'number of transactions' and 'transactions'; 'average utilization ratio' is
    'utilization ratio' and 'utilization'; 'months inactive (12 months)' is 'months
    inactive'; 'dependent count' is 'dependents'; the British -isation too."""
    base = label.split(" (", 1)[0]
    out = [label, base]
    leads = ("total ", "average ", "customer ", "estimated ")
    for lead in leads:
        if base.startswith(lead) and len(base) > len(lead) + 2:
            out.append(base[len(lead):])
    for f in [f for f in out if not f.startswith(leads)]:
        if f.endswith(" count") and len(f) > 9:
            thing = f[: -len(" count")].split()
            out += [f"number of {' '.join([*thing[:-1], _plural(thing[-1])])}",
                    " ".join([*thing[:-1], _plural(thing[-1])])]
        if f.endswith(" ratio") and len(f) > 9:
            out.append(f[: -len(" ratio")])
    out += [f.replace("ization", "isation") for f in out if "ization" in f]
    return list(dict.fromkeys(out))


def _words(column: str) -> list[str]:
    """The words of a column: its label's forms and synonyms, the header without a unit or
    qualifier in brackets ('TransactionAmount (INR)' is 'transaction amount'), and the header
    as written ('pay_amt1', 'pay amt 1': people type it verbatim)."""
    label = humanize(column)
    bare = re.sub(r"\s*[(\[][^)\]]*[)\]]\s*", " ", column).strip()
    plain = humanize(bare) if bare and bare != column else label
    found = [*forms(label), *forms(plain), *SYNONYMS.get(label, ()), *SYNONYMS.get(plain, ()),
             *SYNONYMS.get(column.lower(), ())]
    unit = re.search(r"[(\[]([^)\]]+)[)\]]\s*$", column)
    if unit and bare and bare != column:
        found += [f"{w} in {unit.group(1).strip().lower()}" for w in forms(plain)]
    spelled = re.sub(r"(?<=[a-z])(?=\d)", " ", plain)      # 'pay amt1' -> 'pay amount 1'
    spelled = " ".join(ABBREVIATIONS.get(w, w) for w in spelled.split())
    verbatim = column.lower() if re.fullmatch(r"[a-z0-9_.]+", column.lower()) else ""
    found += [spelled, verbatim, verbatim.replace("_", " ").replace(".", " ")]
    if is_churn(column):
        found += CHURN_SYNONYMS
    if label.startswith("amount spent on "):     # MntWines: 'spend on wines', 'wine spend'
        thing = label[len("amount spent on "):]
        found += [f"spend on {thing}", f"spending on {thing}", f"spent on {thing}",
                  f"{thing} spend", f"{thing} spending", f"amount on {thing}"]
    if len(words(column)) >= 2 and words(column)[0] in ("accepted", "response") and \
            re.fullmatch(r"[a-z]+ campaign \d+", label):     # AcceptedCmp1: 'campaign 1'
        n = label.split()[-1]
        found += [f"accepted campaign {n}", f"accepted the campaign {n} offer",
                  f"campaign {n}"]
    return list(dict.fromkeys(w for w in found if w))


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _list(items) -> str:
    return "[" + ", ".join(_q(x) for x in items) + "]"


def _flag_phrase(label: str) -> tuple[str, str]:
    """How a yes/no column reads as a filter: 'has credit card' -> 'with a credit card'."""
    if label.startswith("has "):
        return f"with a {label[4:]}", f"without a {label[4:]}"
    if label.startswith("is "):             # 'is active member' -> 'active members'
        said = re.sub(r"(member|er|or|ant|ent|ist)$", r"\1s", label[3:])
        return said, f"not {said}"
    if label in _FLAG_PHRASES:
        return _FLAG_PHRASES[label]
    if label in SYNONYMS and SYNONYMS[label][0].endswith("ed"):
        return SYNONYMS[label][0], f"not {SYNONYMS[label][0]}"
    if label.endswith("ed") or (" " not in label and label.endswith(("ive", "ing"))):
        return label, f"not {label}"
    return f"with {label}", f"without {label}"    # never "are housing"


# How a 0/1 outcome named by one of its words reads ('default.payment.next.month').
_KEY_PHRASES = {"default": ("in default", "not in default"),
                "fraud": ("fraudulent", "not fraudulent")}


# How some public tables' yes/no columns read as a filter ('housing' is a housing loan).
_FLAG_PHRASES = {
    "housing": ("with a housing loan", "without a housing loan"),
    "loan": ("with a personal loan", "without a personal loan"),
    "default": ("with credit in default", "without credit in default"),
    "senior citizen": ("senior citizens", "not senior citizens"),
    "partner": ("with a partner", "without a partner"),
    # an event: 'customers who complained', never 'who are complained'
    "complain": ("who complained", "who did not complain"),
    "complaint": ("who complained", "who did not complain"),
    "response": ("who responded", "who did not respond"),
}


def _flag_true(wh: Warehouse, table: str, column: str, dtype: str) -> str:
    """The SQL test for the 'yes' value of a two-valued column."""
    col = f"u.{quote_ident(column)}"
    if dtype == "BOOLEAN":
        return col
    if dtype == "VARCHAR":
        levels = [str(r[0]) for r in wh.rows(
            f"SELECT DISTINCT {quote_ident(column)} FROM {quote_ident(table)} WHERE "
            f"{quote_ident(column)} IS NOT NULL")]
        yes = positive_value(pd.Series(levels), column).strip().lower()
        return f"lower(trim({col})) = '{yes.replace(chr(39), chr(39) * 2)}'"
    top = wh.scalar(f"SELECT max({quote_ident(column)}) FROM {quote_ident(table)}")
    return f"{col} = {top}"


def _flag(wh: Warehouse, prof: TableProfile, col: str, name: str, event: str | None = None
          ) -> tuple[str, list[str]]:
    """A yes/no column: its boolean dimension, and for an outcome (churned, subscribed) a named
    filter and a rate metric; `event` is the value of a two-valued text outcome that is the
    event ('Attrited Customer')."""
    entity, label = prof.table, humanize(col)
    true = _flag_true(wh, prof.table, col, prof.types[col])
    phrase, negated = _flag_phrase(label)
    # 'default.payment.next.month': a 0/1 outcome named by one of its words (a default rate)
    # (its first word, 'is' left out: isFraud is a fraud rate, isFlaggedFraud is not)
    first = [w for w in words(col) if w not in ("is", "has")][:1]
    key = None if label in SYNONYMS or label in _OUTCOMES else next(
        (w for w in first if w in _OUTCOMES and w in SYNONYMS), None)
    said_as = SYNONYMS.get(key, ()) if key else ()
    if key in _KEY_PHRASES:
        phrase, negated = _KEY_PHRASES[key]
    event_word = words(event)[0] if event else ""
    if is_churn(col):
        said = event_word if event_word in CHURN_SYNONYMS else "churned"
        phrase, negated = said, f"not {said}"
    protected = "\nprotected = true" if is_protected(col) else ""
    dim = (f"[entities.{entity}.dimensions.{name}]\nexpr = {_q(true)}\nkind = \"boolean\"\n"
           f"label = {_q(label)}\nwords = {_list(dict.fromkeys([*_words(col), *said_as]))}\n"
           f"phrase = {_q(phrase)}\nnegated = {_q(negated)}{protected}")
    if label not in _OUTCOMES and col.lower() not in _OUTCOMES and not is_churn(col) \
            and event is None and key is None:
        return dim, []
    word = (SYNONYMS.get(label) or SYNONYMS.get(col.lower()) or said_as or (label,))[0]
    # 'subscription rate', 'conversion rate' of y: a rate named by any word of the outcome
    rate_words = [f"{label} rate", f"share {word}",
                  *(f"{w} rate" for w in _words(col) if len(w) > 2 and " " not in w),
                  *(("success rate", "response rate", "take up rate", "yes rate")
                    if col.lower() in ("y", "subscribed", "response", "converted") else ())]
    if is_churn(col):
        word, rate_words = phrase, [*rate_words, "churn rate", "attrition rate", "exit rate",
                                    "rate of churn", "rate of attrition", "share churned",
                                    f"share {phrase}"]
    rate = "churn rate" if is_churn(col) or word == "churned" else \
        _RATE_LABELS.get(label, f"{word} rate")
    if label == "response" and any(re.fullmatch(r"accepted ?cmp\d+", c.lower())
                                   for c in prof.types):
        # Response beside AcceptedCmp1..5 (Customer Personality) is the last campaign's
        rate_words += ["acceptance rate of the last campaign", "last campaign acceptance rate",
                       "last campaign response rate", "acceptance rate of the latest campaign",
                       "response rate of the last campaign", "last campaign"]
    is_yes = f"{label} is {event!r}" if event else f"{label} is yes"
    filter_words = [*_words(col), *said_as]
    if key:
        rate_words += [f"rate of {word}", f"{word} rate", f"{word}s rate", f"{word} ratio",
                       f"share in {word}", f"share of {word}s"]
    if event:
        filter_words += [event.lower(), *([event_word] if len(event_word) > 3 else [])]
    # the opposite as a filter of its own: 'existing customers', 'retained' ('churned vs
    # retained' is then the split by the outcome)
    kept = _other_level(wh, prof.table, col, event) if event else None
    word = words(kept)[0] if kept else "retained"
    opposite = [kept.lower(), word] if kept else []
    if is_churn(col):
        opposite += ["retained", "stayed", "existing customer", "existing"]
    other = [f"[filters.{name}_{word}]\nentity = {_q(entity)}\nexpr = {_q(f'NOT ({true})')}"
             f"\nlabel = {_q(word)}\nnegated_label = {_q(f'not {word}')}\n"
             f"words = {_list(dict.fromkeys(opposite))}"] if opposite else []
    return dim, [
        *other,
        f"[metrics.{name}_rate]\nnumerator = {{measure = \"rows\", filter = \"{name}\"}}\n"
        f"denominator = \"rows\"\npercent = true\nlabel = {_q(rate)}\n"
        f"words = {_list(dict.fromkeys([rate, *rate_words]))}\n"
        f"definition = {_q(f'{rate} = rows where {is_yes} divided by all rows')}",
        f"[filters.{name}]\nentity = {_q(entity)}\nexpr = {_q(true)}\nlabel = {_q(phrase)}\n"
        f"negated_label = {_q(negated)}\nwords = {_list(dict.fromkeys(filter_words))}"]


def _other_level(wh: Warehouse, table: str, column: str, event: str) -> str | None:
    """The value of a two-valued text outcome that is not the event ('Existing Customer'),
    when it is a word worth a filter of its own."""
    q = quote_ident(column)
    rows = wh.rows(f"SELECT DISTINCT trim({q}) FROM {quote_ident(table)} WHERE {q} IS NOT NULL")
    kept = [str(r[0]) for r in rows if str(r[0]).lower() != event.strip().lower()]
    if len(kept) != 1 or not words(kept[0]) or len(words(kept[0])[0]) < 4:
        return None
    return kept[0]


def _event(column: str, levels: list[str]) -> str | None:
    """The event value of a two-valued text column named like an outcome whose values say
    which is the event ('Attrited Customer' of Attrition_Flag), else None."""
    if len(levels) != 2 or not (is_outcome_like(column) or is_churn(column)):
        return None
    try:
        event = positive_value(pd.Series(levels), column)
    except InvalidArgument:
        return None
    return None if event.strip().lower() in ("yes", "y", "true", "t", "1") else event


_PLACES = frozenset({"geography", "country", "region", "location", "city", "state", "market",
                     "area", "zone", "territory", "province", "county"})


def _category_phrase(label: str) -> str:
    """How a filter on a category reads after 'customers': 'in Germany' for a place, 'with
    card category Gold' otherwise (never 'in Married')."""
    if set(label.split()) & _PLACES:
        return f"phrase = {_q('in {values}')}\nnegated = {_q('not in {values}')}"
    return (f"phrase = {_q(f'with {label} {{values}}')}\n"
            f"negated = {_q(f'with {label} other than {{values}}')}")


_NONE = ("no", "none", "n/a", "na")
# a gender column's one-letter values ('M', 'F' of CustGender) in words
_GENDERS = {"m": ("male", "men", "man", "males"), "f": ("female", "women", "woman", "females"),
            "male": ("men", "man", "males"), "female": ("women", "woman", "females")}
_MONTHS = {m[:3]: m for m in ("january", "february", "march", "april", "may", "june", "july",
                               "august", "september", "october", "november", "december")}


def _level_words(column: str, levels: list[str]) -> tuple[dict[str, list[str]], str]:
    """How each level of a category is said ({level: [label, words...]}), and the
    dimension's phrase when the levels need their own (else ""). A yes/no column with a
    'not applicable' level (Telco's OnlineSecurity: Yes, No, 'No internet service') reads
    'with tech support', 'without tech support', 'with no internet service'; a 'No' level
    beside others (InternetService: DSL, Fiber optic, No) is 'no internet service'. A bare
    'yes' or 'no' is never a word of its own (every such column has one)."""
    label = humanize(column)
    names = [w for w in _words(column) if len(w) > 2]
    lower = {v.strip().lower(): v for v in levels}
    said = {v: [v, v.lower()] for v in levels}
    gendered = bool(set(words(column)) & {"gender", "sex"}) and set(lower) <= set(_GENDERS)
    flagged = "yes" in lower and "no" in lower and all(
        k in ("yes", "no") or k.startswith("no ") for k in lower)
    for key, v in lower.items():
        if flagged and key == "yes":
            said[v] = [f"with {label}", *names, *(f"with {w}" for w in names),
                       *(f"have {w}" for w in names)]
        elif key in _NONE:
            said[v] = [f"without {label}" if flagged else v,
                       *(f"no {w}" for w in names), *(f"without {w}" for w in names),
                       *(f"without an {w}" if w[0] in "aeiou" else f"without a {w}"
                         for w in names)]
        elif flagged:                    # 'No internet service'
            said[v] = [f"with {key}", key, f"with {key}",
                       key.replace(" service", "") if key.endswith(" service") else key]
        if " (" in key:                  # 'Bank transfer (automatic)' is 'bank transfer'
            said[v].append(key.split(" (", 1)[0])
        if "_" in key.strip("_"):        # debt_consolidation, CASH_IN: 'debt consolidation'
            said[v].append(key.replace("_", " ").strip())
        if gendered and key in _GENDERS:      # CustGender M/F: 'female customers'
            said[v] += list(_GENDERS[key])
        if key[:3] in _MONTHS and (key == key[:3] or key == _MONTHS[key[:3]]):
            said[v] += [_MONTHS[key[:3]], key[:3]]      # 'may', 'in may' of a month column
        said[v] = [said[v][0], *dict.fromkeys(said[v][1:])]
    phrase = (f"phrase = {_q('{values}')}\nnegated = {_q('not {values}')}"
              if flagged else "")
    return said, phrase


MERGED = "# merged: "
SENTINEL = "sentinel: "
_SENTINELS = (-1, -9, -99, -999, 99, 999, 9999, 99999, 999999)


def sentinel(wh: Warehouse, table: str, column: str, rows: int) -> tuple[int, float] | None:
    """A number that stands for 'none' in a number column ((value, share of rows)): bank
    marketing's pdays -1 (bank-full) or 999 (bank-additional) for 'not contacted before'. It
    is the column's lowest or highest value, one of -1, -9, -99, -999, 99, 999, 9999...,
    held by at least 1% of the rows, and far from every other value (a -1 below values of 0
    and up, a 999 more than twice the next largest), so averages are not skewed by it."""
    q = quote_ident(column)
    row = wh.rows(f"SELECT min({q}), max({q}), count({q}) FROM {quote_ident(table)}")[0]
    lo, hi, n = row
    if lo is None or not n:
        return None
    for value, rest in ((lo, f"min({q}) FILTER (WHERE {q} <> {lo})"),
                        (hi, f"max({q}) FILTER (WHERE {q} <> {hi})")):
        if value not in _SENTINELS or float(value) != int(value):
            continue
        count, other = wh.rows(f"SELECT count(*) FILTER (WHERE {q} = {int(value)}), {rest} "
                               f"FROM {quote_ident(table)}")[0]
        if other is None or count < max(1, rows // 100):
            continue
        far = other >= 0 if value < 0 else other * 2 < value
        if far:
            return int(value), count / max(rows, 1)
    return None


def _category_expr(column: str, merged: dict[str, str]) -> str:
    """The SQL of a category: the column, or with spellings that differ only by case or
    surrounding spaces grouped under one name ('france', ' France' -> 'France'), written with
    lower/trim/CASE so that it reads the same on DuckDB and Spark."""
    col = f"u.{quote_ident(column)}"
    if not merged:
        return col
    lit = lambda text: "'" + text.replace("'", "''") + "'"  # noqa: E731
    whens = " ".join(f"WHEN {lit(fold(name))} THEN {lit(name)}"
                     for name in sorted(set(merged.values())))
    return f"CASE {fold_sql(col)} {whens} ELSE {col} END"


# Nouns that name the rows of a table of people or their credits ('how many applicants').
ROW_NOUNS = ("customer", "client", "applicant", "application", "borrower", "cardholder",
             "card holder", "account holder", "holder", "member", "user", "people", "person",
             "individual", "record", "row", "entry", "entries", "observation", "case",
             "subscriber")
_PEOPLE_IDS = ("cust", "customer", "client", "member", "user", "account", "acct", "holder",
               "subscriber", "person")


def _holder_id(wh: Warehouse, prof: TableProfile, distinct: dict[str, int]) -> str | None:
    """The column that says whose row it is when one person has several rows (CustomerID of a
    transaction log): id-like, named after customers, clients..., not unique."""
    for col in prof.types:
        w = words(col)
        if col != prof.key and w and set(w) & set(_PEOPLE_IDS) and \
                (w[-1] in ("id", "no", "num", "number", "code", "key", "ref") or
                 col.lower().endswith("id")) and 1 < distinct.get(col, 0) < prof.rows:
            return col
    for col in prof.types:
        # PaySim's nameOrig (C1231006815): the account that started the transaction, by an
        # identifier (a name-like column of codes is not personal, see table_features)
        w = set(words(col))
        if col != prof.key and col not in prof.pii and w & {"orig", "origin", "originator",
                                                             "sender", "payer"} and \
                prof.types[col] == "VARCHAR" and 1 < distinct.get(col, 0) < prof.rows:
            return col
    return None


def _row_noun(prof: TableProfile, entity: str) -> str:
    """What a log's rows are: its key's thing ('transactions' of TransactionID), else the
    table name's plural ('transactions' of bank_transactions), else rows."""
    for name in (prof.key or "", entity):
        w = [x for x in words(name) if x not in ("id", "no", "num", "number", "key", "code")]
        if w:
            thing = ABBREVIATIONS.get(w[-1], w[-1])
            if thing in ("transactions", "transaction", "payment", "payments", "order",
                         "orders", "event", "events", "call", "calls", "visit", "visits",
                         "purchase", "purchases", "invoice", "invoices", "trade", "trades"):
                return _plural(thing)
    if any(words(c)[-1:] == ["amount"] for c in prof.numeric):
        return "transactions"       # a log of amounts by account (PaySim): its transactions
    return "rows"


_THINGS = ("loan", "order", "policy", "claim", "trade", "invoice", "application", "booking",
           "subscription", "contract")


def _header_thing(prof: TableProfile) -> str | None:
    """What each row is when two or more headers say it (Lending Club's loan_amnt, loan_status:
    its rows are loans)."""
    firsts = [words(c)[0] for c in prof.types if words(c)]
    for thing in _THINGS:
        if firsts.count(thing) >= 2:
            return "policies" if thing == "policy" else thing + "s"
    return None


def _holder_noun(column: str) -> str:
    w = [x for x in words(column) if x not in ("id", "no", "num", "number", "key", "code")]
    thing = ABBREVIATIONS.get(w[0], w[0]) if w else "customer"
    return _plural(thing if thing in _PEOPLE_IDS or thing in ROW_NOUNS else "customer")


def _holder_words(noun: str) -> list[str]:
    one = noun.rstrip("s")
    return list(dict.fromkeys([noun, f"distinct {noun}", f"unique {noun}", f"different {noun}",
                               *(("client", "clients", "people", "distinct clients",
                                  "unique clients") if one == "customer" else ())]))


def _label(column: str) -> str:
    """A column's label, a unit in brackets kept as such: 'transaction amount (INR)'."""
    unit = re.search(r"[(\[]([^)\]]+)[)\]]\s*$", column)
    bare = re.sub(r"\s*[(\[][^)\]]*[)\]]\s*", " ", column).strip()
    return f"{humanize(bare)} ({unit.group(1).strip()})" if unit and bare else humanize(column)


_HEADS = ("amount", "value", "price", "income", "salary", "spend", "revenue", "payment")


def _heads(prof: TableProfile) -> dict[str, list[str]]:
    """{number column: [its head noun]} when no other column ends with that noun: 'amount' is
    'TransactionAmount (INR)' in a log whose only amount it is."""
    ends: dict[str, list[str]] = {}
    for col in prof.types:
        plain = humanize(re.sub(r"\s*[(\[][^)\]]*[)\]]\s*", " ", col).strip() or col).split()
        if plain:
            ends.setdefault(re.sub(r"\d+$", "", plain[-1]), []).append(col)
    return {cols[0]: [end] for end, cols in ends.items()
            if len(cols) == 1 and end in _HEADS and cols[0] in prof.numeric and
            humanize(cols[0]) not in SYNONYMS}


MANY_VALUES = 200


def _many_valued(wh: Warehouse, prof: TableProfile, distinct: dict[str, int]) -> list[str]:
    """Text columns with more values than a segmentation takes but few enough to be names
    (cities, branches: at most 200, repeated on average 5 times or more, short)."""
    out = []
    for col, reason in prof.ignored.items():
        if reason != "free text or too many distinct values" or prof.types[col] != "VARCHAR" \
                or not (MAX_CATEGORIES < distinct.get(col, 0) <= MANY_VALUES) or \
                distinct[col] * 5 > prof.rows or is_id_like(col):
            continue
        longest = wh.scalar(f"SELECT max(length({quote_ident(col)})) FROM "
                            f"{quote_ident(prof.table)}")
        if longest is not None and int(longest) <= 40:
            out.append(col)
    return out


def _codes(wh: Warehouse, table: str, column: str) -> list[str]:
    """The values of a small whole-number column, in order, as the model's value keys."""
    q = quote_ident(column)
    return [str(int(r[0])) for r in wh.rows(
        f"SELECT DISTINCT {q} FROM {quote_ident(table)} WHERE {q} IS NOT NULL ORDER BY 1")]


def _is_code(column: str) -> bool:
    """A column whose numbers stand for categories (SEX, EDUCATION, MARRIAGE, class): an
    average of them means nothing."""
    return bool(set(words(column)) & {"sex", "gender", "education", "marriage", "marital",
                                      "class", "status", "type", "category", "code", "job",
                                      "region", "level", "grade"})


def _clock(column: str) -> bool:
    """A time of day stored as a number (TransactionTime 143207): never a measure."""
    w = words(column)
    return bool(w) and w[-1] in ("time", "hour", "hhmmss", "clock") and \
        not set(w) & {"duration", "length", "spent", "minutes", "seconds", "hours"}


def draft_model(wh: Warehouse, table: str, source: str = "") -> str:
    """The drafted model of user table `table`, as TOML text."""
    prof: TableProfile = profile_table(wh, table, include_protected=True)
    distinct = {c: int(n) for c, n in zip(prof.types, wh.rows(
        "SELECT " + ", ".join(f"count(DISTINCT {quote_ident(c)})" for c in prof.types) +
        f" FROM {quote_ident(prof.table)}")[0], strict=True)}
    entity = prof.table
    taken: set[str] = set()
    # a campaign's call log (bank marketing: campaign, pdays, previous, poutcome) holds
    # contacts, whatever the question calls them; an id of customers holds customers
    called = {"campaign", "pdays", "previous", "poutcome", "contact"} & {
        c.lower() for c in prof.types}
    # a log (bank_transactions: one row per transaction, CustomerID repeated) holds its
    # key's things; its customers are counted once each (a distinct count of the id)
    holder = _holder_id(wh, prof, distinct)
    logged = _row_noun(prof, entity) if holder else None
    rows_word = logged or _header_thing(prof) or ("customers" if (prof.key and re.search(
        r"cust|client|member", prof.key.lower())) or any(
            w in ("customer", "client") for w in words(entity)) else
        "contacts" if len(called) >= 3 else "rows")
    named = [w for w in words(entity) if len(w) > 3 and w.endswith("s") and w not in
             ("data", "this", "less")]           # 'applicants' of loan_applicants
    people = [*([rows_word.rstrip("s"), "row", "record", "entry", "entries"] if logged else
                [*ROW_NOUNS, *([rows_word.rstrip("s")] if rows_word not in ("customers", "rows")
                               else [])]),
              *(w.rstrip("s") for w in named if w.rstrip("s") not in ROW_NOUNS),
              *(["call", "lead", "prospect", "contacted", "called"]
                if rows_word == "contacts" else [])]
    people = list(dict.fromkeys(people))
    one = "customer" if rows_word == "rows" else rows_word[:-1]
    lines = [
        f"# Semantic model of the imported table {entity}{f' (from {source})' if source else ''}.",
        "# Drafted from the table's profile: check the words and what each column means, then",
        f"# save it with `assistant model edit {entity}` (validated before it is used).",
        f"name = {_q(entity)}",
        f"description = {_q(f'Imported table {entity}: {prof.rows:,} rows, one per {one}.')}",
        "",
    ]
    if prof.pii:
        lines.append(f"# personal data, never used or shown: {', '.join(prof.pii)}")
    lines += [f"{MERGED}{line}" for line in merge_words(prof.spellings)]
    many = _many_valued(wh, prof, distinct)
    ignored = {c: r for c, r in prof.ignored.items()
               if r not in ("personal data", "key", "date or time (not used)") and c not in many}
    if ignored:
        lines.append("# left out: " + ", ".join(f"{c} ({r})" for c, r in ignored.items()))
    values: list[str] = []
    ignored_here: dict[str, str] = {}
    dims: list[str] = []
    measures: list[str] = []
    metrics: list[str] = []
    heads = _heads(prof)
    for col, scale in prof.numeric.items():
        name = _name(col, taken)
        label = _label(col)
        said = _list(dict.fromkeys([*_words(col), *heads.get(col, ())]))
        expr = f"u.{quote_ident(col)}"
        protected = "\nprotected = true" if is_protected(col) else ""
        integer = not prof.types[col].startswith(("DOUBLE", "FLOAT", "DECIMAL", "REAL"))
        codes = _codes(wh, prof.table, col) if integer and distinct.get(col, 99) <= \
            LOW_CARDINALITY else []
        if scale == "flag" and (not integer or codes == ["0", "1"]):
            dim, extra = _flag(wh, prof, col, name)
            dims.append(dim)
            metrics += extra
            continue
        if _clock(col):
            ignored_here[col] = "a time of day (HHMMSS), not a quantity"
            continue
        ordered = bool(codes)       # tenure in years, products, a code (SEX 1/2): a split
        defined = ""
        found = sentinel(wh, prof.table, col, prof.rows)
        if found is not None:
            value, share = found
            expr = f"nullif({expr}, {value})"
            note = (f"{label}: the value {value} ({share:.0%} of rows) means none (never, not "
                    f"applicable) and is left out of its averages and comparisons")
            lines.append(f"# {SENTINEL}{note}")
            defined = f"\ndefinition = {_q(note)}"
        if codes:                   # labels for the codes, to fill in (SEX 2 = female)
            values.append(f"[values.{name}]\n" + "\n".join(f"{_q(c)} = [{_q(c)}]"
                                                           for c in codes))
        dims.append(f"[entities.{entity}.dimensions.{name}]\nexpr = {_q(expr)}\n"
                    f"kind = \"number\"\n{'ordered = true' + chr(10) if ordered else ''}"
                    f"{f'values = {_q(name)}' + chr(10) if codes else ''}"
                    f"label = {_q(label)}\nwords = {said}{protected}{defined}")
        if codes and _is_code(col):
            continue                # an average of codes means nothing
        measures.append(f"[measures.{name}]\nentity = {_q(entity)}\nagg = \"avg\"\n"
                        f"expr = {_q(expr)}\nstats = [\"avg\", \"sum\", \"median\", \"min\", "
                        f"\"max\"]\nunit = \"amount\"\ndecimals = 2\nlabel = {_q(label)}\n"
                        f"words = {said}{defined}")
    categorical, spellings = dict(prof.categorical), dict(prof.spellings)
    for col in _many_valued(wh, prof, distinct):
        # a city of a log (CustLocation: MUMBAI, NEW DELHI...): too many values to segment on,
        # but each one a filter and a split
        categorical[col], merged = _levels(wh, prof.table, col)
        if merged:
            spellings[col] = merged
    for col, levels in categorical.items():
        name = _name(col, taken)
        label = humanize(col)
        lower = {v.strip().lower() for v in levels}
        event = _event(col, levels)
        if len(levels) == 2 and (lower <= {"yes", "no", "y", "n", "true", "false"} or event):
            dim, extra = _flag(wh, prof, col, name, event)
            dims.append(dim)
            metrics += extra
            continue
        said, phrase = _level_words(col, levels)
        values.append(f"[values.{name}]\n" + "\n".join(
            f"{_q(v)} = {_list(said[v])}" for v in levels))
        protected = "\nprotected = true" if is_protected(col) else ""
        expr = _category_expr(col, spellings.get(col, {}))
        dims.append(f"[entities.{entity}.dimensions.{name}]\nexpr = {_q(expr)}\n"
                    f"values = {_q(name)}\nlabel = {_q(label)}\nwords = {_list(_words(col))}\n"
                    f"{phrase or _category_phrase(label)}{protected}")
    if ignored_here:
        lines.append("# left out: " + ", ".join(f"{c} ({r})" for c, r in ignored_here.items()))
    # date columns: time dimensions ("spend last month" counts back from the latest date)
    times = []
    for col, reason in prof.ignored.items():
        if reason != "date or time (not used)":
            continue
        name = _name(col, taken)
        kind = "\ntype = \"date\"" if prof.types[col].upper() == "DATE" else ""
        times.append(name)
        dims.append(f"[entities.{entity}.dimensions.{name}]\nexpr = {_q(f'u.{quote_ident(col)}')}"
                    f"\nkind = \"time\"{kind}\nlabel = {_q(humanize(col))}\n"
                    f"words = {_list(_words(col))}")
    key = prof.key or "rowid"
    lines += ["", f"[entities.{entity}]", f"table = {_q(entity)}", 'alias = "u"',
              f"key = {_q(key)}", f"label = {_q(rows_word)}",
              f"singular = {_q(rows_word.rstrip('s'))}",
              f"words = {_list(people)}",
              "user_table = true", *([f"time = {_q(times[0])}"] if times else []), ""]
    lines += [*(d + "\n" for d in dims)]
    lines += [f"[measures.rows]\nentity = {_q(entity)}\nagg = \"count\"\nlabel = {_q(rows_word)}\n"
              f"words = {_list(people)}\n"]
    if holder:
        who = _holder_noun(holder)
        lines += [f"[measures.{_name(who, taken)}]\nentity = {_q(entity)}\n"
                  f"agg = \"count_distinct\"\nexpr = {_q(f'u.{quote_ident(holder)}')}\n"
                  f"label = {_q(who)}\nwords = {_list(_holder_words(who))}\n"
                  f"definition = {_q(f'{who} = distinct values of {holder}')}\n"]
    if values:
        values[0] = ("# Values: the first word is how answers name the value, the others are words "
                     "a question\n# may use for it. Codes mean what your code book says: write "
                     "it here, e.g.\n# \"2\" = [\"female\", \"women\"] or \"A14\" = "
                     "[\"no checking account\", \"A14\"].\n" + values[0])
    lines += [*(m + "\n" for m in measures), *(m + "\n" for m in metrics),
              *(v + "\n" for v in values)]
    return "\n".join(lines).rstrip() + "\n"
