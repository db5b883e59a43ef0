"""Questions answered by tools other than SQL, and the planner's own replies.

Segmentation, describing and comparing segment runs, churn prediction and audiences map to their
tools with arguments read from the question (campaign copy: copy_request, in six languages);
"what can you do" and "what data do you have" get a direct answer or describe_warehouse.
Requests for personal data are refused.
"""

from __future__ import annotations

import re

import sqlglot

from assistant.planner import copy_request
from assistant.planner import vocabulary as v
from assistant.planner.frame import Reply, ToolIntent
from assistant.planner.model_questions import model_intent
from assistant.planner.text import Text

CAPABILITIES = """\
Offline planner: I answer questions about your customers from the warehouse, without a language \
model. I understand questions like these:
- counts and shares: "how many active customers in Germany?", "what share of students hold a \
credit card?", "churn rate by country", "email opt-in rate"
- spend, balances, transactions: "average spend per customer by income band", "total savings \
balance", "transactions by channel last month", "top 5 merchants by spend"
- filters: country, region or city, product held, income band, employment, age range, \
acquisition channel, signup period, active / churned / dormant, consent (email, SMS, push)
- trends and rankings: "monthly spend in 2026", "top 10 cities by customers", "compare \
Germany vs France"
- campaigns: "open, click and conversion rates per campaign", "best campaign by conversion"
- segments and churn: "segment my customers into 5 groups", "describe segment 2", "compare the \
last two segmentations", "who is likely to churn"
- audiences and copy: "build an audience for SMS from segment 3", "write an email for segment 2 \
about savings", "design an A/B test for segment 2 by email", "show my drafts", "export the \
drafts as CSV"
- an overview: "how are we doing?", "give me an overview of Germany" (key figures at the \
reference date)
- follow-ups: "now only for Germany", "what about students?", "and by month?"
With an API key (OPENAI_API_KEY or ASSISTANT_BASE_URL) a language model answers freer questions."""

PII_REFUSAL = (
    "Offline planner: I can't list personal data (names, email addresses, phone numbers, birth "
    "dates) in a chat answer. For a contact list, build an audience: it only contains customers "
    "who consented to the channel, e.g. \"build an audience for email from segment 2\". I can "
    "also count or break down those customers, e.g. \"how many customers in Germany are opted "
    "in to email?\""
)

_GREETING = r"^\s*(hi|hello|hey|hallo|bonjour|hola|ciao|good (morning|afternoon|evening))\b"
_THANKS = r"^\s*(thanks?( you)?|thx|cheers|great|perfect|ok|okay|cool|nice)( (so much|a lot))?\s*$"
_HELP = (r"what (can|could) (you|i) (do|ask)|what do you (do|know)|^\s*help\b|how (do|can) i use"
         r"|what (kind|sort|type)s? of (questions|things)|what are you|who are you"
         r"|your capabilities|example questions|what questions|how does this work")
_DATA = (r"what (data|tables|information|columns|fields)|which (data|tables|columns|fields)"
         r"|(describe|explain|show)( me)? (the|your|this|our) "
         r"(data|warehouse|database|schema|tables)"
         r"|what (is|s) in (the|your|this|our) (data|warehouse|database)|data dictionary"
         r"|^\s*(the )?schema\s*$|what do you have data on|what data do (you|we) have")
_PII = (r"email addresses|emails of|e mails of|phone numbers?|mobile numbers?|telephone numbers?"
        r"|contact details|home address|postal address|addresses of|birth ?dates?"
        r"|dates? of birth|birthdays?|(first|last|full|family|given) names?|names of"
        r"|their names|names and|who exactly|personal (data|details|information)")

# asking for the contact data itself (a name in copy, "greet them by first name", is copy)
_CONTACT_DATA = (r"\b(?:email addresses|e mail addresses|emails of|phone numbers?|mobile numbers?"
                 r"|telephone numbers?|contact details|home address(?:es)?|postal address(?:es)?"
                 r"|addresses of|birth ?dates?|dates? of birth)\b")

# one person's own data: "customer 1234's email", "the phone number of client 77"
_ONE_PERSON = (r"\b(?:customer|client|user|account holder)s? (?:id |no |number |nr |# ?)?\d+ ?s? "
               r"(?:e ?mail|phone|mobile|address|name|birth|date of birth|dob|iban|card number)"
               r"|\b(?:e ?mail|phone|mobile|address|name|birth ?day|date of birth|dob|iban"
               r"|card number)s?(?: address| number)? (?:of|for) (?:the )?(?:customer|client|user)"
               r" (?:id |no |number |nr |# ?)?\d+")

ORDINALS = {w: i for i, w in enumerate(("first", "second", "third", "fourth", "fifth", "sixth",
                                         "seventh", "eighth", "ninth", "tenth"), start=1)}
_ORDINAL = r"\d+(?:st|nd|rd|th)|" + "|".join(ORDINALS)
_SEGMENT_WORD = r"(?:segment|seg|cluster|group)"
# "segment 2", "seg. 2", "segment #2", "cluster no 2", "group two", "the 2nd segment"
_SEGMENT_ID = (rf"(?:\b{_SEGMENT_WORD}s? ?(?:number (?:of )?|no |nr |#)?(\d+(?:st|nd|rd|th)?"
               rf"|{'|'.join(ORDINALS)})\b|\b({_ORDINAL}) {_SEGMENT_WORD}\b)")
# "the third one" (after a segmentation): "one" reads as 1
_NTH_ONE = rf"\b(?:the )?({_ORDINAL})(?: 1| ones?)?\b"
# what looks like a reference to a segment, understood or not ("seg1", "segment no. 3")
_SEGMENT_LIKE = (rf"\b{_SEGMENT_WORD}\w*\W*(?:number |no |nr )?(?:\d|{'|'.join(ORDINALS)})"
                 rf"|\b(?:{_ORDINAL}) {_SEGMENT_WORD}")
SEGMENT_TOOLS = ("describe_segment", "build_audience", "draft_campaign", "design_ab_test")


def segment_number(m: re.Match) -> int:
    """The segment number of a match of _SEGMENT_ID or _NTH_ONE ('3', '3rd', 'third')."""
    word = next(g for g in m.groups() if g)
    return ORDINALS.get(word) or int(re.match(r"\d+", word).group(0))


def unread_segment(text: Text) -> bool:
    """Whether what is left of the question still names a segment (one not understood)."""
    return bool(re.search(_SEGMENT_LIKE, text.s) or re.search(     # "segments 1, 2"
        rf"\b{_SEGMENT_WORD}s? ?(?:number (?:of )?|no |nr |#)?\d+(?:st|nd|rd|th)? (?:and |or |& "
        r"|plus )?\d", text.original))


def _channel(text: Text, default: str | None = None, table=v.CONTACT_PHRASES) -> str | None:
    for value, pattern in v.value_patterns(table):
        if text.take(pattern):
            return value
    return default


def _segment_id(text: Text) -> int | None:
    m = text.take(_SEGMENT_ID)
    return segment_number(m) if m else None


def _run_ids(text: Text) -> list[str]:
    return [m.group(1) for m in text.take_all(r"\brun (?:id )?([a-z0-9][\w\-]{3,})")]


_RAW_SQL = re.compile(     # an injection's leading quote and semicolon ("'; DELETE ...") too
    r"^[\s'\"`);]*(?:(?:please\s+|can you\s+|could you\s+)?(?:run|execute|query|try)[:\s]+"
    r"(?:this|the\s+following|my)?\s*(?:sql|query|statement)?\s*[:\-]?\s*)?"
    r"(?P<sql>(?:select|with|from|drop|delete|insert|update|create|alter|pragma|attach|copy"
    r"|install|load|call|set|describe|show|summarize|explain)\b[\s\S]+)$", re.I)


def raw_sql(question: str) -> str | None:
    """SQL pasted into the chat ('SELECT ...', 'run this SQL: ...'), for run_sql as it is."""
    m = _RAW_SQL.match(question or "")
    if not m:
        return None
    sql = re.sub(r"--[^\n]*$", "", m.group("sql").strip()).strip().rstrip(";").strip()
    if len(sql.split()) < 2 or re.search(r"\?\s*$", sql):
        return None
    if re.match(r"(?i)(select|with|from)\b", sql):
        try:        # natural language that starts with "Select ..." does not parse as a query
            trees = sqlglot.parse(sql, read="duckdb")
        except sqlglot.errors.SqlglotError:
            return None
        return sql if trees and isinstance(trees[0], sqlglot.exp.Query) else None
    return sql if _STATEMENT.match(sql) else None


# Other statements only count as SQL in their SQL shape ("Show me customers by gender" is not).
_STATEMENT = re.compile(
    r"(?i)(drop\s+(table|view|schema|macro|sequence)|delete\s+from|insert\s+into"
    r"|update\s+\w+\s+set|create\s+(or\s+replace\s+)?(temp\s+|temporary\s+)?(table|view"
    r"|schema|macro|sequence|secret)|alter\s+table|pragma\s+\w+|attach\s+'|detach\s+\w+$"
    r"|copy\s+[\w(]|install\s+\w+$|load\s+\w+$|call\s+\w+\s*\(|set\s+\w+\s*(=|to)"
    r"|explain\s+(analyze\s+)?select|describe\s+\w+$|show\s+(all\s+)?tables$"
    r"|summarize\s+\w+$)")


def reply_intent(text: Text) -> str | None:
    """'help', 'data', 'pii', 'greeting', 'thanks' or None."""
    s = text.s
    contact = re.search(_CONTACT_DATA, s) and not re.search(
        r"opt(ed)? ?in|consent|campaign|open rate|unsubscrib", s)
    if contact or re.search(_ONE_PERSON, s):
        return "pii"       # "give me the email addresses of ...": never read as copy
    if copy_request.is_copy_request(text.raw):     # "...greet them by first name": copy
        return None
    if re.search(_THANKS, s):
        return "thanks"
    if re.search(_PII, s) and not re.search(r"opt(ed)? ?in|consent|campaign|open rate", s):
        return "pii"
    if re.search(_HELP, s):
        return "help"
    if re.search(_DATA, s):
        return "data"
    if re.search(_GREETING, s) and len(s.split()) <= 4:
        return "greeting"
    return None


# "... can we reach by email? build me that list": an audience
_BUILD_LIST = (r"\b(?:build|make|create|pull|export|give|get|put together)(?: me| us)?"
               r"(?: that| the| this| a)? (?:customer |contact )?list\b")


# "top 10% predicted value, email consented": an audience filtered by lifetime value
_TOP_VALUE_CONSENTED = (r"\btop \d+(?:\.\d+)? ?(?:%|percent\b|pct\b).{0,30}\b(?:value|clv|ltv)\b"
                        r".{0,30}\b(?:consented|opted in|who consented)\b")


def tool_intent(text: Text, parse_filters) -> ToolIntent | Reply | None:
    """Recognise a tool question and read its arguments; `parse_filters(text)` reads customer
    filters (country, product) for tools that take them."""
    model = model_intent(text)      # lifetime value, drift, the model registry, refresh
    if model is not None:
        return model
    copy = copy_request.understand(text, parse_filters)    # campaign copy, in six languages
    if copy is not None:
        return copy
    s = text.s
    if re.search(r"compar\w* .{0,30}(segmentations?|segment runs?|clusterings?|runs)\b"
                 r"|(segmentations?|segments|runs) .{0,20}(changed|differ)"
                 r"|differences? between .{0,30}(segmentations|runs)", s):
        ids = _run_ids(text)
        args = {}
        if len(ids) >= 2:
            args = {"run_a": ids[0], "run_b": ids[1]}
        return ToolIntent("compare_segment_runs", args, label="compare segmentations")
    if re.search(r"(list|show|which|what|previous|past|earlier|all)\b.{0,30}"
                 r"(segmentations|segmentation runs|segment runs|runs)\b"
                 r"|segmentation history|history of (the )?segmentations", s):
        m = re.search(r"(?:last|latest|recent) (\d+)", s)
        args = {"limit": int(m.group(1))} if m else {}
        return ToolIntent("list_segment_runs", args, label="list segmentations")
    if re.search(r"(describe|profile|explain|characteri[sz]e|summari[sz]e|tell me (more )?about"
                 r"|what is|what are|who is in|who are in|who are|details (of|on|about)"
                 r"|more about|look like|deep dive( into)?|what defines)\b.{0,25}"
                 + _SEGMENT_ID, s) or re.search(
                     _SEGMENT_ID + r" (profile|description|details|summary|look like)", s) or \
            re.fullmatch(r"\s*(and |what about |how about )?(the )?" + _SEGMENT_ID + r"\s*", s):
        sid = _segment_id(text)
        ids = _run_ids(text)
        args = {"segment_id": sid} | ({"run_id": ids[0]} if ids else {})
        return ToolIntent("describe_segment", args, label=f"describe segment {sid}")
    if re.search(r"\b(who|which (customers|clients|users)|customers|clients"
                 rf"|{_SEGMENT_WORD}s?)\b.{{0,30}}"
                 r"(likely|likelihood|probability|propensity|going|about|expected|predicted|risk|may"
                 r"|might|could)"
                 r"\b.{0,15}(to )?(churn|leave|quit|attrite|cancel|close)"
                 r"|(predict|forecast|score|model)\w*\b.{0,20}\bchurn"
                 r"|churn (risk|prediction|model|scores?|propensity|probabilit\w*|predict\w*)"
                 r"|at risk of (churn\w*|leaving|attrition)|(at risk|risky) (customers|clients)"
                 r"|(customers|clients) at risk\b|will (churn|leave)", s) and \
            not re.search(r"audience|mailing list|contact list|target list|" + _BUILD_LIST, s):
        sid = _segment_id(text) if re.search(_SEGMENT_ID, s) else None
        rest = re.sub(_SEGMENT_ID, " ", s)
        m = re.search(r"(?:top|first|the) (\d+)|(\d+) (?:customers|clients|people|most)", rest)
        n = int(m.group(1) or m.group(2)) if m else None
        args = {"top_n": n} if n else {}
        if sid is not None:         # "churn risk of segment 3": that segment, or refused
            args["segment_id"] = sid
        elif re.search(rf"\b(?:by|per|each|every|across|which|what|all|the|our|my) "
                       rf"{_SEGMENT_WORD}s?\b|\b{_SEGMENT_WORD}s? (?:is|are|has|have|would)\b", s):
            args["by_segment"] = True
        return ToolIntent("predict_churn", args, label="churn risk")
    drafts = _drafts(text)
    if drafts is not None:
        return drafts
    if re.search(r"\ba (or )?b test|\bab test|split test|sample size|how (big|large) (a |the )?"
                 r"(sample|test)|\bsample\b.{0,30}\b(detect|lift|uplift)|test (the |these |our )?"
                 r"(variants|versions)|how many (customers|people|recipients) (do|would) (we|i) "
                 r"need|holdout( group)?", s):
        return _ab_test(text)
    if re.search(r"\baudiences?\b|mailing list|contact list|target list|send list|target group"
                 r"|targeting list|list of (customers|clients|contacts) (to|for|we can)|"
                 + _BUILD_LIST, s) or (re.search(_TOP_VALUE_CONSENTED, s) and
                                       not re.search(r"\bhow many\b", s)):
        return _audience(text, parse_filters)
    if re.search(r"^\s*(please )?(can you |could you |let us |lets |let s |i want to |i d like to"
                 r" |we need to )?(segment|cluster|group|split|divide|bucket|partition)\b"
                 r".{0,40}\b(customers|clients|base|users|them|people|customer base)\b"
                 r"|\b(run|do|make|create|build|find|identify|discover|compute|generate|give me"
                 r"|show me|suggest|need|want)\b.{0,25}\b(segmentation|segments|clusters"
                 r"|personas|customer groups)\b|\bsegmentation\b|\brfm\b", s) and \
            not re.search(r"\b(by|per|each|in|of) (the )?(segment|cluster)s?\b", s):
        return _segment(text, parse_filters)
    return None


_DRAFT_ID = r"\b([0-9a-f]{6,8}(?:-[a-z])?)\b"


def _drafts(text: Text) -> ToolIntent | None:
    """Saved drafts: list, show one, approve (with who approves), export."""
    s = text.s
    if not re.search(r"\bdrafts?\b", s) or re.search(
            r"\b(write|create|compose|generate|prepare|make)\b", s):
        return None
    ids = re.findall(_DRAFT_ID, text.raw.lower())
    if re.search(r"\b(approve|sign off)\b", s):
        m = re.search(r"\b(?:as|by|for|approver:?)\s+([^\W\d][\w.'\- ]{1,40}?)\s*[.!]?$",
                      text.raw)
        approver = m.group(1) if m else ("[name]" if "[name]" in text.raw else None)
        args = {"draft_id": ids[0] if ids else ""} | ({"approver": approver} if approver else {})
        return ToolIntent("approve_draft", args, label="approve a draft")
    if re.search(r"\bexport\w*|download\w*|\bsave\b.{0,20}\bas\b", s):
        fmt = "json" if re.search(r"\bjson\b", s) else "csv" if re.search(
            r"\bcsv\b|spreadsheet|excel", s) else "markdown"
        args = {"format": fmt} | ({"draft_ids": ids} if ids else {})
        return ToolIntent("export_drafts", args, label="export drafts")
    if ids and re.search(r"\b(show|open|display|view|read|see)\b", s):
        return ToolIntent("show_draft", {"draft_id": ids[0]}, label="show a draft")
    if re.search(r"\b(list|show|see|view|which|what|my|saved|all|approved|pending)\b", s):
        status = "approved" if re.search(r"\bapproved\b", s) else "draft" if re.search(
            r"\b(pending|unapproved|not (yet )?approved|awaiting)\b", s) else None
        return ToolIntent("list_drafts", {"status": status} if status else {},
                          label="list drafts")
    return None


_NUM = r"(\d+(?:\.\d+)?)"
_PCT = rf"{_NUM} ?(?:%|percent|pct)"
_AUDIENCE = (rf"\b(?:to|for|reach(?:ing)?|across|among|with|of) (?:an? |the |our )?(?:audience "
             rf"(?:size )?of |list of |base of )?{_NUM} ?(k|thousand)? (?:customers|clients|people"
             rf"|recipients|users|contacts|members)\b|\baudience (?:size )?(?:of |is |=)?{_NUM} ?"
             rf"(k|thousand)?\b")
_BASELINE = (rf"\b(?:baseline|current|historical|base)(?: conversion| conversion rate| rate"
             rf"| cvr)?(?: is| of| at| =| around| about)? {_PCT}|{_PCT} (?:baseline|base rate"
             rf"|current)(?: conversion(?: rate)?)?|\b(?:conversion|conversion rate|cvr)"
             rf"(?: is| of| at| =| around| about)? {_PCT}")
_LIFT = (rf"{_PCT} (?:relative )?(?:lift|uplift|improvement|increase)|(?:lift|uplift"
         rf"|improvement|increase) of {_PCT}")
_HOLDOUT = rf"{_PCT} holdout|holdout (?:group )?(?:of )?{_PCT}"


def _ab_test(text: Text) -> ToolIntent | Reply:
    args: dict = {"channel": "in_app" if text.take(r"in app( messages?)?") else
                  (_channel(text) or "email")}
    sid = _segment_id(text)
    if sid is not None:
        args["segment_id"] = sid
    m = text.take(_AUDIENCE)
    if m:
        n, thousands = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        args["audience_size"] = round(float(n) * (1000 if thousands else 1))
    m = text.take(_BASELINE)
    if m:
        args["baseline_rate"] = float(next(g for g in m.groups() if g)) / 100
    m = text.take(_LIFT)
    if m:
        args["min_lift"] = float(m.group(1) or m.group(2)) / 100
    m = text.take(r"(\d+) (?:variants|versions|arms)")
    if m:
        args["variants"] = max(1, min(int(m.group(1)), 4))
    m = text.take(_HOLDOUT)
    if m:
        args["holdout"] = float(m.group(1) or m.group(2)) / 100
    elif text.take(r"(?:no|without( a)?) holdout"):
        args["holdout"] = 0.0
    unread = re.findall(r"\d+(?:\.\d+)?%?", text.s)
    if unread:      # a number the design would silently ignore: ask rather than guess
        return Reply(
            f"Offline planner: I did not understand the number(s) {', '.join(unread)} in your "
            "A/B test request, and I would rather not ignore them. Say e.g. \"an A/B test for an "
            "email to 20,000 customers, baseline conversion 3%, to detect a 10% lift\" "
            "(audience size, baseline conversion, lift, number of variants, holdout %).")
    return ToolIntent("design_ab_test", args, label="A/B test design")


def _segment(text: Text, parse_filters) -> ToolIntent:
    args: dict = {}
    m = text.take(r"(?:into|in|with|to|make|create|find|build|of) (\d+) "
                  r"(?:groups|segments|clusters|personas|buckets)|(\d+) (?:groups|segments|"
                  r"clusters|personas|buckets)|k ?= ?(\d+)")
    if m:
        args["k"] = int(next(g for g in m.groups() if g))
    if text.take(r"\brfm\b|recency,? frequency,? (and )?monetary"):
        args["method"] = "rfm"
    if text.take(r"\bactive (customers|clients|users|ones)( only)?\b|only active"):
        args["active_only"] = True
    if text.take(r"(including|include|use|using|with) (age|gender|protected)"):
        args["include_protected"] = True
    filters = parse_filters(text)
    for f in filters:
        if f.field == "country" and len(f.values) == 1 and not f.negate:
            args["country"] = f.values[0]
        elif f.field == "product" and len(f.values) == 1 and not f.negate:
            args["product"] = f.values[0]
    return ToolIntent("segment_customers", args, label="segmentation")


DEFAULT_CHURN_RISK = 0.5     # "at risk of churning": a churn score of at least 50%


def _audience(text: Text, parse_filters) -> ToolIntent:
    args: dict = {}
    sid = _segment_id(text)
    channel = _channel(text)
    if channel:
        args["channel"] = channel
    if sid is not None:
        args["segment_id"] = sid
    m = text.take(r"churn (?:risk|probability|score) (?:above|over|of at least|>=?|at least) "
                  r"(\d+(?:\.\d+)?) ?(%|percent)?")
    if m:
        value = float(m.group(1))
        args["min_churn_risk"] = value / 100 if (m.group(2) or value > 1) else value
    elif text.take(r"at (?:high )?risk( of (churn\w*|leaving))?|likely to (churn|leave)"
                   r"|(?:high )?churn risk"):
        args["min_churn_risk"] = DEFAULT_CHURN_RISK
    m = text.take(r"\b(?:the )?top (\d+(?:\.\d+)?) ?(?:%|percent|pct)(?: of customers)?(?: by)?"
                  r" (?:predicted |expected )?(?:life ?time )?(?:value|clv|ltv|spend)\b")
    if m:
        args["top_value_share"] = float(m.group(1)) / 100
    elif text.take(r"\b(?:most valuable|highest (?:predicted )?value) (?:customers|clients)\b"):
        args["top_value_share"] = 0.1
    m = re.search(r"(?:called|named|name it) ([\w\- ]{2,40})$", text.original)
    if m:
        args["name"] = m.group(1).strip()
    for f in parse_filters(text):
        if f.field == "country" and len(f.values) == 1 and not f.negate:
            args["country"] = f.values[0]
    return ToolIntent("build_audience", args, label="audience")
