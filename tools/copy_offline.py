"""Campaign copy without a language model: the brief every draft starts from, and the templates.

`plan` turns a segment card and the marketer's request into a `Brief`: language, product, intent
(promote a product or win customers back), theme (what the card says these customers care
about), the angle of each variant, the market's currency and the true numbers social proof may
use. Both writers work from it: the model gets it in its prompt, and `write` fills the template
library (prompts/copy_library.toml) with it, choosing for each field the first candidate that
passes the compliance check.
"""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

import prompts
from tools.compliance import check
from tools.message_length import CHANNELS, LIMITS
from tools.segment_card import SegmentCard
from warehouse.contract import PRODUCTS
from warehouse.errors import ConfigError, InvalidArgument
from warehouse.reference_data import LANGUAGE as COUNTRY_LANGUAGE

LIBRARY_FILE = "copy_library"
VOICE_FILE = "brand_voice"
MOST_HOLD = 0.6          # a default product most of the segment holds already is skipped
MIN_PEER_SHARE = 0.2     # social proof from the segment's holdings needs at least 2 in 10
MIN_OPENERS = 100        # ... or at least this many recent openers across the bank
MAX_VARIANTS = 4
MIN_THEME_SCORE = 1.0    # weaker evidence than one strong trait or one word: the general theme
LANGUAGE_NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish",
                  "it": "Italian", "nl": "Dutch"}


@cache
def library() -> tuple[dict[str, Any], str]:
    return prompts.load_data(LIBRARY_FILE)


@cache
def voice() -> tuple[dict[str, Any], str]:
    return prompts.load_data(VOICE_FILE)


def supported_languages() -> tuple[str, ...]:
    return tuple(library()[0]["languages"])


@dataclass
class Proof:
    """True numbers social proof may use; None when not known."""

    share: float | None = None    # share of the segment holding the product
    openers: int | None = None    # customers who opened the product in the last 90 days


@dataclass
class Brief:
    """What to write: decided once, used by the model prompt and by the templates alike."""

    card: SegmentCard
    channel: str
    language: str
    product: str
    intent: Literal["product", "winback"]
    theme: str
    angles: list[str]
    register: Literal["friendly", "formal"]
    currency: str
    goal: str | None = None
    tone: str | None = None
    proof: Proof = field(default_factory=Proof)
    notes: list[str] = field(default_factory=list)

    @property
    def theme_named(self) -> bool:
        """True when the card's own words confirm the theme (so its peer name is true)."""
        words = library()[0]["themes"][self.theme]["peer_words"]
        return bool(_words_in(f"{self.card.name} {self.card.description}", words))

    @property
    def language_name(self) -> str:
        return LANGUAGE_NAMES.get(self.language, self.language)


# -- deciding the brief ------------------------------------------------------------------------
def _words_in(text: str, words) -> list[str]:
    text = text.lower()
    return [w for w in words if w in text]


def pick_theme(card: SegmentCard) -> str:
    """The library theme the card's traits and words point to most ('general' if none)."""
    themes = library()[0]["themes"]
    text = f"{card.name} {card.description}"
    labels = " ".join(t.label for t in card.traits)
    scores: dict[str, float] = {}
    for key, theme in themes.items():
        score = 0.0
        for rank, trait in enumerate(card.traits):
            for spec in theme["features"]:
                name, sign = spec[:-1], spec[-1]
                if trait.feature == name and (trait.effect_size > 0) == (sign == "+"):
                    score += min(abs(trait.effect_size), 3.0) / (1 + 0.15 * rank)
        score += 2.0 * len(_words_in(text, theme["words"]))
        score += 0.5 * len(_words_in(labels, theme["words"]))
        scores[key] = score
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] >= MIN_THEME_SCORE else "general"


def _intent(card: SegmentCard, goal: str | None) -> Literal["product", "winback"]:
    words = library()[0]["goals"]["winback"]
    if goal and _words_in(goal, words):
        return "winback"
    if _words_in(f"{card.name} {card.description}", words):
        return "winback"
    lapsed = any(t.feature == "days_since_last_transaction" and t.effect_size >= 1.0
                 for t in card.traits[:3])
    return "winback" if lapsed and not goal else "product"


def _product(card: SegmentCard, theme: str, intent: str, goal: str | None,
             product: str | None, notes: list[str]) -> str:
    if product is not None:
        held = card.products.get(product, 0.0)
        if held >= MOST_HOLD:
            notes.append(f"{held:.0%} of these customers already hold {_a(product)}: "
                         "leave holders out of the audience")
        return product
    goals = library()[0]["goals"]["products"]
    if goal:
        for name in goals["order"]:
            if _words_in(f" {goal} ", goals[name]):
                return name
    if intent == "winback":
        return "checking"
    options = library()[0]["themes"][theme]["products"]
    # A current account is promoted for use (activation), so holding one does not rule it out.
    chosen = next((p for p in options
                   if p == "checking" or card.products.get(p, 0.0) < MOST_HOLD),
                  min(options, key=lambda p: card.products.get(p, 0.0)))
    if chosen != options[0]:
        held = "; ".join(f"{card.products.get(p, 0.0):.0%} of these customers already hold "
                         f"{_a(p)}" for p in options[:options.index(chosen)])
        notes.append(f"promoting {_a(chosen)}: {held}")
    return chosen


PRODUCT_LABELS = {"checking": "current account", "savings": "savings account",
                  "credit_card": "credit card", "personal_loan": "personal loan",
                  "mortgage": "mortgage", "investment": "investment plan",
                  "crypto": "crypto account"}


def _label(product: str) -> str:
    return PRODUCT_LABELS.get(product, product.replace("_", " "))


def _a(product: str) -> str:
    label = _label(product)
    return f"{'an' if label[0] in 'aeio' else 'a'} {label}"


def _language(card: SegmentCard, language: str | None, notes: list[str]) -> str:
    supported = supported_languages()
    if language is not None:
        language = language.strip().lower()[:2]
        if language in supported:
            return language
        notes.append(f"no {LANGUAGE_NAMES.get(language, language)} templates or compliance "
                     "rules yet: written in English; have it translated and checked")
        return "en"
    if not card.languages:
        return "en"
    ranked = sorted(card.languages.items(), key=lambda kv: -kv[1])
    top, share = ranked[0]
    chosen = top if top in supported else "en"
    if chosen != top:
        notes.append(f"most of these customers prefer {LANGUAGE_NAMES.get(top, top)} "
                     f"({share:.0%}), "
                     "which has no templates or compliance rules yet: written in English")
    covered = card.languages.get(chosen, 0.0)
    others = [f"{LANGUAGE_NAMES.get(k, k)} {v:.0%}" for k, v in ranked if k != chosen and v >= 0.1]
    if covered < 0.6 and others:
        notes.append(f"{LANGUAGE_NAMES.get(chosen, chosen)} is preferred by {covered:.0%} of "
                     f"these customers; consider versions for {', '.join(others)}")
    return chosen


def _uses_amounts(product: str, language: str) -> bool:
    facts = voice()[0]["products"][product][language]
    terms = library()[0]["products"][product].get("terms", {}).get(language, {})
    return "${cur}" in str(facts) + str(terms)


def _currency(card: SegmentCard, language: str, product: str, notes: list[str]) -> str:
    """The currency of the market where most of the language's speakers in the card bank."""
    symbols = voice()[0]["currency"]
    weight: dict[str, float] = {}
    for country, share in card.countries.items():
        main, (alt, alt_share) = COUNTRY_LANGUAGE.get(country, ("", ("", 0.0)))
        w = share * (1.0 if main == language else alt_share if alt == language else 0.0)
        if country in symbols and w > 0:
            weight[symbols[country]] = weight.get(symbols[country], 0.0) + w
    if not weight:
        for country, share in card.countries.items():
            if country in symbols:
                weight[symbols[country]] = weight.get(symbols[country], 0.0) + share
    if not weight:
        return "€"
    chosen = max(weight, key=lambda k: weight[k])
    covered = weight[chosen] / sum(weight.values())
    if covered < 0.7 and _uses_amounts(product, language):
        others = ", ".join(k for k in weight if k != chosen)
        notes.append(f"amounts are in {chosen}, the currency of {covered:.0%} of these "
                     f"{LANGUAGE_NAMES.get(language, language)} speakers; others bank in "
                     f"{others}: make a version per market")
    return chosen


def _register(tone: str | None, notes: list[str]) -> Literal["friendly", "formal"]:
    if not tone:
        return "friendly"
    tones = voice()[0]["tones"]
    words = tone.lower()
    if any(w in words for w in tones["formal"]):
        return "formal"
    if not any(w in words for w in tones["friendly"]):
        notes.append(f"the templates know friendly and formal tones; '{tone}' was written in the "
                     "friendly brand voice")
    return "friendly"


def _angles(theme: str, product: str, language: str, proof: Proof, variants: int,
            notes: list[str]) -> list[str]:
    lib = library()[0]
    avoid = set(lib["products"][product].get("avoid", ()))
    overrides = lib["themes"][theme].get(language, {}).get(product, {})
    out = []
    for angle in lib["themes"][theme]["angles"]:
        if angle == "social_proof":
            if (proof.share or 0) >= MIN_PEER_SHARE and angle not in avoid:
                pass
            elif (proof.openers or 0) >= MIN_OPENERS and "social_proof_recent" not in avoid:
                angle = "social_proof_recent"
            else:
                continue
        elif angle in avoid and angle not in overrides:
            continue
        out.append(angle)
    if variants > len(out):
        notes.append(f"{len(out)} responsible angle{'s' * (len(out) != 1)} for "
                     f"{_label(product)} here, so {len(out)} variant{'s' * (len(out) != 1)} "
                     f"instead of {variants}")
    return out[:variants]


def plan(card: SegmentCard, *, channel: str, goal: str | None = None, product: str | None = None,
         tone: str | None = None, language: str | None = None, variants: int = 2,
         openers: dict[str, int] | None = None) -> Brief:
    """Decide what to write for this card and request. `openers` maps products to the number
    of customers who opened one in the last 90 days (for social proof); optional."""
    if channel not in CHANNELS:
        raise InvalidArgument(f"unknown channel {channel!r}; use one of {', '.join(CHANNELS)}")
    if product is not None and product not in PRODUCTS:
        raise InvalidArgument(f"unknown product {product!r}; use one of {', '.join(PRODUCTS)}")
    if not 1 <= variants <= MAX_VARIANTS:
        raise InvalidArgument(f"variants must be between 1 and {MAX_VARIANTS}, not {variants}")
    notes: list[str] = []
    theme = pick_theme(card)
    intent = _intent(card, goal)
    product = _product(card, theme, intent, goal, product, notes)
    lang = _language(card, language, notes)
    proof = Proof(share=card.products.get(product), openers=(openers or {}).get(product))
    return Brief(
        card=card, channel=channel, language=lang, product=product, intent=intent, theme=theme,
        angles=_angles(theme, product, lang, proof, variants, notes),
        register=_register(tone, notes), currency=_currency(card, lang, product, notes), goal=goal,
        tone=tone,
        proof=proof, notes=notes,
    )


# -- filling the templates ---------------------------------------------------------------------
def _fill(text: str, values: dict[str, str], where: str) -> str:
    try:
        return string.Template(text).substitute(values)
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"prompts/{LIBRARY_FILE}.toml, {where}: cannot fill {exc}") from exc


def _number(n: int, language: str) -> str:
    text = f"{n:,}"
    return text.replace(",", ".") if language == "de" else text


def _share_phrase(share: float, language: str) -> str:
    words = library()[0]["channels"][language]
    tenths = share * 10
    n = round(tenths)
    key = "share_nearly" if tenths < n - 0.05 else "share_more" if tenths > n + 0.05 else "share"
    if key == "share_more":
        n = math.floor(tenths)
    return string.Template(words[key]).substitute(n=n)


def _openers_phrases(openers: int, language: str) -> tuple[str, str]:
    words = library()[0]["channels"][language]
    digits = len(str(openers)) - 2
    rounded = openers // 10 ** max(digits, 0) * 10 ** max(digits, 0)  # two significant digits
    n = _number(rounded, language)
    return (string.Template(words["openers"]).substitute(n=n),
            string.Template(words["openers_n"]).substitute(n=n))


def product_facts(product: str, language: str, currency: str) -> dict[str, Any]:
    """Name, facts and disclosures of a product in a language, amounts in `currency`."""
    facts = voice()[0]["products"][product][language]
    cur = {"cur": currency}
    return {
        "name": facts["name"],
        "facts": [_fill(f, cur, f"{product} facts") for f in facts["facts"]],
        "disclosure": _fill(facts["disclosure"], cur, f"{product} disclosure"),
        "disclosure_short": _fill(facts["disclosure_short"], cur, f"{product} disclosure"),
    }


def angle_lines(brief: Brief, angle: str) -> dict[str, str]:
    """Headline, line and detail of one angle for the brief, filled (theme overrides first)."""
    lib = library()[0]
    lang = brief.language
    product = lib["products"][brief.product]
    theme = lib["themes"][brief.theme][lang]
    base = dict(product[lang].get(angle, {}))
    base.update(theme.get(brief.product, {}).get(angle, {}))
    if not base:
        raise ConfigError(f"prompts/{LIBRARY_FILE}.toml has no {angle} lines for "
                          f"{brief.product} in {lang}")
    values = _base_values(brief)
    out = {k: _capitalize(_fill(v, values, f"{brief.product}.{lang}.{angle}.{k}"))
           for k, v in base.items()}
    out.setdefault("headline_short", out["headline"])
    out.setdefault("line_short", out["line"])
    popular = lib["channels"][lang]["popular"]
    out["headline_min"] = (_fill(popular, values, f"channels.{lang}.popular")
                           if angle.startswith("social_proof") else out["headline_short"])
    return out


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def theme_text(brief: Brief) -> dict[str, Any]:
    """The theme's words in the brief's language; behaviour-only themes use their
    `unconfirmed` lines (a need, not an identity)."""
    theme = dict(library()[0]["themes"][brief.theme][brief.language])
    unconfirmed = theme.pop("unconfirmed", {})
    if not brief.theme_named:
        theme.update(unconfirmed)
    return theme


def _base_values(brief: Brief) -> dict[str, str]:
    lib = library()[0]
    lang = brief.language
    theme = theme_text(brief)
    cur = {"cur": brief.currency}
    values = {"cur": brief.currency,
              "product_name": voice()[0]["products"][brief.product][lang]["name"]}
    for key in ("moment", "save_goal"):
        values[key] = theme[key]
    named = brief.theme_named
    for key in ("peers", "peers_short"):
        values[key] = theme[key] if named else lib["channels"][lang][key]
    for key, text in lib["products"][brief.product].get("terms", {}).get(lang, {}).items():
        values[key] = _fill(text, cur, f"{brief.product} terms")
    if brief.proof.share is not None:
        values["share"] = _share_phrase(brief.proof.share, lang)
    if brief.proof.openers:
        values["openers"], values["openers_n"] = _openers_phrases(brief.proof.openers, lang)
    values.update({k: v for k, v in cur.items()})
    return values


def _sentence(text: str) -> str:
    return text if text[-1:] in ".?!" else text + "."


def _tidy(text: str) -> str:
    """Collapse spaces left by empty slots; start every sentence with a capital letter."""
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" +([.,;:!?])", r"\1", text)
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    # After a full stop only when a word of 3+ letters ends the sentence (not "p. a.", "z. B.")
    text = re.sub(r"(?<=[^\W\d_]{3}[.!?] )([a-zäöü])", lambda m: m[1].upper(), text)
    return re.sub(r"(^|\n)([a-zäöü])", lambda m: m[1] + m[2].upper(), text)


def slots(brief: Brief, angle: str) -> dict[str, str]:
    """Every value a channel template may use for this angle."""
    lib = library()[0]
    lang = brief.language
    lines = angle_lines(brief, angle)
    lang_voice = voice()[0]["languages"][lang]
    facts = product_facts(brief.product, lang, brief.currency)
    theme = theme_text(brief)
    product_text = lib["products"][brief.product][lang]
    values = _base_values(brief)
    formal = brief.register == "formal"
    values.update(lines)
    values.update({
        "headline_sentence": _sentence(lines["headline"]),
        "greeting": lang_voice["greeting_formal" if formal else "greeting"],
        "sign_off": lang_voice["sign_off_formal" if formal else "sign_off"],
        "prefix": lang_voice["sms_prefix"],
        "opt_out": lang_voice["opt_out"],
        "app_cta": lang_voice["app_cta"],
        "opening": theme["opening_winback" if brief.intent == "winback" else "opening"],
        "facts_intro": lib["channels"][lang]["facts_intro"],
        "facts": "\n".join(f"- {f}" for f in facts["facts"]),
        "disclosure": facts["disclosure"],
        "disclosure_short": facts["disclosure_short"],
    })
    for key in ("cta", "cta_short", "next_step"):
        values[key] = _fill(product_text[key], values, f"{brief.product}.{lang}.{key}")
    if angle == "simplicity":  # its detail already says how easy it is: do not repeat it
        values["next_step"] = lib["channels"][lang]["next_step_simplicity"]
    return values


def write(brief: Brief, angle: str) -> dict[str, str]:
    """The copy for one angle: per field, the first template candidate that passes."""
    templates = library()[0]["channels"][brief.language][brief.channel]
    values = slots(brief, angle)
    fields: dict[str, str] = {}
    for name in LIMITS[brief.channel]:
        candidates = [_tidy(_fill(t, values, f"channels.{brief.language}.{brief.channel}.{name}"))
                      for t in templates[name]]
        chosen = candidates[0]
        for text in candidates:
            report = check({**fields, name: text}, channel=brief.channel,
                           language=brief.language, product=brief.product)
            if not [f for f in report.blocking if f.field == name]:
                chosen = text
                break
        fields[name] = chosen
    return fields


def versions() -> dict[str, str]:
    return {LIBRARY_FILE: library()[1], VOICE_FILE: voice()[1]}
