"""How the six languages name what a copy request asks for: channel, product, intent, tone,
event, language; which language a request is written in; and requests for claims no copy may
make (guaranteed returns, risk-free crypto, pressure to borrow), with the rule they break.

The words are data (the `[words]` section of prompts/copy_templates/<language>.toml), matched on
normalised text (lower case, hyphens and punctuation as spaces). The offline planner reads copy
requests with these words (assistant/planner/copy_request.py) and the copy tools read a free-text
goal with them, so "one meaning per word" holds for both.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from tools.compliance import ruleset
from tools.copy_library import supported_languages, text

# Rules a request can ask to break, in the order they are checked.
REQUEST_RULES = ("guaranteed_returns", "no_risk_claim", "credit_pressure", "misleading_urgency",
                 "free_money", "protected_attribute")


def normalise(value: str) -> str:
    """Lower case, straight apostrophes as spaces, hyphens between letters as spaces, no
    punctuation except what numbers need (matches the planner's normalisation)."""
    s = unicodedata.normalize("NFC", value or "").lower()
    s = s.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    s = s.replace("–", "-").replace("—", " ")
    s = re.sub(r"\be-mail", "email", s)
    s = re.sub(r"(?<=[^\W\d_])[-/](?=[^\W\d_])", " ", s)
    s = re.sub(r"[?!;:()\[\]{}\"`*«»¿¡]", " ", s)
    s = re.sub(r"(?<!\d)[.,](?!\d)|(?<=\d)[.,](?!\d)|(?<!\d)[.,](?=\d)", " ", s)
    s = s.replace("'", " ")
    return " " + re.sub(r"\s+", " ", s).strip() + " "


def _wrap(pattern: str) -> str:
    return rf"(?<![\w])(?:{pattern})(?![\w])"


@cache
def _compiled(language: str, *path: str) -> tuple[re.Pattern, ...]:
    items = text(language, "words", *path, default=[])
    return tuple(re.compile(_wrap(p)) for p in items)


def find(value: str, language: str, *path: str) -> re.Match | None:
    """The first match in normalised `value` of the words at `path` (e.g. "channels", "sms")."""
    hits = [m for p in _compiled(language, *path) if (m := p.search(value))]
    return min(hits, key=lambda m: m.start()) if hits else None


def keys(language: str, *path: str) -> list[str]:
    return list(text(language, "words", *path, default={}))


def pick(value: str, language: str, group: str, order: list[str] | None = None
         ) -> tuple[str | None, re.Match | None]:
    """Which key of `group` (channels, products, intents, tones, events, languages) the text
    names; the earliest match wins unless `order` ranks the keys."""
    found = []
    for key in order or keys(language, group):
        m = find(value, language, group, key)
        if m:
            found.append((key, m))
            if order:
                break
    if not found:
        return None, None
    return min(found, key=lambda km: km[1].start())


def detect_language(value: str) -> str:
    """The language a request is written in: the one whose common words it uses most
    (English when none stands out)."""
    s = normalise(value)
    scores = {}
    for lang in supported_languages():
        words = text(lang, "words", "detect", default=[])
        scores[lang] = sum(len(re.findall(_wrap(re.escape(w)), s)) for w in words)
    best = max(scores, key=lambda k: (scores[k], k == "en"))
    return best if scores[best] > scores.get("en", 0) or best == "en" else "en"


def read_goal(goal: str, language: str | None = None) -> dict[str, str]:
    """Product, intent, tone and event a free-text goal names, in any of the languages."""
    s = normalise(goal)
    langs = [language] if language in supported_languages() else []
    langs += [lang for lang in supported_languages() if lang not in langs]
    out: dict[str, str] = {}
    for lang in langs:
        for group, key in (("products", "product"), ("intents", "intent"), ("tones", "tone"),
                           ("events", "event")):
            if key in out:
                continue
            order = PRODUCT_ORDER if group == "products" else INTENT_ORDER \
                if group == "intents" else None
            value, _ = pick(s, lang, group, order)
            if value:
                out[key] = value
    return out


# A loan goal that mentions a card is still a loan; a win-back goal that mentions a product is
# still a win-back.
PRODUCT_ORDER = ["mortgage", "personal_loan", "crypto", "investment", "savings", "credit_card",
                 "checking"]
INTENT_ORDER = ["event_triggered", "welcome", "reactivation", "winback", "upsell", "cross_sell"]


# -- requests for claims no copy may make --------------------------------------------------------
@dataclass(frozen=True)
class ForbiddenRequest:
    rule: str
    matched: str
    language: str


def _negated(before: str, match: str, language: str, inside: bool) -> bool:
    """Whether a claim is negated: by the words just before it ("no guaranteed returns",
    "without saying it is risk-free") or, when `inside`, within it ("a loan email with no
    pressure"; not for claims that are negative themselves, like "without any risk")."""
    last = " " + " ".join(normalise(before).split()[-4:]) + " "
    inner = " " + " ".join(normalise(match).split()[1:]) + " " if inside else "  "
    return any(p.search(last) or p.search(inner) for lang in dict.fromkeys((language, "en"))
               for p in _compiled(lang, "negation"))


def forbidden_request(value: str, language: str | None = None) -> ForbiddenRequest | None:
    """The first rule a request asks to break, or None. Checked with the compliance rules' own
    patterns (every language) and the request phrasings of prompts/copy_templates ("push them
    into a loan"); a claim the request negates ("no guaranteed returns") does not count."""
    s = normalise(value)
    raw = " " + (value or "") + " "
    language = language or detect_language(value)
    langs = [language] + [lang for lang in supported_languages() if lang != language]
    rules = {r.id: r for r in ruleset().rules}
    for rule_id in REQUEST_RULES:
        rule = rules.get(rule_id)
        for lang in langs:
            for source, patterns in ((s, _compiled(lang, "forbidden", rule_id)),
                                     (raw, rule.patterns.get(lang, ()) if rule else ())):
                for p in patterns:
                    m = p.search(source)
                    if m and not _negated(source[:m.start()], m.group(0), lang,
                                          rule_id in ("credit_pressure", "misleading_urgency")):
                        return ForbiddenRequest(rule_id, m.group(0).strip(), language)
    return None


def refusal(found: ForbiddenRequest, segment: int | None = None) -> str:
    """The refusal in the request's language: the rule, why, and what can be written instead
    (with an example request that works)."""
    lang = found.language if found.language in supported_languages() else "en"
    r = text(lang, "refusals")
    item = r[found.rule]
    for_segment = r["for_segment"].replace("${segment}", str(segment)) if segment else ""
    example = item["example"].replace("${for_segment}", for_segment)
    return " ".join([
        r["lead"],
        r["rule"].replace("${rule}", found.rule).replace("${why}", item["why"]),
        r["instead"].replace("${alternative}", item["alternative"]).replace("${example}",
                                                                            example),
    ])
