"""Offline copy: the brief (intent, tone, theme, product, language, market, angles) and the
filled templates, in every language."""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from pathlib import Path

import pytest

from tools import copy_brief as cb
from tools import copy_offline as co
from tools.compliance import check
from tools.copy_library import events, intents, library, supported_languages, text, tones, voice
from tools.message_length import CHANNELS, GSM7_FOLD, HEADLINE_FIELD, fold_to_gsm7
from tools.segment_card import SegmentCard

CARDS = {d["segment_id"]: SegmentCard.from_dict(d) for d in json.loads(
    (Path(__file__).parent / "fixtures" / "segment_cards.json").read_text("utf-8"))}
TRAVEL, STUDENTS, INVESTORS, FAMILIES, GIG, WEB_SAVERS, CRYPTO, DIGITAL, LAPSING, NEW = range(1, 11)
PRODUCTS = list(library()[0]["products"])
LANGUAGES = supported_languages()
OPENERS = dict.fromkeys(PRODUCTS, 1_243)
# Anything that is not finished copy: template syntax, single braces, merge fields other than
# the allowed ones, placeholder words.
UNFILLED = re.compile(r"\$\{|\$[a-z_]|(?<!\{)\{(?!\{)|(?<!\})\}(?!\})|(?-i:\bTODO\b)|\blorem\b|"
                      r"(?-i:\bXXX\b)|\[insert|\{\{(?!(first_name|unsubscribe_url|sender_name|"
                      r"sender_address)\}\})", re.IGNORECASE)


def _combinations():
    """Every intent x tone x product (events: every event) with a card that rotates through the
    segments, so every theme is met too."""
    cards = list(CARDS.values())
    combos = [(intent, tone, product, None) for intent in intents() if intent != "event_triggered"
              for tone in tones() for product in PRODUCTS]
    combos += [("event_triggered", tone, None, event) for tone in tones() for event in events()
               if events()[event]["intent"] == "event_triggered"]
    combos += [("event_triggered", tone, product, "product_viewed") for tone in tones()
               for product in PRODUCTS]
    return [(cards[i % len(cards)], *c) for i, c in enumerate(combos)]


def _assert_finished(fields: dict[str, str], channel: str, where) -> None:
    for value in fields.values():
        assert not UNFILLED.search(value), (where, value)
        assert "  " not in value and value == value.strip(), (where, value)
    if channel == "push":
        assert "{{" not in " ".join(fields.values()), where   # nothing on the lock screen


def _without_legal_text(value: str, brief: cb.Brief) -> str:
    """The copy without its legal lines (disclosures, opt-out, footer): they are not the tone."""
    facts = co.product_facts(brief.product, brief.language, brief.currency)
    legal = text(brief.language, "legal")
    for part in (facts["disclosure"], facts["disclosure_short"], legal["opt_out"],
                 legal["footer"]):
        if part:
            value = value.replace(part, "").replace(part.translate(GSM7_FOLD), "")
    return value


def _plain(value: str) -> str:
    """Lower case without accents (SMS copy writes some letters without theirs)."""
    return "".join(c for c in unicodedata.normalize("NFD", value.lower())
                   if unicodedata.category(c) != "Mn")


def _assert_tone(fields: dict[str, str], brief: cb.Brief, where) -> None:
    """The copy shows its tone the way the tone is defined: one of its signals, none of what it
    avoids, no more exclamation marks per field than it allows (SMS letters without accents
    count as with them)."""
    spec = text(brief.language, "tones", brief.tone)
    fields = {k: _without_legal_text(v, brief) for k, v in fields.items()}
    whole = _plain("\n".join(fields.values()))
    assert any(re.search(_plain(p), whole) for p in spec["signals"]), (where, whole)
    for pattern in spec["avoid"]:
        assert not re.search(_plain(pattern), whole), (where, pattern, whole)
    most = tones()[brief.tone]["exclamations"]
    for name, value in fields.items():
        assert value.count("!") <= most, (where, name, value)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("channel", CHANNELS)
def test_every_template_combination_is_compliant_filled_and_in_its_tone(channel, language):
    """Every intent x tone x product (and every event) renders in every angle it allows, passes
    every compliance rule with no finding at all, leaves nothing unfilled and keeps its tone."""
    checked = 0
    for i, (card, intent, tone, product, event) in enumerate(_combinations()):
        brief = cb.plan(card, channel=channel, language=language, product=product, tone=tone,
                        intent=intent, event=event, variants=4,
                        openers=OPENERS if i % 2 else None)
        for angle in brief.angles:
            fields = co.write(brief, angle)
            where = (card.name, intent, brief.tone, brief.product, event, angle)
            report = check(fields, channel=channel, language=language, product=brief.product)
            assert not report.findings, (where, [f.describe() for f in report.findings])
            _assert_finished(fields, channel, where)
            _assert_tone(fields, brief, where)
            if channel == "email":
                assert fields["preheader"].rstrip(".") != fields["subject"].rstrip("."), where
            checked += 1
    assert checked > 400


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("channel", CHANNELS)
def test_every_theme_product_and_angle_renders(channel, language):
    """Theme overrides included: every segment x product x angle, with and without proof."""
    for card in CARDS.values():
        for product in PRODUCTS:
            for openers in (None, OPENERS):
                brief = cb.plan(card, channel=channel, language=language, product=product,
                                intent="cross_sell", variants=4, openers=openers)
                for angle in brief.angles:
                    fields = co.write(brief, angle)
                    report = check(fields, channel=channel, language=language, product=product)
                    assert not report.findings, (card.name, product, angle,
                                                 [f.describe() for f in report.findings])
                    _assert_finished(fields, channel, (card.name, product, angle))


@pytest.mark.parametrize("language", LANGUAGES)
def test_tones_differ_in_the_ways_the_tone_defines(language):
    """The same brief in five tones: greeting, sign-off, hook and closing line change, and each
    keeps its rules (formal and reassuring: no exclamation mark; playful: a playful signal)."""
    emails = {}
    for tone in tones():
        brief = cb.plan(CARDS[TRAVEL], channel="email", language=language, product="savings",
                        tone=tone, intent="cross_sell")
        emails[tone] = co.write(brief, brief.angles[0])
        _assert_tone(emails[tone], brief, tone)
    openings = {t: e["body"].split("\n\n")[:2] for t, e in emails.items()}
    assert len({tuple(o) for o in openings.values()}) == len(tones())
    closings = {t: e["body"].split("\n\n")[-4:-2] for t, e in emails.items()}
    assert len({tuple(c) for c in closings.values()}) == len(tones())
    for tone in ("formal", "reassuring", "urgent"):
        assert "!" not in " ".join(emails[tone].values())
    assert emails["playful"]["subject"] != emails["formal"]["subject"]   # playful lines
    sms = {tone: co.write(b, b.angles[0])["text"] for tone in tones()
           for b in [cb.plan(CARDS[TRAVEL], channel="sms", language=language, tone=tone,
                             product="savings", intent="cross_sell")]}
    assert len(set(sms.values())) == len(tones())


def test_urgent_without_pressure_names_a_real_moment_and_no_deadline():
    brief = cb.plan(CARDS[TRAVEL], channel="email", language="en", product="savings",
                    tone="urgent")
    assert brief.angles[0] == "timely"
    email = co.write(brief, brief.angles[0])
    assert "before your next trip" in email["preheader"] + email["body"]
    assert not check(email, channel="email", language="en", product="savings").findings


@pytest.mark.parametrize(("segment", "theme", "product", "intent"), [
    (TRAVEL, "travel", "savings", "cross_sell"),      # 91% hold a credit card already
    (STUDENTS, "student", "savings", "cross_sell"),
    (INVESTORS, "investing", "savings", "cross_sell"),  # investment 88%, savings 79%
    (FAMILIES, "family", "savings", "cross_sell"),
    (GIG, "irregular_income", "savings", "cross_sell"),
    (WEB_SAVERS, "retirement", "investment", "cross_sell"),
    (CRYPTO, "crypto", "savings", "cross_sell"),
    (DIGITAL, "digital", "investment", "cross_sell"),
    (LAPSING, "general", "checking", "winback"),
    (NEW, "newcomer", "checking", "welcome"),          # getting new customers started
])
def test_the_brief_follows_the_card(segment, theme, product, intent):
    brief = cb.plan(CARDS[segment], channel="email")
    assert (brief.theme, brief.product, brief.intent, brief.tone) == \
        (theme, product, intent, "warm")
    assert len(brief.angles) == 2 and len(set(brief.angles)) == 2


@pytest.mark.parametrize(("goal", "product", "intent"), [
    ("promote our new savings account", "savings", "cross_sell"),
    ("Kreditkarte für die Reise", "credit_card", None),
    ("get them to take out a personal loan for a new car", "personal_loan", None),
    ("win back customers at risk of churning", "checking", "winback"),
    ("win back lapsed savers with our savings rate", "savings", "winback"),
    ("re-engage dormant customers", "checking", "reactivation"),
    ("onboarding for new customers", "checking", "welcome"),
    ("neue Kunden begrüßen", "checking", "welcome"),
])
def test_the_goal_picks_product_and_intent(goal, product, intent):
    brief = cb.plan(CARDS[STUDENTS], channel="push", goal=goal)
    assert brief.product == product
    assert brief.intent == (intent or "cross_sell")


def test_an_upsell_is_for_products_they_hold_and_never_for_credit():
    brief = cb.plan(CARDS[INVESTORS], channel="email", goal="get more from their investing",
                    language="en")
    assert brief.intent == "upsell" and brief.product == "investment"
    assert brief.angles == ["benefit", "simplicity"]
    brief = cb.plan(CARDS[INVESTORS], channel="email", intent="upsell", language="en")
    assert brief.product == "investment"        # the upsellable product most of them hold
    assert brief.intent == "upsell" and brief.angles == ["benefit", "simplicity"]
    email = co.write(brief, "benefit")
    assert "second plan" in email["body"] and "Give your plan" in email["subject"]
    loan = cb.plan(CARDS[FAMILIES], channel="email", product="personal_loan", intent="upsell")
    assert loan.intent == "cross_sell"
    assert any("not upsold" in n for n in loan.notes)


def test_tones_that_do_not_fit_the_product_fall_back_and_say_why():
    loan = cb.plan(CARDS[FAMILIES], channel="push", product="personal_loan", tone="playful")
    assert loan.tone == "warm" and any('tone "playful" is not used' in n for n in loan.notes)
    crypto = cb.plan(CARDS[CRYPTO], channel="sms", product="crypto", tone="urgent")
    assert crypto.tone == "reassuring" and any(
        'the tone "urgent without pressure" is not used for a crypto' in n for n in crypto.notes)
    card = cb.plan(CARDS[STUDENTS], channel="sms", product="credit_card", tone="urgent")
    assert card.tone == "reassuring"       # no timely angle for credit outside travel
    travel = cb.plan(CARDS[TRAVEL], channel="sms", product="credit_card", tone="urgent")
    assert travel.tone == "urgent" and travel.angles[0] == "timely"
    cheeky = cb.plan(CARDS[TRAVEL], channel="email", tone="cheeky")
    assert cheeky.tone == "playful" and any("'cheeky' written as playful" in n
                                            for n in cheeky.notes)
    odd = cb.plan(CARDS[TRAVEL], channel="email", tone="sarcastic")
    assert odd.tone == "warm" and any("'sarcastic'" in n for n in odd.notes)


def test_an_event_sets_product_theme_title_and_never_reveals_the_customer():
    brief = cb.plan(CARDS[STUDENTS], channel="push", language="en", intent="event_triggered",
                    event="card_payment_abroad")
    assert (brief.product, brief.theme, brief.intent) == ("credit_card", "travel",
                                                          "event_triggered")
    push = co.write(brief, brief.angles[0])
    assert push["title"] == "Paying abroad?"
    assert "{{" not in push["title"] + push["body"]
    for language in LANGUAGES:          # they are on the trip now: never "before your next trip"
        for tone in tones():
            abroad = cb.plan(CARDS[TRAVEL], channel="push", language=language, tone=tone,
                             event="card_payment_abroad", variants=4)
            assert "timely" not in abroad.angles and len(abroad.angles) >= 2, (language, tone)
    # an SMS for an event names its moment whenever a text with it fits in one message (the
    # short hook keeps the tone), e.g. "Finch: Paying abroad? With you in mind: stop paying..."
    for language, event, angle in [("en", "card_payment_abroad", "loss_aversion"),
                                   ("de", "salary_received", "timely"),
                                   ("fr", "salary_received", "benefit"),
                                   ("es", "card_payment_abroad", "loss_aversion"),
                                   ("it", "card_payment_abroad", "loss_aversion"),
                                   ("nl", "card_payment_abroad", "benefit")]:
        sms = cb.plan(CARDS[TRAVEL], channel="sms", language=language, event=event, variants=4)
        title = fold_to_gsm7(text(language, "events", event, "title"))
        assert title in co.write(sms, angle)["text"], (language, event, angle)
    welcome = cb.plan(CARDS[TRAVEL], channel="email", event="account_opened")
    assert welcome.intent == "welcome" and welcome.product == "checking"
    with pytest.raises(Exception, match="which event"):
        cb.plan(CARDS[TRAVEL], channel="push", intent="event_triggered")
    with pytest.raises(Exception, match="unknown event"):
        cb.plan(CARDS[TRAVEL], channel="push", event="birthday")


def test_language_defaults_to_the_segment_and_unknown_languages_fall_back_with_a_note():
    assert cb.plan(CARDS[TRAVEL], channel="sms").language == "de"
    assert cb.plan(CARDS[INVESTORS], channel="sms").language == "en"
    brief = cb.plan(CARDS[TRAVEL], channel="sms", language="pt")
    assert brief.language == "en"
    assert any("no pt templates" in n or "no Portuguese" in n or "no pt" in n
               for n in brief.notes)


def test_in_their_languages_gives_one_version_per_language():
    briefs = cb.plan_editions(CARDS[TRAVEL], language="all", channel="push", product="checking")
    want = [k for k, v in sorted(CARDS[TRAVEL].languages.items(), key=lambda kv: -kv[1])
            if k in LANGUAGES and v >= cb.MIN_LANGUAGE_SHARE]
    assert [b.language for b in briefs] == want
    assert len({b.language for b in briefs}) == len(briefs)


def test_currency_follows_where_the_languages_speakers_bank():
    assert cb.plan(CARDS[TRAVEL], channel="email", language="de").currency == "€"
    assert cb.plan(CARDS[TRAVEL], channel="email", language="en").currency == "£"
    us = SegmentCard.from_dict({**CARDS[TRAVEL].to_dict(), "countries": {"US": 0.8, "DE": 0.2}})
    assert cb.plan(us, channel="email", language="en").currency == "$"
    # US and Canadian dollars are two currencies: 25% + 10% in dollars do not beat 30% in pounds
    north_america = SegmentCard.from_dict({**CARDS[TRAVEL].to_dict(), "countries": {
        "GB": 0.3, "US": 0.25, "CA": 0.1, "DE": 0.35}})
    brief = cb.plan(north_america, channel="email", language="en", product="savings")
    assert brief.currency == "£" and any("others bank in" in n for n in brief.notes)
    canada = SegmentCard.from_dict({**CARDS[TRAVEL].to_dict(), "countries": {"CA": 1.0}})
    assert cb.plan(canada, channel="email", language="en").currency == "C$"


def test_an_audience_spanning_currencies_gets_one_version_per_market():
    briefs = cb.plan_editions(CARDS[TRAVEL], language="en", channel="email", product="savings")
    markets = {b.currency: b.market for b in briefs}
    # English speakers here bank in pounds (GB), dollars (US) and euros (the Netherlands...)
    assert set(markets) == {"£", "$", "€"} and markets["£"] == ("GB",) and markets["$"] == ("US",)
    assert {"DE", "NL"} <= set(markets["€"])
    for b in briefs:
        body = co.write(b, b.angles[0])["body"]
        other = {"£", "$", "€"} - {b.currency}
        assert b.currency in body and not any(c in body for c in other), b.currency
        assert any("send it only to them" in n for n in b.notes)
    # a current account states no amounts: one version for everyone
    assert len(cb.plan_editions(CARDS[TRAVEL], language="en", channel="email",
                                product="checking")) == 1


def test_variants_differ_in_angle_and_segments_differ_in_copy():
    briefs = {s: cb.plan(CARDS[s], channel="email", language="en", product="savings",
                         variants=3, openers=OPENERS) for s in (TRAVEL, STUDENTS, INVESTORS)}
    bodies = {s: co.write(b, "benefit")["body"] for s, b in briefs.items()}
    assert len(set(bodies.values())) == 3
    assert "your next trip" in bodies[TRAVEL] and "studying" in bodies[STUDENTS]
    brief = briefs[TRAVEL]
    variants = [co.write(brief, a) for a in brief.angles]
    for name in ("subject", "preheader", "body"):
        assert len({v[name] for v in variants}) == len(variants), name


def test_responsible_angles_per_product():
    loan = cb.plan(CARDS[FAMILIES], channel="email", product="personal_loan", variants=4)
    assert loan.angles == ["benefit", "simplicity"]
    assert any("2 responsible angles" in n for n in loan.notes)
    crypto = cb.plan(CARDS[CRYPTO], channel="push", product="crypto", variants=4)
    assert not {"timely", "loss_aversion"} & set(crypto.angles)
    # the travel theme makes "before your next trip" a fair reason for a card
    card = cb.plan(CARDS[TRAVEL], channel="email", product="credit_card", variants=3,
                   language="en")
    assert card.angles == ["benefit", "timely", "loss_aversion"]
    assert co.write(card, "timely")["subject"] == "Heading abroad soon?"


@pytest.mark.parametrize(("share", "language", "phrase"), [
    (0.40, "en", "4 in 10"), (0.48, "en", "nearly 5 in 10"), (0.45, "en", "more than 4 in 10"),
    (0.79, "en", "nearly 8 in 10"), (0.90, "en", "9 in 10"), (0.91, "en", "more than 9 in 10"),
    (0.48, "de", "fast 5 von 10"), (0.96, "en", "more than 9 in 10"),
    (1.0, "fr", "plus de 9 sur 10"), (0.951, "it", "più di 9 su 10"),
])
def test_social_proof_numbers_are_true_and_not_rounded_up(share, language, phrase):
    assert co.share_phrase(share, language) == phrase


def test_social_proof_needs_data_and_names_peers_only_when_the_card_does():
    assert "social_proof" not in cb.plan(CARDS[STUDENTS], channel="email").angles
    travel = cb.plan(CARDS[TRAVEL], channel="push", language="en", product="savings",
                     variants=4)
    assert "social_proof" in travel.angles
    push = co.write(travel, "social_proof")
    assert "Nearly 5 in 10 frequent travellers" in push["body"]
    web = cb.plan(CARDS[WEB_SAVERS], channel="push", language="en", product="savings",
                  variants=4)
    assert "customers like you" in co.write(web, "social_proof")["body"]  # not "retirees"
    investors = cb.plan(CARDS[INVESTORS], channel="email", language="en",
                        product="investment", variants=4)
    assert investors.theme_named and "social_proof" in investors.angles
    email = co.write(investors, "social_proof")        # not "8 in 10 investors invest with us"
    assert "investors" not in email["subject"].lower() and "customers like you" in email["body"]
    savings = cb.plan(CARDS[INVESTORS], channel="push", language="en", product="savings",
                      variants=4)
    assert "investors" in co.write(savings, "social_proof")["body"]   # "investors save": true
    recent = cb.plan(CARDS[STUDENTS], channel="email", language="de", variants=4,
                     openers=OPENERS)
    assert "social_proof_recent" in recent.angles
    assert "mehr als 1.200" in co.write(recent, "social_proof_recent")["body"]


def test_german_copy_keeps_abbreviations_and_the_formal_register():
    brief = cb.plan(CARDS[TRAVEL], channel="email", language="de", product="savings",
                    tone="formal")
    email = co.write(brief, "benefit")
    assert "p. a. für Guthaben" in email["body"]
    assert email["body"].startswith("Guten Tag {{first_name}},")
    assert "Mit freundlichen Grüßen" in email["body"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_email_ends_with_the_unsubscribe_line_and_the_sender(language):
    brief = cb.plan(CARDS[TRAVEL], channel="email", language=language, product="investment")
    body = co.write(brief, brief.angles[0])["body"]
    assert body.endswith("{{sender_name}}, {{sender_address}}")
    assert "{{unsubscribe_url}}" in body.split("\n\n")[-1]


def test_library_terms_agree_with_the_brand_voice_facts():
    for language in LANGUAGES:
        for product in PRODUCTS:
            terms = text(language, "products", product, "terms", default={})
            facts = co.product_facts(product, language, "€")
            joined = " ".join(facts["facts"]) + facts["disclosure"]
            for value in terms.values():
                assert value.replace("${cur}", "€") in joined, (product, language, value)
    assert set(library()[0]["products"]) == set(voice()[0]["products"])


def test_every_language_has_every_piece_the_others_have():
    """Same keys in every language file (words aside): no combination can miss a line."""
    def keys(node, prefix=()):
        if isinstance(node, dict):
            for k, v in node.items():
                if prefix[:1] != ("words",):
                    yield from keys(v, (*prefix, k))
        else:
            yield prefix

    reference = set(keys(text("en", "products"))) | set(keys(text("en", "intents")))
    for language in LANGUAGES:
        mine = set(keys(text(language, "products"))) | set(keys(text(language, "intents")))
        required = {k for k in reference if k[-1] not in ("line_short", "headline_short")}
        assert required <= mine, (language, sorted(required - mine)[:10])
        for tone in tones():
            assert {"greeting", "sign_off", "closer", "hook_short", "signals", "avoid"} <= set(
                text(language, "tones", tone)), (language, tone)
        assert set(text(language, "events")) == set(events())


def test_a_theme_found_from_behaviour_alone_describes_a_need_not_an_identity():
    unnamed = SegmentCard.from_dict({
        **CARDS[STUDENTS].to_dict(),
        "name": "Family-supported customers with low income and small purchases",
        "description": "Customers who receive money from family and spend little."})
    brief = cb.plan(unnamed, channel="email", language="en", variants=3)
    assert brief.theme == "student" and not brief.theme_named
    copy_text = " ".join(" ".join(co.write(brief, a).values()) for a in brief.angles)
    assert "When money is tight" in copy_text
    assert "studying" not in copy_text and "term" not in copy_text
    named = cb.plan(CARDS[STUDENTS], channel="email", language="en")
    assert "When you are studying" in co.write(named, "benefit")["body"]


def test_headline_field_of_every_channel_is_filled():
    for channel, language in itertools.product(CHANNELS, LANGUAGES):
        brief = cb.plan(CARDS[DIGITAL], channel=channel, language=language)
        assert co.write(brief, brief.angles[0])[HEADLINE_FIELD[channel]]


@pytest.mark.parametrize(("raw", "language", "tidied"), [
    ("Worth a look now: A monthly plan", "en", "Worth a look now: a monthly plan"),
    ("Please note: Set up a plan", "en", "Please note: set up a plan"),
    ("Just so you know: I can help", "en", "Just so you know: I can help"),
    ("Finch : À noter : Un livret", "fr", "Finch : À noter : un livret"),
    ("Hinweis: Ein Konto", "de", "Hinweis: Ein Konto"),        # German keeps its capitals
])
def test_a_hook_ending_in_a_colon_runs_on_in_lower_case(raw, language, tidied):
    assert co.tidy(raw, language) == tidied
