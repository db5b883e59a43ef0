"""Offline copy: the brief (theme, product, language, angles) and the filled templates."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tools import copy_offline as co
from tools.compliance import check
from tools.segment_card import SegmentCard

CARDS = {d["segment_id"]: SegmentCard.from_dict(d) for d in json.loads(
    (Path(__file__).parent / "fixtures" / "segment_cards.json").read_text("utf-8"))}
TRAVEL, STUDENTS, INVESTORS, FAMILIES, GIG, WEB_SAVERS, CRYPTO, DIGITAL, LAPSING, NEW = range(1, 11)
CHANNELS = ("email", "sms", "push", "in_app")
OPENERS = {p: 1_243 for p in co.library()[0]["products"]}
# Anything that is not finished copy: template syntax, single braces, merge fields other than
# the two allowed, placeholder words.
UNFILLED = re.compile(r"\$\{|\$[a-z_]|(?<!\{)\{(?!\{)|(?<!\})\}(?!\})|\bTODO\b|\blorem\b|"
                      r"\bXXX\b|\[insert|\{\{(?!first_name\}\}|city\}\})", re.IGNORECASE)


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("channel", CHANNELS)
def test_every_template_combination_is_compliant_and_filled(channel, language):
    """Every theme x product x angle renders, passes every rule and leaves nothing unfilled."""
    checked = 0
    for card in CARDS.values():
        for product in co.library()[0]["products"]:
            for openers in (None, OPENERS):
                brief = co.plan(card, channel=channel, language=language, product=product,
                                variants=4, openers=openers)
                for angle in brief.angles:
                    fields = co.write(brief, angle)
                    report = check(fields, channel=channel, language=language, product=product)
                    assert not report.findings, (card.name, product, angle,
                                                 [f.describe() for f in report.findings])
                    for text in fields.values():
                        assert not UNFILLED.search(text), (card.name, product, angle, text)
                        assert "  " not in text and text == text.strip()
                    checked += 1
    assert checked > 300


@pytest.mark.parametrize(("segment", "theme", "product", "intent"), [
    (TRAVEL, "travel", "savings", "product"),      # 91% hold a credit card already
    (STUDENTS, "student", "savings", "product"),
    (INVESTORS, "investing", "savings", "product"),  # investment 88%, savings 79%: least held
    (FAMILIES, "family", "savings", "product"),
    (GIG, "irregular_income", "savings", "product"),
    (WEB_SAVERS, "retirement", "investment", "product"),
    (CRYPTO, "crypto", "savings", "product"),
    (DIGITAL, "digital", "investment", "product"),
    (LAPSING, "general", "checking", "winback"),
    (NEW, "newcomer", "checking", "product"),      # getting new customers to use the account
])
def test_the_brief_follows_the_card(segment, theme, product, intent):
    brief = co.plan(CARDS[segment], channel="email")
    assert (brief.theme, brief.product, brief.intent) == (theme, product, intent)
    assert len(brief.angles) == 2 and len(set(brief.angles)) == 2


@pytest.mark.parametrize(("goal", "product", "intent"), [
    ("promote our new savings account", "savings", "product"),
    ("Kreditkarte für die Reise", "credit_card", "product"),
    ("get them to take out a personal loan for a new car", "personal_loan", "product"),
    ("win back customers at risk of churning", "checking", "winback"),
    ("win back lapsed savers with our savings rate", "savings", "winback"),
])
def test_the_goal_picks_product_and_intent(goal, product, intent):
    brief = co.plan(CARDS[STUDENTS], channel="push", goal=goal)
    assert (brief.product, brief.intent) == (product, intent)


def test_language_defaults_to_the_segment_and_falls_back_to_english_with_a_note():
    assert co.plan(CARDS[TRAVEL], channel="sms").language == "de"
    assert co.plan(CARDS[INVESTORS], channel="sms").language == "en"
    brief = co.plan(CARDS[TRAVEL], channel="sms", language="fr")
    assert brief.language == "en"
    assert any("no French templates" in n for n in brief.notes)
    french = SegmentCard.from_dict({**CARDS[TRAVEL].to_dict(),
                                    "languages": {"fr": 0.7, "en": 0.3}})
    brief = co.plan(french, channel="sms")
    assert brief.language == "en"
    assert any("prefer French (70%)" in n for n in brief.notes)


def test_currency_follows_where_the_languages_speakers_bank():
    assert co.plan(CARDS[TRAVEL], channel="email", language="de").currency == "€"
    assert co.plan(CARDS[TRAVEL], channel="email", language="en").currency == "£"
    us = SegmentCard.from_dict({**CARDS[TRAVEL].to_dict(), "countries": {"US": 0.8, "DE": 0.2}})
    assert co.plan(us, channel="email", language="en").currency == "$"
    # US and Canadian dollars are two currencies: 25% + 10% in dollars do not beat 30% in pounds
    north_america = SegmentCard.from_dict({**CARDS[TRAVEL].to_dict(), "countries": {
        "GB": 0.3, "US": 0.25, "CA": 0.1, "DE": 0.35}})
    brief = co.plan(north_america, channel="email", language="en", product="savings")
    assert brief.currency == "£" and any("others bank in" in n for n in brief.notes)
    canada = SegmentCard.from_dict({**CARDS[TRAVEL].to_dict(), "countries": {"CA": 1.0}})
    assert co.plan(canada, channel="email", language="en").currency == "C$"


def test_variants_differ_in_angle_and_segments_differ_in_copy():
    briefs = {s: co.plan(CARDS[s], channel="email", language="en", product="savings",
                         variants=3, openers=OPENERS) for s in (TRAVEL, STUDENTS, INVESTORS)}
    bodies = {s: co.write(b, "benefit")["body"] for s, b in briefs.items()}
    assert len(set(bodies.values())) == 3
    assert "your next trip" in bodies[TRAVEL] and "studying" in bodies[STUDENTS]
    brief = briefs[TRAVEL]
    variants = [co.write(brief, a) for a in brief.angles]
    for name in ("subject", "preheader", "body"):
        assert len({v[name] for v in variants}) == len(variants), name


def test_responsible_angles_per_product():
    loan = co.plan(CARDS[FAMILIES], channel="email", product="personal_loan", variants=4)
    assert loan.angles == ["benefit", "simplicity"]
    assert any("2 responsible angles" in n for n in loan.notes)
    crypto = co.plan(CARDS[CRYPTO], channel="push", product="crypto", variants=4)
    assert not {"timely", "loss_aversion"} & set(crypto.angles)
    # the travel theme makes "before your next trip" a fair reason for a card
    card = co.plan(CARDS[TRAVEL], channel="email", product="credit_card", variants=3,
                   language="en")
    assert card.angles == ["benefit", "timely", "loss_aversion"]
    assert co.write(card, "timely")["subject"] == "Heading abroad soon?"


@pytest.mark.parametrize(("share", "language", "phrase"), [
    (0.40, "en", "4 in 10"), (0.48, "en", "nearly 5 in 10"), (0.45, "en", "more than 4 in 10"),
    (0.79, "en", "nearly 8 in 10"), (0.90, "en", "9 in 10"), (0.91, "en", "more than 9 in 10"),
    (0.48, "de", "fast 5 von 10"),
])
def test_social_proof_numbers_are_true_and_not_rounded_up(share, language, phrase):
    assert co._share_phrase(share, language) == phrase


def test_social_proof_needs_data_and_names_peers_only_when_the_card_does():
    assert "social_proof" not in co.plan(CARDS[STUDENTS], channel="email").angles
    travel = co.plan(CARDS[TRAVEL], channel="push", language="en", product="savings",
                     variants=4)
    assert "social_proof" in travel.angles
    push = co.write(travel, "social_proof")
    assert push["body"].startswith("Nearly 5 in 10 frequent travellers")
    web = co.plan(CARDS[WEB_SAVERS], channel="push", language="en", product="savings",
                  variants=4)
    assert "customers like you" in co.write(web, "social_proof")["body"]  # not "retirees"
    recent = co.plan(CARDS[STUDENTS], channel="email", language="de", variants=4,
                     openers=OPENERS)
    assert "social_proof_recent" in recent.angles
    assert "mehr als 1.200" in co.write(recent, "social_proof_recent")["body"]


def test_german_copy_keeps_abbreviations_and_uses_the_formal_register():
    brief = co.plan(CARDS[TRAVEL], channel="email", language="de", product="savings",
                    tone="formal")
    email = co.write(brief, "benefit")
    assert "p. a. für Guthaben" in email["body"]
    assert email["body"].startswith("Guten Tag {{first_name}},")
    assert "Freundliche Grüße" in email["body"]
    assert co.plan(CARDS[TRAVEL], channel="email", tone="cheeky").register == "friendly"


def test_library_terms_agree_with_the_brand_voice_facts():
    lib, voice = co.library()[0], co.voice()[0]
    for product, spec in lib["products"].items():
        for language, terms in spec.get("terms", {}).items():
            facts = co.product_facts(product, language, "€")
            text = " ".join(facts["facts"]) + facts["disclosure"]
            for value in terms.values():
                assert value.replace("${cur}", "€") in text, (product, language, value)
    assert set(lib["products"]) == set(voice["products"])


def test_a_theme_found_from_behaviour_alone_describes_a_need_not_an_identity():
    unnamed = SegmentCard.from_dict({
        **CARDS[STUDENTS].to_dict(),
        "name": "Family-supported customers with low income and small purchases",
        "description": "Customers who receive money from family and spend little."})
    brief = co.plan(unnamed, channel="email", language="en", variants=3)
    assert brief.theme == "student" and not brief.theme_named
    text = " ".join(" ".join(co.write(brief, a).values()) for a in brief.angles)
    assert "When money is tight" in text
    assert "studying" not in text and "term" not in text
    named = co.plan(CARDS[STUDENTS], channel="email", language="en")
    assert "When you are studying" in co.write(named, "benefit")["body"]
