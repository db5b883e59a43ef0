"""The model's prompt for one variant: the same brief the offline templates fill, in words.

The model sees the segment card (aggregates only, rounded), the product facts and disclosures,
the intent and tone as the library defines them, the market's currency and the legal lines of
the channel (prompts/copy/system.md and prompts/copy/<channel>.md); never personal data.
"""

from __future__ import annotations

import prompts
from tools.compliance import scrub
from tools.copy_brief import MIN_OPENERS, MIN_PEER_SHARE, PRODUCT_LABELS, Brief
from tools.copy_library import events, intents, library, text, tones, voice
from tools.copy_offline import product_facts
from tools.message_length import LIMITS
from tools.segment_card import SegmentCard

RECENT_DAYS = 90


def segment_text(card: SegmentCard) -> str:
    """The segment card in words for the model: aggregates only, rounded."""
    lines = [f"{card.name}: about {round(card.size, -1):,} customers"
             + (f" ({card.share:.0%} of those segmented)." if card.share < 1 else "."),
             card.description]
    if card.traits:
        lines.append("What sets them apart (segment vs all customers):")
        for t in card.traits[:6]:
            unit = "%" if t.unit == "%" else ""
            seg, pop = ((t.segment_mean * 100, t.population_mean * 100) if unit
                        else (t.segment_mean, t.population_mean))
            lines.append(f"- {t.label}: {seg:,.3g}{unit} vs {pop:,.3g}{unit} "
                         f"({'higher' if t.effect_size > 0 else 'lower'})")
    for title, values in (("Products they hold", card.products),
                          ("Preferred languages", card.languages),
                          ("Countries", card.countries)):
        if values:
            lines.append(f"{title}: " + ", ".join(
                f"{k.replace('_', ' ')} {v:.0%}" for k, v in list(values.items())[:6]))
    return "\n".join(lines)


def _proof_text(brief: Brief) -> str:
    facts = []
    label = PRODUCT_LABELS.get(brief.product, brief.product)
    if brief.proof.share is not None and brief.proof.share >= MIN_PEER_SHARE:
        facts.append(f"{brief.proof.share:.0%} of this segment already hold a {label}")
    if (brief.proof.openers or 0) >= MIN_OPENERS:
        facts.append(f"{brief.proof.openers:,} customers opened a {label} in the last "
                     f"{RECENT_DAYS} days")
    if not facts:
        return "There are no numbers for social proof: do not use any."
    return "True numbers you may use (and no others): " + "; ".join(facts) + "."


def _goal(brief: Brief) -> str:
    if brief.goal:
        return scrub(brief.goal)
    label = PRODUCT_LABELS.get(brief.product, brief.product)
    return {"winback": "bring customers back to using their account",
            "reactivation": "get customers using their account again",
            "welcome": "welcome new customers and get them started",
            "upsell": f"help customers get more from the {label} they hold",
            "event_triggered": f"offer the {label} at the moment it helps"
            }.get(brief.intent, f"interest customers in the {label}")


def _market(brief: Brief) -> str:
    where = f" (customers in {', '.join(brief.market)})" if brief.market else ""
    return (f"Write every amount in {brief.currency}{where}; never another currency. Use the "
            f"number style of {brief.language_name}.")


def render_prompts(brief: Brief, angle: str, letter: str, others: list[str]
                   ) -> tuple[str, str, dict[str, str]]:
    """(system prompt, user prompt, versions of the prompt files used)."""
    brand = voice()[0]
    lang = brief.language
    legal = text(lang, "legal")
    tone_words = text(lang, "tones", brief.tone)
    facts = product_facts(brief.product, lang, brief.currency)
    short = brief.channel in ("sms", "push", "in_app")
    disclosure = facts["disclosure_short" if short else "disclosure"]
    angle_key = "social_proof" if angle.startswith("social_proof") else angle
    words = brand["voice"].get(lang, {}) if lang != "en" else {}
    system_prompt = prompts.load("copy/system")
    values = {
        "brand": brand["brand"], "tone": brand["voice"]["tone"],
        "principles": "\n".join(f"- {p}" for p in brand["voice"]["principles"]),
        "use_words": ", ".join(words.get("use", brand["voice"]["use"])),
        "avoid_words": ", ".join(words.get("avoid", brand["voice"]["avoid"])),
        "language_name": brief.language_name,
        "address": text(lang, "address", default=""),
    }
    system = system_prompt.render(**{k: values[k] for k in system_prompt.variables})
    channel_prompt = prompts.load(f"copy/{brief.channel}")
    intent = intents()[brief.intent]
    tone = tones()[brief.tone]
    event = (f"\nSent right after: {events()[brief.event]['label']}. Refer to it only in "
             "general terms, never with the customer's own details."
             if brief.event else "")
    lib = library()[0]
    values.update({
        "variant": letter, "segment": segment_text(brief.card),
        "goal": _goal(brief), "product_name": facts["name"],
        "facts": "\n".join(f"- {f}" for f in facts["facts"]),
        "proof": _proof_text(brief),
        "angle": lib["angles"][angle_key]["label"],
        "angle_description": lib["angles"][angle_key]["description"],
        "other_angles": ", ".join(lib["angles"][a.replace("_recent", "")]["label"]
                                  for a in others) or "none (single variant)",
        "intent": f"{intent['label']}: {intent['description']}{event}",
        "tone": f"{tone['label']}: {tone['description']} At most {tone['exclamations']} "
                "exclamation mark(s) per field.",
        "market": _market(brief),
        "greeting": tone_words["greeting"],
        "sign_off": tone_words["sign_off"].replace("\n", " / "),
        "disclosure": disclosure or "(none needed)", "prefix": legal["sms_prefix"],
        "legal_tail": " ".join(p for p in (disclosure, legal["opt_out"]) if p),
        "footer": legal["footer"].replace("\n", " / "),
        **{f"{k}_limit": v for k, v in LIMITS[brief.channel].items()},
    })
    user = channel_prompt.render(**{k: values[k] for k in channel_prompt.variables})
    versions = {"copy/system": system_prompt.version,
                f"copy/{brief.channel}": channel_prompt.version}
    return system, user, versions
