"""Campaign copy without a language model: the templates of prompts/copy_templates filled from a
brief (tools/copy_brief.py).

`write(brief, angle)` assembles one variant: for each field of the channel it fills the
language's candidates (prompts/copy_templates/<language>.toml, `[channels]`) with the slots of
the brief and keeps the first that passes the compliance check (length included). The slots are
layered: the product's lines for the angle (replaced by upsell lines for an upsell, by playful
lines in the playful tone, by a theme's lines where a generic line would not fit), the tone's
greeting, closing line and sign-off, the intent's hook and opening in that tone, the theme's
words, the event's title and opening, the product facts and disclosures of the brand voice, and
the legal lines (SMS opt-out, email footer with the unsubscribe link and the sender).
"""

from __future__ import annotations

import math
import re
import string
from typing import Any

from tools.compliance import check
from tools.copy_brief import Brief
from tools.copy_library import TEMPLATES_DIR, library, text, voice
from tools.message_length import LIMITS, field_length, field_limit, fold_to_gsm7
from warehouse.errors import ConfigError

LINE_KEYS = ("headline", "headline_short", "line", "line_short", "detail")

FOLD_NOTE = ("the SMS writes letters outside the GSM-7 alphabet without their accents (for "
             "example ó as o), as SMS senders do, so it stays one message of 160 characters")


# -- filling -----------------------------------------------------------------------------------
def _fill(value: str, values: dict[str, str], where: str, language: str) -> str:
    try:
        return string.Template(value).substitute(values)
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"prompts/{TEMPLATES_DIR}/{language}.toml, {where}: cannot fill "
                          f"{exc}") from exc


def _number(n: int, language: str) -> str:
    text_ = f"{n:,}"
    if language in ("de", "es", "it", "nl"):
        return text_.replace(",", ".")
    if language == "fr":
        return text_.replace(",", "\u202f")
    return text_


def share_phrase(share: float, language: str) -> str:
    """'nearly 5 in 10': a true share, never rounded up."""
    words = text(language, "phrases")
    tenths = share * 10
    n = round(tenths)
    key = "share_nearly" if tenths < n - 0.05 else "share_more" if tenths > n + 0.05 else "share"
    if key == "share_more":
        n = math.floor(tenths)
    if tenths > 9.05:                       # never "nearly 10 in 10" or "10 in 10"
        key, n = "share_more", 9
    return string.Template(words[key]).substitute(n=n)


def _openers_phrases(openers: int, language: str) -> tuple[str, str]:
    words = text(language, "phrases")
    digits = len(str(openers)) - 2
    rounded = openers // 10 ** max(digits, 0) * 10 ** max(digits, 0)  # two significant digits
    n = _number(rounded, language)
    return (string.Template(words["openers"]).substitute(n=n),
            string.Template(words["openers_n"]).substitute(n=n))


def product_facts(product: str, language: str, currency: str) -> dict[str, Any]:
    """Name, facts and disclosures of a product in a language, amounts in `currency`."""
    facts = voice()[0]["products"][product][language]
    cur = {"cur": currency}

    def fill(value: str) -> str:
        try:
            return string.Template(value).substitute(cur)
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"prompts/brand_voice.toml, {product}.{language}: cannot fill "
                              f"{exc}") from exc

    return {
        "name": facts["name"],
        "facts": [fill(f) for f in facts["facts"]],
        "disclosure": fill(facts["disclosure"]),
        "disclosure_short": fill(facts["disclosure_short"]),
    }


def _theme_text(brief: Brief) -> dict[str, Any]:
    """The theme's words in the brief's language; behaviour-only themes use their
    `unconfirmed` lines (a need, not an identity)."""
    theme = dict(text(brief.language, "themes", brief.theme))
    unconfirmed = theme.pop("unconfirmed", {})
    theme.pop("overrides", None)
    if not brief.theme_named:
        theme.update(unconfirmed)
    return theme


def _base_values(brief: Brief) -> dict[str, str]:
    lang = brief.language
    theme = _theme_text(brief)
    cur = {"cur": brief.currency}
    values = {"cur": brief.currency,
              "product_name": voice()[0]["products"][brief.product][lang]["name"],
              "moment": theme["moment"], "save_goal": theme["save_goal"]}
    generic = text(lang, "phrases")
    circular = brief.product in library()[0]["themes"][brief.theme].get("peer_circular", [])
    for key in ("peers", "peers_short"):
        values[key] = theme[key] if brief.theme_named and not circular else generic[key]
    for key, value in text(lang, "products", brief.product, "terms", default={}).items():
        values[key] = _fill(value, cur, f"products.{brief.product}.terms", lang)
    if brief.proof.share is not None:
        values["share"] = share_phrase(brief.proof.share, lang)
    if brief.proof.openers:
        values["openers"], values["openers_n"] = _openers_phrases(brief.proof.openers, lang)
    return values


def _lines_for(brief: Brief, angle: str) -> dict[str, str]:
    """The raw lines of one angle, most specific layer last."""
    lang, product = brief.language, brief.product
    lines = text(lang, "products", product)
    overrides = text(lang, "themes", brief.theme, "overrides", product, default={})
    layers = [lines.get(angle, {}), overrides.get(angle, {})]
    if brief.tone == "playful":
        layers += [lines.get("playful", {}).get(angle, {}),
                   overrides.get("playful", {}).get(angle, {})]
    if brief.intent == "upsell":
        layers.append(lines.get("upsell", {}).get(angle, {}))
    out: dict[str, str] = {}
    for layer in layers:
        if not layer:
            continue
        if "line" in layer and "line_short" not in layer:
            out.pop("line_short", None)     # a new line does not keep an older short one
        if "headline" in layer and "headline_short" not in layer:
            out.pop("headline_short", None)
        out.update({k: v for k, v in layer.items() if k in LINE_KEYS})
    if "headline" not in out or "line" not in out:
        raise ConfigError(f"prompts/{TEMPLATES_DIR}/{lang}.toml has no {angle} lines for "
                          f"{product}")
    return out


def angle_lines(brief: Brief, angle: str) -> dict[str, str]:
    """Headline, line and detail of one angle for the brief, filled."""
    lang = brief.language
    values = _base_values(brief)
    raw = _lines_for(brief, angle)
    out = {k: _capitalize(_fill(v, values, f"{brief.product}.{angle}.{k}", lang))
           for k, v in raw.items()}
    out.setdefault("headline_short", out["headline"])
    out.setdefault("line_short", out["line"])
    out.setdefault("detail", out["line"])
    popular = text(lang, "phrases", "popular")
    out["headline_min"] = (_fill(popular, values, "phrases.popular", lang)
                           if angle.startswith("social_proof") else out["headline_short"])
    return out


def _capitalize(value: str) -> str:
    return value[:1].upper() + value[1:]


def _sentence(value: str) -> str:
    return value if value[-1:] in ".?!" else value + "."


def tidy(value: str, language: str) -> str:
    """Collapse spaces left by empty slots; start every sentence with a capital letter; French
    keeps its space before ; : ! ?"""
    value = re.sub(r"[ \t]+", " ", value)
    if language == "fr":
        value = re.sub(r" +([.,])", r"\1", value)
        value = re.sub(r"(?<=[^\s(])([;:!?])(?=\s|$)", r" \1", value)
        value = re.sub(r"(?<=\S) +([;:!?])", r" \1", value)
    else:
        value = re.sub(r" +([.,;:!?])", r"\1", value)
    value = re.sub(r"[ \t]*\n[ \t]*", "\n", value)
    value = re.sub(r"\n{3,}", "\n\n", value).strip()
    # After a full stop only when a word of 3+ letters ends the sentence (not "p. a.", "z. B.")
    value = re.sub(r"(?<=[^\W\d_]{3}[.!?] )([^\W\d_])", lambda m: m[1].upper(), value)
    value = re.sub(r"(^|\n)([^\W\d_])", lambda m: m[1] + m[2].upper(), value)
    if language != "de":        # "Please note: set up ...", "Worth a look now: a monthly ..."
        value = re.sub(r"(?m)(?<!^Finch)(?<=[^\W\d_]{2})( ?: )([^\W\d_])"
                       r"(?=[a-zß-ÿ]|(?<!I) [a-zß-ÿ])", _lower_after_colon, value)
    return value


def _lower_after_colon(m: re.Match) -> str:
    if m.string.startswith("Finch", m.start(2)):     # the brand keeps its capital
        return m.group(0)
    return m.group(1) + m.group(2).lower()


def slots(brief: Brief, angle: str) -> dict[str, str]:
    """Every value a channel template may use for this angle."""
    lang = brief.language
    lines = angle_lines(brief, angle)
    facts = product_facts(brief.product, lang, brief.currency)
    theme = _theme_text(brief)
    tone = text(lang, "tones", brief.tone)
    said = text(lang, "intents", brief.intent, brief.tone)
    legal = text(lang, "legal")
    values = _base_values(brief)
    values.update(lines)

    def fill(value: str, where: str) -> str:
        return _capitalize(_fill(value, values, where, lang)) if value else ""

    hook = fill(said["hook"], f"intents.{brief.intent}.{brief.tone}.hook")
    if brief.event:
        event = text(lang, "events", brief.event)
        title = fill(event["title"], f"events.{brief.event}.title")
        opening = fill(event["opening"], f"events.{brief.event}.opening")
        theme_opening = ""
        lead = f"{_sentence(title)} {hook}"
    else:
        title = lines["headline"]
        opening = fill(said.get("opening", ""), f"intents.{brief.intent}.{brief.tone}.opening")
        key = {"welcome": "opening_welcome", "winback": "opening_winback",
               "reactivation": "opening_winback"}.get(brief.intent, "opening")
        if brief.product not in library()[0]["themes"][brief.theme]["products"]:
            # "a small cushion takes the pressure off" fits savings, not a loan or a card
            theme = text(lang, "themes", "general")
        theme_opening = theme.get(key) or theme["opening"]
        lead = hook
    values.update({
        "title": title, "hook": hook, "lead": lead, "opening": opening,
        # an event's SMS keeps its moment and its tone when title and hook do not both fit:
        # "Paying abroad? With you in mind: ..." (else just the hook)
        "moment_lead": f"{_sentence(title)} {tone['hook_short']}" if brief.event else hook,
        "theme_opening": theme_opening,
        "headline_sentence": _sentence(lines["headline"]),
        "hook_short": tone["hook_short"],
        "greeting": tone["greeting"], "sign_off": tone["sign_off"],
        "closer": fill(tone["closer"], f"tones.{brief.tone}.closer"),
        "prefix": legal["sms_prefix"], "opt_out": legal["opt_out"], "app_cta": legal["app_cta"],
        "footer": legal["footer"],
        "facts_intro": text(lang, "phrases", "facts_intro"),
        "facts": "\n".join(f"- {f}" for f in facts["facts"]),
        "disclosure": facts["disclosure"],
        "disclosure_short": facts["disclosure_short"],
    })
    product_text = text(lang, "products", brief.product)
    for key in ("cta", "cta_short", "next_step"):
        values[key] = _fill(product_text[key], values, f"products.{brief.product}.{key}", lang)
    if angle == "simplicity":  # its detail already says how easy it is: do not repeat it
        values["next_step"] = text(lang, "phrases", "next_step_simplicity")
    return values


def write(brief: Brief, angle: str) -> dict[str, str]:
    """The copy for one angle: per field, the first template candidate that passes."""
    lang = brief.language
    templates = text(lang, "channels", brief.channel)
    values = slots(brief, angle)
    fields: dict[str, str] = {}
    for name in LIMITS[brief.channel]:
        candidates = [tidy(_fill(t, values, f"channels.{brief.channel}.{name}", lang), lang)
                      for t in templates[name]]
        if brief.channel == "sms":
            if brief.event:     # a triggered SMS names its moment whenever a text with it fits
                candidates.sort(key=lambda c: values["title"] not in c)
            folded = [fold_to_gsm7(c) for c in candidates]
            if folded != candidates and FOLD_NOTE not in brief.notes:
                brief.notes.append(FOLD_NOTE)
            candidates = folded
        chosen = candidates[0]
        for candidate in candidates:
            if field_length(brief.channel, name, candidate) > \
                    field_limit(brief.channel, name, candidate):
                continue        # too long: no need for the whole check
            report = check({**fields, name: candidate}, channel=brief.channel, language=lang,
                           product=brief.product, only=name)
            if not [f for f in report.blocking if f.field == name]:
                chosen = candidate
                break
        fields[name] = chosen
    return fields


def angle_label(angle: str) -> str:
    return library()[0]["angles"][angle.replace("_recent", "")]["label"]
