"""Questions about the models themselves, for the offline planner: lifetime value, drift, the
registry, refresh and approving a challenger.

`model_intent(text)` is called first by the planner's tool-intent layer (intents.tool_intent)
and returns a ToolIntent or None. Each pattern is narrow on purpose: "how many active
customers" is a definition count for SQL, while "how many customers are probably still with
us" is a prediction for the lifetime-value model.
"""

from __future__ import annotations

import re

from assistant.planner.frame import Reply, ToolIntent
from assistant.planner.text import Text

_CLV = (r"\b(life ?time value|clv|ltv|cltv|customer value prediction)\b"
        r"|\bmost (valuable|profitable) (segments?|clusters?|groups?)\b"
        r"|\b(segment|cluster|group)s? (is|are) (the )?most (valuable|profitable)\b"
        r"|\bmost valuable (customers|clients)\b|\b(valuable|profitable) (customers|clients)\b"
        r".{0,20}\b(next|coming|future)\b"
        r"|\b(predicted|expected|future|forecast\w*) (customer )?(value|spend|spending|revenue)\b"
        r"|\bwho will spend (the )?most\b|\bbiggest spenders\b.{0,20}\b(next|coming)\b")
_ALIVE = (r"\b(probably|likely|predicted|expected|still) (still )?(with us|around|alive|active"
          r"|retained|a customer|customers)\b|\bp ?\(?alive\)?\b|\bprobability (of )?(being )?"
          r"(alive|active)\b|\bstill with us\b")
_DRIFT = (r"\b(has|have|did) (anything|something|much|the (data|customers?|customer base))"
          r" (changed|shifted|moved)\b|\bwhat (has )?changed since\b|\bany(thing)? (changed|new)"
          r" since\b|\bdrift\w*\b|\bchanged since (last|the last)\b"
          r"|\b(are|is) (the |our )?(segments?|segmentation|models?) still (valid|good|right"
          r"|accurate|ok|okay|relevant|up to date|current)\b|\bpopulation stability\b|\bpsi\b")
_GREW = (r"\bwhich (segments?|clusters?|groups?) (grew|have grown|are growing|shrank|have "
         r"shrunk|are shrinking|changed (in )?size|got (bigger|smaller))\b"
         r"|\b(segments?|clusters?) (that )?(grew|shrank|are growing|are shrinking)\b"
         r"|\bsegment (sizes?|growth) (changed|moved|since)\b")
_CHURN_OK = (r"\b(is|are) (the |our )?churn (model|prediction|score)s? (still )?(good|ok|okay"
             r"|accurate|reliable|working|valid|trustworthy|degrad\w*)\b"
             r"|\bhow (good|accurate|reliable) is (the |our )?churn (model|prediction)\b"
             r"|\bchurn model (accuracy|performance|quality|drift)\b")
_REFRESH = (r"\b(refresh|retrain|re train|refit|update|rebuild)\w* (the |our |all )?(models?"
            r"|segmentation|segments|churn model|clv|lifetime value( model)?)\b"
            r"|\b(models?|segmentation|segments) .{0,20}(new|latest|fresh) data\b")
_SHOW = (r"\b(model registry|which models?|what models?|list (the )?models|show (me )?(the )?"
         r"models|champion (model|churn model|segmentation)|challengers?)\b")
_APPROVE = r"\b(approve|promote)\b.{0,30}\b(model|challenger)\b"
# lifetime value narrowed to a group ("of students", "in Germany") the tool does not filter by
_NARROWED = (r"\b(of|for|among|in|from) (?!(our |the |all |my )?(customers|clients|base|"
             r"customer base|next|the next|coming|future|a year|us)\b)[a-z]+")
_LIST = (r"\baudiences?\b|\b(mailing|contact|target|send|call) list\b|\b(consented|opted in)\b"
         r"|\b(build|make|create|export|pull)\b.{0,20}\blist\b")
_MODEL_ID = r"\b((?:seg|churn|prop|clv)-v\d+-[0-9a-f]{4})\b"


def _months(text: Text) -> int | None:
    if text.take(r"\bnext (12 months|year)\b|\bcoming year\b|\bover (a|the next) year\b"
                 r"|\b(in|within) (a|the next) year\b"):
        return 12
    m = text.take(r"\b(?:next|coming|over the next|in the next|within) (\d+) (months?|years?"
                  r"|weeks?)\b")
    if m:
        n, unit = int(m.group(1)), m.group(2)
        return n * 12 if unit.startswith("year") else max(1, round(n / 4.345)) \
            if unit.startswith("week") else n
    if text.take(r"\bnext (quarter|3 months)\b"):
        return 3
    return None


CLV_SCOPE = (
    "Offline planner: lifetime value is predicted per customer, and read per segment of the "
    "latest segmentation; I can't break it down by other groups or filter it yet, and I would "
    "rather not answer another question. Questions like \"lifetime value by segment\", "
    "\"predicted value of segment 2\" or \"who are our most valuable customers?\" work.")


def model_intent(text: Text) -> ToolIntent | Reply | None:
    """A question for predict_clv, check_model_drift, show_models, refresh_models or
    approve_model, with its arguments; None for anything else."""
    s = text.s
    if re.search(_APPROVE, s):
        m = re.search(_MODEL_ID, text.raw.lower())
        who = re.search(r"\b(?:as|by)\s+([^\W\d][\w.'\- ]{1,40}?)\s*[.!]?$", text.raw)
        args = {"model_id": m.group(1) if m else ""} | ({"approver": who.group(1)} if who
                                                        else {"approver": ""})
        return ToolIntent("approve_model", args, label="approve a model")
    if re.search(_REFRESH, s):
        kinds = []
        if re.search(r"\bsegment", s):
            kinds.append("segmentation")
        if re.search(r"\bchurn\b", s):
            kinds.append("churn")
        if re.search(r"\b(clv|lifetime value|ltv)\b", s):
            kinds.append("clv")
        return ToolIntent("refresh_models", {"models": kinds} if kinds else {},
                          label="refresh the models")
    if re.search(_CHURN_OK, s):
        return ToolIntent("check_model_drift", {"model": "churn"}, label="churn model check")
    if re.search(_GREW, s):
        return ToolIntent("check_model_drift", {"model": "segmentation"},
                          label="segment changes")
    if re.search(_DRIFT, s):
        model = "churn" if re.search(r"\bchurn\b", s) else "segmentation" if re.search(
            r"\bsegment", s) else "all"
        return ToolIntent("check_model_drift", {"model": model}, label="drift check")
    if re.search(_SHOW, s) and not re.search(r"\b(rfm|champions segment)\b", s):
        kind = next((k for k, w in (("churn", r"\bchurn\b"), ("segmentation", r"\bsegment"),
                                    ("clv", r"\b(clv|lifetime value)\b")) if re.search(w, s)),
                    None)
        return ToolIntent("show_models", {"kind": kind} if kind else {}, label="model registry")
    if re.search(_CLV, s) or re.search(_ALIVE, s):
        if re.search(_LIST, s):
            return None     # "an email audience of the top 10% predicted value": an audience
        args: dict = {}
        seg = re.search(r"\b(?:segment|seg|cluster|group)s? ?(?:number |no |#)?(\d+)\b", s)
        if seg:             # "the CLV of segment 2"
            args["segment_id"] = int(seg.group(1))
        elif re.search(r"\b(?:by|per|each|every|across|which|what|all|the|our) (?:segment|seg"
                       r"|cluster|group)s?\b|\b(?:segment|cluster|group)s? (?:is|are|has)\b"
                       r"|\bmost (?:valuable|profitable) (?:segment|cluster|group)s?\b", s):
            args["by_segment"] = True
        elif re.search(r"\b(?:by|per|across|for each|in each|split by|broken down by) "
                       r"(?!(?:predicted |expected )?(?:clv|ltv|cltv|life ?time value|value"
                       r"|spend)\b)[a-z]", s) \
                or re.search(_NARROWED, s):
            return Reply(CLV_SCOPE)     # "CLV by country", "the CLV of students": refused
        months = _months(text)
        if months:
            args["horizon_months"] = min(months, 120)
        m = re.search(r"\b(?:top|first|the) (\d+)\b|\b(\d+) (?:most valuable|customers|clients)"
                      r"\b", s)
        if m:
            args["top_n"] = min(int(m.group(1) or m.group(2)), 1000)
        return ToolIntent("predict_clv", args, label="lifetime value")
    return None
