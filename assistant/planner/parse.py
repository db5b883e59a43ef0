"""Question -> frame: what to compute (metric), for whom (filters), how to split it (group), when.

Parsing consumes the phrases it recognises; any meaningful word left over means part of the
question was not understood, and the planner refuses rather than answer a different question.
Follow-ups ("now only for Germany", "of those, how many have churned?") build on the previous
frame of the conversation (followups).
"""

from __future__ import annotations

import re
from dataclasses import replace

from assistant.planner import copy_request, coverage, intents, tables, trigger_questions
from assistant.planner import vocabulary as v
from assistant.planner.filters import kyc_sayings, negated, parse_filters
from assistant.planner.followups import NARROWING, NO_CONTEXT, PRONOUN, THOSE, follow_up, narrow
from assistant.planner.frame import Filter, Frame, Parsed, Period, Reply, ToolIntent
from assistant.planner.measures import (
    AMOUNT_WORDS,
    APPLIED,
    TIME_DIMS,
    event_sayings,
    take_agg,
    take_group,
    take_lapsed,
    take_metric,
    take_opened,
    take_product_count_split,
    take_ranked_dim,
    take_reach,
    take_top,
)
from assistant.planner.periods import parse_period, whole_months
from assistant.planner.plan import Unsupported, plan
from assistant.planner.suggest import suggestion_text
from assistant.planner.text import Text, correct_typos

_REFUSE_TOPICS = (
    # fee revenue is the fees customers paid (measures._take_fee_income)
    r"\b((?<!fee )(?<!fees )revenue(?! (?:from|in|on|through) (?:bank )?(?:fees|charges))"
    r"|profit|profitab\w*|margin|lifetime value|clv|ltv|nps|net promoter|satisfaction"
    r"|forecast\w*|predict (?!churn)\w*|next (month|year|quarter|week)|will (?!churn)\w+"
    r"|why|cause[sd]?|because|market share|competitors?|budget|roi|return on|cost per|cpa|cac"
    r"|stock price|weather|credit scores?|fraud\w*|default rate|defaults|arrears|delinquen\w*)\b"
)

# "click rates for the sms campaigns", "open and click rates of our push campaigns": the rates
# (plural) of campaigns (plural) are one row each; "the click rate of email campaigns" is pooled
_RATES_OF_CAMPAIGNS = r"\brates\b.*\bcampaigns\b"
_POOLED = (r"\b(?:overall|average|avg|mean|total|pooled|combined|together|altogether|across"
           r"|all of)\b")
_EACH_CAMPAIGN = (r"\b(?:each|every|per|individual|by)\s+(?:of\s+(?:our|the|these)\s+)?"
                  r"(?:(?:email|e-mail|sms|text|push|in[- ]app|newsletter|marketing)\s+)?"
                  r"campaigns?\b")


def _topic(matched: str) -> str:
    """The refused topic in words: 'will the' and 'next month' are about the future."""
    if re.match(r"(forecast|predict|next|will)\b", matched):
        return "the future (forecasts)"
    return matched


_MEASURED = ("product", "optin", "active", "churned", "dormant", "platform")
_TX_MEASURED = ("category", "tx_channel", "merchant", "direction", "international")


def _share_split(text: Text, frame: Frame, measured_fields=_MEASURED) -> None:
    """For a share: filters after the verb ('... are active') are the numerator; without a verb
    the `measured_fields` are ('credit card penetration in Germany')."""
    m = re.search(r"(?:share|percentage|percent|proportion|fraction|ratio|portion|part|%|pct"
                  r"|penetration|adoption|uptake)\b", text.original)
    tail = text.original[m.end():] if m else text.original
    verb = re.search(r"\b(are|is|were|was|have|has|had|hold|holds|own|owns|use|uses|who|that"
                     r"|with|having|holding|owning|using|opted|opt|signed|live|lives|come|comes"
                     r"|earn|earns|made|make|did|do|does|belong|belongs)\b", tail)
    offset = len(text.original) - len(tail)
    among = re.search(r"\b(among|amongst|within|out of)\b", tail)
    if not frame.condition and among:
        # "mortgage penetration among active customers": what follows 'among' is the base
        base_from = offset + among.start()
        cond = [f for f in frame.filters if f.pos < base_from]
        if cond and len(cond) < len(frame.filters):
            frame.condition = cond
            frame.filters = [f for f in frame.filters if f.pos >= base_from]
    if not frame.condition:
        split = offset + verb.start() + 1 if verb else None
        if split is not None:
            cond = [f for f in frame.filters if f.pos >= split]
            if cond:
                frame.condition = cond
                frame.filters = [f for f in frame.filters if f.pos < split]
        if not frame.condition and frame.filters:
            # "credit card penetration in Germany": the product is what is measured
            measured = [f for f in frame.filters if f.field in measured_fields]
            if measured and len(measured) < len(frame.filters):
                frame.condition = measured
                frame.filters = [f for f in frame.filters if f.field not in measured_fields]
            else:   # "share of German customers" -> German customers among all customers
                frame.condition = frame.filters
                frame.filters = []
    # "... are opted in to email in Germany": the place is the scope, not what is measured
    if any(f.field in measured_fields for f in frame.condition):
        scope = [f for f in frame.condition if f.field in ("country", "region", "city",
                                                            "segment")]
        frame.condition = [f for f in frame.condition if f not in scope]
        frame.filters += scope


_MULTI_FIELDS = ("country", "region", "city", "employment_status", "acquisition_channel",
                 "preferred_language", "kyc_status", "gender", "platform", "category",
                 "tx_channel", "merchant", "campaign", "campaign_channel", "campaign_product",
                 "account_product", "segment")
_GROUP_FIELD = {"tx_channel": "channel", "campaign_channel": "channel",
                "campaign_product": "product", "account_product": "product"}


def _connectives(text: Text, frame: Frame) -> None:
    """Several values of one field: 'both X and Y' -> all of them (products); 'X or Y' -> any;
    'X and Y', 'X vs Y', 'compare X with Y' -> a breakdown by that field."""
    original = text.original
    either = (re.search(r"\b(or|either|any of)\b", original) or frame.agg == "sum" or
              re.search(r"\b(total|combined|together|altogether|in all)\b", original)) and \
        not re.search(r"\b(vs|versus|compare\w*|comparison|respectively|each)\b", original)
    for bucket in (frame.filters, frame.condition):
        optins = [f for f in bucket if f.field == "optin" and not f.negate and
                  f.values != ("profiling",)]
        if len(optins) > 1 and re.search(r"\bor\b|\bany of\b|\beither\b", original):
            merged = Filter("optin", tuple(x for f in optins for x in f.values),
                            label="opted in to " + " or ".join(f.values[0] for f in optins),
                            pos=optins[0].pos)
            bucket[:] = [f for f in bucket if f not in optins] + [merged]
        for i, f in enumerate(bucket):
            if len(f.values) < 2 or f.negate or f.op == "any":     # "the eurozone": one place
                continue
            if f.field == "platform" and re.search(r"\b(both|all of)\b", original):
                bucket[i] = Filter(f.field, f.values, op="all",
                                   label=f.label.replace(" or ", " and "), pos=f.pos)
                continue
            if f.field == "product":
                if re.search(r"\b(both|all of|as well as)\b", original) or (
                        " and " in original and not either and not re.search(
                            r"\b(vs|versus|compare\w*|by product|per product)\b", original)):
                    bucket[i] = Filter(f.field, f.values, op="all", label=f.label.replace(
                        " or ", " and "), pos=f.pos)
                    continue
                if either:
                    continue
            if (f.field in _MULTI_FIELDS or f.field == "product") and not either:
                dim = _GROUP_FIELD.get(f.field, f.field)
                if dim not in frame.group:
                    frame.group.append(dim)
    text.take(r"\b(?:both|either|compare\w*|comparison|vs|versus|respectively)\b")


def _compared(a: Period, b: Period, dims: list[str]) -> Period | None:
    """'October vs September', 'this year compared to last year': both windows, split."""
    if not (a.start and a.end and b.start and b.end):
        return a
    first, second = sorted((a, b), key=lambda p: p.start)
    days = max((p.end - p.start).days for p in (a, b))
    dims.append("month" if days <= 31 else "quarter" if days <= 92 else "year")
    return Period(f"{first.label} and {second.label}", start=first.start, end=second.end,
                  ranges=((first.start, first.end), (second.start, second.end)))


def _period_verb(frame: Frame) -> None:
    """A period on customers without a transaction verb, read by what the filters are about:
    'came in through referrals in 2026' is when they signed up (the acquisition channel is a
    signup's), 'used android in the last 90 days' is app use in that window."""
    if frame.metric != "customers" or frame.period is None or frame.period.on != "tx" or any(
            f.field in ("active", "churned", "dormant", "transacted") for f in frame.filters):
        return
    fields = {f.field for f in frame.filters}
    if "acquisition_channel" in fields:
        frame.period = replace(frame.period, on="signup")
    elif any(f.field == "platform" and not f.negate for f in frame.filters):
        frame.metric, frame.customers_first = "events", True


def parse_frame(text: Text, vocab: v.Vocabulary) -> Frame:
    """Everything a metric question says: period, ranking, grouping, metric, filters."""
    frame = Frame()
    # "opted in to every channel": all channels, not a breakdown by channel
    text.s = re.sub(r"\b(opted in|opt in|subscribed|consented|signed up) (to|for|on) (?:every"
                    r"|each) ((?:marketing |contact )?channels?)\b", r"\1 \2 all \3", text.s)
    kyc_sayings(text)       # "rejected at KYC" is a status, never a split 'at KYC'
    event_sayings(text)     # "started an application for a loan": an app event
    if re.search(APPLIED, re.sub(r"\b(?:started|completed) applications?\b|\bapplications? "
                                 r"(?:starts?|completions?|started|completed)\b", " ", text.s)):
        # "how many applied for a credit card": started or completed, never a guess
        frame.refusal = ("I can count started applications and completed applications (app "
                         "events, by product); please say which, e.g. \"how many customers "
                         "started an application for a personal loan?\".")
    lapsed = take_lapsed(text)      # "high-value dormant customers": their own query
    opened = take_opened(text)      # "accounts opened in 2025": by the opening date
    signup_words = re.search(r"\b(sign ?ups?|signed up|new (customers|clients|users|accounts)"
                             r"|joined|join|registrations?|registered|onboard(?:ed|ing)?|acquired"
                             r"|acquisitions?(?! channels?| sources?)|opened (an )?accounts?"
                             r"|newcomers|new joiners)\b",
                             text.s)
    dormant = text.take(r"(?:have |has )?(?:never|not ever) (?:made|done|had|carried out) "
                        r"(?:a single |even 1 |a |any |1 )?(?:transactions?|payments?)"
                        r"|(?:never|not ever) transacted"
                        r"|(?:with |have |has )?(?:no|zero|without(?: any)?) transactions(?: at all"
                        r"| ever)?")
    transacted = text.take(r"(?:have |has |who |that )?(?:transacted|made (?:a |any |at least "
                           r"(?:1|one|a) |(?:1|one) or more )?(?:single )?(?:transactions?"
                           r"|payments?|purchases?))")       # 'one' is read as 1
    period = parse_period(text, vocab)
    other = parse_period(text, vocab) if period is not None else None
    compare_dims: list[str] = []
    if other is not None:
        period = _compared(period, other, compare_dims)
    ranked = take_product_count_split(text) or take_ranked_dim(text, frame)
    take_top(text, frame)
    if take_reach(text, vocab.campaigns):     # "how many customers received the X push?"
        frame.metric = "campaign"
        frame.rates, frame.campaigns = (), "reach"
    else:
        take_metric(text, frame, ranked)
    if frame.metric == "campaign" and (re.search(_EACH_CAMPAIGN, text.original.lower()) or (
            not frame.campaigns and re.search(_RATES_OF_CAMPAIGNS, text.original) and
            not re.search(_POOLED, text.original))):
        frame.campaigns = "each"   # "open rate per email campaign": one row each
    if transacted and frame.metric == "customers" and (re.search(
            r"\b(?:international|abroad|foreign|overseas|cross border|domestic)\b", text.s) or any(
            p.search(text.s) for table in (v.CATEGORY_PHRASES, v.TX_CHANNEL_PHRASES)
            for _, p in v.value_patterns(table))):
        # "customers who transacted online last month": customers with such transactions
        frame.metric, frame.customers_first, transacted = "transactions", True, None
    if lapsed:
        frame.metric = "lapsed"
    if opened and frame.metric in ("customers", "accounts", "signups"):
        frame.metric = "opened"
        frame.customers_first = bool(re.search(r"\b(?:customers|clients|people|users|who)\b",
                                               text.original))
    elif opened:
        frame.refusal = ("I can count accounts opened in a period and the customers who opened "
                         "them, but not other measures of them.")
    frame.agg = frame.agg or take_agg(text)
    if frame.metric == "transactions" and frame.agg in ("avg", "median") and not (
            frame.per or re.search(AMOUNT_WORDS, text.original)):
        frame.refusal = ("I can't tell whether you mean the average transaction amount or the "
                         "average number of transactions per customer; please say which.")
    for metric in ("*", "transactions" if frame.metric == "spend" else frame.metric):
        text.take_all(v.METRIC_FILLER.get(metric, r"(?!x)x"))
    frame.group = ranked + [g for g in take_group(text, frame.metric) if g not in ranked]
    frame.group += [d for d in compare_dims if d not in frame.group]
    if frame.top and not frame.group and frame.metric in ("transactions", "balance", "spend"):
        # "the largest transaction", "the smallest savings balance": a max or a min
        frame.agg = "min" if frame.order == "asc" else "max"
        frame.top = None
    if frame.metric == "overview" and (frame.group or frame.top):
        frame.metric = "customers"      # "an overview of customers by country": the counts
    if frame.group:
        text.take_all(r"\b(?:split|splits|breakdown|distribution|mix|spread)\b")
    if frame.metric == "signups":
        frame.metric = "customers"
        frame.group = ["signup_" + g if g in TIME_DIMS else g for g in frame.group]
        if period:
            period = replace(period, on="signup")
        elif not frame.group:
            frame.needs_period = True
    elif signup_words and period:
        period = replace(period, on="signup")
        text.take_all(r"\b(?:signed up|sign ?ups?|joined|join|registered|onboard(?:ed|ing)?"
                      r"|acquired|new)\b")
    if period is not None and frame.metric == "opened":
        period = replace(period, on="opened")
    if period is not None and "month" in [g.removeprefix("signup_") for g in frame.group]:
        period = whole_months(period, vocab)
    frame.period = period
    frame.filters += parse_filters(text, vocab, frame.metric)
    _period_verb(frame)
    in_period = frame.period is not None and frame.period.on == "tx"
    if dormant and in_period:   # "no transactions in the last 90 days": none in that window
        frame.filters.append(Filter("transacted", (True,), negate=True, pos=dormant.start()))
    elif dormant:
        frame.filters.append(Filter("dormant", (True,), label="who never transacted",
                                    pos=dormant.start()))
    if transacted:
        frame.filters.append(Filter("transacted", (True,), label="who transacted",
                                    negate=negated(text, transacted.start()),
                                    pos=transacted.start()))
    for i, f in enumerate(frame.filters):
        if f.field == "active" and in_period and frame.metric == "customers":
            # "inactive for 3 months", "active customers last month": in that window
            verb = "did not transact" if f.negate else "transacted"
            frame.filters[i] = replace(f, label=f"who {verb} in {frame.period.label}")
        if f.field == "transacted":
            in_period = frame.period is not None and frame.period.on == "tx"
            verb = "did not transact" if f.negate else "transacted"
            frame.filters[i] = (Filter("active", (True,), negate=f.negate,
                                       label=f"who {verb} in {frame.period.label}"
                                       if in_period else "", pos=f.pos)
                                if in_period else
                                Filter("dormant", (True,), negate=not f.negate,
                                       label="who have transacted" if not f.negate else
                                       "who never transacted", pos=f.pos))
    _connectives(text, frame)
    if frame.share_of == "spend":
        # "what share of spend goes to travel": travel's part of the total, by category;
        # "what share of travel spend is spent abroad": travel is the base, abroad the part
        measured = [f for f in frame.filters if f.field in ("category", "tx_channel", "merchant",
                                                           "international")]
        lead = re.search(r"\b(?:share|percentage|percent|proportion|fraction|portion|part|%|pct)"
                         r" of (.+?) (?:spend|spending|spent)\b", text.original)
        base = [f for f in measured if lead and lead.start(1) <= f.pos <= lead.end(1)]
        if base and len(base) < len(measured):
            measured = [f for f in measured if f not in base]
        # abroad is the measured part when nothing else is ("what share of spend is
        # international"); beside a category it is the base ("... goes to travel abroad")
        for f in [f for f in measured if f.field != "international" or base
                  or len(measured) == 1]:
            frame.filters.remove(f)
            dim = {"tx_channel": "channel"}.get(f.field, f.field)
            if dim not in frame.group:
                frame.group.append(dim)
            frame.highlight += tuple(str(x).lower() for x in f.values)
    if frame.metric == "share":
        _share_split(text, frame)
    if frame.share_of == "transactions":
        _share_split(text, frame, _TX_MEASURED)
    if "customer" in frame.group and frame.metric in ("customers", "share"):
        frame.group.remove("customer")
    return frame


# -- the whole question ----------------------------------------------------------------------
def parse(question: str, vocab: v.Vocabulary, prev: Parsed | None = None, *,
          first_row: dict | None = None) -> Parsed:
    """What the question asks, given the previous understood question of the conversation
    (and the first row of its result, for 'its'). A question that names an imported table, or
    that only that table's model covers, is read with the table's model; a question about the
    warehouse's generated demo data goes to a user table when one covers it (the person's own
    data comes first). A question the warehouse's tables hold no data for (no birth dates, an
    empty accounts table) is never answered from them with a 0 or a NULL: an imported table
    that answers it does, or the planner says what is missing."""
    parsed = _route(question, vocab, prev, first_row=first_row)
    if parsed.kind != "frame":
        return parsed
    meant = tables.addressed(question, vocab.tables)
    if meant is not None and _unplanned(parsed.frame):
        # 'maximum credit limit of the credit card clients': what the warehouse's model
        # cannot compute, the table the question names can
        ask = tables.parse_table(question, vocab.tables[meant], vocab.table_dates.get(meant))
        if isinstance(ask, tables.TableAsk):
            return Parsed("table", table=ask)
    gaps = _gaps(parsed.frame, vocab)
    return _missing(question, gaps, vocab) if gaps else parsed


def _unplanned(frame: Frame) -> bool:
    try:
        plan(frame)
    except Unsupported:
        return True
    return False


def _gaps(frame: Frame, vocab: v.Vocabulary) -> list[coverage.Gap]:
    """What the frame's queries read that the warehouse holds no data for."""
    if vocab.coverage is None or frame.metric == "overview":
        return []           # the overview's lines each say what they count
    try:
        planned = plan(frame)
    except Unsupported:
        return []           # refused later, with the reason
    gaps: list[coverage.Gap] = []
    for step in planned.steps:
        gaps += [g for g in vocab.coverage.gaps(step.query) if g not in gaps]
    return gaps


def _missing(question: str, gaps: list[coverage.Gap], vocab: v.Vocabulary) -> Parsed:
    """A question the warehouse's tables hold no data for: answered from the imported table
    when exactly one has that data and reads the whole question, else refused saying what is
    missing and which of the person's tables have it."""
    why = coverage.explain(gaps)
    read = {name: tables.parse_table(question, model, vocab.table_dates.get(name))
            for name, model in vocab.tables.items()}
    asks = {name: ask for name, ask in read.items() if isinstance(ask, tables.TableAsk)}
    having = [name for name, model in vocab.tables.items() if name in asks or
              tables.has_concept(model, [w for g in gaps for w in g.words])]
    if len(asks) == 1 and all(_singled_out(next(iter(asks.values())), read[name],
                                           vocab.tables[next(iter(asks))])
                              for name in having if name not in asks):
        # the one table that reads the whole question; the others with that data do not
        # have its values ('in Germany'), so the question cannot be about them
        ask = next(iter(asks.values()))
        others = [name for name in having if name != ask.table]
        also = (f" ({' and '.join(others)} {'have' if len(others) > 1 else 'has'} it too, "
                "without what you asked for)") if others else ""
        ask.note = f"{why[0].upper()}{why[1:]}; this is from your table {ask.table}{also}."
        return Parsed("table", table=ask)
    meant = tables.addressed(question, vocab.tables)
    if meant is not None and meant in asks:
        # 'how many credit card clients are women': the table the question names answers
        return Parsed("table", table=asks[meant])
    if meant is not None:
        # 'credit card clients' names cc_default: refused there, never pointed elsewhere
        return Parsed("reply", reply=Reply(
            f"Offline planner: about the table {meant}, I did not understand {read[meant]}, "
            "and I would rather not guess a number." + tables.unlabelled_codes(
                vocab.tables[meant]) + " " + suggestion_text(question, vocab.tables[meant],
                                                             vocab)))
    if len(having) > 1:
        example = next(iter(asks), having[0])
        return Parsed("reply", reply=Reply(
            f"Offline planner: {why}. Your tables {', '.join(having[:-1])} and {having[-1]} "
            "have that; say which one, e.g. \"" + question.strip().rstrip("?") + " in "
            + example + "\"."))
    if having:
        return Parsed("reply", reply=Reply(
            f"Offline planner: {why}. Your table {having[0]} has that, but I could not read "
            "the whole question there. " + suggestion_text(question, vocab.tables[having[0]],
                                                          vocab)))
    return Parsed("reply", reply=Reply(
        f"Offline planner: {why}, and I would rather not answer with a 0 or a blank. "
        + _suggest(question, vocab)))


def _undated(question: str, model, vocab: v.Vocabulary) -> Reply | None:
    """A period asked of an imported table without a date column: 'bank_churn has no dates'
    (and the question without the period, when that one works)."""
    if any(d.kind == "time" for e in model.entities.values() for d in e.dimensions.values()):
        return None
    text = Text(question)
    period = parse_period(text, vocab)
    if period is None:
        return None
    table = next(iter(model.entities.values())).name
    rest = " ".join(text.s.split())
    works = isinstance(tables.parse_table(rest, model), tables.TableAsk)
    return Reply(f"Offline planner: {table} has no dates, so I can't answer for "
                 f"{period.label}: its figures are one snapshot of the table."
                 + (f" Without the period, \"{rest}\" works." if works else
                    " " + suggestion_text(question, model, vocab)))


def _singled_out(ask: tables.TableAsk, unread: str, model=None) -> bool:
    """Whether another table failed to read a value the answering table filters on or a word
    of the answering table's model: 'germany' left over there, 'in Germany' a filter here;
    'city' or 'women' left over there, a split by customer location or a gender value here."""
    said = " ".join(ask.labels + ask.subgroup + ask.split_words).lower()
    if model is not None:
        said += " " + " ".join(tables.own_words(model))
    return any(re.search(rf"(?<![\w]){re.escape(w)}(?![\w])", said)
               for w in re.findall(r"'([^']+)'", unread))


def _route(question: str, vocab: v.Vocabulary, prev: Parsed | None = None, *,
           first_row: dict | None = None) -> Parsed:
    """The question read with the model it is about: an imported table's or the warehouse's."""
    if not vocab.tables:
        return _parse(question, vocab, prev, first_row=first_row)
    named = tables.mentions(question, list(vocab.tables))
    if named:
        ask = tables.parse_table(question, vocab.tables[named], vocab.table_dates.get(named))
        if isinstance(ask, tables.TableAsk):
            return Parsed("table", table=ask)
        undated = _undated(question, vocab.tables[named], vocab)
        if undated is not None:
            return Parsed("reply", reply=undated)
        return Parsed("reply", reply=Reply(
            f"Offline planner: about the table {named}, I did not understand {ask}, and I "
            "would rather not guess a number." + tables.unlabelled_codes(vocab.tables[named])
            + " " + suggestion_text(question, vocab.tables[named], vocab)))
    if prev is not None and prev.kind == "table":
        model = vocab.tables[prev.table.table]
        refined = tables.follow_table(question, prev.table, model)
        if refined is not None:
            return Parsed("table", table=refined)
        if tables.is_follow_up(question):
            # 'now only the ones with a personal loan': about the table the conversation is
            # about, never answered from the warehouse's tables instead
            return Parsed("reply", reply=Reply(
                f"Offline planner: I could not apply \"{question.strip()}\" to your previous "
                f"question about {prev.table.table}, and I would rather not answer it from "
                "other tables. " + suggestion_text(question, model, vocab)))
    parsed = _parse(question, vocab, None if prev and prev.kind == "table" else prev,
                    first_row=first_row)
    if parsed.kind == "tool" or (parsed.kind == "reply" and not parsed.reply.refused):
        return parsed
    asks = {name: ask for name, model in vocab.tables.items()
            if isinstance(ask := tables.parse_table(question, model,
                                                    vocab.table_dates.get(name)),
                          tables.TableAsk)}
    if len(asks) == 1 and (parsed.kind == "reply" or vocab.demo):
        return Parsed("table", table=next(iter(asks.values())))
    if len(asks) > 1 and (parsed.kind == "reply" or vocab.demo):
        return Parsed("reply", reply=Reply(
            "Offline planner: several of your tables could answer that ("
            + ", ".join(asks) + "); say which, e.g. \"" + question.rstrip("?") + " in "
            + next(iter(asks)) + "\"."))
    if vocab.demo and parsed.kind != "reply":
        # words only an imported table defines ('purchases'): about that table, never the demo
        for name, model in vocab.tables.items():
            words = tables.claims(question, model)
            if words:
                ask = tables.parse_table(question, model, vocab.table_dates.get(name))
                return Parsed("reply", reply=Reply(
                    f"Offline planner: {', '.join(repr(w) for w in words)} "
                    f"{'is' if len(words) == 1 else 'are'} in your table {name}, but I did not "
                    f"understand {ask} there, and I will not answer it from the generated demo "
                    "data. " + suggestion_text(question, model, vocab)))
    return parsed


def _parse(question: str, vocab: v.Vocabulary, prev: Parsed | None = None, *,
           first_row: dict | None = None, retry: bool = True) -> Parsed:
    """What the question asks of the warehouse's own model."""
    text = Text(question)
    if not text.s.strip():
        return Parsed("reply", reply=Reply(intents.CAPABILITIES, refused=False))
    sql = intents.raw_sql(question)
    if sql:
        described = re.match(r"(?i)(?:show|describe|summarize)\s+(?:tables|all tables"
                             r"|(?:table\s+)?(\w+))?\s*$", sql)
        if described:          # the catalog, as the model would ask for it
            table = described.group(1)
            args = {"table": table} if table and table.lower() not in ("tables",) else {}
            return Parsed("tool", tool=ToolIntent("describe_warehouse", args, label="data"))
        return Parsed("tool", tool=ToolIntent("run_sql", {"sql": sql, "title": "Your query"},
                                              label="your query"))
    kind = intents.reply_intent(text)
    if kind == "thanks":
        return Parsed("reply", reply=Reply("You're welcome. Ask me anything else about your "
                                           "customers.", refused=False))
    if kind == "pii":
        return Parsed("reply", reply=Reply(intents.PII_REFUSAL))
    if kind in ("help", "greeting"):
        return Parsed("reply", reply=Reply(intents.CAPABILITIES, refused=False))
    if kind == "data":
        return Parsed("tool", tool=ToolIntent("describe_warehouse", {}, label="data"))
    if re.match(_SEND, text.s):
        return Parsed("reply", reply=Reply(
            "Offline planner: I don't send campaigns. I can draft the copy (\"write an email "
            "for segment 2 about the savings account\"), build the audience (\"build an email "
            "audience from segment 2\"), and export the drafts once approved; sending is done "
            "in your campaign tool."))
    those = text.take(THOSE)        # "of those, how many have churned?"
    if not those and prev is not None and prev.kind == "frame" and re.search(PRONOUN, text.s):
        those = text.take(r"\b(?:their|they|them)\b")      # "their average spend?"
    if those and (prev is None or prev.kind != "frame"):
        return Parsed("reply", reply=NO_CONTEXT)
    if prev is not None and not those:
        refined = follow_up(text, prev, vocab, first_row)
        if refined is not None:
            return refined
        if prev.kind == "frame" and re.search(NARROWING, text.s):
            return Parsed("reply", reply=Reply(
                f"Offline planner: I could not apply \"{question.strip()}\" to your previous "
                "question, and I would rather not answer a different one. Please ask it in "
                "full, e.g. \"click rate by channel for campaigns sent in 2026\"."))
    trigger = None if those or copy_request.is_copy_request(text.raw) else \
        trigger_questions.intent(text)      # "a triggered push for ..." is copy
    if isinstance(trigger, Reply):
        return Parsed("reply", reply=trigger)
    if trigger is not None:     # event-triggered campaigns: assistant/planner/trigger_questions
        return Parsed("tool", tool=trigger)
    tool = None if those else intents.tool_intent(text, lambda t: parse_filters(t, vocab))
    if isinstance(tool, Reply):     # a tool request with a part not understood
        return Parsed("reply", reply=tool)
    if tool is not None and tool.tool in intents.SEGMENT_TOOLS and intents.unread_segment(text):
        # never an audience or copy for all customers when a segment was asked for
        return Parsed("reply", reply=Reply(
            "Offline planner: I could not tell which segment you mean, and I would rather not "
            "use all customers instead. Name it by number, e.g. \"build an audience for push "
            "from segment 2\" or \"describe segment 3\"."))
    if tool is not None:
        return Parsed("tool", tool=tool)
    topic = re.search(_REFUSE_TOPICS, text.s)
    if topic:
        return Parsed("reply", reply=Reply(
            f"Offline planner: I can't answer questions about {_topic(topic.group(0))} from this "
            "warehouse: it holds customers, accounts, transactions, app events, consents and "
            "campaigns, not that. " + _suggest(question, vocab)))
    frame = parse_frame(text, vocab)
    if frame.refusal:
        return Parsed("reply", reply=Reply(f"Offline planner: {frame.refusal} "
                                           f"{_suggest(question, vocab)}"))
    bad_income = [f for f in frame.filters + frame.condition if f.label == "__bad_income__"]
    if bad_income:
        return Parsed("reply", reply=Reply(
            "Offline planner: income is stored in bands (<25k, 25-50k, 50-100k, 100-200k, "
            "200k+), so I can only filter on those boundaries, e.g. \"earning over 100k\" or "
            "\"earning 50-100k\"."))
    unknown = v.meaningful(text.words())
    if unknown and retry:      # typos: "custmers in germny" -> "customers in germany"
        corrected = correct_typos(question, unknown, vocab.known_words())
        if corrected != question:
            return _parse(corrected, vocab, prev, first_row=first_row, retry=False)
    if unknown:
        words = ", ".join(f"'{w}'" for w in dict.fromkeys(unknown))
        return Parsed("reply", reply=Reply(
            f"Offline planner: I did not understand {words} in your question, and I would "
            "rather not guess a number. " + _suggest(question, vocab)))
    if not those and _drops_context(text.raw, frame, prev):
        return Parsed("reply", reply=Reply(
            f"Offline planner: \"{question.strip()}\" reads as a follow-up, and I could not "
            "carry your previous question's breakdown, period or filters over to it; I would "
            "rather not answer over all the data instead. Please ask it in full, with the "
            "breakdown, period or customers you mean."))
    return Parsed("frame", frame=narrow(frame, prev.frame) if those else frame)


# "and the average amount per txn?" after "number of txns by category in the last 90 days"
_ADD_ON = r"^\s*(?:and|what about|how about|also|same|instead|then)\b"


def _drops_context(question: str, frame, prev: Parsed | None) -> bool:
    """A question worded as an add-on to the previous one ("and the ...?") that stands on its
    own only by leaving out everything the previous one was about (its breakdown, period and
    filters): answering it over all data would answer a different question."""
    if prev is None or prev.kind != "frame" or prev.frame is None:
        return False
    if not re.search(_ADD_ON, Text(question).s):
        return False
    before = prev.frame
    had = bool(before.period or before.group or before.filters or before.condition)
    has = bool(frame.period or frame.group or frame.filters or frame.condition)
    return had and not has


_SEND = (r"(?!.*\b(?:list|audience)\b)\s*(?:please |can you |could you |now |go ahead and "
         r"|lets |let s )?(?:send|launch"
         r"|blast|deliver|schedule|dispatch|fire off|push out|roll out)\b.{0,60}\b(?:emails?"
         r"|sms|push|campaigns?|messages?|newsletters?|texts?|notifications?)\b")


def _suggest(question: str, vocab: v.Vocabulary) -> str:
    """Two or three phrasings that work, the closest to the question: from the warehouse's
    model where its data is loaded, and from the imported tables' models."""
    return suggestion_text(question, [v.MODEL, *vocab.tables.values()], vocab)
