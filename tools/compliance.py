"""The compliance check for campaign copy: deterministic rules from prompts/compliance_rules.toml.

`check` returns every finding (rule, severity, field, matched text); a draft with a blocking
finding is not ready. `repair` fixes what can be fixed mechanically: it appends a missing
disclosure, SMS opt-out or email footer (unsubscribe line, sender and postal address), takes
merge fields off a push notification's lock screen and shortens a field that is too long at a
sentence or word boundary. Claims (forbidden wording, protected attributes, personal data) are
not repaired here: the copy is regenerated or replaced by a template instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cache, lru_cache
from typing import Literal

import prompts
from tools.message_length import (
    DISCLOSURE_FIELD,
    LIMITS,
    field_length,
    field_limit,
    fold_to_gsm7,
    sms_count,
    to_gsm7,
)
from warehouse.errors import ConfigError

Severity = Literal["blocking", "warning"]
RULES_FILE = "compliance_rules"
VOICE_FILE = "brand_voice"


@dataclass(frozen=True)
class Finding:
    """One rule a piece of copy breaks."""

    rule: str
    severity: Severity
    message: str
    field: str
    matched: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        quote = f' ("{self.matched}")' if self.matched else ""
        return f"[{self.severity}] {self.rule} in {self.field}{quote}: {self.message}"


@dataclass
class ComplianceReport:
    findings: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.blocking

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "blocking"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def status(self) -> str:
        if not self.findings:
            return "passed"
        if self.passed:
            return f"passed with {len(self.warnings)} warning{'s' * (len(self.warnings) != 1)}"
        return f"blocked ({', '.join(sorted({f.rule for f in self.blocking}))})"

    def to_list(self) -> list[dict]:
        return [f.to_dict() for f in self.findings]


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    severity: Severity
    message: str
    patterns: dict[str, tuple[re.Pattern, ...]]   # language (or "any") -> patterns
    channels: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    triggers: dict[str, tuple[re.Pattern, ...]] = field(default_factory=dict)
    fix: dict[str, str] = field(default_factory=dict)
    unless_dated: Severity | None = None
    max: int = 0

    def applies_to(self, channel: str) -> bool:
        return not self.channels or channel in self.channels

    def language_patterns(self, language: str) -> tuple[re.Pattern, ...]:
        return self.patterns.get(language, ()) + self.patterns.get("any", ())


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    dated: re.Pattern
    avoid: dict[str, tuple[str, ...]]      # language -> brand words to avoid
    versions: dict[str, str]

    def rule(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)


def _compile(rule_id: str, items) -> tuple[re.Pattern, ...]:
    out = []
    for text in items or ():
        try:
            out.append(re.compile(text, re.IGNORECASE))
        except re.error as exc:
            raise ConfigError(f"prompts/{RULES_FILE}.toml, rule {rule_id}: bad pattern "
                              f"{text!r}: {exc}") from exc
    return tuple(out)


_LANG_KEYS = ("any", "en", "de", "fr", "es", "it", "nl")
REQUIRED_KINDS = ("opt_out", "required")     # the channel's legal field must carry a pattern


@cache
def ruleset() -> RuleSet:
    """The rules, compiled once (prompts are data: edit the TOML, not this module)."""
    data, version = prompts.load_data(RULES_FILE)
    voice, voice_version = prompts.load_data(VOICE_FILE)
    rules = []
    for raw in data.get("rule", []):
        rid = raw["id"]
        patterns = {k: _compile(rid, raw[k]) for k in _LANG_KEYS if k in raw}
        if "pattern" in raw:
            patterns["any"] = _compile(rid, [raw["pattern"]])
        rules.append(Rule(
            id=rid, kind=raw["kind"], severity=raw.get("severity", "blocking"),
            message=raw["message"], patterns=patterns,
            channels=tuple(raw.get("channels", ())), products=tuple(raw.get("products", ())),
            triggers={k: _compile(rid, v) for k, v in raw.get("triggers", {}).items()},
            fix=dict(raw.get("fix", {})), unless_dated=raw.get("unless_dated"),
            max=int(raw.get("max", 0)),
        ))
    avoid = {"en": tuple(voice.get("voice", {}).get("avoid", ()))}
    for lang, section in voice.get("voice", {}).items():
        if isinstance(section, dict) and "avoid" in section:
            avoid[lang] = tuple(section["avoid"])
    return RuleSet(tuple(rules), _compile("dated", [data["dated"]])[0], avoid,
                   {RULES_FILE: version, VOICE_FILE: voice_version})


def required_disclosures(fields: dict[str, str], *, language: str,
                         product: str | None) -> list[Rule]:
    """Disclosure rules this copy must satisfy: by its product, or by what it promotes."""
    return list(_disclosures("\n".join(fields.values()), language, product))


@lru_cache(maxsize=16384)
def _disclosures(text: str, language: str, product: str | None) -> tuple[Rule, ...]:
    out = []
    for rule in ruleset().rules:
        if rule.kind != "disclosure" or not rule.patterns.get(language):
            continue
        if product in rule.products or any(p.search(text)
                                           for p in rule.triggers.get(language, ())):
            out.append(rule)
    return tuple(out)


def _length_findings(rule: Rule, channel: str, fields: dict[str, str]) -> list[Finding]:
    out = []
    for name in LIMITS[channel]:
        text = fields.get(name) or ""
        length, limit = field_length(channel, name, text), field_limit(channel, name, text)
        if not text.strip():
            out.append(Finding(rule.id, "blocking", f"{name} is empty", name))
        elif length > limit:
            what = (sms_count(text).describe() if channel == "sms"
                    else f"{length} characters, the limit is {limit}")
            out.append(Finding(rule.id, rule.severity, f"{rule.message}: {what}", name,
                               text[limit:limit + 30]))
    return out


def check(fields: dict[str, str], *, channel: str, language: str,
          product: str | None = None, only: str | None = None) -> ComplianceReport:
    """Every finding for this copy (fields as the channel names them: subject, body, text...).
    `only` limits the per-field rules (length, wording) to one field, for a writer choosing
    that field; the legal rules always look at the whole copy."""
    rs = ruleset()
    findings: list[Finding] = []
    whole = "\n".join(fields.values())
    dated = _dated(whole)
    scanned = {only: fields.get(only, "")} if only is not None else fields
    for rule in rs.rules:
        if not rule.applies_to(channel):
            continue
        if rule.kind == "length":
            findings.extend(f for f in _length_findings(rule, channel, fields)
                            if only is None or f.field == only)
        elif rule.kind in ("forbidden", "brand_words", "max_count"):
            findings.extend(_forbidden(rule, scanned, language, dated, rs))
        elif rule.kind in REQUIRED_KINDS and not satisfied(rule, fields, channel, language):
            findings.append(Finding(rule.id, rule.severity, rule.message,
                                    DISCLOSURE_FIELD[channel]))
    for rule in required_disclosures(fields, language=language, product=product):
        target = DISCLOSURE_FIELD[channel]
        if rule.applies_to(channel) and not any(p.search(fields.get(target, ""))
                                                for p in rule.patterns[language]):
            findings.append(Finding(rule.id, rule.severity, rule.message, target))
    return ComplianceReport(findings)


@lru_cache(maxsize=16384)
def _dated(text: str) -> bool:
    return bool(ruleset().dated.search(text))


def satisfied(rule: Rule, fields: dict[str, str], channel: str, language: str) -> bool:
    """Whether the channel's legal field carries what a required rule asks for (a language
    without patterns for the rule never does: every language with templates has them)."""
    target = fields.get(DISCLOSURE_FIELD[channel], "")
    return any(p.search(target) for p in rule.language_patterns(language))


@cache
def _combined(rule_id: str, language: str) -> re.Pattern | None:
    """One alternation of a forbidden rule's patterns for a language: one search per field.
    The patterns that start at a word boundary share one `\\b`, so the search only tries
    them where a word starts."""
    rs = ruleset()
    rule = rs.rule(rule_id)
    if rule.kind == "brand_words":
        sources = [rf"\b{re.escape(w)}\b" for w in rs.avoid.get(language, ())]
    else:
        sources = [p.pattern for p in rule.language_patterns(language)]
    if not sources:
        return None
    at_word = [s[2:] for s in sources if s.startswith(r"\b")]
    rest = [f"(?:{s})" for s in sources if not s.startswith(r"\b")]
    head = [r"\b(?:" + "|".join(f"(?:{s})" for s in at_word) + ")"] if at_word else []
    return re.compile("|".join(head + rest), re.IGNORECASE)


@lru_cache(maxsize=65536)
def _first(rule_id: str, language: str, text: str) -> tuple[str, ...] | None:
    """The matches of a forbidden rule in one text (cached: drafts re-check the same lines)."""
    pattern = _combined(rule_id, language)
    if pattern is None:
        return None
    if ruleset().rule(rule_id).kind == "max_count":
        return tuple(m.group(0) for m in pattern.finditer(text))
    m = pattern.search(text)
    return (m.group(0),) if m else ()


def _forbidden(rule: Rule, fields: dict[str, str], language: str, dated: bool,
               rs: RuleSet) -> list[Finding]:
    out: list[Finding] = []
    severity = rule.unless_dated if (rule.unless_dated and dated) else rule.severity
    message = rule.message + (" (a date is named: check that the deadline is real)"
                              if severity != rule.severity else "")
    for name, text in fields.items():
        hits = _first(rule.id, language, text)
        if hits is None:
            return out
        if rule.kind == "max_count":
            if len(hits) > rule.max:
                out.append(Finding(rule.id, severity, message, name, "".join(hits)))
        elif hits:
            out.append(Finding(rule.id, severity, message, name, hits[0]))
    return out


def scrub(text: str) -> str:
    """`text` with anything that looks like personal data replaced (for model prompts)."""
    rule = ruleset().rule("personal_data")
    for pattern in rule.patterns.get("any", ()):
        text = pattern.sub("[personal data removed]", text)
    return text


# -- mechanical repairs ------------------------------------------------------------------------
_SENTENCE_END = re.compile(r"(?<=[.!?])(\s+)")
_DANGLING = frozenset((
    "and", "or", "but", "the", "a", "an", "to", "for", "with", "of", "in", "on", "at", "by",
    "any", "your", "our", "my", "this", "that", "these", "every", "all", "some", "their",
    "und", "oder", "aber", "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen",
    "einem", "mit", "für", "von", "zu", "im", "am", "auf", "bei", "ihr", "ihre", "ihren",
    "ihrem", "unser", "unsere", "jede", "jeden", "alle",
))


def shorten(text: str, fits: Callable[[str], bool]) -> str:
    """The longest start of `text` that fits: whole sentences if any fit, else the first
    sentence cut at a clause boundary (or, failing that, a word boundary)."""
    return _shorten(text, fits)[0]


def _shorten(text: str, fits: Callable[[str], bool]) -> tuple[str, str]:
    """(shortened text, where it was cut: "", "sentence", "clause" or "word")."""
    if fits(text):
        return text, ""
    parts = _SENTENCE_END.split(text)
    sentences = ["".join(parts[:i + 1]).rstrip() for i in range(0, len(parts), 2)]
    for candidate in reversed(sentences[:-1]):
        if fits(candidate):
            return candidate, "sentence"
    first = sentences[0] if sentences else text
    stop = "." if first.rstrip()[-1:] in ".!?" else ""
    for m in reversed(list(re.finditer(r"\s*[,;:–]\s|\s+-\s", first))):
        candidate = first[:m.start()].rstrip() + stop
        if fits(candidate):
            return candidate, "clause"
    words = first.split()
    while words:
        words.pop()
        while words and words[-1].lower().strip(",;:–-") in _DANGLING:
            words.pop()
        candidate = " ".join(words).rstrip(",;:–- ")
        if candidate and fits(candidate + stop):
            return candidate + stop, "word"
    return "", "word"


def _fits(channel: str, name: str) -> Callable[[str], bool]:
    return lambda t: field_length(channel, name, t) <= field_limit(channel, name, t)


def _join(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def _paragraphs(*parts: str) -> str:
    return "\n\n".join(p.strip() for p in parts if p and p.strip())


def repair(fields: dict[str, str], *, channel: str, language: str, product: str | None,
           disclosure: str = "", opt_out: str = "", footer: str = ""
           ) -> tuple[dict[str, str], list[str]]:
    """Fix missing disclosures, opt-out and email footer, merge fields on a push notification
    and over-long fields; return the fields and what was done, in words. `disclosure` is the
    product's own legal line for this channel, `opt_out` the SMS opt-out, `footer` the email
    footer (unsubscribe line, sender and postal address)."""
    fields = dict(fields)
    done: list[str] = []
    if channel == "push":
        _off_the_lock_screen(fields, done)
    last = opt_out if channel == "sms" else footer if channel == "email" else ""
    if channel == "sms":
        text = fields.get("text", "")
        if to_gsm7(text) != text and sms_count(to_gsm7(text)).encoding == "GSM-7":
            fields["text"] = to_gsm7(text)
            done.append("replaced typographic characters so the SMS stays in GSM-7 (160, not "
                        "70 characters)")
        elif fold_to_gsm7(text) != text:
            fields["text"] = fold_to_gsm7(text)
            done.append("wrote accented letters outside GSM-7 without their accents so the SMS "
                        "stays one message (160, not 70 characters)")
    for _ in range(2):  # shortening may cut a disclosure the copy wrote in its own words
        _add_legal_text(fields, done, channel, language, product, disclosure, last)
        for name in LIMITS[channel]:
            text = fields.get(name) or ""
            fits = _fits(channel, name)
            if fits(text):
                continue
            keep = _legal_tail(text, disclosure, last) if name == DISCLOSURE_FIELD[channel] \
                else ""
            main = text[:len(text) - len(keep)] if keep else text
            join = _paragraphs if channel == "email" else _join
            main, cut = _shorten(main.rstrip(), lambda t, k=keep, f=fits, j=join: f(j(t, k)))
            fields[name] = join(main, keep)
            note = f"shortened the {name} to fit the {channel} limit" + (
                " (cut between words: check that it still reads well)" if cut == "word" else "")
            if note not in done:
                done.append(note)
    return fields, done


_MERGE_ON_LOCK_SCREEN = re.compile(r"\s*\{\{[^{}]*\}\}")


def _off_the_lock_screen(fields: dict[str, str], done: list[str]) -> None:
    """Push notifications show on the lock screen: no merge field (not even a first name)."""
    for name, value in list(fields.items()):
        if "{{" not in value:
            continue
        cleaned = _MERGE_ON_LOCK_SCREEN.sub("", value)
        cleaned = re.sub(r",\s*([.,!?:;])", r"\1", cleaned)
        cleaned = re.sub(r"\s+", " ", cleaned).strip(" ,")
        fields[name] = cleaned[:1].upper() + cleaned[1:]
        note = "took the merge fields off the push notification (it shows on the lock screen)"
        if note not in done:
            done.append(note)


def _add_legal_text(fields: dict[str, str], done: list[str], channel: str, language: str,
                    product: str | None, disclosure: str, last: str) -> None:
    """Add missing disclosures, then what must come last (SMS opt-out, email footer)."""
    target = DISCLOSURE_FIELD[channel]
    tail: list[str] = []
    for rule in required_disclosures(fields, language=language, product=product):
        if not rule.applies_to(channel):
            continue
        text = disclosure if (product in rule.products and disclosure) else rule.fix.get(language)
        ok = any(p.search(fields.get(target, "")) for p in rule.patterns[language])
        if text and not ok and text not in tail:
            tail.append(text)
            done.append(f"added the {rule.id.replace('_', ' ')} disclosure")
    missing_last = bool(last) and any(
        rule.kind in REQUIRED_KINDS and rule.applies_to(channel)
        and not satisfied(rule, fields, channel, language) for rule in ruleset().rules)
    if not tail and not missing_last:
        return
    text = fields.get(target, "").rstrip()
    has_last = bool(last) and text.endswith(last)
    if has_last:
        text = text[:-len(last)].rstrip()
    join = _paragraphs if channel == "email" else _join
    fields[target] = join(text, *tail, last if (has_last or missing_last) else "")
    if missing_last and not has_last:
        done.append("added the opt-out" if channel == "sms" else
                    "added the email footer (unsubscribe line, sender and postal address)")


def _legal_tail(text: str, disclosure: str, last: str) -> str:
    """The disclosure and final legal text at the end of `text` that shortening must keep."""
    pieces = [p for p in (disclosure, last) if p and p in text]
    if not pieces:
        return ""
    start = min(text.rfind(p) for p in pieces)
    return text[start:]
