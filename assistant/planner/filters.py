"""Filters in questions: places, products held, income, age, employment, status, consent...

Each recogniser consumes the phrases it matched (and the negation in front of them, "without a
credit card"), so that leftover words can be checked afterwards.
"""

from __future__ import annotations

import re

from assistant.planner import vocabulary as v
from assistant.planner.frame import Filter
from assistant.planner.measures import of_product_event
from assistant.planner.text import Text, normalise

_NEG_RE = re.compile(
    r"\b(not|no|without|excluding|exclude|except|never|non|other than|outside(?: of)?"
    r"|aren t|isn t|don t|doesn t|do not|does not|did not|have not|has not|lacking|minus"
    r"|apart from|but not)\s+(?:(?:a|an|the|any|have|hold|own|in|from|of|to|with|holding"
    r"|having|owning|use|using|are|is|who|customers|people)\s+){0,3}$")


def negated(text: Text, start: int) -> bool:
    """Whether the phrase at `start` is negated; the negation words are consumed."""
    lo = max(0, start - 40)
    m = _NEG_RE.search(text.s[lo:start])
    if not m:
        return False
    text._blank(lo + m.start(), start)
    return True


# Fields a customer can have several values of: "mortgage holders with a credit card" names two
# products (two conditions), "savings and credit card holders" one condition on two products.
MULTI_VALUED = ("product", "account_product", "platform")
_JOINING = frozenset(("and", "or", "as", "well", "both", "either", "a", "an", "the", "plus",
                      "nor", "vs", "versus", "&", "/", ","))


def _take_values(text: Text, field: str, table: dict, label, *, context: str = "",
                 pos_offset: int = 0) -> list[Filter]:
    """Consume every phrase of `table` (optionally only when `context` surrounds it)."""
    found: dict[str, tuple[int, bool, int]] = {}
    for value, pattern in v.value_patterns(table):
        for m in list(pattern.finditer(text.s)):
            if context and not re.search(context, text.s[max(0, m.start() - 30):m.end() + 30]):
                continue
            neg = negated(text, m.start())
            found.setdefault(value, (m.start(), neg, m.end()))
            text._blank(m.start(), m.end())
    if field not in MULTI_VALUED or len(found) < 2:
        return _group_values(field, {k: x[:2] for k, x in found.items()}, label)
    # values apart in the question (other words between them) are separate conditions
    groups: list[dict] = []
    last_end = None
    for value, (start, neg, end) in sorted(found.items(), key=lambda kv: kv[1][0]):
        gap = text.s[last_end:start].split() if last_end is not None else []
        if not groups or any(w not in _JOINING for w in gap):
            groups.append({})
        groups[-1][value] = (start, neg)
        last_end = end
    return [f for g in groups for f in _group_values(field, g, label)]


def _group_values(field: str, found: dict, label) -> list[Filter]:
    out = []
    for neg in (False, True):
        values = tuple(val for val, (_, n) in sorted(found.items(), key=lambda kv: kv[1][0])
                       if n == neg)
        if values:
            pos = min(p for val, (p, n) in found.items() if n == neg)
            out.append(Filter(field, values, negate=neg, label=label(values, neg), pos=pos))
    return out


def _or(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _lbl_country(values, neg):
    names = _or([v.COUNTRY_NAMES[x] for x in values])
    return f"outside {names}" if neg else f"in {names}"


def _lbl_product(values, neg):
    names = _or([v.PRODUCT_NAMES[x] for x in values])
    return f"without {names}" if neg else f"holding {names}"


def _lbl_plain(prefix: str, names: dict | None = None, neg_prefix: str | None = None):
    def label(values, neg):
        words = _or([(names or {}).get(x, str(x).replace("_", " ")) for x in values])
        if neg:
            return f"{neg_prefix or 'not ' + prefix} {words}".strip()
        return f"{prefix} {words}".strip()

    return label


_INCOME_BOUNDS = {"<25k": (0, 25), "25-50k": (25, 50), "50-100k": (50, 100),
                  "100-200k": (100, 200), "200k+": (200, 10**6)}


def _income_bands(lo: float | None, hi: float | None) -> tuple[str, ...] | None:
    """Bands exactly covering [lo, hi) in thousands; None when the bounds cut a band."""
    lo = 0 if lo is None else lo
    hi = 10**6 if hi is None else hi
    bands = tuple(b for b, (a, z) in _INCOME_BOUNDS.items() if a >= lo and z <= hi)
    covered_lo = min((_INCOME_BOUNDS[b][0] for b in bands), default=None)
    covered_hi = max((_INCOME_BOUNDS[b][1] for b in bands), default=None)
    if not bands or covered_lo != lo or covered_hi != hi:
        return None
    return bands


def _parse_income(text: Text) -> list[Filter]:
    found = _parse_income_bands(text)
    if found:
        text.take_all(r"\b(?:income|earnings|salary) (?:bands?|brackets?|groups?|levels?|ranges?)"
                      r"\b|\b(?:income|earnings)\b")
    return found


def _parse_income_bands(text: Text) -> list[Filter]:
    out = []
    s = text.s
    cur = r"(?:€|\$|£|eur |usd |gbp )?"
    ctx = r"(?:earn\w*|income|salary|salaries|making|make|paid|who make|with (?:an )?income)"
    shapes = [
        (r"(?:of )?(?:between|from) {m} (?:and|to|-) {m}", "between"),
        (r"(?:of )?{m} ?(?:-|to) ?{m}", "between"),
        (r"(?:of )?(?:over|above|more than|at least|greater than|>=?|upwards of|north of|\+) ?"
         r"{m}(?: or more| and above| plus|\+)?", "gt"),
        (r"(?:of )?{m} ?(?:\+|or more|and above|plus|and up)", "gt"),
        (r"(?:of )?(?:under|below|less than|lower than|<|up to|at most) ?{m}", "lt"),
    ]
    # "100k" is an income anywhere; a plain "100000" only next to an income word
    unit = r"(?: ?(?:euros?|eur|dollars?|usd|pounds?|gbp|a year|per year|annually))?"
    patterns = [(rf"(?:{ctx} )?" + shape.format(
        m=rf"{cur}(\d+(?:\.\d+)?) ?(?:k|thousand)\b{unit}"), op, 1) for shape, op in shapes]
    patterns += [(rf"{ctx} " + shape.format(m=rf"{cur}(\d{{4,7}})\b{unit}"), op, 1000)
                 for shape, op in shapes]
    for pattern, op, scale in patterns:
        m = re.search(pattern, s)
        if not m:
            continue
        nums = [float(g) / scale for g in m.groups()
                if g and re.fullmatch(r"\d+(?:\.\d+)?", g)]
        lo, hi = (nums[0], nums[1]) if op == "between" else \
            (nums[0], None) if op == "gt" else (None, nums[0])
        bands = _income_bands(lo, hi)
        text.take(re.escape(m.group(0)))
        if bands is None:
            out.append(Filter("income_band", (), label="__bad_income__"))
        else:
            out.append(Filter("income_band", bands, label="with income " + _or(list(bands)),
                              pos=m.start()))
        return out
    m = text.take(rf"(?:{ctx} )?(?:income (?:band |bracket |group )?(?:of )?)?(<25k|25k? ?- ?50k"
                  r"|50k? ?- ?100k|100k? ?- ?200k|200k\+|200k plus)(?: income)?"
                  r"(?: bands?| brackets?| groups?)?")
    if m:
        raw = m.group(1).replace(" ", "").replace("plus", "+")
        raw = {"25k-50k": "25-50k", "50k-100k": "50-100k", "100k-200k": "100-200k"}.get(raw, raw)
        return [Filter("income_band", (raw,), label=f"with income {raw}", pos=m.start())]
    for pattern, bands, words in (
        (r"high (?:income|earners?|net worth)|wealthy|affluent|rich|high earning"
         r"|top earners?", ("100-200k", "200k+"), "high income (100k+)"),
        (r"low (?:income|earners?)|low earning|low paid", ("<25k",), "low income (<25k)"),
        (r"middle (?:income|class)|mid (?:income|earners?)", ("25-50k", "50-100k"),
         "middle income (25-100k)"),
        (r"(?:with )?(?:no|unknown|missing|undeclared|undisclosed|without(?: an?)?) income"
         r"(?: bands?| brackets?)?(?: declared)?|income(?: bands?)? (?:is |are )?(?:not declared"
         r"|undeclared|unknown|missing|not known|not stated)|(?:who )?(?:have |has |did )?"
         r"(?:not|never) (?:declared?|stated?|disclosed?|given|give|provided?|shared|reported?)"
         r" (?:their |an? |any )?income(?: bands?)?", ("__null__",),
         "with no declared income"),
    ):
        m = text.take(pattern)
        if m:
            return [Filter("income_band", bands, label=words, pos=m.start())]
    return out


_OR_OVER = r"\+|and over|or over|and older|or older|and above|or above|and up|plus"


def _parse_age(text: Text, *, loose: bool) -> list[Filter]:
    s = text.s
    yrs = r"(?: ?years?(?: old)?| ?yo| ?year olds?)?"
    rules = [
        (r"(?:aged?|ages?|between the ages of|between ages) (\d{2}) ?(?:-|to|and) ?(\d{2})"
         + yrs, "between"),
        (r"(?:between )?(\d{2}) ?(?:-|to|and) ?(\d{2})(?: ?years?(?: old)?| ?yo| ?year olds)",
         "between"),
        # a bare range where customers are counted: 'customers 18-24', 'how many are 25-34s'
        (r"(?<![\w.,+-])(\d{2}) ?- ?(\d{2})s?(?![\w.,%+-])", "range"),
        (r"in their (\d)0s|(\d)0 somethings", "decade"),
        (rf"(?:aged?|ages?) (\d{{2}}) ?(?:{_OR_OVER}|or more)", "ge"),
        (rf"(?<![\d.,])(\d{{2}}) ?(?:{_OR_OVER})(?: ?years?(?: old)?)?"
         r"(?= customers| clients| people| users|$| )", "ge"),
        (r"(?:aged? |age )?(?:under|below|younger than|less than|<) ?(\d{2})(?![\d.,k%])" + yrs,
         "lt"),
        (r"(?:aged? |age )?(?:over|above|older than|more than|>) ?(\d{2})(?![\d.,k%])" + yrs,
         "gt"),
        (r"aged? (\d{2})(?![\d.,k%])" + yrs, "eq"),
    ]
    for pattern, op in rules:
        for m in re.finditer(pattern, s):
            explicit = re.search(r"age|year|yo|their|something|\+|older|younger|and over",
                                 m.group(0))
            if not explicit and not loose:
                continue
            nums = [int(g) for g in m.groups() if g]
            if op == "range":       # an age range, not a day of the month or a score
                if not 16 <= nums[0] < nums[1] <= 120:
                    continue
                op = "between"
            text.take(re.escape(m.group(0)))
            if op == "between":
                lo, hi = sorted(nums[:2])
                return [Filter("age", (lo, hi), op="between", label=f"aged {lo}-{hi}",
                               pos=m.start())]
            if op == "decade":
                lo = nums[0] * 10
                return [Filter("age", (lo, lo + 9), op="between", label=f"aged {lo}-{lo + 9}",
                               pos=m.start())]
            n = nums[0]
            words = {"ge": f"aged {n} or over", "lt": f"under {n}", "gt": f"over {n}",
                     "eq": f"aged {n}"}[op]
            values = (n, n) if op == "eq" else (n,)
            return [Filter("age", values, op="between" if op == "eq" else op, label=words,
                           pos=m.start())]
    return []


def _parse_status(text: Text) -> list[Filter]:
    out = []
    rules = [
        # "dormant" as bankers use it: no recent activity (not active), not "never transacted"
        ("active", r"dormant|inactive|not active|non active|lapsed|no longer active", "!active"),
        ("dormant", r"never transacted|never used (?:their|the) accounts?|no transactions"
                    r"(?: at all| ever)?|without (?:any )?transactions|zero transactions"
                    r"|have not transacted at all|never made a transaction", "dormant"),
        ("churned", r"not churned|non churned|retained|still with us|did not churn"
                    r"|have not churned|haven t churned", "!churned"),
        ("churned", r"churned|churners|churning|churn|lost customers|who (?:have )?left"
                    r"|left us|(?:did|have|has) (?:we|the bank) (?:lose|lost)|we lost"
                    r"|customers (?:we )?lost|attrited|former customers|ex customers"
                    r"|closed all their accounts", "churned"),
        ("active", r"\bactive\b|transacting|engaged", "active"),
        ("transacted", r"(?:have |has |who )?(?:transacted|made (?:a |any |at least (?:a |1 )"
                       r"|1 or more )?(?:single )?(?:transactions?"
                       r"|payments?))", "transacted"),
    ]
    for field, pattern, kind in rules:
        for m in list(re.finditer(pattern, text.s)):
            neg = kind.startswith("!") or negated(text, m.start())
            label = {"dormant": "who never transacted", "active": "active",
                     "churned": "churned", "transacted": "who transacted"}[field]
            if neg:
                label = {"dormant": "who have transacted", "active": "inactive",
                         "churned": "not churned", "transacted": "dormant"}[field]
            text._blank(m.start(), m.end())
            if not any(f.field == field for f in out):
                out.append(Filter(field, (True,), negate=neg, label=label, pos=m.start()))
    return out


def _parse_product_count(text: Text) -> list[Filter]:
    """'more than one product', 'multiple products', 'only one product', 'at least 3'."""
    products = r"(?:different |distinct |open )?products?"
    rules = [
        # "customers who have an account": an open one (closed accounts are not held)
        (r"(?:who )?(?:have|has|having|with|holding|hold|own|owning) (?:got )?(?:an?|any"
         r"|at least one|one or more) (?:open |active )?(?:bank )?accounts?"
         r"(?! (?:type|product|status|balance|opened|open))", "ge1"),
        (rf"(?:at most|no more than|not more than|up to|a maximum of) (\d+) {products}", "le"),
        (rf"(?:more than|over|above) (\d+) {products}", "gt"),
        (rf"(?:at least|a minimum of|minimum) (\d+) {products}|(\d+) ?(?:or more|and more|plus"
         rf"|\+) {products}|(\d+) {products} or more", "ge"),
        (rf"(?:multiple|several|many) {products}", "ge2"),
        (r"(?:only|just|exactly|a single) (\d+|one|a) (?:single )?products?|a single product"
         r"|single product customers", "eq1"),
        (r"(?:exactly) (\d+) products?", "eq"),
        (r"(?:fewer than|less than|under) (\d+) products?", "lt"),
        (r"(?:no|zero|without(?: any)?) (?:open )?products?(?: at all)?|(?:no|zero|without"
         r"(?: any)?) open (?:accounts?|products?)(?: at all)?", "eq0"),
    ]
    for pattern, op in rules:
        m = text.take(pattern)
        if not m:
            continue
        n = next((int(g) for g in m.groups() if g and g.isdigit()), None)
        op, n = {"ge2": ("ge", 2), "eq1": ("eq", 1), "eq0": ("eq", 0), "ge1": ("ge", 1)
                 }.get(op, (op, n))
        words = {"gt": f"holding more than {n} products", "ge": f"holding {n} or more products",
                 "eq": f"holding exactly {n} product{'s' if n != 1 else ''}",
                 "lt": f"holding fewer than {n} products",
                 "le": f"holding at most {n} products"}[op]
        if (op, n) == ("eq", 0):
            words = "holding no product (no open account)"
        elif (op, n) == ("ge", 1):
            words = "with an open account"
        return [Filter("products_count", (n,), op=op, label=words, pos=m.start())]
    return []


def _parse_optin(text: Text) -> list[Filter]:
    one = r"(?:emails?|sms|text messages?|texts?|push(?: notifications?)?|notifications)"
    # "both SMS and push", "any marketing channel (email, SMS or push)": commas are gone
    pre = (r"(?:\b(?:both|either|all|any|each)(?: of)? (?:the |our |these )?)?(?:(?:marketing "
           r"|contact |communication )?channels? (?:like |such as |including |namely )?)?")
    ch = rf"{pre}({one}(?:(?:(?:,| or| and| and or| as well as|/) ?| )(?:by |via |to )?{one})*)"
    adverb = r"(?:actually |really |still |even |also )?"
    verb = (r"(?:opted|opt|opting|signed|subscribed|consented|agreed|said yes|given consent"
            r"|gave consent|granted consent) ?(?:in|up)?")
    every = (r"(?:all|every|each)(?: of)?(?: the| our)?(?: 3)?(?: (?:marketing|contact"
             r"|communication))? (?:channels?|of them)|everything|every channel")
    some = (r"(?:any|at least 1|1 or more)(?: of)?(?: the| our)?(?: (?:marketing|contact"
            r"|communication))? channels?")
    listed = rf"(?: (?:like |such as |including |namely )?{one}(?:(?: or| and|/)? ?{one})*)?"
    every, some = f"(?:{every}){listed}", f"(?:{some}){listed}"   # "any channel (email, SMS...)"
    out: list[Filter] = []
    for pattern, kind in ((rf"(?:{verb} (?:to|for|on) (?:{every})|fully opted in|opted in"
                           rf" everywhere|(?:all|every) channel opt ?ins?)", "all"),
                          (rf"{verb} (?:to|for|on) (?:{some})", "any"),
                          (rf"(?:opted|opt|opting) out (?:of|from) (?:{every})|{verb} (?:to|for"
                           rf"|on) (?:no|none of the|zero) (?:channels?|of them)", "none")):
        m = text.take(pattern)
        if not m:
            continue
        channels = ("email", "sms", "push")
        neg = negated(text, m.start())
        if kind == "all" and not neg:
            out += [Filter("optin", (c,), label=f"opted in to {c.upper() if c == 'sms' else c}",
                           pos=m.start()) for c in channels]
        elif kind == "all":
            # "not opted in to all channels" (fewer than all) has no condition: refused
            out.append(Filter("optin_not_all", channels, pos=m.start(),
                              label="not opted in to every channel"))
        else:
            out.append(Filter("optin", channels, op="any", negate=(kind == "none") != neg,
                              pos=m.start(), label="opted in to email, SMS or push"))
    rules = [
        # "opted in to email but not (to) SMS": the second channel is not granted
        (rf"(?:(?:but|and|yet|though|while) (?:not|never|no|without)|without)"
         rf"(?: (?:been |being )?{verb})?"
         rf"(?: (?:to|for|on))? {ch}", True, "optin"),
        (rf"(?:opted|opt|opting) out (?:of|from) {ch}(?: marketing)?", True, "optin"),
        (rf"(?:not |never )?(?:opted|opt|opting|signed|subscribed|consented|agreed|said yes)"
         rf" ?(?:in|up)? (?:to|for) {ch}(?: marketing| communications?)?", None, "optin"),
        (rf"{ch}(?: marketing)? (?:opt ?ins?|opted in|subscribers|subscriptions?|consents?"
         rf"|permissions?|optins?|opt in customers)", None, "optin"),
        (rf"(?:reachable|contactable|marketable|addressable|reach|reachability)"
         rf"(?: customers)? (?:by|via|through|over|with|on) {ch}", None, "reach"),
        # "SMS reach by country": the customers reachable on it
        (rf"{ch} (?:reach|reachability|reachable customers|audience size)(?![\w])", None,
         "reach"),
        (rf"(?:with|have|given|gave|granted) (?:an? )?{ch} (?:consent|permission)", None,
         "optin"),
        # "can we reach by email", "can we text": who may be contacted (the reach rule)
        (rf"(?:can|could|may) (?:we |be |you )?{adverb}(?:(?:contact|reach|target|message)(?:ed)?"
         rf" )?(?:by |via |through |over |with )?{ch}", None, "reach"),
        (rf"(?:opted in|opt ?ins?|consent|consented|permission) (?:to|for|on) {ch}", None,
         "optin"),
    ]
    for pattern, forced_neg, kind in rules:
        for m in list(re.finditer(pattern, text.s)):
            neg = bool(forced_neg) or m.group(0).startswith(("not ", "never ")) or \
                negated(text, m.start())
            if neg and re.search(r"\b(?:both|all|each)\b", m.group(0)):
                continue    # "not opted in to both": not all of them, left unread (refused)
            text._blank(m.start(), m.end())
            channels = tuple(dict.fromkeys(
                "email" if word.startswith("email") else "sms" if word.startswith(
                    ("sms", "text")) else "push" for word in re.findall(one, m.group(1))))
            if kind == "reach":
                shown = " or ".join(c.upper() if c == "sms" else c for c in channels)
                both = len(channels) > 1 and re.search(r"\b(?:and|both|all)\b", m.group(1))
                out.append(Filter("reach", channels, op="all" if both else "in", negate=neg,
                                  label=f"{'not ' if neg else ''}reachable by "
                                  f"{shown.replace(' or ', ' and ') if both else shown}",
                                  pos=m.start()))
                continue
            for channel in channels:
                shown = channel.upper() if channel == "sms" else channel
                label = f"{'not ' if neg else ''}opted in to {shown}"
                out.append(Filter("optin", (channel,), negate=neg, label=label, pos=m.start()))
    m = text.take(r"(?:allow|allows|allowed|let|lets|permit|permits|accept|accepts|accepted"
                  r"|agreed to let|agree to let)(?: us)?(?: to)?(?: (?:use|process|analy[sz]e))?"
                  r"(?: their| the(?:ir)?)?(?: personal)?(?: data)?(?: (?:to be used )?(?:for"
                  r"|in))? profiling|(?:consented"
                  r"|consent|opted in|opt in|agreed|said yes|granted|gave consent"
                  r"|given consent|signed up)"
                  r" (?:to|for) profiling|profiling (?:consent|opt ?ins?|allowed|permitted"
                  r"|permission)(?: granted| given)?|(?:not|never|no longer) (?:objected"
                  r"|object|objecting) to profiling|(?:do|does|did) not object to profiling")
    if m and not negated(text, m.start()):
        out.append(Filter("optin", ("profiling",), label="not objecting to profiling "
                          "(profiling consent granted)", pos=m.start()))
    elif m:
        out.append(Filter("optin", ("profiling",), negate=True,
                          label="who objected to profiling", pos=m.start()))
    m = text.take(r"(?:objected|object|objecting|opted out) (?:to|of|from) profiling"
                  r"|no profiling consent|without profiling consent")
    if m:
        out.append(Filter("optin", ("profiling",), negate=True,
                          label="who objected to profiling", pos=m.start()))
    return out


_LANGS = "|".join(n.lower() for n in v.LANGUAGE_NAMES.values())


def _parse_language(text: Text) -> list[Filter]:
    found = {}
    pattern = (rf"(?:who )?(?:speak|speaks|speaking|prefer|prefers|preferring|with|whose)? ?"
               rf"(?:preferred language|language preference|language)(?: is| of)? ({_LANGS})"
               rf"|(?:speak|speaks|speaking|prefer|prefers|preferring|communicat\w* in) ({_LANGS})"
               rf"|({_LANGS}) ?(?:speaking|speakers?|language(?: preference)?|speaking customers)")
    for m in list(re.finditer(pattern, text.s)):
        name = next(g for g in m.groups() if g)
        code = next(c for c, n in v.LANGUAGE_NAMES.items() if n.lower() == name)
        found.setdefault(code, (m.start(), negated(text, m.start())))
        text._blank(m.start(), m.end())
    return _group_values("preferred_language", found,
                         _lbl_plain("preferring", v.LANGUAGE_NAMES, "not preferring"))


# How people say a KYC status: 'still waiting for their KYC check', 'failed KYC', 'passed the
# identity check', 'unverified'. Rewritten to the value words of the semantic model before
# those are read; 'not verified' (pending or rejected) stays a negated 'verified'.
_CHECK = (r"(?:kyc|identity|id|verification)(?: (?:checks?|verification|review|approval"
          r"|process|screening))?")
_WHOSE = r"(?:the |their |a |an |its |our )?"
_KYC_SAYINGS = (
    (rf"\b(?:still )?(?:waiting|awaiting|waiting on|queued|queueing|in the queue)(?: for| on)? "
     rf"{_WHOSE}{_CHECK}\b|\b{_CHECK} (?:is |are )?(?:still )?(?:pending|outstanding|open"
     r"|in progress|under review|not (?:yet )?(?:done|complete|completed|finished))\b",
     " kyc pending "),
    (rf"\b(?:failed|failing|fail|fails|did not pass|not passed|rejected (?:at|in|by|on|for)"
     rf"|declined (?:at|in|by|on)|refused (?:at|in|by|on)) {_WHOSE}{_CHECK}\b"
     rf"|\b{_CHECK} (?:was |were |is |are |got )?(?:failed|rejected|declined|refused)\b",
     " kyc rejected "),
    (rf"\b(?:passed|pass|passes|cleared|clear|completed|complete|finished|done) {_WHOSE}"
     rf"{_CHECK}\b|\b{_CHECK} (?:was |were |is |are |got )?(?:passed|approved|cleared"
     r"|complete|completed|done|successful)\b|\bfully verified\b",
     " kyc verified "),
    (r"\b(?:unverified|non verified|not (?:yet )?(?:been )?(?:kyc |fully |identity )?verified"
     r"|kyc (?:status )?(?:is |was )?not (?:yet )?verified)\b", " not kyc verified "),
)


def kyc_sayings(text: Text) -> None:
    """Rewrite the ways of saying a KYC status to the semantic model's value words."""
    for pattern, canonical in _KYC_SAYINGS:
        text.s = re.sub(pattern, canonical, text.s)


def parse_filters(text: Text, vocab: v.Vocabulary, metric: str = "customers") -> list[Filter]:
    """Consume every filter phrase in `text`; `metric` settles ambiguous words."""
    out: list[Filter] = []
    tx_metric = metric in ("spend", "transactions")
    campaign = metric in ("campaign", "campaigns")
    m = text.take(r"(?:customers |clients |members |people )?(?:in|of|from) (?:the )?segment"
                  r" (?:number |no |#)?(\d+)(?: customers| members)?|segment (\d+) "
                  r"(?:customers|members|clients)")
    if m:
        sid = int(m.group(1) or m.group(2))
        out.append(Filter("segment", (sid,), label=f"in segment {sid} of the latest "
                          "segmentation", pos=m.start()))
    out += _parse_product_count(text)
    out += _parse_optin(text)
    out += _parse_income(text)
    out += _parse_age(text, loose=metric in ("customers", "share", "products", "balance"))
    out += _parse_status(text)
    # Languages before countries: "German speakers" is a language, "German customers" a place.
    out += _parse_language(text)
    if campaign:
        names = [c for c in vocab.campaigns if normalise(c)]
        hits = []
        # Full names are found in the question as asked: their ordinary words ("Personal loan
        # rate cut") may already have been read as the metric ("rate").
        asked = f" {text.original} "
        for name in sorted(names, key=len, reverse=True):
            m = re.search(rf"(?<![\w]){re.escape(normalise(name))}(?![\w])", asked)
            if m and text.s[m.start():m.end()].strip():
                hits.append(name)
                text._blank(m.start(), m.end())
                asked = asked[:m.start()] + " " * (m.end() - m.start()) + asked[m.end():]
        if not hits:   # a partial name: "the black friday campaigns"
            words = re.findall(r"[a-z0-9]+", text.s)
            for n in range(4, 1, -1):
                for i in range(len(words) - n + 1):
                    phrase = " ".join(words[i:i + n])
                    matched = [c for c in names if re.search(rf"\b{re.escape(phrase)}\b",
                                                             normalise(c))]
                    if matched and phrase not in ("the campaign", "campaign"):
                        hits = matched
                        text.take(rf"\b{re.escape(phrase)}\b")
                        break
                if hits:
                    break
        if hits:
            out.append(Filter("campaign", tuple(hits), label="campaign " + _or(
                [f"'{h}'" for h in hits])))
        out += _take_values(text, "campaign_channel", v.CAMPAIGN_CHANNEL_PHRASES,
                            _lbl_plain("sent by"))
        out += _take_values(text, "campaign_product", v.PRODUCT_PHRASES,
                            _lbl_plain("promoting", v.PRODUCT_PLURALS))
    if tx_metric:
        # Categories first: "crypto", "investment" are categories when money is spent on them.
        out += _take_values(text, "category", v.CATEGORY_PHRASES, _lbl_plain("on"))
        out += _take_values(text, "tx_channel", v.TX_CHANNEL_PHRASES,
                            _lbl_plain("made", {"card_present": "in person (card present)",
                                                "atm": "at ATMs", "p2p": "person to person",
                                                "online": "online",
                                                "direct_debit": "by direct debit",
                                                "bank_transfer": "by bank transfer"},
                                       "not made"))
        m = text.take(r"\b(?:international|abroad|foreign|overseas|cross border"
                      r"|outside (?:their|the) (?:home )?country)\b")
        if m:
            neg = negated(text, m.start())
            out.append(Filter("international", (not neg,),
                              label="domestic" if neg else "international (merchant abroad)",
                              pos=m.start()))
        elif m := text.take(r"\b(?:domestic|at home|local)\b"):
            out.append(Filter("international", (False,), label="domestic", pos=m.start()))
        if not any(f.field == "direction" for f in out):
            m = text.take(r"\b(?:incoming|inflows?|credits|money in|received|deposits? in"
                          r"|credit(?! cards?| limits?| products?| utili\w*))\b")
            if m and metric == "transactions":
                out.append(Filter("direction", ("credit",), label="incoming (credits)",
                                  pos=m.start()))
            m = text.take(r"\b(?:outgoing|outflows?|debits|money out|debit(?! cards?))\b")
            if m and metric == "transactions":
                out.append(Filter("direction", ("debit",), label="outgoing (debits)",
                                  pos=m.start()))
        out += _take_values(text, "merchant", vocab.phrases("merchants"), _lbl_plain("at"),
                            context=r"\b(at|with|from|on|to|for)\b")
    if metric == "events":
        out += _take_values(text, "event_type", v.EVENT_TYPE_PHRASES, _lbl_plain("of type"))
    out += _take_values(text, "platform", {
        k: tuple(rf"(?:the )?{p}(?: apps?| application| users?| customers?| clients?| devices?"
                 rf"| phones?)?" for p in ps) for k, ps in v.PLATFORM_PHRASES.items()},
        _lbl_plain("using", {"ios": "the iOS app", "android": "the Android app",
                             "web": "web banking"}, "not using"))
    product_field = "account_product" if metric in ("balance", "credit_limit", "interest",
                                                    "utilisation") else "product"
    if metric == "events" and of_product_event(text.original):
        # the product applied for or viewed is the event's, not a product the customer holds
        product_field = "event_product"
    if not campaign:
        out += _take_values(text, product_field, v.PRODUCT_PHRASES,
                            _lbl_plain("for", v.PRODUCT_NAMES, "not for")
                            if product_field == "event_product" else _lbl_product)
    acq_lead = (r"(?:(?:were |was |been )?(?:acquired|came(?: in| to us)?|come(?: in)?|coming"
                r"(?: in)?|joined|signed up"
                r"|onboarded|sourced|arrived|found us)\s+)?(?:(?:through|via|from|by|thanks to)"
                r"\s+)?(?:a |an |the |our )?")
    out += _take_values(text, "acquisition_channel", {
        k: tuple(rf"{acq_lead}{p}" for p in ps) for k, ps in v.ACQUISITION_PHRASES.items()},
        _lbl_plain("acquired via", {"paid_search": "paid search", "paid_social": "paid social",
                                    "app_store": "app stores", "referral": "referral",
                                    "partner": "partners", "organic": "organic"},
                   "not acquired via"))
    text.take(r"\b(?:acquired|came|come|joined|signed up|onboarded) (?:through|via|from|by)\b"
              if any(f.field == "acquisition_channel" for f in out) else r"(?!x)x")
    out += _take_values(text, "employment_status", v.EMPLOYMENT_PHRASES,
                        _lbl_plain("", v.EMPLOYMENT_NAMES, "not"))
    kyc_sayings(text)
    out += _take_values(text, "kyc_status", v.KYC_PHRASES,
                        _lbl_plain("with KYC", neg_prefix="without KYC"))
    out += _take_values(text, "gender", v.GENDER_PHRASES, _lbl_plain(""))
    # Places: groups of countries ("the eurozone"), countries by name or upper-case code, then
    # regions and cities of this warehouse.
    for name, pattern, countries in v.COUNTRY_GROUPS:
        m = text.take(rf"(?<![\w]){pattern}(?![\w])")
        if m:
            neg = negated(text, m.start())
            out.append(Filter("country", countries, op="any", negate=neg, pos=m.start(), label=(
                f"{'outside' if neg else 'in'} {name} ({', '.join(countries)})")))
    out += _take_values(text, "country", v.COUNTRY_PHRASES, _lbl_country)
    codes = {}
    for code, canonical in v.COUNTRY_CODES.items():
        for _ in re.finditer(rf"(?<![\w]){code}(?![\w])", text.raw):
            low = code.lower()
            hit = re.search(rf"(?<![\w]){low}(?![\w])", text.s)
            if hit:
                codes.setdefault(canonical, (hit.start(), negated(text, hit.start())))
                text._blank(hit.start(), hit.end())
    if codes:
        merged = [f for f in out if f.field == "country"]
        out = [f for f in out if f.field != "country"]
        found = {val: (f.pos, f.negate) for f in merged for val in f.values} | codes
        out += _group_values("country", found, _lbl_country)
    cities = vocab.phrases("cities")
    regions = {r: p for r, p in vocab.phrases("regions").items() if r not in vocab.cities or
               re.search(rf"(state|region) of {p[0]}|{p[0]} (state|region)", text.s)}
    out += _take_values(text, "region", regions, _lbl_plain("in"))
    out += _take_values(text, "city", cities, _lbl_plain("in"))
    return out
