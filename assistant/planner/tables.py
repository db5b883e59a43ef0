"""Questions about a table the user imported, read with that table's own semantic model.

"average balance by tenure", "churn rate by geography", "how many customers have a credit
card", "what share of customers in France are active members": the words are the model's (its
measures, metrics, dimensions, values and named filters, drafted from the table and editable),
the grammar the planner's own (statistics, rankings, negation, numbers). A question is sent
here when it names the table or when the warehouse's own model does not cover it and the
table's does; what is left unread is refused, never answered from other tables.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date

from sqlglot import exp

from assistant.planner import vocabulary as v
from assistant.planner.filters import negated
from assistant.planner.measures import take_agg, take_top
from assistant.planner.periods import parse_period
from assistant.planner.plan import time_range
from assistant.planner.text import ABBREVIATIONS, Text, normalise
from warehouse.semantic import Condition, MetricRef, Order, Query, SemanticModel
from warehouse.semantic.model import parse_sql

_NUMBER = r"(-?\d+(?:\.\d+)?)"
_COMPARE = (("between", rf"(?:between|from) {_NUMBER} (?:and|to|-) {_NUMBER}"
                        rf"|{_NUMBER} ?(?:-|to) ?{_NUMBER}"),
            ("ge", rf"(?:at least|>=|no less than) {_NUMBER}|{_NUMBER} or (?:more|over)"),
            ("le", rf"(?:at most|<=|no more than|up to) {_NUMBER}|{_NUMBER} or (?:less|under)"),
            ("gt", rf"(?:over|above|more than|greater than|higher than|older than|>) {_NUMBER}"),
            ("lt", rf"(?:under|below|less than|lower than|younger than|<) {_NUMBER}"),
            ("in", rf"(?:of|equal to|=|is) {_NUMBER}"))
_SHARE = (r"\b(?:what |which )?(?:share|percentage|percent|proportion|fraction|ratio|pct|%)"
          r"(?: of)?\b")
_GROUP = (r"\b(?:by|per|for each|for every|in each|across|split by|broken down by|grouped by"
          r"|according to|for all)(?: (?:the|each|every|their|different))?")


def _phrase(words: str) -> str:
    return v._phrase(normalise(words))


def _alternation(words) -> str:
    ordered = sorted({_phrase(w) for w in words if w}, key=len, reverse=True)
    return r"(?<![\w])(?:" + "|".join(ordered) + r")(?![\w])" if ordered else r"(?!x)x"


@dataclass
class TableAsk:
    """What a question about a user table asks: the query and the words for the answer."""

    table: str
    query: Query
    kind: str                        # count, share, measure, rate
    labels: list[str] = field(default_factory=list)      # filter phrases, for the subject
    subgroup: list[str] = field(default_factory=list)    # the measured part of a share
    label: str = ""                  # what is measured
    note: str = ""                   # why this table answers (said after the answer)
    # how a split reads: {dimension: label}, and a yes/no one's groups {dimension: (yes, no)}
    dim_labels: dict[str, str] = field(default_factory=dict)
    booleans: dict[str, tuple[str, str]] = field(default_factory=dict)
    period: str = ""                 # the time window on the table's time dimension, in words
    noun: str = "customers"          # what a row is ('contacts' of a campaign's call log)
    unknown: list[str] = field(default_factory=list)    # columns whose blanks a share leaves out
    # the labels of a split's values where the model gives them ({dimension: {'2': 'female'}})
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    split_words: list[str] = field(default_factory=list)    # the words of its splits


def _entity(model: SemanticModel):
    return next(e for e in model.entities.values() if e.user_table)


_TABLE_WORDS = (r"(?: (?:table|data|file|dataset|data set|export|sheet|log|records|register"
                r"|ledger))")
# name parts that say nothing about which table ('the customers table' is the warehouse's)
_GENERIC_PARTS = frozenset((
    "customers", "customer", "clients", "client", "users", "user", "accounts", "account",
    "transactions", "transaction", "data", "table", "file", "import", "imported", "new", "old",
    "all", "my", "our", "the", "raw", "final", "copy", "test", "tmp", "events", "campaigns",
    "consents", "people", "members"))


def names_of(table: str, tables: list[str] | None = None, own: frozenset[str] = frozenset()
             ) -> list[str]:
    """How a question may name the table, as regex phrases: 'bank_churn', 'bank churn', and
    a distinctive part of its name before 'table'/'data' ('the churn table'), when no other
    imported table has that part."""
    spaced = table.replace("_", " ").lower()
    out = [re.escape(table.lower()), re.escape(spaced)]
    expanded = " ".join(_spelled(p) for p in _parts(table))      # cc -> credit card
    if expanded != spaced:      # 'the cc customers table' (a contract phrase without 'table')
        out.append(re.escape(expanded) + _TABLE_WORDS)
    others = [t.lower() for t in (tables or []) if t.lower() != table.lower()]
    for part in _distinctive(table, others):
        out.append(re.escape(_spelled(part)) + _TABLE_WORDS)
        # 'the campaign data' of bank_marketing, 'the telecom table' of telco_churn
        out += [re.escape(n) + _TABLE_WORDS for n in NICKNAMES.get(part, ())]
        if len(part) >= 4 and part not in _known_words() and part not in own:
            # 'churn rate by contract in telco': a name part no question uses otherwise
            out.append(rf"(?<=in |of |on ){re.escape(_spelled(part))}")
    return out


# What people call tables named with these parts ('the campaign data' is bank_marketing).
NICKNAMES = {
    "marketing": ("campaign", "marketing campaign", "telemarketing", "call", "calls"),
    "campaign": ("marketing", "marketing campaign", "call", "calls"),
    "telco": ("telecom", "phone company", "subscriber", "subscribers"),
    "telecom": ("telco", "subscriber", "subscribers"),
    "trans": ("transaction", "transactions"),
}


@functools.cache
def _known_words() -> frozenset[str]:
    """Every word the warehouse's questions use (a name part among them is not a name)."""
    return v.Vocabulary().known_words() | {w for p in _warehouse_words() for w in p.split()}


def _parts(table: str) -> list[str]:
    return [p for p in re.split(r"[_\W]+", table.lower()) if p]


def _spelled(part: str) -> str:
    """A name part as questions spell it once normalised (the shorthand 'cc' is 'credit
    card')."""
    return ABBREVIATIONS.get(part, part)


def _distinctive(table: str, others: list[str]) -> list[str]:
    """The parts of the table's name that say which table it is ('churn' of bank_churn)."""
    return [p for p in _parts(table)
            if len(p) >= 2 and p not in _GENERIC_PARTS and p not in v.FILLER and
            not p.isdigit() and (len(p) >= 3 or p in ABBREVIATIONS) and
            not any(p in _parts(o) for o in others)]


_HOLDERS = r" (?:customers?|clients?|holders?|users?|members?|people|persons?|base)"


def _holders(model: SemanticModel) -> list[str]:
    """'credit card customers', 'card holders' for cc_customers: a distinctive part of the
    name (or its last word) before a word for the customers, when that part is not itself a
    word of the table's model ('churn customers' of bank_churn are its churned ones)."""
    entity = _entity(model)
    own = {normalise(w) for d in entity.dimensions.values() for w in (*d.words, d.label)}
    own |= {normalise(w) for m in model.measures.values() for w in m.words}
    own |= {normalise(w) for f in model.filters.values() for w in f.words}
    own |= {normalise(w) for vs in model.values.values() for x in vs.values()
            for w in (*x.words, x.label)}
    out = []
    # 'credit card default rate' of cc_default: the spelled name right before a rate of it
    rates = _alternation([w for mt in model.metrics.values() for w in mt.words])
    for part in _distinctive(entity.name, []):
        spelled = _spelled(part)
        for variant in dict.fromkeys((spelled, spelled.split()[-1])):
            if variant not in own and variant not in v.FILLER:
                out.append(re.escape(variant) + _HOLDERS)
        if spelled != part and spelled not in own:
            out.append(re.escape(spelled) + rf"(?= {rates})")
    return out


def mentions(question: str, tables: list[str]) -> str | None:
    """The user table a question names ('in bank_churn', 'the cc customers table', 'the churn
    data')."""
    s = " " + normalise(question) + " "
    for table in sorted(tables, key=len, reverse=True):
        if any(re.search(rf"(?<![\w]){n}(?![\w])", s) for n in names_of(table, tables)):
            return table
    return None


def claims(question: str, model: SemanticModel) -> list[str]:
    """The words of `question` that only the table's model defines (its measures, rates and
    dimensions, not the warehouse's words): 'purchases' in 'average purchases by segment'."""
    own = _warehouse_words()
    s = " " + normalise(question) + " "
    entity = _entity(model)
    found = []
    for words in [*(m.words for n, m in model.measures.items() if n != "rows"),
                  *(mt.words for mt in model.metrics.values()),
                  *(d.words for d in entity.dimensions.values())]:
        for w in words:
            if _phrase(w) not in own and re.search(_alternation([w]), s):
                found.append(w)
    return list(dict.fromkeys(found))


def has_concept(model: SemanticModel, words: list[str]) -> bool:
    """Whether the table's model has a measure or dimension called by one of `words` (the
    words of something the warehouse's tables hold no data for: 'age', 'balance')."""
    wanted = {normalise(w) for w in words if w}
    entity = _entity(model)
    for item in [*(m for n, m in model.measures.items() if n != "rows"),
                 *entity.dimensions.values()]:
        for w in {*item.words, item.label}:
            w = normalise(w)
            if w and any(re.search(rf"(?<![\w]){re.escape(x)}(?![\w])", w) or
                         re.search(rf"(?<![\w]){re.escape(w)}(?![\w])", x) for x in wanted):
                return True
    return False


@functools.cache
def _warehouse_words() -> frozenset[str]:
    """Every word of the warehouse's own model (measures, rates, dimensions, filters)."""
    m = v.MODEL
    groups = [*(x.words for x in m.measures.values()), *(x.words for x in m.metrics.values()),
              *(x.words for x in m.all_dimensions), *(x.words for x in m.filters.values())]
    return frozenset(_phrase(w) for words in groups for w in words)


def _own_words(model: SemanticModel) -> frozenset[str]:
    """Every word of the table's own model ('default' of cc_default's default rate is never
    its name in 'clients not in default')."""
    entity = _entity(model)
    groups = [*(m.words for m in model.measures.values()), *(x.words for x in
              model.metrics.values()), *(f.words for f in model.filters.values()),
              *(d.words for d in entity.dimensions.values())]
    return frozenset(w for ws in groups for p in ws for w in normalise(p).split())


def own_words(model: SemanticModel) -> frozenset[str]:
    """The words of the table's model and of its values ('women' of a labelled SEX 2)."""
    values = {w for vs in model.values.values() for x in vs.values() for p in _said(x)
              for w in normalise(p).split() if not w.isdigit()}
    return _own_words(model) | values


def _take_table_name(text: Text, table: str, tables: list[str] | None = None,
                     model: SemanticModel | None = None) -> None:
    for n in names_of(table, tables, _own_words(model) if model is not None else frozenset()):
        text.take(rf"(?:(?:in|from|of|for|on|using) )?(?:the |my |our )?(?<![\w]){n}"
                  rf"(?![\w]){_TABLE_WORDS}?")
    text.take(r"\b(?:in|from|of|on) (?:the |my |our )?(?:imported |uploaded )?(?:table|data"
              r"|file|dataset)\b")


def _take_holders(text: Text, model: SemanticModel) -> None:
    for n in _holders(model):
        text.take(rf"(?<![\w]){n}(?![\w])")


_GRAIN = (r"\b(?:by|per|each|every|for each) (month|week|quarter|year)\b"
          r"|\b(monthly|weekly|quarterly|yearly|annually)\b")


def _when(text: Text, entity, reference: date | None):
    """The period and grain on the table's time dimension ('spend last month', 'by month'),
    read only when its model has one and its latest date is known (otherwise the words stay
    unread: refused)."""
    if not entity.time or reference is None:
        return None, None
    period = parse_period(text, v.Vocabulary(reference_date=reference))
    m = text.take(_GRAIN)
    grain = None
    if m:
        word = m.group(1) or m.group(2)
        grain = {"monthly": "month", "weekly": "week", "quarterly": "quarter",
                 "yearly": "year", "annually": "year"}.get(word, word)
    return period, grain


def parse_table(question: str, model: SemanticModel, reference: date | None = None
                ) -> TableAsk | str:
    """The structured query of a question about the table of `model`, or the words not
    understood (a refusal). `reference`: the table's latest date ('last month'
    counts back from it)."""
    entity = _entity(model)
    text = Text(question)
    _take_table_name(text, entity.name, model=model)
    _take_holders(text, model)
    _take_explained(text, question, model)
    period, grain = _when(text, entity, reference)
    probe = Frame_()
    take_top(text, probe)
    ranked = _ranked(text, entity, probe.top)
    dims = ranked + _groups(text, entity, ranked)
    dims += [d for d in _opposites(text, model, entity) if d not in dims]
    compared = _comparisons(text, entity)      # before the measures: '3 or more products'
    agg = take_agg(text)
    count = _take_outside(text, r"\b(?:how many|number of|count of|count|total number of)\b",
                          model)
    share = _take_outside(text, _SHARE, model)
    metric, label, kind = _metric(text, model, agg, count, share,
                                  rows_counted=bool(count) and _rows_counted(text, entity, model))
    conditions, labels = _conditions(text, model, entity, compared)
    conditions, labels, dims = _versus(conditions, labels, dims, model, entity)
    people = [w for n, m in model.measures.items() if m.agg == "count_distinct" for w in m.words]
    called = re.search(_alternation(entity.words), text.s)
    text.take_all(_alternation([*entity.words, entity.label, entity.singular, *people]))
    text.take_all(_VERBS)
    versus = text.take(rf"\b{_VERSUS}\b")
    left = v.meaningful(text.words())
    if not left and versus:
        # 'germany vs france': one row each; two groups compared are never pooled
        dims += [c.field for c in conditions if c.op == "in" and len(c.values) > 1 and
                 c.field not in dims]
        if len(conditions) > 1 and not dims:
            left = ["vs"]
    if left:
        return ", ".join(f"'{w}'" for w in dict.fromkeys(left))
    if probe.top and not dims:
        # 'top 5 customers by payments' ranks single rows, which a split cannot say: never
        # the average of everyone (nor a split by each payment value)
        return f"'top {probe.top}' (a ranking of single rows)"
    subgroup, sub_labels, unknown = [], [], []
    if kind == "share":
        if not conditions:
            return "a share of what? (e.g. 'share of customers who churned')"
        split = max(1, len(conditions) // 2) if len(conditions) > 1 else 1
        subgroup, sub_labels = conditions[-split:], labels[-split:]
        conditions, labels = conditions[:-split], labels[:-split]
        # a share is of the rows that have a value: a blank total charges is not 'at most
        # 1000' (the base leaves out the rows where the measured column is empty)
        blank = [c.field for c in subgroup if c.field in entity.dimensions and
                 entity.dimensions[c.field].kind != "boolean" and
                 not any(b.field == c.field for b in conditions)]
        conditions = [*conditions, *(Condition(field=f, op="not_null")
                                     for f in dict.fromkeys(blank))]
        unknown = [entity.dimensions[f].label for f in dict.fromkeys(blank)]
    order = [Order(by=metric.name if kind != "share" else "rows_pct",
                   desc=probe.order != "asc")] if probe.top else []
    query = Query(metrics=[metric], dimensions=dims, filters=conditions, subgroup=subgroup,
                  order=order, limit=probe.top, grain=grain,
                  time=time_range(period) if period else None)
    dim_labels, booleans = _split_words(dims, entity)
    noun = _noun(entity)
    value_labels = _value_labels(dims, model, entity)
    said = called.group(0).strip() if called else ""
    if entity.label in ("rows", "customers") and said and said.split()[-1] not in (
            "row", "rows", "record", "records", "entry", "entries", "case", "cases"):
        noun = said if said.endswith("s") or said == "people" else said + "s"   # 'applicants'
    if kind == "distinct":          # 'how many customers' of a log: its distinct customers
        kind, noun = "count", label
    return TableAsk(entity.name, query, kind, labels, sub_labels, label,
                    dim_labels=dim_labels, booleans=booleans,
                    period=period.label if period else "", noun=noun,
                    unknown=unknown, value_labels=value_labels,
                    split_words=[w for d in dims for w in entity.dimensions[d].words])


def _take_explained(text: Text, question: str, model: SemanticModel) -> None:
    """'paid in September (PAY_AMT1)': a column written as its header in brackets says what
    the words before it mean, so they are not read again (as a period the table has not);
    'how much did they pay' then sums it."""
    for m in model.measures.values():
        cols = [c.name for c in parse_sql(m.expr).find_all(exp.Column)] if m.expr else []
        if len(cols) != 1 or not re.search(rf"\(\s*{re.escape(cols[0])}\s*\)", question, re.I):
            continue
        col = normalise(cols[0]).strip()
        hit = re.search(rf"(?:\b(?:in|for|of|during|on) (?:[a-z]+ ){{1,2}})?{re.escape(col)}"
                        r"(?![\w])", text.s)
        if hit:
            text._blank(hit.start(), hit.end())
            text.s = text.s[:hit.start()] + col + text.s[hit.start() + len(col):]
            text.take(r"\bhow much (?:did|do|does|have|has)\b(?=.*\b(?:pay|paid|spend|spent"
                      r"|repay|repaid)\b)")
            verb = re.search(r"\b(?:pay|paid|spend|spent|repay|repaid)\b", text.s)
            if verb:
                said = "" if re.search(r"\b(?:total|sum|average|mean|median)\b", text.s) \
                    else "total"
                text.s = text.s[:verb.start()] + said.ljust(verb.end() - verb.start()) + \
                    text.s[verb.end():]
            return


def _noun(entity) -> str:
    """What the answer calls the rows: the model's label ('customers', 'contacts'), with
    'rows' said as customers (an imported customer table whose key is a row number)."""
    return entity.label if entity.label not in ("", "rows") else "customers"


def _value_labels(dims: list[str], model: SemanticModel, entity) -> dict[str, dict[str, str]]:
    """{dimension: {value: label}} of the splits whose values have labels of their own (a
    code book's: '2' -> 'female', 'A14' -> 'no checking account')."""
    out = {}
    for name in dims:
        d = entity.dimensions.get(name)
        if d is not None and d.values in model.values:
            labels = {k: x.label for k, x in model.values[d.values].items() if x.label != k}
            if labels:
                out[name] = labels
    return out


_CODE = re.compile(r"^(?:-?\d+|[A-Za-z]{1,2}\d{1,4})$")


def unlabelled_codes(model: SemanticModel) -> str:
    """A sentence for a refusal when the table holds codes without labels (Statlog's A14,
    Taiwan's SEX 1/2): the person can say what they mean in the table's model."""
    entity = _entity(model)
    measured = {m.expr for m in model.measures.values()}
    coded = [(d, model.values[d.values]) for d in entity.dimensions.values()
             if d.values in model.values and model.values[d.values] and
             all(_CODE.match(k) and x.label == k for k, x in model.values[d.values].items())
             and d.expr not in measured]        # a count (1-4 credits) is not a code
    coded.sort(key=lambda c: all(k.lstrip("-").isdigit() for k in c[1]))   # A14 first
    if not coded:
        return ""
    shown = "; ".join(f"{d.label}: {', '.join(list(vs)[:4])}{'...' if len(vs) > 4 else ''}"
                      for d, vs in coded[:3])
    d, vs = coded[0]
    key = list(vs)[-1]
    return (f" Some columns of {entity.name} hold codes without labels ({shown}); if a word "
            f"you used stands for one of them, add it to the table's model with `assistant "
            f"model edit {entity.name}` (under [values.{d.values}], e.g. "
            f"\"{key}\" = [\"what {key} means\", \"other words for it\"]) and ask again.")


def addressed(question: str, models: dict[str, SemanticModel]) -> str | None:
    """The one imported table a question names by its name or its holders ('credit card
    clients' of cc_default), if exactly one."""
    s = " " + normalise(question) + " "
    found = [name for name, model in models.items()
             if any(re.search(rf"(?<![\w]){n}(?![\w])", s)
                    for n in [*names_of(name, list(models)), *_holders(model)])]
    return found[0] if len(found) == 1 else None


def _split_words(dims: list[str], entity) -> tuple[dict, dict]:
    """How the answer names each split ('credit card', not 'has cr card') and a yes/no
    split's two groups ('with a credit card' / 'without a credit card')."""
    labels, booleans = {}, {}
    for name in dims:
        d = entity.dimensions[name]
        labels[name] = re.sub(r"^(?:has|is) ", "", d.label) if d.kind == "boolean" else d.label
        if d.kind == "boolean":
            booleans[name] = (d.phrase or d.label, d.negated or f"not {d.phrase or d.label}")
    return labels, booleans


def _versus(conditions, labels, dims, model: SemanticModel, entity):
    """'existing vs attrited customers': a filter and its opposite together ask for the split
    by that yes/no, not for rows that are both (none)."""
    exprs = {n: f.expr for n, f in model.filters.items() if f.expr}
    for i, c in enumerate(conditions):
        for j, other in enumerate(conditions):
            if i != j and c.field in exprs and exprs.get(other.field) == f"NOT ({exprs[c.field]})" \
                    and c.field in entity.dimensions and c.field not in dims:
                keep = [k for k in range(len(conditions)) if k not in (i, j)]
                return ([conditions[k] for k in keep], [labels[k] for k in keep],
                        [*dims, c.field])
    return conditions, labels, dims


def _take_outside(text: Text, pattern: str, model: SemanticModel) -> bool:
    """Take `pattern` unless it is part of a measure's words ('ratio' of 'utilization ratio',
    'count' of 'total transaction count')."""
    inside = [h.span() for n, m in model.measures.items() if n != "rows" and m.words
              for h in re.finditer(_alternation(m.words), text.s)]
    for hit in re.finditer(pattern, text.s):
        if not any(a <= hit.start() < b for a, b in inside):
            text._blank(hit.start(), hit.end())
            return True
    return False


class Frame_:
    """The ranking read by take_top (top N, order)."""

    def __init__(self) -> None:
        self.top: int | None = None
        self.order = "desc"


def _rows_counted(text: Text, entity, model: SemanticModel) -> bool:
    """Whether the noun counted is the table's rows: 'how many (bank) transactions were made by
    customers in Mumbai' counts transactions, 'how many customers made a transaction' counts
    customers; the first of the two nouns in the words right after 'how many' decides."""
    people = [w for m in model.measures.values() if m.agg == "count_distinct" for w in m.words]
    rows = [w for w in (*entity.words, entity.label, entity.singular) if w and w not in people]
    asked = re.search(r"\b(?:how many|number of|count of|total number of|count)\b"
                      r"((?:\s+\S+){1,4})", " " + text.original + " ")
    if not asked or not rows:
        return False
    after = asked.group(1)
    row = re.search(_alternation(rows), after)
    person = re.search(_alternation(people), after)
    return row is not None and (person is None or row.start() < person.start())


def _metric(text: Text, model: SemanticModel, agg: str, count: bool, share: bool,
            rows_counted: bool = False) -> tuple[MetricRef, str, str]:
    for name, mt in model.metrics.items():
        if mt.words and text.take(_alternation(mt.words)):
            return MetricRef(name=name), mt.label, "rate"
    people = [(n, m) for n, m in model.measures.items() if m.agg == "count_distinct" and m.words
              and not rows_counted]
    for name, m in people:
        # 'how many (distinct) customers' of a log: each customer once, never its rows
        hit = re.search(rf"(?:(?:distinct|unique|different|individual) )?"
                        rf"{_alternation(m.words)}", text.s)
        if hit and not share and (count or not agg) and not _measured(text, model):
            text._blank(hit.start(), hit.end())
            return MetricRef(name=name), m.label, "distinct"
    best = None
    for name, m in model.measures.items():
        if name == "rows" or not m.words or m.agg == "count_distinct":
            continue
        hit = re.search(_alternation(m.words), text.s)
        if hit and (best is None or len(hit.group(0)) > len(best[1].group(0))):
            best = (name, hit, m)
    if best and not count and not share:
        name, hit, m = best
        text._blank(hit.start(), hit.end())
        stat = agg if agg in m.allowed else m.agg
        word = {"avg": "average", "sum": "total", "median": "median", "min": "lowest",
                "max": "highest"}[stat]
        label = m.label if m.label.startswith(f"{word} ") else f"{word} {m.label}"
        return MetricRef(name=name, agg=stat), label, "measure"
    if share:
        return MetricRef(name="rows"), model.measures["rows"].label, "share"
    return MetricRef(name="rows"), model.measures["rows"].label, "count"


def _measured(text: Text, model: SemanticModel) -> bool:
    """Whether the question names a measure other than a count of people ('total amount of
    customers in Mumbai' sums the amount)."""
    return any(m.words and re.search(_alternation(m.words), text.s)
               for n, m in model.measures.items() if n != "rows" and m.agg != "count_distinct")


def _ranked(text: Text, entity, top: int | None = None) -> list[str]:
    """The split a ranking names: 'which job', 'what purpose', and after 'top 3' the words
    that follow it ('top 3 loan purposes by number of applicants')."""
    for d in entity.dimensions.values():
        if d.words and d.kind != "boolean" and (d.values or d.ordered or d.kind == "category"):
            m = text.take(rf"\b(?:which|what) {_alternation(d.words)}")
            if m is None and top:
                m = text.take(rf"^\s*(?:the )?{_alternation(d.words)}"
                              r"(?=\s*$| (?:by|with|in|of)\b)")
            if m:
                return [d.name]
    return []


def _groups(text: Text, entity, ranked: list[str]) -> list[str]:
    out = []
    for _ in range(2):
        best = None
        for d in entity.dimensions.values():
            if not d.words or d.name in ranked + out or (
                    d.kind == "number" and not (d.ordered or d.values)):
                continue
            m = re.search(rf"{_GROUP} {_alternation(d.words)}", text.s)
            if m and (best is None or m.start() < best[1].start()):
                best = (d, m)
        if best is None:
            break
        text._blank(best[1].start(), best[1].end())
        out.append(best[0].name)
    return out


_VERSUS = r"(?:vs|versus|compared (?:to|with)|against)"
# verbs that only say how a row has its values ('paying by electronic check', 'are on a
# month-to-month contract', 'signed up for fiber optic')
_VERBS = (r"\b(?:paying|paid|pays|billed|signed up for|signed up to|signed|enrolled in"
          r"|enrolled|subscribing to|are on|is on|were on|on|happened|occurred|took place"
          r"|single|individual)\b")
_VS = rf" (?:{_VERSUS}|or) (?:those |the ones |customers |people )?"


def _opposites(text: Text, model: SemanticModel, entity) -> list[str]:
    """A yes/no column compared with its opposite is a split by it: 'with a credit card vs
    without', 'active members vs not', 'churned vs retained' (a word the table's model does
    not know, opposite the column)."""
    known = {normalise(w) for d in entity.dimensions.values() for w in (*d.words, d.label)}
    known |= {normalise(w) for vs in model.values.values() for x in vs.values()
              for w in (*x.words, x.label)}
    out = []
    for d in entity.dimensions.values():
        if d.kind != "boolean" or not d.words:
            continue
        words = _alternation(d.words)
        m = re.search(rf"(?:(?:with|having|who (?:have|are)|that (?:have|are))"
                      rf"(?: an?| the)? )?{words}{_VS}(?:(?:without|not|non|no)"
                      rf"(?: (?:an?|the|one|it|them))?(?: {words})?|([a-z]+))(?![\w])",
                      text.s)
        other = m.group(m.lastindex) if m and m.lastindex else None
        if other and (other in known or other in v.FILLER or
                      not re.search(_VERSUS, m.group(0))):
            continue        # 'churned vs active': two columns, not one and its opposite
        if m:
            text._blank(m.start(), m.end())
            out.append(d.name)
    return out


def _comparisons(text: Text, entity) -> list[tuple[int, Condition, str]]:
    """Number comparisons on the table's number columns: 'credit score below 500', '3 or more
    products', 'aged 40-50' (each pattern whole, never a bare number taken for a column)."""
    found = []
    rows = _alternation([*entity.words, entity.label, entity.singular])
    for d in entity.dimensions.values():
        if d.kind != "number" or not d.words:
            continue
        words = _alternation(d.words)
        aged = "age" in {normalise(w) for w in d.words}
        # 'transactions above 10000' of a log whose one amount it is
        sized = "amount" in {normalise(w) for w in d.words} and entity.label not in (
            "rows", "customers")
        zero = re.search(rf"(?:an? )?(?:zero|nil|0) {words}|{words} (?:of |is |equal to |= )?"
                         r"(?:zero|nil|0)(?![\w.])", text.s)
        if zero:                    # 'a zero balance', 'balance of 0'
            text._blank(zero.start(), zero.end())
            found.append((zero.start(), Condition(field=d.name, op="in", values=[0]),
                          f"with {d.label} 0"))
            continue
        for op, pattern in _COMPARE:
            m = re.search(rf"{words} (?:is |of )?(?:{pattern})", text.s) or \
                re.search(rf"(?:aged? |with (?:an? )?)?(?:{pattern})(?: years?)?(?: of)? "
                          rf"{words}", text.s) or \
                (re.search(rf"\baged (?:{pattern})(?: years?(?: old)?)?"
                           rf"|(?<![\w])(?:{pattern}) years?(?: old)?"
                           rf"|(?<![\w])(?=older |younger )(?:{pattern})", text.s)
                 if aged else None) or \
                (_after(text.s, rf"{rows} (?:(?:who are|aged) )?", pattern)
                 if aged and op in ("gt", "lt", "ge", "le", "between") else None) or \
                (_after(text.s, rf"{rows} (?:of |worth |for )?", pattern)
                 if sized and op != "in" else None)
            if m:
                nums = [float(g) if "." in g else int(g) for g in m.groups() if g]
                text._blank(m.start(), m.end())
                phrase = m.group(0)
                if not aged and not re.search(words, phrase):     # 'transactions above 10000'
                    phrase = f"{d.label} {phrase}"
                if not phrase.startswith(("aged", "with ", "older", "younger")):
                    phrase = f"{'aged' if aged and not re.match(words, phrase) else 'with'} " \
                        f"{phrase}"         # 'with credit score below 500'
                found.append((m.start(), Condition(field=d.name, op=op, values=nums), phrase))
                break
    return found


def _after(s: str, before: str, pattern: str) -> re.Match | None:
    """`pattern` where it follows `before` ('clients over 60': a comparison after the row
    noun), the match being the comparison alone."""
    pre = re.search(rf"{before}(?=(?:{pattern})(?![\w]))", s)
    return re.compile(rf"(?:{pattern})").match(s, pre.end()) if pre else None


# nouns that a yes/no column's word before them qualifies: 'housing loan', 'gold card'
_HEADS = frozenset(("loan", "loans", "credit", "card", "cards", "mortgage", "mortgages",
                    "deposit", "deposits", "account", "accounts", "insurance", "service",
                    "services", "plan", "plans", "contract", "contracts", "product",
                    "products", "line", "lines"))


def _conditions(text: Text, model: SemanticModel, entity,
                compared: list | None = None) -> tuple[list[Condition], list[str]]:
    """The filters a question names: named filters, yes/no columns and category values. The
    longest phrase wins whatever names it ('credit in default' over 'credit'), and two yes/no
    words side by side are one compound phrase naming the first: 'housing loan' is the housing
    column (a housing loan), never housing AND loan."""
    found: list[tuple[int, Condition, str]] = list(compared or [])
    spans: list[tuple[int, int, str, object]] = []     # (start, end, kind, what)
    for name, f in model.filters.items():
        spans += [(m.start(), m.end(), "filter", name)
                  for m in re.finditer(_alternation(f.words), text.s)]
    for d in entity.dimensions.values():
        if d.kind == "boolean" and d.name not in model.filters and d.words:
            spans += [(m.start(), m.end(), "flag", d.name)
                      for m in re.finditer(_alternation(d.words), text.s)]
        elif d.values and d.values in model.values:
            named = _alternation(d.words) if d.words else r"(?!x)x"
            for value, (start, end) in _value_hits(text.s, model.values[d.values]):
                # the column named with its value: 'poutcome success', 'a previous outcome
                # of success', 'contacted by cellular', 'cellular contact'
                before = re.search(rf"{named}(?: (?:of|is|was|=|equal to|being))? $",
                                   text.s[:start])
                after = re.match(rf" {named}(?![\w])", text.s[end:])
                spans.append((before.start() if before else start,
                              end + (after.end() if after else 0), "value", (d.name, value)))
    kept: list[tuple[int, int, str, object]] = []
    for span in sorted(spans, key=lambda x: (x[0] - x[1], x[0])):
        # a word naming several values of one column names them all ('germany': 'Germany'
        # and 'GERMANY')
        if all(span[1] <= a or span[0] >= b or ((a, b) == span[:2] and k == "value" ==
                                                span[2] and w[0] == span[3][0])
               for a, b, k, w in kept):
            kept.append(span)
    kept.sort(key=lambda x: (x[0], x[1]))
    merged: list[tuple[int, int, str, object]] = []
    for span in kept:
        if merged and span[2] in ("filter", "flag") and merged[-1][2] in ("filter", "flag") \
                and not text.s[merged[-1][1]:span[0]].strip() and \
                text.s[span[0]:span[1]].strip() in _HEADS:
            # 'housing loan': one column named with the word it qualifies
            merged[-1] = (merged[-1][0], span[1], merged[-1][2], merged[-1][3])
            continue
        merged.append(span)
    values: dict[str, dict[bool, list[tuple[int, str]]]] = {}
    negations: dict[int, bool] = {}
    for start, end, kind, what in merged:
        neg = negations.setdefault(start, negated(text, start))
        text._blank(start, end)
        if kind == "filter":
            f = model.filters[what]
            found.append((start, Condition(field=what, op="not_in" if neg else "in"),
                          f.negated_label if neg else f.label))
        elif kind == "flag":
            d = entity.dimensions[what]
            found.append((start, Condition(field=what, values=[not neg]),
                          d.negated if neg else d.phrase))
        else:
            dim, value = what
            chosen = values.setdefault(dim, {}).setdefault(neg, [])
            if value not in [x for _, x in chosen]:
                chosen.append((start, value))
    for dim, by_neg in values.items():
        d = entity.dimensions[dim]
        for neg, chosen in by_neg.items():
            names = [x for _, x in chosen]
            if d.kind == "number":      # a code of a number column (SEX 2): compared as one
                names = [int(x) if re.fullmatch(r"-?\d+", str(x)) else x for x in names]
            words = " or ".join(model.values[d.values][str(x)].label for x in names)
            found.append((min(p for p, _ in chosen),
                          Condition(field=dim, op="not_in" if neg else "in", values=names),
                          d.filter_phrase(words, neg)))
    found.sort(key=lambda x: x[0])
    return [c for _, c, _ in found], [lbl for _, _, lbl in found]


def _said(spec) -> list[str]:
    """The words of a value, its label among them ('no checking account' = ["no checking
    account", "A14"] written in the model), except a bare number (SEX's '2' is never a word:
    'top 2' would read as it)."""
    bare = re.fullmatch(r"-?\d+(?:\.\d+)?", spec.label.strip())
    return [*spec.words, *([] if bare else [spec.label])]


def _value_hits(s: str, values: dict) -> list[tuple[str, tuple[int, int]]]:
    """(value, span) of each value a question names; the longest words win ('post graduate'
    is not 'graduate'), and a word that names several values names them all (a filter on
    every one, never one picked)."""
    spans = sorted(((m.start(), m.end(), value) for value, spec in values.items()
                    for m in re.finditer(_alternation(_said(spec)), s)),
                   key=lambda x: (x[0] - x[1], x[0]))
    kept: list[tuple[str, tuple[int, int]]] = []
    for start, end, value in spans:
        if all((a, b) == (start, end) or end <= a or start >= b for _, (a, b) in kept):
            kept.append((value, (start, end)))
    return kept


_FOLLOW = r"^\s*(?:and|now|what about|how about|same|only|just|also|then|but|ok|okay)\b"
_BACK = (r"\b(?:the ones|those|them|they|their|these|that group|of which|same|the same"
         r"|instead|as well|too)\b")


def is_follow_up(question: str) -> bool:
    """Whether a question reads as building on the previous one ('now only the ones with a
    personal loan', 'and by job?', 'what about those without?')."""
    s = " " + normalise(question) + " "
    return bool(re.search(_FOLLOW, s) or re.search(_BACK, s))



def follow_table(question: str, prev: TableAsk, model: SemanticModel) -> TableAsk | None:
    """'and by gender?', 'now only for Germany': the previous table question, refined."""
    if not re.search(_FOLLOW, normalise(question)) and len(question.split()) > 4:
        return None
    entity = _entity(model)
    text = Text(question)
    text.take(_FOLLOW)
    _take_table_name(text, entity.name, model=model)
    dims = _groups(text, entity, [])
    conditions, labels = _conditions(text, model, entity, _comparisons(text, entity))
    text.take_all(r"\b(?:instead|too|as well|only|just|for|the same|same|what|about|how"
                  r"|the ones|ones|those|them|they|these|of which|among)\b")
    text.take_all(_alternation([*entity.words, entity.label, entity.singular]))
    if v.meaningful(text.words()) or not (dims or conditions):
        return None
    fields = {c.field for c in conditions}
    said = [c for c in prev.query.filters if c.op != "not_null"]     # labelled, in order
    kept = [(c, lbl) for c, lbl in zip(said, prev.labels, strict=False)
            if c.field not in fields]
    blanks = [c for c in prev.query.filters if c.op == "not_null"]  # a share's base
    query = prev.query.model_copy(update={
        "dimensions": dims or prev.query.dimensions,
        "filters": [c for c, _ in kept] + conditions + blanks})
    dim_labels, booleans = _split_words(query.dimensions, entity)
    return TableAsk(prev.table, query, prev.kind, [lbl for _, lbl in kept] + labels,
                    prev.subgroup, prev.label, dim_labels=dim_labels, booleans=booleans,
                    period=prev.period, noun=prev.noun, unknown=prev.unknown,
                    value_labels=_value_labels(query.dimensions, model, entity))
