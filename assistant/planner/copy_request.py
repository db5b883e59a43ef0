"""Copy requests in any of the six languages: "Schreib eine SMS für Segment 2 über das
Tagesgeld", "Écris un email pour le segment 3", "a playful win-back push for customers at risk
of churning", "the welcome email in their languages".

`understand(text)` returns the draft_campaign call (channel, segment, product, intent, tone,
event, language, variants, churn risk), an explained refusal in the request's language when the
request asks for a claim no copy may make, or None when the question is not a copy request.
`refine(text, previous)` reads a follow-up to a draft ("now in French", "make it more playful",
"same as an SMS"). The words are those of tools/copy_words.py (prompts/copy_templates), so the
planner and the copy tools read requests the same way. Called from the planner's tool-intent
layer (intents.tool_intent) and from follow-ups (followups.follow_up) through one line each.
"""

from __future__ import annotations

import re

from assistant.planner.frame import Reply, ToolIntent
from assistant.planner.text import Text
from tools.copy_brief import PRODUCT_LABELS
from tools.copy_library import text
from tools.copy_words import (
    INTENT_ORDER,
    PRODUCT_ORDER,
    detect_language,
    find,
    forbidden_request,
    keys,
    normalise,
    pick,
    refusal,
)

DEFAULT_CHURN_RISK = 0.5     # "at risk of churning": a churn score of at least 50%
ORDINALS = {w: i for i, w in enumerate(("first", "second", "third", "fourth", "fifth", "sixth",
                                         "seventh", "eighth", "ninth", "tenth"), start=1)}
_SEGMENT_WORDS = (r"segments?|segmente|segmento|seg|clusters?|gruppe|groupe|grupo|gruppo|groep"
                  r"|group")
_SEGMENT = re.compile(
    rf"(?<![\w])(?:{_SEGMENT_WORDS})\s*(?:nr|no|number|nummer|numéro|numero|número|n|#)?\s*"
    rf"(\d+)(?![\w])|(?<![\w])(\d+)(?:st|nd|rd|th|e|er|ème|º|°)?\s+(?:{_SEGMENT_WORDS})(?![\w])"
    rf"|(?<![\w])(?:the )?({'|'.join(ORDINALS)}) (?:{_SEGMENT_WORDS})(?![\w])")
# Words that make a channel word a request for copy even without a verb ("Push für Segment 1")
_FOR = r"(?:for|to|für|an|pour|à|aux|para|a|per|ai|alle|voor|aan|naar)"
_NOT_COPY = (r"\baudiences?\b|\bzielgruppe\w*|\bpublic cible\b|\baudiencia\b|\bpubblico\b"
             r"|\bdoelgroep\w*|\bmailing list\b|\bcontact list\b|\b(a|an) ?b ?test\b|\bab test\b"
             r"|\bsplit test\b|\bsamples?\b|\blift\b|\bholdout\b|\bdrafts\b"
             r"|\b(my|the|saved|approve|export|show|list) drafts?\b|\bentw(ü|u)rfe\b|\bbrouillons\b"
             r"|\bborradores\b|\bbozze\b|\bconcepten\b"
             r"|\bsend (the|our|that|this|draft)\b"      # a rule sending an existing draft
             r"|\btrigger rules?\b|\b(fired|skipped)\b|\b(set up|create|add|new|pause|resume)"
             r"( an?| the| our)?( \w+){0,2} (triggers?|rules?|automations?)\b")


# A question about channels ("do customers in segment 2 prefer SMS?"), not a request for copy
# a question for the best or worst of something asks for a ranking, not for copy
_SUPERLATIVE = (r"\b(best|worst|highest|lowest|most|least|top|beste\w*|schlechteste\w*"
                r"|höchste\w*|meilleure?s?|pire|mejor(es)?|peor(es)?|miglior[ei]?|peggior[ei]?"
                r"|slechtste|hoogste)\b")

_QUESTION = (r"\s*(what|which|who|how|do|does|did|is|are|was|were|why|when|where|has|have"
             r"|welche\w*|was|wer|wie|wo|warum|gibt|hat|haben|ist|sind|quel\w*|qui|combien"
             r"|est ce|pourquoi|comment|où|qué|que|cuál\w*|quién\w*|cómo|dónde|por qué|hay"
             r"|quale|quali|chi|come|dove|perché|quant\w*|welke|wat|hoe|waar|waarom|heeft"
             r"|hebben|zijn)\b")


def _languages(lang: str) -> list[str]:
    """The request's language first, then English (channel names and loanwords)."""
    return list(dict.fromkeys((lang, "en")))


def _first(s: str, langs: list[str], group: str, order: list[str] | None = None):
    for lang in langs:
        key, m = pick(s, lang, group, order)
        if key:
            return key, m
    return None, None


def _has(s: str, langs: list[str], *path: str) -> re.Match | None:
    for lang in langs:
        m = find(s, lang, *path)
        if m:
            return m
    return None


# Events that only ever mean a moment to react to ("customers who started a loan application
# and did not finish it"); the others ("abroad", "salary") need a word like "when" as well.
SELF_EVENTS = ("application_started", "product_viewed", "back_after_break")


def _self_event(s: str, langs: list[str]) -> bool:
    return _first(s, langs, "events")[0] in SELF_EVENTS


def is_copy_request(question: str) -> bool:
    """Whether the question asks for campaign copy (in any of the six languages)."""
    s = normalise(question)
    langs = _languages(detect_language(question))
    channel, _ = _first(s, langs, "channels")
    if channel is None or re.search(_NOT_COPY, s):
        return False
    if _has(s, langs, "write"):
        return True
    question = re.match(_QUESTION, s)
    intent, _ = _first(s, langs, "intents")
    if intent == "event_triggered" or _self_event(s, langs):  # not "which triggers fired?"
        intent = _first(s, langs, "events")[0]
        if intent and not question:     # "SMS for customers who just received their salary"
            return True
    if _has(s, langs, "analytics"):
        return False
    if question and re.search(_SUPERLATIVE, s):     # "which SMS campaign converted best?"
        return False
    if _has(s, langs, "ask"):
        return True
    if intent or _first(s, langs, "tones")[0]:
        return True
    if re.search(rf"^\s*(?:\w+ ){{0,3}}\S+ {_FOR} ", s) and _SEGMENT.search(s):
        return True
    if not question and (_SEGMENT.search(s) or _first(s, langs, "products")[0]):
        return True     # "Un email sur le prêt personnel pour le segment 4"
    return bool(re.search(r"\b(copy|text|texte|testo|tekst|texto|message|nachricht|mensaje"
                          r"|messaggio|bericht|kampagne|campagne|campaña|campagna|campaign)\b", s))


def _segment(text_: Text) -> int | None:
    m = _SEGMENT.search(text_.s)
    if not m:
        return None
    text_.take(re.escape(m.group(0)))
    word = next(g for g in m.groups() if g)
    return ORDINALS.get(word) or int(word)


def _language(s: str, langs: list[str]) -> str | None:
    """A language named for the copy ("in French", "auf Französisch", "en espagnol"), "all"
    for the customers' own languages, or None."""
    for lang in langs:
        if find(s, lang, "their_languages"):
            return "all"
    channels = "|".join(p for lang in langs for ch in keys(lang, "channels")
                        for p in text(lang, "words", "channels", ch))
    for lang in langs:
        frames = text(lang, "words", "language_frames", default=[])
        for code in keys(lang, "languages"):
            names = "|".join(text(lang, "words", "languages", code))
            for frame in frames:
                pattern = frame.replace("${name}", f"(?:{names})")
                if "${name}" in frame and frame.strip() == "${name}":
                    pattern = f"(?:{names})(?: language)? (?:{channels})"
                elif "${channel}" in frame:
                    pattern = pattern.replace("${channel}", f"(?:{channels})")
                if re.search(rf"(?<![\w]){pattern}(?![\w])", s):
                    return code
    return None


def _variants(s: str, langs: list[str]) -> int | None:
    for lang in langs:
        for p in text(lang, "words", "variants", default=[]):
            m = re.search(rf"(?<![\w]){p.replace(' (', ' (?:[^ ]+ ){0,3}(', 1)}(?![\w])", s)
            if m:
                return max(1, min(int(m.group(1)), 4))
    return None


def understand(text_: Text, parse_filters=None) -> ToolIntent | Reply | None:
    """The draft_campaign call a copy request asks for, an explained refusal, or None."""
    question = text_.raw
    if not is_copy_request(question):
        found = forbidden_request(question)
        if found is None or not _asks_for_words(question):
            return None
        return Reply(refusal(found, _segment(Text(question))))
    lang = detect_language(question)
    langs = _languages(lang)
    s = normalise(question)
    found = forbidden_request(question, lang)
    if found is not None:
        return Reply(refusal(found, _segment(Text(question))))
    args: dict = {}
    channel, _ = _first(s, langs, "channels")
    args["channel"] = channel
    sid = _segment(text_)
    if sid is not None:
        args["segment_id"] = sid
    product, product_at = _first(s, langs, "products", PRODUCT_ORDER)
    intent, _ = _first(s, langs, "intents", INTENT_ORDER)
    if _self_event(s, langs):
        intent = "event_triggered"
    if intent == "event_triggered":
        event, event_at = _first(s, langs, "events")
        if event:
            args["event"] = event
            if product_at and event_at.start() <= product_at.start() < event_at.end():
                product = None        # "card" in "card payment abroad" names the event
        else:       # "for the first time" without an event: the request's other intent
            intent, _ = _first(s, langs, "intents", INTENT_ORDER[1:])
    if _has(s, langs, "at_risk"):
        args["min_churn_risk"] = DEFAULT_CHURN_RISK
        intent = intent or "winback"
    if intent is not None and intent != "cross_sell":   # cross-selling is the default
        args["intent"] = intent
    if product is not None:
        args["product"] = product
    tone, _ = _first(s, langs, "tones")
    if tone:
        args["tone"] = tone
    language = _language(s, langs)
    if language is None and lang != "en":
        language = lang          # "Schreib eine SMS ...": German copy
    if language:
        args["language"] = language
    variants = _variants(s, langs)
    if variants:
        args["variants"] = variants
    for m in re.finditer(_SEGMENT, text_.s):   # a second segment: not understood, never dropped
        text_.take(re.escape(m.group(0)))
        return Reply("Offline planner: copy is written for one segment at a time, and I would "
                     "rather not pick one for you. Ask for each segment in turn, e.g. \"write an "
                     f"email for segment {sid} about savings\".")
    what = PRODUCT_LABELS.get(product, "") if product else ""
    return ToolIntent("draft_campaign", args, label=f"campaign copy{' ' + what if what else ''}")


def _asks_for_words(question: str) -> bool:
    """A request for wording without a channel ("promise them guaranteed returns")."""
    s = normalise(question)
    langs = _languages(detect_language(question))
    return bool(_has(s, langs, "write") or re.search(
        r"\b(promis\w*|versprech\w*|verspr\w*|promet\w*|prometer|promettere|beloof\w*|tell\w*"
        r"|say\w*|stat\w*|sag\w*|dis|diga\w*|d[ií]\w*|zeg\w*|claim\w*)\b", s))


def refine(text_: Text, previous: ToolIntent) -> ToolIntent | None:
    """A follow-up to a draft: another language, tone, channel, product or segment, "in their
    languages", more variants. None when the question is not one."""
    if previous.tool != "draft_campaign":
        return None
    question = text_.raw
    lang = detect_language(question)
    langs = _languages(lang)
    s = normalise(question)
    if len(s.split()) > 9 and is_copy_request(question):
        return None          # a new request in full
    found = forbidden_request(question, lang)
    if found is not None:
        return None
    args = dict(previous.args)
    changed = False
    language = _language(s, langs) or _bare_language(s, langs)
    if language:
        args["language"], changed = language, True
    tone, _ = _first(s, langs, "tones")
    if tone:
        args["tone"], changed = tone, True
    channel, _ = _first(s, langs, "channels")
    if channel:
        args["channel"], changed = channel, True
    product, _ = _first(s, langs, "products", PRODUCT_ORDER)
    if product:
        args["product"], changed = product, True
    sid = _segment(Text(question))
    if sid is not None:
        args["segment_id"], changed = sid, True
    variants = _variants(s, langs)
    if variants:
        args["variants"], changed = variants, True
    return ToolIntent("draft_campaign", args, label=previous.label) if changed else None


def _bare_language(s: str, langs: list[str]) -> str | None:
    """'now in French', 'and German?': a language name alone, in a follow-up."""
    for lang in langs:
        for code in keys(lang, "languages"):
            for name in text(lang, "words", "languages", code):
                if re.search(rf"(?<![\w])(?:{name})(?![\w])", s):
                    return code
    return None


__all__ = ["is_copy_request", "refine", "understand"]
