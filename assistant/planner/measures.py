"""What a question measures: the metric, its aggregate, the grouping and the ranking.

"Average spend per customer by income band" -> metric spend, aggregate avg, group income_band;
"top 5 merchants by spend" -> group merchant, top 5. Matched phrases are consumed.
"""

from __future__ import annotations

import re
from dataclasses import replace

from assistant.planner import vocabulary as v
from assistant.planner.frame import Filter, Frame
from assistant.planner.text import Text, normalise
from warehouse import contract

# -- questions with a shape of their own ------------------------------------------------------
# The KPI snapshot ("how are we doing?"), customers a campaign was sent to, and the high-value
# dormant customers (high value = spend in the 12 months up to the last transaction in the top 20%).
OVERVIEW_WORDS = (r"\bhow (?:are |is |s )?(?:we|things|business|the business|the bank|it"
                  r"|everything|our business|our numbers|the numbers|our kpis|our customers"
                  r"|our customer base) (?:doing|going|performing|looking|shaping up|trending"
                  r"|holding up)(?: overall| so far| at the moment| these days| lately)?\b"
                  r"|\bhow (?:is |s |are )?(?:business|things)\s*$"
                  r"|\bhow (?:did|have) (?:we|things|business|the business) (?:do|done|go|gone"
                  r"|perform|performed)\b"
                  r"|\bhow (?:do|does) (?:things|business|it|we|the business|our numbers"
                  r"|the numbers) look(?: like)?\b|\bwhere (?:do|are) we (?:stand|at)\b"
                  r"|\b(?:quick |business |status )?(?:update|rundown|recap|pulse check)"
                  r"(?= *$)|\b(?:an? |the )?(?:overview|summary|snapshot"
                  r"|dashboard|health check|kpis?|key (?:figures|metrics|numbers|kpis|facts)"
                  r"|headline (?:figures|numbers|metrics)|big picture|state of (?:the )?"
                  r"(?:business|bank|customer base))\b"
                  # a bare "numbers?", "stats?", "figures": the key figures, not just a count
                  r"|^\s*(?:(?:show|give) me )?(?:the |some |our |any )?(?:numbers|stats"
                  r"|statistics|data|figures|metrics)\s*$")

# "unsubscribed after a campaign", "converted after getting an email": the customers with that
# event on a campaign they were sent (a campaign event always follows its send)
_AFTER_CAMPAIGN = (r"\b(?:after|following|in response to|because of|due to)(?: (?:receiving"
                   r"|getting|being sent|reading|opening|seeing))?(?: (?:a|an|any|1 of|our|the"
                   r"|one of))?(?: our| the)? (?:(email|sms|push|text|in app) )?(?:marketing )?"
                   r"(campaigns?|emails?|messages?|push(?:es)?|notifications?|texts?|sms"
                   r"|newsletters?)\b")
_COUNTING_CUSTOMERS = (r"\b(?:how many|number of|count of) (?:customers|clients|people|users"
                       r"|recipients)\b|^\s*(?:customers|clients|people|users) (?:who|that)\b")
_RECEIVED = (r"\b(?:received|receive|receiving|got|get|were sent|was sent|been sent"
             r"|were delivered|was delivered)\b")


def take_reach(text: Text, campaigns: tuple[str, ...]) -> bool:
    """'How many customers received the Refer a friend push?': the customers a campaign was
    sent to. Only about customers, with a campaign named or the word 'campaign' (a salary is
    received too)."""
    named = any(re.search(rf"(?<![\w]){re.escape(normalise(c))}(?![\w])", text.s)
                for c in campaigns if normalise(c))
    if text.peek(r"\b(?:opened|clicked|converted|unsubscribed)\b"):
        return False        # "who unsubscribed after receiving a campaign": the event counts
    if not (named or text.peek(r"\bcampaigns?\b")) or not text.peek(_RECEIVED) or \
            not text.peek(r"\b(?:customers|clients|people|users|recipients)\b"):
        return False        # "how many campaigns were sent" counts campaigns
    text.take(_RECEIVED)
    text.take_all(r"\b(?:marketing |promotional )?campaigns?\b")
    return True

_HELD = (r"(?:[a-z]+ ){0,2}(?:accounts?|cards?|loans?|mortgages?|wallets?|products?"
         r"|savings|checking)\b")
_OPENED = (rf"\b(?:opened|opening|took out|taken out|take out|takes out)(?= (?:up )?(?:a |an "
           rf"|any |new |1 |their first |their |more )?{_HELD})"
           r"|\baccount openings?\b|\bnew (?=(?:savings |checking |current |investment "
           r"|crypto |credit card )?accounts?\b|credit cards?\b|mortgages?\b|loans?\b)")
_WERE_OPENED = (r"\b(?:accounts?|cards?|loans?|mortgages?|wallets?)\b( (?:were|was|have been"
                r"|has been|got|been|being))? (opened|taken out)\b")


def take_opened(text: Text) -> bool:
    """'Accounts opened in 2025', 'customers who opened a savings account', 'new credit cards':
    accounts counted by their opening date (whatever their status now)."""
    found = bool(text.take_all(_OPENED))
    for m in list(re.finditer(_WERE_OPENED, text.s)):
        text._blank(m.start(1) if m.group(1) else m.start(2), m.end(2))
        found = True
    return found


_VALUE = (r"\b(?:high(?:est)?|top|big(?:gest)?|large(?:st)?|heavy|heaviest|best|premium|key)"
          r" (?:value|spend(?:ing)?|spenders?|(?:value )?(?:customers?|clients?) by spend)\b"
          r"|\b(?:most )?valuable\b|\bvips?\b")
_QUIET = (r"\b(?:dormant|inactive|lapsed|(?:no longer|not) active|(?:have |has |who )?(?:gone"
          r"|went|go|gone) (?:quiet|silent|dormant|inactive)|(?:have |has |who )?(?:stopped"
          r"|quit|ceased) (?:transacting|spending|paying|buying|using (?:us|their (?:accounts?"
          r"|cards?)))|(?:no longer|not) (?:transacting|spending))\b")
_GROUP = r"\b(?:group|segment|cohort|population|pool|bunch)\b"


# How people say an app event of a product: 'started an application for a personal loan',
# 'completed a mortgage application', 'viewed the savings product'. Rewritten to the event
# words of the semantic model; the product words stay, to be read as the event's product.
_WHAT = r"(?:an? |their |the |any |our |new |1 )?(?P<p>(?:[a-z]+ ){0,2}?)"
_EVENT_SAYINGS = (
    (rf"\b(?:started|start|starts|starting|began|begun|begin|begins|initiated)"
     rf" {_WHAT}applications?\b", "started application"),
    (rf"\b(?:completed|complete|completes|completing|finished|finish|finishes|submitted"
     rf"|submit|submits) {_WHAT}applications?\b", "completed application"),
    (rf"\b{_WHAT}applications? (?:were |was |have been |has been |got |being )?"
     r"(?:started|begun|initiated)\b", "started application"),
    (rf"\b{_WHAT}applications? (?:were |was |have been |has been |got |being )?"
     r"(?:completed|finished|submitted)\b", "completed application"),
    (rf"\b(?:viewed|view|views|viewing|looked at|look at|looks at|browsed|browse"
     rf"|checked out) {_WHAT}(?:products? (?:pages?|details)|products?|pages?)\b",
     "product view"),
)
APPLIED = (r"\b(?:appl(?:y|ied|ies|ying)|applications?)\b")


def of_product_event(question: str) -> bool:
    """Whether a (normalised) question is about applications or product views: app events
    that have a product."""
    return any(re.search(p, question) for p, _ in _EVENT_SAYINGS) or bool(re.search(
        r"\b(?:started|completed) applications?|applications? (?:starts?|completions?"
        r"|started|completed)|product (?:views?|pages?)", question))


def event_sayings(text: Text) -> None:
    """Rewrite the ways of saying an application or product view to the event words, with the
    product words ahead of them ('a personal loan started application')."""
    for pattern, canonical in _EVENT_SAYINGS:
        text.s = re.sub(pattern, lambda m, c=canonical: f" {m.group('p')}{c} ", text.s)


def take_lapsed(text: Text) -> bool:
    """Consume a question about high-value dormant customers ('lapsed high spenders',
    'valuable customers who have gone quiet'); both parts must be there."""
    if not (text.peek(_VALUE) and text.peek(_QUIET)):
        return False
    text.take(_VALUE)
    text.take(_QUIET)
    text.take_all(_GROUP)
    return True


# -- dimensions a result can be split by -----------------------------------------------------
DIMENSIONS: dict[str, str] = {
    "country": r"countr(?:y|ies)|markets?|nations?",
    "region": r"regions?|states?|provinces?|areas?",
    "city": r"cit(?:y|ies)|towns?",
    "income_band": r"income(?: bands?| brackets?| groups?| levels?| ranges?| classes?)?"
                   r"|salary bands?|earnings? bands?",
    "employment_status": r"employment(?: status(?:es)?| types?| groups?)?|occupations?|jobs?"
                         r"|job status"
                         r"|work status|professions?",
    "acquisition_channel": r"acquisition(?: channels?| sources?)?|(?:marketing |signup |sign up )"
                           r"?sources?|signup channels?|sign up channels?",
    "preferred_language": r"(?:preferred )?languages?",
    "kyc_status": r"kyc(?: checks?)?(?: status(?:es)?)?|verification status(?:es)?",
    "gender": r"genders?|sex",
    "age_band": r"age(?: bands?| groups?| brackets?| ranges?| segments?| cohorts?)?|ages",
    "segment": r"(?:customer )?segments?|clusters?",
    "product": r"products?(?: types?| held| lines?)?|product holdings?",
    "platform": r"platforms?|devices?|operating systems?|os",
    "category": r"(?:spending |spend |transaction |merchant |purchase )?categor(?:y|ies)|mcc",
    "channel": r"(?:transaction |payment |marketing |contact |communication |campaign )?channels?"
               r"|payment methods?|payment types?",
    "merchant": r"merchants?|retailers?|brands?|shops?|stores?|vendors?|counterpart(?:y|ies)",
    "campaign": r"campaigns?|each campaign",
    "event_type": r"event types?|(?:app )?events?|actions?",
    "month": r"months?|calendar months?",
    "week": r"weeks?|calendar weeks?",
    "quarter": r"quarters?",
    "year": r"years?|calendar years?",
    "weekday": r"days? of (?:the )?week|weekdays?",
    "customer": r"customers?|clients?",
    "international": r"domestic (?:vs|versus|and|or) international|international (?:vs|versus|and"
                     r"|or) domestic",
    "direction": r"directions?|debits? (?:vs|versus|and|or) credits?",
    "tenure_band": r"tenure(?: bands?| groups?)?",
    "signup_year": r"signup years?|sign up years?|year of signup|cohorts?",
}
TIME_DIMS = ("month", "week", "quarter", "year", "weekday")
_GROUP_LEAD = (r"(?:by|per|for each|for every|in each|for all|across|across all|broken down by"
               r"|break(?:ing)? (?:it |this |that )?down by|split(?:ted)? by|grouped by|group by"
               r"|segmented by|breakdown by|break down by|divided by|according to|based on"
               r"|for the different|over the different|between the|among the|by each|by their"
               r"|by the|per each|each|every|split across|split over|split between"
               r"|spread across|spread over|distributed across|distributed over|at|on a|on)")
_TREND = (r"monthly|month by month|month over month|month on month|mom|m o m|each month"
          r"|every month|over time|trends?|trending|evolution|evolved|evolve|evolving"
          r"|develop(?:ed|ing|ment)?|history|time series|per month")

METRIC_WORDS = {
    "campaign": r"(?:open(?:ing)?|click(?: through)?|conversion|convert|unsubscribe|response)"
                r" rates?|ctr|campaigns? (?:performance|results|stats|metrics|kpis)"
                r"|campaigns? perform\w*|perform\w* campaigns?|best campaigns?|worst campaigns?"
                r"|most successful campaigns?|least successful campaigns?",
    "optin": r"opt ?in rates?|opt ?in percentages?|opt ?in shares?|consent rates?|opt ?ins"
             r"|subscription rates?|reachability|permission rates?",
    "spend": r"card spend(?:ing)?|spend(?:ing|s)?(?! categor)|spent|expenditures?|outgoings",
    "balance": r"balances?|deposits?|aum|assets under management|outstanding|debts?|owed|owe"
               r"|loan book|money (?:held|in)|funds|holdings value|how much money"
               r"|how much (?:is |do we have )?(?:(?:sitting|parked|held|kept|lying) )?in"
               r"(?= (?:savings|checking|current|investment|crypto|deposit))",
    "credit_limit": r"credit card limits?|credit limits?|card limits?",
    "utilisation": r"utili[sz]ation|credit usage",
    "interest": r"interest rates?|apr|interest",
    "transactions": r"(?:transactions?|payments?|purchases?) (?:amounts?|values?|sizes?|volumes?"
                    r"|counts?)|transactions?|payments?|purchases?|withdrawals?|transfers?|tx"
                    r"|txns?",
    "products": r"(?:number|count) of products|products per customer|how many products"
                r"|product holdings?|products held|products do (?:customers|they) (?:have|hold)"
                r"|cross ?holdings?|products on average",
    "events": r"logins?|log ins?|logged(?: in)?|signed in|sessions"
              r"|(?:used|use|uses|using) (?:the |our )?(?:mobile |banking )?app(?! stores?)"
              r"|app (?:usage|activity|events?|opens?|visits?)"
              r"|support chats?|product views?|applications? (?:started|completed)|push opens?"
              r"|started applications?|completed applications?|application starts?"
              r"|application completions?",
    "age": r"average (?:customer )?age|mean (?:customer )?age|median (?:customer )?age|how old"
           r"|oldest|youngest|customer age|age of (?:our |the )?customers",
    "tenure": r"tenure|how long (?:have |has )?(?:customers|clients|they|people)? ?(?:been )?"
              r"(?:with us|customers|banking with us)|relationship length",
}
_SHARE = (r"(?:what |which )?(?:share|percentage|percent|proportion|fraction|ratio|portion"
          r"|part|pct|%)(?: of)?|how many percent|in percent|as a percentage|penetration"
          r"|adoption(?: rate)?|uptake|what % of|% of")
SHARE_WORDS = _SHARE
AGG_WORDS = _AGG = {
    "avg": r"on average|average|avg|mean|typical",
    "median": r"median|middle",
    "sum": r"total|sum|overall|combined|aggregate|altogether|in total|how much|volume|value",
    "max": r"maximum|max|highest single|largest single|biggest single",
    "min": r"minimum|min|lowest single|smallest single",
}


def rates_in(s: str) -> tuple[str, ...]:
    """The campaign rates a question names (empty: the default set)."""
    return tuple(
        r for r, p in (("open", r"open"), ("click", r"click|ctr"), ("conversion", r"conver"),
                       ("unsubscribe", r"unsubscri")) if re.search(p, s))


def take_group(text: Text, metric_hint: str) -> list[str]:
    groups: list[str] = []
    if text.take_all(rf"(?:{_GROUP_LEAD} )?(?:{_TREND})"):
        groups.append("month")
    lead = (rf"(?<![\w]){_GROUP_LEAD} (?:each |every |the |their |different |all )?"
            r"(?:of (?:our|the|these|their) )?")
    for _ in range(3):
        best = None
        for dim, pattern in DIMENSIONS.items():
            m = re.search(rf"{lead}(?:{pattern})(?![\w])", text.s)
            if m and (best is None or m.start() < best[1].start() or
                      (m.start() == best[1].start() and len(m.group(0)) > len(best[1].group(0)))):
                best = (dim, m)
        if best is None:
            break
        dim, m = best
        if dim == "customer" and not re.search(r"\b(top|bottom|biggest|largest|highest|best"
                                               r"|lowest|most|least)\b", text.s):
            text._blank(m.start(), m.end())   # "per customer" is an average, not a group
            continue
        text._blank(m.start(), m.end())
        if dim not in groups:
            groups.append(dim)
        follow = re.match(rf"\s*(?:and|&|,) (?:by )?(?:{'|'.join(DIMENSIONS.values())})"
                          r"(?![\w])", text.s[m.end():])
        if follow:
            for d2, p2 in DIMENSIONS.items():
                mm = re.match(rf"\s*(?:and|&|,) (?:by )?(?:{p2})(?![\w])", text.s[m.end():])
                if mm:
                    text._blank(m.end(), m.end() + mm.end())
                    if d2 not in groups:
                        groups.append(d2)
                    break
    m = re.search(r"(?:which|what|the) (?:(?:\d+ )?(?:top|best|worst|biggest|largest|highest"
                  r"|lowest|smallest|most|least) )?(" + "|".join(DIMENSIONS.values()) + r")\b",
                  text.s)
    if m and not groups:
        for dim, pattern in DIMENSIONS.items():
            if re.fullmatch(pattern, m.group(1)) and dim not in ("customer", "event_type"):
                groups.append(dim)
                text._blank(m.start(1), m.end(1))
                break
    m = re.search(r"(" + "|".join(v for k, v in DIMENSIONS.items() if k not in (
        "customer", "event_type", "month", "week", "year", "quarter")) +
        r") (?:breakdown|split|distribution|mix|ranking|comparison|level)\b"
        r"|(?:distribution|mix|ranking|spread) (?:of|across|over) (?:the )?("
        + "|".join(v for k, v in DIMENSIONS.items() if k != "customer") + r")\b", text.s)
    if m and not groups:
        word = m.group(1) or m.group(2)
        for dim, pattern in DIMENSIONS.items():
            if re.fullmatch(pattern, word):
                groups.append(dim)
                text._blank(m.start(), m.end())
                break
    return groups


def take_ranked_dim(text: Text, frame: Frame) -> list[str]:
    """'top 5 merchants', 'the 3 biggest cities': the ranked dimension (the number stays)."""
    who = re.search(r"\b(?:which (?:customers|clients)|who) (?:spent|spend|spends)\b", text.s)
    m = None if who else text.take(
        r"\b(?:spend|spent|spending|spends)\s+(?:the\s+)?(most|least|more|less)(?:\s+money)?"
        r"\s+(?:on|at|with)\b|\b(?:biggest|largest|top|main) (?:spending|spend) categor(?:y|ies)")
    if m:
        text.s = text.s[:m.start()] + " spend" + text.s[m.start() + 6:]
        frame.top = frame.top or 1
        frame.order = "asc" if m.group(1) in ("least", "less") else "desc"
        # "which spending category ...", "which merchant do we spend the most at?"
        named = text.take(rf"\b(?:(?P<n>\d+) )?(?:spending |spend |transaction |purchase )?"
                          rf"(?:(?P<category>{DIMENSIONS['category']})"
                          rf"|(?P<merchant>{DIMENSIONS['merchant']}))\b")
        if named and named.group("n"):      # "which 5 merchants did we spend the most at"
            frame.top = int(named.group("n"))
        return ["merchant" if named and named.group("merchant") else "category"]
    counting = re.search(r"\b(?:number|count) of products|how many products|average products"
                         r"|products (?:per|on average)", text.s)
    if not counting and text.take(r"\b(?:which |what )?products?(?: do| are| did)?(?: they)? "
                                  r"(?:held|owned|used|taken|bought|have|hold|use|own)"
                                  r"(?: by| among)?\b"):
        return ["product"]
    m = text.take(r"\b(?:which|what|who are (?:the|our)) (?:customers|clients)(?= (?:spent|spend"
                  r"|have|hold|own|had|made|make))|\bwho (?=spent|spends|has the|had the|made)")
    if m:
        frame.top = frame.top or 10
        return ["customer"]
    m = text.take(r"\b(?:(?:top|biggest|largest|highest|best|heaviest)(?: (\d+))?|(\d+)"
                  r"(?: top| biggest| largest| highest| best| heaviest)?) spenders\b")
    if m:
        text.s = text.s[:m.start()] + " spend" + text.s[m.start() + 6:]
        frame.top, frame.order = int(m.group(1) or m.group(2) or 10), "desc"
        return ["customer"]
    dims = "|".join(f"(?P<{k}>{p})" for k, p in DIMENSIONS.items()
                    if k not in ("event_type", "international", "direction"))
    # "top 5 dining merchants": the category stays in the text, a filter on the spend ranked
    categories = "|".join(p for ps in v.CATEGORY_PHRASES.values() for p in ps)
    m = re.search(rf"\b(?:top|bottom|best|worst|biggest|largest|highest|lowest|smallest|leading"
                  rf"|most popular|least popular|most common|least common)(?: \d+)?"
                  rf"(?: (?:{categories})(?= (?:{DIMENSIONS['merchant']})\b))? (?:{dims})"
                  rf"(?![\w])", text.s) or \
        re.search(rf"\b\d+ (?:top |best |worst |biggest |largest |highest |lowest |smallest )?"
                  rf"(?:{dims})(?![\w])(?= by| with| in terms| ranked| for| per)", text.s) or \
        re.search(rf"\b(?:which|what|the|show|list|name) (?P<n>\d+) (?:{dims})(?![\w])",
                  text.s)
    if not m:
        return []
    if m.groupdict().get("n"):
        frame.top = int(m.group("n"))
        frame.order = "asc" if re.search(r"\b(fewest|least|lowest|smallest|worst)\b",
                                         text.s) else "desc"
        text._blank(*m.span("n"))
    dim = next(k for k, val in m.groupdict().items() if val and k != "n")
    start, end = m.span(dim)
    measured = re.match(r"(?:spending|spend|transaction) (?=categor)", m.group(dim))
    if measured:    # "the 3 smallest spending categories": spend is what is ranked
        start += measured.end()
    text._blank(start, end)
    return [dim]


# words that judge rather than measure: the good end of the measure ("best churn rate" = lowest)
_GOOD = r"\b(?:best|strongest|winner|winning)\b"
_BAD = r"\b(?:worst|weakest|poorest)\b"


def take_top(text: Text, frame: Frame) -> None:
    m = text.take(r"\b(?:top|best|highest|biggest|largest|leading|first) (\d+)\b"
                  r"|\b(\d+) (?:top|best|highest|biggest|largest|most|leading)\b")
    if m:
        frame.top, frame.order = int(m.group(1) or m.group(2)), "desc"
        frame.judged = "best" if re.search(_GOOD, m.group(0)) else ""
        return
    m = text.take(r"\b(?<!at )(?:bottom|worst|lowest|smallest|least) (\d+)\b"
                  r"|\b(\d+) (?:bottom|worst|lowest|smallest|least|fewest)\b")
    if m:
        frame.top, frame.order = int(m.group(1) or m.group(2)), "asc"
        frame.judged = "worst" if re.search(_BAD, m.group(0)) else ""
        return
    m = text.take(r"\b(?<!at )(?:the )?(?:most popular|most common|most|highest|biggest|largest"
                  r"|best|top|greatest|leading|strongest|winner|winning)\b")
    if m:
        frame.top, frame.order = frame.top or 1, "desc"
        frame.judged = "best" if re.search(_GOOD, m.group(0)) else ""
        return
    m = text.take(r"\b(?<!at )(?:the )?(?:least popular|least common|least|lowest|smallest|fewest"
                  r"|worst|weakest|poorest)\b")
    if m:
        frame.top, frame.order = frame.top or 1, "asc"
        frame.judged = "worst" if re.search(_BAD, m.group(0)) else ""
    if text.take(r"\b(?:ranked|rank|ranking|sorted|order(?:ed)?)\b( by)?"):
        frame.top = frame.top or None


def take_agg(text: Text) -> str:
    per_customer = text.take(r"(?<![\w])(?:per customer|per client|per person|per head"
                             r"|per user|per capita|each customer|by customer)(?![\w])")
    m = None if per_customer else re.search(
        r"(?<![\w])per((?: [a-z]+){1,2}?) (?:customer|client|person|user)s?(?![\w])", text.s)
    if m:       # "per active customer": the words between stay to be read as filters
        text._blank(m.start(), m.start(1))
        text._blank(m.end(1), m.end())
        per_customer = m
    for agg in ("median", "max", "min", "avg", "sum"):
        if text.take(rf"(?<![\w])(?:{_AGG[agg]})(?![\w])"):
            return agg
    return "avg" if per_customer else ""


# "average number of (international) transactions ...", "how many transactions ... on average":
# a count per customer, whatever stands between (a period, filters, adjectives)
_TX_COUNTED = (r"\b(?:average|mean|avg|typical) +(?:number|count) +of +((?:[a-z]+ +){0,2}?)"
               r"(?:transactions|payments)\b")
_TX_COUNTED_ON_AVERAGE = (r"\b(?:how +many|(?:number|count) +of) +((?:[a-z]+ +){0,2}?)"
                          r"(?:transactions|payments)\b")
_PER_TIME = r"\b(?:per|a|each|every) (?:day|week|month|quarter|year)\b|\b(?:daily|weekly|monthly)\b"
# an average of transactions is an amount only when the question says so
AMOUNT_WORDS = (r"\b(?:amounts?|values?|sizes?|tickets?|spend|spent|spending|worth|much|big"
                r"|large|money)\b")


def _take_counted(text: Text, frame: Frame) -> bool:
    m = re.search(_TX_COUNTED, text.s)
    if not m and re.search(r"\b(?:on average|average|avg|mean|typical)\b", text.s):
        m = re.search(_TX_COUNTED_ON_AVERAGE, text.s)
        if m:
            text.take_all(r"\b(?:on average|average|avg|mean|typical)\b")
    if not m:
        return False
    text._blank(m.start(), m.start(1))      # adjectives in between stay to be read as filters
    text._blank(m.end(1), m.end())
    frame.metric = "transactions"
    frame.per = "customer"
    if re.search(_PER_TIME, text.original):
        frame.refusal = ("I can count transactions per customer over a period, but not an "
                         "average per day, week or month.")
    return True


# "the average amount of an online transaction", "avg amount per txn by channel": the amount
# of transactions, the words between (filters) kept to be read
_AMOUNT_OF = (r"\b(?:(?:transaction|payment|purchase|(basket|ticket|order)) )?(?:amounts?|values?"
              r"|sizes?)"
              r" (?:of|per|for|on) (?:an? |1 |each |every |the |our |their |a single )?"
              r"(?P<between>(?:[a-z0-9]+ ){0,3}?)(?:transactions?|payments?|purchases?)\b")
_SPEND_PER = (r"\b(?:spend|spending|spent)(?: on average)? (?:per|a|each|every|for each|on each)"
              r" (?P<between>(?:[a-z]+ ){0,2}?)(?:transaction|payment|purchase)\b(?! channels?"
              r"| methods?"
              r"| types?)")
_CARD = Filter("tx_channel", ("card_present", "online"), op="any",
               label="by card (in person or online)")


def _take_amount_of(text: Text, frame: Frame) -> bool:
    m = re.search(_AMOUNT_OF, text.s)
    per = None if m else re.search(_SPEND_PER, text.s)
    if not (m or per):
        return False
    m = m or per
    words = m.group("between")
    text._blank(m.start(), m.start("between"))
    text._blank(m.end("between"), m.end())
    if re.search(r"\bcard $", words):      # "an in-store card payment": paid by card
        text._blank(m.end("between") - 5, m.end("between"))
        frame.filters.append(replace(_CARD, pos=m.start("between")))
    frame.metric = "transactions"
    if per or m.group(1):     # spend per purchase, a basket: debits that count as spend
        frame.per = "transaction"
    return True


# "customers by number of products": a split by the count of products held
_BY_PRODUCT_COUNT = (r"\b(?:by|per|split by|broken down by|grouped by|for each|across) (?:the )?"
                     r"(?:number|count|amount) of (?:different |distinct |open )?products"
                     r"(?: (?:held|they hold|they have))?\b")


def take_product_count_split(text: Text) -> list[str]:
    return ["products_count"] if text.take(_BY_PRODUCT_COUNT) else []


# "how much did we earn in fees", "fee income by month", "total fees charged in 2026": the
# fees customers paid (debits in the fees category), a sum of amounts, never spend
_FEE = r"\b(?:bank |account |service )?(?:fees?|charges)\b"
_FEE_INCOME = (r"\b(?:earn|earns|earned|earning|made|make|makes|making|collect|collects"
               r"|collected|collecting|charge|charges|charged|charging|took in|take in|bring in"
               r"|brought in|generate|generated|income|revenue|revenues|earnings|total|sum"
               r"|how much|amount)\b")


def _take_fee_income(text: Text, frame: Frame) -> bool:
    s = text.s
    head = re.match(r"\s*(?:(?:show|give|list) (?:me )?)?(?:our |the |all )*(?:bank )?fees\b", s)
    if not re.search(_FEE, s) or not (head or re.search(_FEE_INCOME, re.sub(_FEE, " ", s,
                                                                            count=1))) or \
            any(re.search(rf"(?<![\w])(?:{METRIC_WORDS[m]})(?![\w])", s)
                for m in ("spend", "balance", "transactions", "products")):
        return False
    m = text.take(r"\b(?:in |from |on |through |via )?(?:bank |account |service )?"
                  r"(?:fees?|charges)(?: (?:income|revenues?|earnings))?\b")
    if re.search(r"\bfees? (?:categor|transactions)", s):
        return False
    frame.metric, frame.agg = "transactions", frame.agg or "sum"
    frame.filters.append(Filter("category", ("fees",), label="on fees", pos=m.start()))
    frame.filters.append(Filter("direction", ("debit",), label="charged to customers (debits)",
                                pos=m.start()))
    text.take_all(r"\b(?:earn|earns|earned|earning|collect|collects|collected|collecting|charge"
                  r"|charged|charging|took in|take in|bring in|brought in|income|revenues?"
                  r"|earnings|from customers)\b")
    return True


# an account's status other than open: "frozen accounts", "accounts that are closed"
_ACCOUNT_STATUS = (r"\b(frozen|closed) (?=(?:(?:credit card|savings|checking|current|investment"
                   r"|crypto|personal loan|loan|bank) )?(?:accounts?|accts?|cards?|loans?"
                   r"|mortgages?)\b)|\baccounts? (?:that are |which are |are |is |got |been "
                   r"|being )?(frozen|closed)\b(?! (?:in|during|since|last|this|between|from"
                   r"|before|after|on) )")


def take_metric(text: Text, frame: Frame, ranked: list[str] = ()) -> None:
    s = text.s
    if _take_counted(text, frame) or _take_amount_of(text, frame):
        return
    if text.take(r"\b(?:average |mean |avg )?(?:number|count) of (?:transactions|payments) "
                 r"(?:per|by|for each|each) (?:customer|client|user|person)\b"
                 # "per active customer": the filter words stay to be read as filters
                 r"|\b(?:(?:average |mean |avg )?(?:number|count) of |how many )?(?:transactions"
                 r"|payments) (?:per|for each|each)"
                 r"(?= (?:[a-z]+ ){1,2}(?:customer|client|user|person)s?\b)"
                 r"|\btransactions "
                 r"per (?:customer|client|user)\b|how many transactions (?:does|do) (?:a|each|an"
                 r"|the average|the typical) (?:customer|client)(?: make| do| have)?"):
        frame.metric = "transactions"
        frame.per = "customer"
        return
    if "campaign" in ranked and re.search(r"\b(conver\w*|opens?|opened|clicks?|ctr"
                                          r"|unsubscrib\w*|perform\w*|results?)\b", s):
        frame.metric = "campaign"
        frame.rates = rates_in(s)
        text.take_all(r"\b(?:opens?|opened|opening|clicks?|clicked|conversions?|converted"
                      r"|unsubscribes?|unsubscribed|performance|performed|performing|results"
                      r"|rates?|ctr)\b")
        return
    ranked_churn = re.search(r"\b(?:highest|lowest|most|least|biggest|smallest|worst|best)"
                             r" churn\b(?! ?ed| customers)", text.original)
    if text.take(r"churn(?:ed)? (?:rate|rates|percentage|ratio|share)|attrition(?: rate)?"
                 r"|% churn(?:ed)?|churn %|percent(?:age)? (?:of )?churn(?:ed)?"
                 r"|churn(?= by| per| across| for each| in each)"
                 + (r"|\bchurn\b(?! ?ed| customers)" if ranked_churn else "")):
        frame.metric = "share"
        frame.condition.append(Filter("churned", (True,), label="churned"))
        return
    if text.take(r"(?:activity|active|activation|engagement) (?:rate|rates|ratio|percentage|share)"
                 r"|% active|percent(?:age)? active"):
        frame.metric = "share"
        frame.condition.append(Filter("active", (True,), label="active"))
        return
    if re.search(r"\b(opened|clicked|converted|unsubscribed|conversions|clicks|opens"
                 r"|unsubscribes)\b", s) and re.search(
                     r"\bcampaigns?\b|\b(email|sms|push|newsletter)s?\b|recipients", s):
        frame.metric = "campaign"
        frame.rates = tuple(
            r for r, p in (("open", r"opened|opens"), ("click", r"clicked|clicks"),
                           ("conversion", r"converted|conversions"),
                           ("unsubscribe", r"unsubscribed|unsubscribes"))
            if re.search(p, s))
        if re.search(r"\b(conversions|clicks|opens|unsubscribes)\b", s) and \
                not re.search(r"\brates?\b", s):
            frame.counts = True
        after = re.search(_AFTER_CAMPAIGN, s)
        if re.search(_COUNTING_CUSTOMERS, s) and not re.search(
                r"\b(?:by|per|each|every) (?:campaign|channel)s?\b|\brates?\b", s):
            text.take(r"\b(?:from|to|on|in) (?:1 of|any(?: of)?|at least 1(?: of)?|a)(?: our"
                      r"| the)? (?:marketing )?campaigns?\b")
            # "customers who unsubscribed from one of our campaigns", "... after a campaign":
            # each customer once
            frame.campaigns = "any"
        if after:
            text._blank(after.start(), after.end())
            noun = re.match(r"(email|sms|text|push|newsletter)", after.group(2))
            if after.group(1) or noun:      # "after an email": sent by email
                ch = (after.group(1) or noun.group(1)).strip()
                ch = {"text": "sms", "in app": "in_app", "newsletter": "email"}.get(ch, ch)
                frame.filters.append(Filter("campaign_channel", (ch,),
                                            label=f"sent by {ch.replace('_', '-')}",
                                            pos=after.start()))
        text.take_all(r"\b(?:opened|clicked|converted|unsubscribed|conversions|clicks|opens"
                      r"|unsubscribes)\b(?: on| to| from)?|\b(?<!by )(?<!per )(?<!each )"
                      rf"campaigns?\b|\b(?:recipients|receivers)\b|(?<![\w])(?:{_SHARE})"
                      r"(?![\w])")
        return
    m = re.search(r"\b(?:(?:how many|number of|count of)((?: (?:email|sms|push|in app|text"
                  r"|marketing|promotional))*) )?(campaigns?(?: (?:did|have|has) (?:we|the bank)"
                  r" (?:send|sent|run|ran|launch|launched)| (?:were|was|have been|got) (?:sent"
                  r"|run|launched)| sent| launched)?)(?= |$)", s)
    if m and (m.group(1) is not None or re.search(r"\b(?:sent|launched)$", m.group(2))):
        # campaigns themselves, not their results; the channel words are filters
        frame.metric = "campaigns"
        text._blank(m.start(2), m.end(2))
        text._blank(m.start(), m.start(1) if m.group(1) is not None else m.start(2))
        text.take_all(r"\b(?:marketing|promotional)\b")
        return
    for metric in ("campaign", "optin", "products", "events", "age", "tenure", "credit_limit",
                   "utilisation", "interest"):
        m = re.search(rf"(?<![\w])(?:{METRIC_WORDS[metric]})(?![\w])", s)
        if m and metric == "optin" and re.search(
                r"\b(?:(?:but|and|yet) (?:not|no)|without) (?:opted in |opt ?ins? )?(?:to |for )?"
                r"(?:emails?|sms|texts?|push)\b", s):
            continue    # "email opt-ins but no SMS": customers, with both consents as filters
        if m:
            frame.metric = metric
            if metric == "campaign":
                frame.rates = rates_in(s)
                if re.search(r"best|most successful", s):
                    frame.top, frame.order = frame.top or 1, "desc"
                elif re.search(r"worst|least successful", s):
                    frame.top, frame.order = frame.top or 1, "asc"
            if metric == "events":
                if re.search(r"\bhow many (?:of (?:our|the) )?(?:customers|clients|people|users)"
                             r"|\bnumber of (?:customers|clients|people|users)\b", s):
                    frame.customers_first = True
                for value, pattern in v.value_patterns(v.EVENT_TYPE_PHRASES):
                    hit = pattern.search(text.s)
                    if hit:
                        frame.filters.append(Filter("event_type", (value,),
                                                    label=value.replace("_", " ")))
                        text._blank(hit.start(), hit.end())
                        break
            if metric == "optin":
                for hit in list(re.finditer(r"\b(emails?|sms|text|push)\b", text.s)):
                    word = hit.group(1)
                    ch = "email" if word.startswith("email") else "sms" if word in (
                        "sms", "text") else "push"
                    if not any(f.values == (ch,) for f in frame.filters):
                        frame.filters.append(Filter("optin", (ch,), label=f"opted in to {ch}"))
                    text._blank(*hit.span(1))
            if metric == "age" and re.search(r"\bmedian (?:customer )?age\b", s):
                frame.agg = "median"        # "median age": the words are the metric's
            if metric == "age" and re.search(r"oldest", s):
                frame.agg = "max"
            if metric == "age" and re.search(r"youngest", s):
                frame.agg = "min"
            text.take_all(rf"(?<![\w])(?:{METRIC_WORDS[metric]})(?![\w])")
            if metric == "campaign":
                text.take_all(r"\b(?:(?<!by )(?<!per )(?<!each )campaigns?|opens?|opened|opening"
                              r"|clicks?|clicked|conversions?"
                              r"|converted|unsubscribes?|unsubscribed|performance|results"
                              r"|rates?)\b")
            return
    if re.search(r"\b(salary|salaries|wages|pensions?|payroll|paychecks?)\b", s) and \
            not re.search(rf"(?<![\w])(?:{_SHARE})(?![\w])", s):
        frame.metric = "transactions"
        frame.agg = frame.agg or "sum"
        # 'how many customers receive a pension': the customers, counted once each
        frame.customers_first = bool(re.search(_COUNTING_CUSTOMERS, s))
        if re.search(r"\b(?:how many|number of|count of) accounts\b", s):
            frame.customers_first, frame.counted = True, "accounts"
        frame.filters.append(Filter("category", ("salary",), label="of salary, pension and "
                                    "gig income"))
        frame.filters.append(Filter("direction", ("credit",), label="received"))
        text.take_all(r"\b(?:salary|salaries|wages|pensions?|payroll|paychecks?|receive|received"
                      r"|receiving|get|got|earn|earned|income|payments?)\b")
        return
    if text.take(r"\b(?:spend|spending|spent) per (?:transaction|payment|purchase)"
                 r"(?! channels?| methods?| types?)|average "
                 r"(?:purchase|basket|ticket) (?:amount|size|value)|average (?:card )?purchase"):
        frame.metric = "transactions"
        frame.agg = frame.agg or "avg"
        frame.per = "transaction"
        text.take_all(r"\b(?:average|avg|mean|typical|transactions?|payments?|purchases?)\b")
        return
    if re.search(r"\bunsubscri\w*", s) and not re.search(r"rates?\b", s):
        frame.metric = "campaign"
        frame.rates, frame.campaigns = ("unsubscribe",), "pooled"
        if re.search(_COUNTING_CUSTOMERS, s):       # each customer once
            frame.campaigns = "any"
        text.take_all(r"\bunsubscri\w*|\b(?<!by )(?<!per )(?<!each )campaigns?\b")
        return
    share = re.search(rf"(?<![\w])(?:{_SHARE})(?![\w])", s)
    if share and re.search(r"(?:share|percentage|percent|proportion|fraction|%|pct) of"
                           r"(?: (?!customers|clients|people|users|spend)[a-z0-9]+){0,3}"
                           r" (?:transactions|payments|purchases)\b", s):
        # "what share of transactions are international": counted over transactions
        frame.metric = "transactions"
        frame.share_of = "transactions"
        text.take_all(rf"(?<![\w])(?:{_SHARE}|transactions|payments|purchases)(?![\w])")
        return
    if share and re.search(rf"(?<![\w])(?:{METRIC_WORDS['spend']})(?![\w])", s):
        frame.metric = "spend"
        frame.share_of = "spend"
        text.take_all(rf"(?<![\w])(?:{_SHARE}|{METRIC_WORDS['spend']})(?![\w])")
        return
    for words, products, label in (
            (r"deposits?|money (?:held|in accounts)", ("checking", "savings"),
             "deposit accounts (checking and savings)"),
            (r"loan book|lending|loans outstanding|outstanding loans|borrowing",
             ("personal_loan", "mortgage"), "loans (personal loans and mortgages)"),
            (r"debts?|owed|owe", ("credit_card", "personal_loan", "mortgage"),
             "credit products (credit cards, personal loans, mortgages)")):
        if re.search(rf"\b(?:{words})\b", s) and not re.search(
                r"\b(credit cards?|mortgages?|loans?|savings|checking)\b",
                re.sub(rf"\b(?:{words})\b", " ", s)):
            frame.metric = "balance"
            frame.filters.append(Filter("account_product", products, op="any", label=label))
            text.take_all(rf"\b(?:{words}|balances?|total|outstanding|amount|money)\b")
            return
    if _take_fee_income(text, frame):
        return
    categories = [value for value, pattern in v.value_patterns(v.CATEGORY_PHRASES)
                  if pattern.search(s)]
    if categories and re.search(r"\bhow much\b", s) and not any(
            re.search(rf"(?<![\w])(?:{METRIC_WORDS[m]})(?![\w])", s)
            for m in ("spend", "balance", "transactions")):
        # "how much went on utilities", "how much rent did people pay": the category's total
        if set(categories) & set(contract.NON_SPEND_CATEGORIES):
            frame.metric, frame.agg = "transactions", frame.agg or "sum"   # not spend: debits
            frame.filters.append(Filter("direction", ("debit",), label="outgoing (debits)"))
        else:
            frame.metric = "spend"
        text.take_all(r"\b(?:went|go|goes|going|gone|paid|pay|pays|paying|put|spend|spent)"
                      r"(?: (?:on|for|to|towards|into))?\b")
        return
    for metric in ("spend", "balance", "transactions"):
        m = re.search(rf"(?<![\w])(?:{METRIC_WORDS[metric]})(?![\w])", s)
        if m:
            frame.metric = metric
            if metric == "transactions" and re.search(
                    r"\b(?:how many|number of|count of) (?:(?!transactions|payments|purchases)"
                    r"[a-z]+ ){0,2}?(?:customers|clients|people|users)\b", s):
                # 'how many customers made an international transaction': the customers,
                # counted once each, never the transactions
                frame.customers_first = True
            if metric == "spend" and m.group(0).startswith("card spend"):
                # one concept word: never a breakdown by channel (op "any")
                frame.filters.append(Filter("tx_channel", ("card_present", "online"), op="any",
                                            label="by card (in person or online)"))
            text.take_all(rf"(?<![\w])(?:{METRIC_WORDS[metric]})(?![\w])")
            return
    if re.search(rf"(?<![\w])(?:{_SHARE})(?![\w])", s):
        frame.metric = "share"
        text.take(rf"(?<![\w])(?:{_SHARE})(?![\w])")
        return
    via = r"(?! (?:through|via|thanks to|using))"     # "joined through referral": a channel
    if re.search(rf"\b(sign ?ups?|signed up{via}|new (?:customers|clients|users|accounts|members)"
                 rf"|joined{via}|join|registrations?|registered|onboard(?:ed|ing)?"
                 r"|acquisitions?(?! channels?| sources?)"
                 r"|acquired(?! (?:through|via|from|by|thanks to|with|using|on|our|organic|paid"
                 r"|referral|partner|app))|new joiners|newcomers|opened (?:an )?accounts?)\b", s):
        frame.metric = "signups"
        text.take_all(r"\bnew\b(?= sign ?ups?| registrations?| joiners| accounts?)")
        text.take_all(r"\b(?:sign ?ups?|signed up|new (?:customers|clients|users|members"
                      r"|joiners)|joined|join|registrations?|registered|onboard(?:ed|ing)?"
                      r"|acquisitions?(?! channels?| sources?)|acquired"
                      r"|newcomers|opened (?:an )?accounts?)\b")
        return
    status = re.search(_ACCOUNT_STATUS, s)
    if status:      # "how many frozen accounts", "customers with a closed account"
        frame.metric = "accounts"
        frame.customers_first = bool(re.search(_COUNTING_CUSTOMERS, s))
        word = status.group(1) or status.group(2)
        frame.filters.append(Filter("account_status", (word,), label=word, pos=status.start()))
        text._blank(*status.span(1 if status.group(1) else 2))
        return
    m = re.search(r"\b(?:how many|number of|count of) (?:open |active )?(credit cards?"
                  r"|credit card accounts|mortgages|loans|personal loans|savings accounts"
                  r"|checking accounts|current accounts|investment accounts|crypto accounts"
                  r"|crypto wallets|accounts)\b(?! (?:holders|customers|clients|owners))", s)
    if m and not re.search(r"\b(customers|clients|people|holders|users)\b", s):
        frame.metric = "accounts"
        return
    # "top 5 merchants in Spain": merchants and categories are ranked by spend, unless the
    # question counts customers
    by_spend = {"merchant", "category"} & set(ranked) and not re.search(
        r"\b(?:how many|number of|count of|most|fewest|least|by|more|fewer) (?:customers"
        r"|clients|people|users|members)\b|\b(?:customer|client) counts?\b|\bhow many\b",
        text.original)
    frame.metric = "spend" if by_spend else "customers"
    if not ranked and text.take_all(OVERVIEW_WORDS):
        frame.metric = "overview"
