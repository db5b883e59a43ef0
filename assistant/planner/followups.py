"""Questions that lean on the previous one of the conversation.

A refinement ("now only for Germany", "what about students?", "and by month?", "and the click
rate?") changes the previous frame; a narrowing ("of those, how many have churned?") asks a new
question about the customers the previous one selected, so it keeps all of its filters. When the
previous question was not understood, a question that refers back cannot be answered.
"""

from __future__ import annotations

import re
from dataclasses import replace

from assistant.planner import copy_request, intents
from assistant.planner import vocabulary as v
from assistant.planner.filters import parse_filters
from assistant.planner.frame import Filter, Frame, Parsed, Reply, ToolIntent
from assistant.planner.measures import rates_in, take_agg, take_group, take_top
from assistant.planner.periods import parse_period, shift_period
from assistant.planner.text import Text

_FOLLOW_UP = (r"^\s*(and|but|now|what about|how about|same|only|just|also|then|ok|okay|instead"
              r"|for|in|excluding|without|except|split|break|show|same thing|and what about"
              r"|what if|repeat|do the same|now do|now show|and now|now for|compared to"
              r"|versus|vs)\b")

# "of those", "among them", "out of these customers", "how many of them": the customers of the
# previous question ("those who joined in 2025" is a description, not a reference).
_NOUN = r"(?: customers| clients| people| users)?"
THOSE = (rf"(?:^\s*(?:and|but|so|ok|okay|now|then|right) )?(?:\b(?:of|among|amongst|out of"
         rf"|from|within) (?:all )?(?:those(?!{_NOUN} (?:who|that|which|whose|with|without|in"
         rf"|from|at|on|holding|having|living|earning|aged|opted|using|based)\b)"
         rf"|them|these|that group|this group){_NOUN}\b|\bof which\b)")

# "their average spend", "what's their churn rate", "how much do they spend": the customers of
# the previous question, named by a pronoun at the start
PRONOUN = (r"^\s*(?:(?:and|so|ok|okay|now|then|but|also|what|what s|whats|what is|what are"
           r"|how|how much|how many|how often|do|does|did|is|are|were|was|show|give me|tell me"
           r")\s+){0,3}(?:their|they|them)\b")
# "what share of all our customers is that?": the previous population as a part of all customers
SHARE_OF_THAT = (r"\b(?:what|which)? ?(?:share|percentage|percent|proportion|fraction|part|%)"
                 r"(?: of)?(?: all)?(?: (?:our|the))?(?: (?:customers|clients|users|people|base"
                 r"|customer base))? (?:is|are|would be|does|do) (?:that|this|those|these|they|it)"
                 r"(?: represent| make up| account for)?\s*$")
# "and what was its click rate?", "how many customers did it reach": the winner of a ranking
WINNER = r"\b(?:its|it|that one|this one|the winner|the best one|the top one)\b"

# What a question that only makes sense after another one starts or ends with.
_REFERS_BACK = (r"^\s*(?:and|but|now|what about|how about|same|also|then|instead|what if"
                r"|repeat|do the same|compared to|versus|vs|only|just)\b"
                r"|\b(?:instead|too|as well|again|the same)\s*$")

RESTATE = Reply("Offline planner: I could not answer your previous question, so I can't tell "
                "what this one builds on, and I would rather not guess. Please ask it as a full "
                "question, e.g. \"how many active customers are in France?\" rather than "
                "\"and in France?\".")
NO_CONTEXT = Reply("Offline planner: which customers do you mean by \"those\"? There is no "
                   "earlier count or breakdown in this conversation to narrow down; please ask "
                   "in full, e.g. \"how many customers opted in to push have churned?\"")


_DESCRIBE = (r"describe|profile|explain|tell me (?:more )?about|what about|how about"
             r"|show(?: me)?|what is|who is in|who are in|more about|details (?:of|on|about)")


# a follow-up that narrows the previous question ("only for ...", "just the US"): when it
# cannot be applied, it is refused, never answered as a question of its own
NARROWING = r"^\s*(?:(?:and|but|now|ok|okay|so) )?(?:only|just)\b"


def refers_back(question: str) -> bool:
    """Whether the question only makes sense as a follow-up ('and the click rate?')."""
    s = Text(question).s
    return bool(re.search(_REFERS_BACK, s) or re.search(THOSE, s) or re.search(PRONOUN, s)
                or re.search(SHARE_OF_THAT, s))


def share_of_all(prev: Frame) -> Frame | None:
    """'What share of all our customers is that?': the previous count's customers among all."""
    if prev.metric != "customers" or prev.group or not prev.filters:
        return None
    return Frame(metric="share", condition=[replace(f, pos=1) for f in prev.filters],
                 period=prev.period if prev.period and prev.period.on == "signup" else None)


def winner(frame: Frame, row: dict | None) -> Filter | None:
    """The first row of a ranking as a filter ('its click rate' after 'which is best?')."""
    if not frame.top or frame.top != 1 or len(frame.group) != 1 or not row:
        return None
    dim = frame.group[0]
    field = {"channel": "campaign_channel" if frame.metric == "campaign" else "tx_channel"
             if frame.metric in ("spend", "transactions") else "acquisition_channel",
             "product": "product" if frame.metric in ("customers", "share") else None}.get(
                 dim, dim)
    value = row.get(dim)
    if field is None or value is None:
        return None
    return Filter(field, (value,), label=f"{dim} {value}" if dim != "campaign" else
                  f"campaign '{value}'", pos=1)


def narrow(frame: Frame, prev: Frame) -> Frame:
    """'Of those, how many have churned?': `frame` for the customers `prev` selected (its
    filters, and a share's condition), in its period unless `frame` names one."""
    frame = frame.copy()
    asked = [replace(f, pos=-1) for f in frame.filters]
    carried = [f for f in (replace(g, pos=-1) for g in prev.filters + prev.condition)
               if f not in asked]
    frame.filters = carried + frame.filters
    if frame.period is None and prev.period is not None and (
            prev.period.on == "signup" or frame.metric == prev.metric):
        frame.period = prev.period
    return frame


_FAMILY = {"active": "status", "churned": "status", "dormant": "status",
           "income_band": "income_band", "age": "age"}


def _same_family(a: str, b: str) -> bool:
    return a == b or (_FAMILY.get(a, a) == _FAMILY.get(b, b))


def _merge(prev: Frame, delta: Frame, text: Text) -> Frame:
    frame = prev.copy()
    instead = bool(re.search(r"\binstead\b", text.original))
    for f in delta.filters:
        if f.field == "campaign_channel" and prev.metric == "optin":
            f = Filter("optin", f.values, label=f"opted in to {f.values[0]}")
        replaced = False
        for bucket in (frame.condition, frame.filters):
            for i, g in enumerate(list(bucket)):
                if _same_family(g.field, f.field) and (g.negate == f.negate or
                                                       g.field != f.field):
                    if not replaced:
                        bucket[i] = replace(f, pos=g.pos)
                        replaced = True
                    else:
                        bucket.remove(g)
        if not replaced:
            frame.filters.append(f)
    if delta.group:
        if instead or not re.search(r"\b(also|and also|as well)\b", text.original):
            frame.group = [g for g in delta.group]
        else:
            frame.group += [g for g in delta.group if g not in frame.group]
    if delta.period:
        on = prev.period.on if prev.period else delta.period.on
        frame.period = replace(delta.period, on=on)
    if delta.top:
        frame.top, frame.order, frame.judged = delta.top, delta.order, delta.judged
    if delta.agg:
        frame.agg = delta.agg
    if delta.rates:     # other campaign rates: "and the click rate?"
        frame.rates, frame.counts = delta.rates, False
    return frame


def _channel_word(text: Text) -> str | None:
    m = text.take(r"\b(email|emails|sms|text|texts|push|in app)\b")
    if not m:
        return None
    w = m.group(1)
    return "email" if w.startswith("email") else "sms" if w in ("sms", "text", "texts") else \
        "in_app" if w == "in app" else "push"


def follow_up(text: Text, prev: Parsed, vocab: v.Vocabulary, first_row: dict | None = None
              ) -> Parsed | None:
    """A refinement of the previous question, or None when `text` stands on its own.
    `first_row` is the first result row of the previous question (its winner, for 'its')."""
    if prev.kind == "frame" and prev.frame is not None and re.search(SHARE_OF_THAT, text.s):
        whole = share_of_all(prev.frame)
        return Parsed("frame", frame=whole) if whole else None
    cue = re.search(_FOLLOW_UP, text.s) or len(text.words()) <= 5 or (
        prev.kind == "tool" and re.search(intents._NTH_ONE, text.s))
    if not cue:
        return None
    if prev.kind == "tool" and prev.tool is not None:
        intent = prev.tool
        copy = copy_request.refine(text, intent)       # "now in French", "more playful"
        if copy is not None:
            return Parsed("tool", tool=copy)
        sid = re.search(intents._SEGMENT_ID, text.s) or re.search(intents._NTH_ONE, text.s) or \
            re.search(r"^\s*\D*?(\d+)\s*$", text.s)
        if ("segment_id" in intent.args or intent.tool == "describe_segment") and sid:
            args = dict(intent.args) | {"segment_id": intents.segment_number(sid)}
            return Parsed("tool", tool=ToolIntent(intent.tool, args, label=intent.label))
        if intent.tool == "segment_customers" and re.fullmatch(
                rf"\s*(?:(?:and|so|ok|now) )?(?:(?:{_DESCRIBE}) )?(?:{intents._SEGMENT_ID}"
                rf"|{intents._NTH_ONE})\s*", text.s):
            # "describe the third one" after "segment my customers into 6 groups"
            m = re.search(intents._SEGMENT_ID, text.s) or re.search(intents._NTH_ONE, text.s)
            sid = intents.segment_number(m)
            return Parsed("tool", tool=ToolIntent("describe_segment", {"segment_id": sid},
                                                  label=f"describe segment {sid}"))
        channel = _channel_word(Text(text.raw))
        if channel and intent.tool in ("build_audience", "draft_campaign"):
            return Parsed("tool", tool=ToolIntent(intent.tool, dict(intent.args) |
                                                  {"channel": channel}, label=intent.label))
        return None
    if prev.kind != "frame" or prev.frame is None:
        return None
    probe = Text(text.raw)
    delta = Frame(metric=prev.frame.metric)
    shifted = shift_period(probe, prev.frame.period)
    delta.period = shifted or parse_period(probe, vocab)
    take_top(probe, delta)
    delta.agg = take_agg(probe)
    delta.group = take_group(probe, prev.frame.metric)
    if prev.frame.metric == "campaign":
        rates = probe.take_all(r"\b(?:(?:opens?|opening|clicks?|click through|conversions?"
                               r"|unsubscribes?)(?: rates?)?|ctr)\b")
        if rates:
            delta.rates = rates_in(" ".join(m.group(0) for m in rates))
    if prev.frame.metric in ("optin", "campaign") or any(
            f.field == "optin" for f in prev.frame.filters + prev.frame.condition):
        channel = _channel_word(probe)
        if channel:
            field = "campaign_channel" if prev.frame.metric == "campaign" else "optin"
            label = f"sent by {channel}" if field == "campaign_channel" else \
                f"opted in to {channel}"
            delta.filters.append(Filter(field, (channel,), label=label))
    delta.filters += parse_filters(probe, vocab, prev.frame.metric)
    if prev.frame.metric == "campaign" and delta.period:
        # "only for campaigns sent in 2026": the campaigns' own date, already the period's
        probe.take_all(r"\b(?:campaigns?|sent|send|launched|run|ran|went out)\b")
    won = winner(prev.frame, first_row) if probe.take(WINNER) else None
    probe.take(_FOLLOW_UP)
    probe.take(r"\b(instead|too|as well|same|thing|question|one|please|again|only|just|also"
               r"|then|rather|the same|do|for|that|this|those|these|what|about|how|show)\b")
    if v.meaningful(probe.words()):
        return None
    if not (delta.filters or delta.group or delta.period or delta.top or delta.agg or
            delta.rates or won):
        return None
    frame = _merge(prev.frame, delta, probe)
    if won is not None:     # the ranking's winner, now a filter
        frame.filters.append(won)
        frame.group = [g for g in frame.group if g != prev.frame.group[0]]
        frame.top = None
    if prev.frame.metric in ("customers",) and delta.period and prev.frame.period is None:
        frame.period = replace(delta.period, on="signup") if re.search(
            r"sign|join|new", text.s) else delta.period
    return Parsed("frame", frame=frame)
