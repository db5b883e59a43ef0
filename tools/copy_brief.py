"""The brief every draft starts from: who it is for, why it is sent, how it sounds, in which
language and currency, about which product, and the angle of each A/B variant.

`plan` turns a segment card and the marketer's request into a `Brief`; `plan_editions` makes one
brief per edition when the audience spans languages ("in their languages") or currencies (a
version per market, so nobody reads amounts in a currency they do not bank in). Both writers work
from the brief: the model gets it in its prompt (tools/copy_prompt.py) and the offline templates
fill it (tools/copy_offline.py). Every decision the request did not make, and every fallback, is
written into `notes` in words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tools.copy_library import (
    events,
    intents,
    language_name,
    library,
    supported_languages,
    text,
    tones,
    voice,
)
from tools.copy_words import normalise, read_goal
from tools.message_length import CHANNELS
from tools.segment_card import SegmentCard
from warehouse.contract import PRODUCTS
from warehouse.errors import InvalidArgument
from warehouse.reference_data import LANGUAGE as COUNTRY_LANGUAGE

MOST_HOLD = 0.6          # a default product most of the segment holds already is skipped
MIN_PEER_SHARE = 0.2     # social proof from the segment's holdings needs at least 2 in 10
MIN_OPENERS = 100        # ... or at least this many recent openers across the bank
MAX_VARIANTS = 4
MIN_THEME_SCORE = 1.0    # weaker evidence than one strong trait or one word: the general theme
MIN_LANGUAGE_SHARE = 0.05   # "in their languages": a version for each language this common
MIN_MARKET_SHARE = 0.10     # a version per currency this common among the language's speakers
MAX_EDITIONS = 12
DEFAULT_TONE = "warm"    # the brand voice: clear, warm and confident
ALL_LANGUAGES = ("all", "their", "theirs", "their languages", "each", "every", "*")
TONE_NAMES = {"urgent without pressure": "urgent", "urgent-without-pressure": "urgent",
              "urgent_without_pressure": "urgent"}
INTENT_NAMES = {"win-back": "winback", "win_back": "winback", "win back": "winback",
                "onboarding": "welcome", "cross-sell": "cross_sell", "cross sell": "cross_sell",
                "up-sell": "upsell", "up sell": "upsell", "event": "event_triggered",
                "triggered": "event_triggered", "event-triggered": "event_triggered",
                "re-engagement": "reactivation", "reengagement": "reactivation",
                "product": "cross_sell", "promotion": "cross_sell"}
CREDIT = ("personal_loan", "mortgage", "credit_card")
PRODUCT_LABELS = {"checking": "current account", "savings": "savings account",
                  "credit_card": "credit card", "personal_loan": "personal loan",
                  "mortgage": "mortgage", "investment": "investment plan",
                  "crypto": "crypto account"}


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
    intent: str
    tone: str
    theme: str
    angles: list[str]
    currency: str
    market: tuple[str, ...] = ()   # countries this edition is for (empty: the whole audience)
    event: str | None = None
    goal: str | None = None
    tone_asked: str | None = None
    proof: Proof = field(default_factory=Proof)
    notes: list[str] = field(default_factory=list)
    theme_forced: bool = False     # the event chose the theme, not the card

    @property
    def theme_named(self) -> bool:
        """True when the card's own words confirm the theme (so its peer name is true)."""
        if self.theme_forced:
            return False
        words = library()[0]["themes"][self.theme]["peer_words"]
        return bool(_words_in(f"{self.card.name} {self.card.description}", words))

    @property
    def language_name(self) -> str:
        return language_name(self.language)

    @property
    def edition(self) -> str:
        """Language and market in words, e.g. "English, GB (£)"."""
        market = f", {'/'.join(self.market)} ({self.currency})" if self.market else ""
        return f"{self.language_name}{market}"


# -- deciding the brief ------------------------------------------------------------------------
def _words_in(value: str, words) -> list[str]:
    value = value.lower()
    return [w for w in words if w in value]


def pick_theme(card: SegmentCard) -> str:
    """The library theme the card's traits and words point to most ('general' if none)."""
    themes = library()[0]["themes"]
    card_text = f"{card.name} {card.description}"
    labels = " ".join(t.label for t in card.traits)
    scores: dict[str, float] = {}
    for key, theme in themes.items():
        score = 0.0
        for rank, trait in enumerate(card.traits):
            for spec in theme["features"]:
                name, sign = spec[:-1], spec[-1]
                if trait.feature == name and (trait.effect_size > 0) == (sign == "+"):
                    score += min(abs(trait.effect_size), 3.0) / (1 + 0.15 * rank)
        score += 2.0 * len(_words_in(card_text, theme["words"]))
        score += 0.5 * len(_words_in(labels, theme["words"]))
        scores[key] = score
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] >= MIN_THEME_SCORE else "general"


_LAPSED_WORDS = ("lapsing", "lapsed", "churn", "at risk", "falling activity", "leaving")
_DORMANT_WORDS = ("dormant", "inactive", "sleeping", "no recent activity")


def _check_key(value: str | None, known, aliases: dict[str, str], what: str) -> str | None:
    if value is None or not str(value).strip():
        return None
    key = str(value).strip().lower()
    key = aliases.get(key, key).replace("-", "_").replace(" ", "_")
    if key not in known:
        raise InvalidArgument(f"unknown {what} {value!r}; use one of {', '.join(known)}")
    return key


def _intent(card: SegmentCard, asked: str | None, event: str | None, goal: dict[str, str],
            product: str | None, theme: str) -> str:
    if asked:
        return asked
    if event:
        return events()[event]["intent"]
    if goal.get("intent"):
        return goal["intent"]
    words = f"{card.name} {card.description}".lower()
    if any(w in words for w in _DORMANT_WORDS):
        return "reactivation"
    lapsed = any(t.feature == "days_since_last_transaction" and t.effect_size >= 1.0
                 for t in card.traits[:3])
    if any(w in words for w in _LAPSED_WORDS) or (lapsed and not product):
        return "winback"
    if theme == "newcomer" and not product:
        return "welcome"
    return "cross_sell"


def _label(product: str) -> str:
    return PRODUCT_LABELS.get(product, product.replace("_", " "))


def _a(product: str) -> str:
    label = _label(product)
    return f"{'an' if label[0] in 'aeio' else 'a'} {label}"


def _product(card: SegmentCard, theme: str, intent: str, goal: dict[str, str],
             product: str | None, event: str | None, notes: list[str]) -> str:
    if product is not None:
        held = card.products.get(product, 0.0)
        if held >= MOST_HOLD and intent == "cross_sell" and product != "checking":
            notes.append(f"{held:.0%} of these customers already hold {_a(product)}: "
                         "leave holders out of the audience")
        return product
    if event and events()[event]["product"]:
        return events()[event]["product"]
    if goal.get("product"):
        return goal["product"]
    default = intents()[intent]["product"]
    if default:
        return default
    if intent == "upsell":
        options = [p for p in library()[0]["themes"][theme]["products"] + ["savings"]
                   if p in intents()["upsell"]["products"] and p != "checking"
                   and card.products.get(p, 0.0) >= 0.3]
        return max(dict.fromkeys(options), key=lambda p: card.products.get(p, 0.0)) \
            if options else "checking"
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


def _language(card: SegmentCard, language: str | None, notes: list[str]) -> str:
    supported = supported_languages()
    if language is not None:
        code = language.strip().lower()[:2]
        if code in supported:
            share = card.languages.get(code)
            if share is not None and share < 0.6 and len(card.languages) > 1:
                notes.append(f"{language_name(code)} is preferred by {share:.0%} of these "
                             "customers; ask for the copy \"in their languages\" for a version "
                             "in each")
            return code
        notes.append(f"no {language_name(code)} templates or compliance rules: written in "
                     "English; have it translated and checked")
        return "en"
    if not card.languages:
        return "en"
    ranked = sorted(card.languages.items(), key=lambda kv: -kv[1])
    top, share = ranked[0]
    chosen = top if top in supported else "en"
    if chosen != top:
        notes.append(f"most of these customers prefer {language_name(top)} ({share:.0%}), "
                     "which has no templates or compliance rules: written in English")
    covered = card.languages.get(chosen, 0.0)
    others = [f"{language_name(k)} {v:.0%}" for k, v in ranked if k != chosen and v >= 0.1]
    if covered < 0.6 and others:
        notes.append(f"{language_name(chosen)} is preferred by {covered:.0%} of these "
                     f"customers; ask for the copy \"in their languages\" for versions in "
                     f"{', '.join(others)}")
    return chosen


def uses_amounts(product: str, language: str) -> bool:
    """Whether the copy for this product states amounts (so the currency matters)."""
    facts = voice()[0]["products"][product][language]
    lines = text(language, "products", product)
    return "${cur}" in str(facts) + str(lines)


def currency_weights(card: SegmentCard, language: str) -> dict[str, tuple[float, list[str]]]:
    """Currency symbol -> (weight of the language's speakers who bank in it, their countries).
    Speakers are estimated from the card's countries and each country's languages."""
    symbols = voice()[0]["currency"]
    out: dict[str, tuple[float, list[str]]] = {}
    for country, share in card.countries.items():
        main, (alt, alt_share) = COUNTRY_LANGUAGE.get(country, ("", ("", 0.0)))
        w = share * (1.0 if main == language else alt_share if alt == language else 0.0)
        if country in symbols and w > 0:
            weight, countries = out.get(symbols[country], (0.0, []))
            out[symbols[country]] = (weight + w, [*countries, country])
    if not out:
        for country, share in card.countries.items():
            if country in symbols:
                weight, countries = out.get(symbols[country], (0.0, []))
                out[symbols[country]] = (weight + share, [*countries, country])
    return out


def _currency(card: SegmentCard, language: str, product: str, currency: str | None,
              notes: list[str], split: bool) -> str:
    """The currency of the market where most of the language's speakers in the card bank."""
    if currency:
        return currency
    weights = currency_weights(card, language)
    if not weights:
        return "€"
    chosen = max(weights, key=lambda k: weights[k][0])
    total = sum(w for w, _ in weights.values())
    covered = weights[chosen][0] / total
    if covered < 0.7 and uses_amounts(product, language) and not split:
        others = ", ".join(k for k in weights if k != chosen)
        notes.append(f"amounts are in {chosen}, the currency of {covered:.0%} of these "
                     f"{language_name(language)} speakers; others bank in {others}: make a "
                     "version per market")
    return chosen


def _tone(asked: str | None, product: str, theme: str, notes: list[str]) -> str:
    """The tone key for a free-text tone, and the tone this product allows."""
    known = tones()
    if not asked or not str(asked).strip():
        key = DEFAULT_TONE
    else:
        raw = str(asked).strip().lower()
        key = TONE_NAMES.get(raw, raw.replace(" ", "_"))
        if key not in known:
            key = read_goal(raw).get("tone") or ""
            if key:
                if normalise(raw).strip() != key:
                    notes.append(f"tone '{asked}' written as {known[key]['label'].lower()}")
            else:
                key = DEFAULT_TONE
                notes.append(f"the templates know the tones {', '.join(known)}; '{asked}' was "
                             f"written in the brand voice ({DEFAULT_TONE})")
    spec = known[key]
    blocked = product in spec["not_for"] or (
        key == "urgent" and "timely" in _avoided(product, theme))
    if blocked and spec["instead"]:
        instead = spec["instead"]
        why = ("make light of " + ("borrowing" if product in CREDIT else "the risk of loss"))\
            if key == "playful" else ("pressure people into " + (
                "borrowing" if product in CREDIT else "a product where they can lose money"))
        notes.append(f"the tone \"{spec['label'].lower()}\" is not used for {_a(product)} (it "
                     f"would {why}): written in a {known[instead]['label'].lower()} tone instead")
        return instead
    return key


def _avoided(product: str, theme: str) -> set[str]:
    lib = library()[0]
    allowed = set(lib["themes"][theme].get("allows", {}).get(product, ()))
    return set(lib["products"][product].get("avoid", ())) - allowed


def _angles(intent: str, tone: str, theme: str, product: str, proof: Proof, variants: int,
            notes: list[str], event: str | None = None) -> list[str]:
    lib = library()[0]
    avoid = _avoided(product, theme) | set(events()[event].get("avoid", ()) if event else ())
    order = list(intents()[intent]["angles"] or lib["themes"][theme]["angles"])
    first = [a for a in tones()[tone]["angles_first"] if a in order]
    order = first + [a for a in order if a not in first]
    out = []
    for angle in order:
        if angle == "social_proof":
            if (proof.share or 0) >= MIN_PEER_SHARE and angle not in avoid:
                pass
            elif (proof.openers or 0) >= MIN_OPENERS and "social_proof_recent" not in avoid:
                angle = "social_proof_recent"
            else:
                continue
        elif angle in avoid:
            continue
        out.append(angle)
    if variants > len(out):
        what = "upsell" if intent == "upsell" else _label(product)
        notes.append(f"{len(out)} responsible angle{'s' * (len(out) != 1)} for {what} here, "
                     f"so {len(out)} variant{'s' * (len(out) != 1)} instead of {variants}")
    return out[:variants]


def plan(card: SegmentCard, *, channel: str, goal: str | None = None, product: str | None = None,
         tone: str | None = None, language: str | None = None, intent: str | None = None,
         event: str | None = None, variants: int = 2, openers: dict[str, int] | None = None,
         currency: str | None = None, market: tuple[str, ...] = (), split: bool = False
         ) -> Brief:
    """Decide what to write for this card and request. `openers` maps products to the number
    of customers who opened one in the last 90 days (for social proof); optional. `currency`
    and `market` fix the edition (see plan_editions); `split` says other markets get their own."""
    if channel not in CHANNELS:
        raise InvalidArgument(f"unknown channel {channel!r}; use one of {', '.join(CHANNELS)}")
    if product is not None and product not in PRODUCTS:
        raise InvalidArgument(f"unknown product {product!r}; use one of {', '.join(PRODUCTS)}")
    if not 1 <= variants <= MAX_VARIANTS:
        raise InvalidArgument(f"variants must be between 1 and {MAX_VARIANTS}, not {variants}")
    intent = _check_key(intent, intents(), INTENT_NAMES, "intent")
    event = _check_key(event, events(), {}, "event")
    notes: list[str] = []
    goal_words = read_goal(goal) if goal else {}
    event = event or (goal_words.get("event") if (intent or goal_words.get("intent")) ==
                      "event_triggered" else None)
    if intent == "event_triggered" and not event:
        raise InvalidArgument("which event triggers the message? use one of "
                              + ", ".join(events()))
    theme = pick_theme(card)
    forced = bool(event and events()[event]["theme"])
    if forced:
        theme = events()[event]["theme"]
    intent = _intent(card, intent, event, goal_words, product, theme)
    if event and events()[event]["product"] == "" and product is None and \
            not goal_words.get("product"):
        product = "savings"
        notes.append(f"the {events()[event]['label']} event names no product here: written "
                     "for the savings account; the trigger should pass the event's product")
    product = _product(card, theme, intent, goal_words, product, event, notes)
    if intent == "upsell" and product not in intents()["upsell"]["products"]:
        notes.append(f"{_a(product)} is not upsold (it would push customers to borrow or "
                     "risk more): written as a cross-sell instead")
        intent = "cross_sell"
    lang = _language(card, language, notes)
    tone_key = _tone(tone, product, theme, notes)
    proof = Proof(share=card.products.get(product), openers=(openers or {}).get(product))
    if intent == "upsell":
        proof = Proof()          # social proof is for products they do not hold yet
    return Brief(
        card=card, channel=channel, language=lang, product=product, intent=intent,
        tone=tone_key, theme=theme,
        angles=_angles(intent, tone_key, theme, product, proof, variants, notes, event),
        currency=_currency(card, lang, product, currency, notes, split), market=tuple(market),
        event=event, goal=goal, tone_asked=tone, proof=proof, notes=notes, theme_forced=forced,
    )


def plan_editions(card: SegmentCard, *, language: str | None = None, **kwargs) -> list[Brief]:
    """One brief per edition: each language asked for ("all": the customers' preferred
    languages), and within a language one per currency its speakers bank in (when the copy
    states amounts). Editions below the thresholds are named in the notes."""
    notes: list[str] = []
    if language is not None and language.strip().lower() in ALL_LANGUAGES:
        languages = _their_languages(card, notes)
    else:
        languages = [language]
    briefs: list[Brief] = []
    for lang in languages:
        first = plan(card, language=lang, split=True, **kwargs)
        weights = currency_weights(card, first.language)
        total = sum(w for w, _ in weights.values()) or 1.0
        markets = sorted(((c, w / total, countries) for c, (w, countries) in weights.items()),
                         key=lambda m: -m[1])
        if not uses_amounts(first.product, first.language) or len(markets) < 2:
            first.notes = notes + first.notes
            briefs.append(first)
            continue
        kept = [m for m in markets if m[1] >= MIN_MARKET_SHARE]
        dropped = [m for m in markets if m[1] < MIN_MARKET_SHARE]
        for cur, share, countries in kept:
            brief = plan(card, language=lang, currency=cur, market=tuple(countries),
                         split=True, **kwargs)
            brief.notes = notes + brief.notes + [
                f"{brief.language_name} version for customers banking in {cur} "
                f"({', '.join(countries)}: {share:.0%} of these {brief.language_name} "
                "speakers); send it only to them"]
            if dropped and cur == kept[0][0]:
                brief.notes.append(
                    f"no {brief.language_name} version for "
                    + ", ".join(f"{c} ({'/'.join(cs)}, {s:.0%})" for c, s, cs in dropped)
                    + ": too few customers; ask for their market's version if you need it")
            briefs.append(brief)
    if language is not None and language.strip().lower() in ALL_LANGUAGES:
        for brief in briefs:        # asked "in their languages": no hint to ask for it
            brief.notes = [n for n in brief.notes if "\"in their languages\"" not in n]
    if len(briefs) > MAX_EDITIONS:
        briefs[0].notes.append(f"{len(briefs)} language and market versions asked for; the "
                               f"{MAX_EDITIONS} largest were written")
        briefs = briefs[:MAX_EDITIONS]
    return briefs


def _their_languages(card: SegmentCard, notes: list[str]) -> list[str]:
    """The segment's preferred languages that have templates, most common first."""
    ranked = sorted(card.languages.items(), key=lambda kv: -kv[1])
    supported = supported_languages()
    langs = [k for k, v in ranked if k in supported and v >= MIN_LANGUAGE_SHARE]
    small = [f"{language_name(k)} {v:.0%}" for k, v in ranked
             if k in supported and v < MIN_LANGUAGE_SHARE]
    missing = [f"{language_name(k)} {v:.0%}" for k, v in ranked if k not in supported]
    if small:
        notes.append(f"no version for {', '.join(small)} (fewer than "
                     f"{MIN_LANGUAGE_SHARE:.0%} of these customers)")
    if missing:
        notes.append(f"no templates for {', '.join(missing)}: those customers need another "
                     "version")
    return langs or ["en"]


def words_for_goal(goal: str) -> list[str]:
    """The words of a goal the templates did not map to anything (for a fallback note)."""
    found = read_goal(goal)
    if found:
        return []
    return [w for w in re.findall(r"[^\W\d_]{4,}", goal.lower())]
