"""The compliance rules, table-driven from tests/fixtures/compliance_cases.toml, and repairs."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tools.compliance import check, repair, ruleset, scrub, shorten
from tools.copy_library import supported_languages
from tools.message_length import DISCLOSURE_FIELD, sms_count

# Rules of one market's law: the UK mortgage repossession warning, and the rules named for their
# country ("fr_credit_warning": the French consumer credit warning).
ONE_MARKET_RULES = ("mortgage_repossession",)
MARKET_PREFIXES = tuple(f"{lang}_" for lang in supported_languages())

CASES = tomllib.loads(
    (Path(__file__).parent / "fixtures" / "compliance_cases.toml").read_text("utf-8"))["case"]
FILLER = {
    "email": {"subject": "Your savings, simply", "preheader": "A short preheader.",
              "body": "Hello.", "cta": "Open the app"},
    "sms": {"text": "Finch: Hello. STOP to 12345"},
    "push": {"title": "Hello", "body": "Hello."},
    "in_app": {"title": "Hello", "body": "Hello.", "cta": "Open"},
}


def _case_id(case: dict) -> str:
    return f"{case['rule']}-{case['language']}-{'flags' if case['flags'] else 'passes'}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_rule_cases(case):
    channel = case.get("channel", "email")
    target = case.get("field", DISCLOSURE_FIELD[channel])
    fields = {**FILLER[channel], target: case["text"]}
    report = check(fields, channel=channel, language=case["language"],
                   product=case.get("product"))
    hits = [f for f in report.findings if f.rule == case["rule"]]
    assert bool(hits) == case["flags"], [f.describe() for f in report.findings]
    if case["flags"]:
        assert all(f.field == target for f in hits)
        if "severity" in case:
            assert {f.severity for f in hits} == {case["severity"]}
        if ruleset().rule(case["rule"]).kind == "forbidden":
            assert hits[0].matched.lower() in case["text"].lower()


def test_every_rule_has_cases_that_flag_and_pass():
    seen = {(c["rule"], c["flags"]) for c in CASES}
    for rule in ruleset().rules:
        assert (rule.id, True) in seen, f"no failing case for {rule.id}"
        assert (rule.id, False) in seen, f"no passing case for {rule.id}"
    languages = {(c["rule"], c["language"]) for c in CASES}
    for rule in ruleset().rules:
        for language in supported_languages():
            if rule.patterns.get(language):
                assert (rule.id, language) in languages, f"no {language} case for {rule.id}"


def test_every_language_has_patterns_for_every_rule_that_reads_words():
    """A language with templates is checked like English: forbidden claims, disclosures and
    the legal lines (rules for one language only, like the UK repossession warning, aside)."""
    for rule in ruleset().rules:
        if rule.kind in ("length", "max_count", "brand_words") or rule.patterns.get("any") \
                or rule.id in ONE_MARKET_RULES or rule.id.startswith(MARKET_PREFIXES):
            continue
        for language in supported_languages():
            assert rule.patterns.get(language), f"{rule.id} has no {language} patterns"


def test_the_push_lock_screen_repair_takes_merge_fields_off():
    fields, done = repair({"title": "Hi {{first_name}}, news", "body": "{{first_name}}, your "
                           "card is ready."}, channel="push", language="en", product=None)
    assert fields == {"title": "Hi, news", "body": "Your card is ready."}
    assert done == ["took the merge fields off the push notification (it shows on the lock "
                    "screen)"]
    assert check(fields, channel="push", language="en").passed


def test_an_email_without_its_footer_gets_it_before_anything_else_is_cut():
    long_body = "Hi {{first_name}},\n\n" + "A sentence about savings. " * 80
    fields, done = repair({"subject": "s", "preheader": "p", "body": long_body, "cta": "c"},
                          channel="email", language="en", product=None, footer=FOOTER)
    assert fields["body"].endswith(FOOTER) and len(fields["body"]) <= 2000
    assert "added the email footer (unsubscribe line, sender and postal address)" in done
    assert check(fields, channel="email", language="en").passed


def test_findings_name_rule_severity_field_and_text():
    report = check({"subject": "Risk-free returns", "preheader": "p", "body": "Act now.",
                    "cta": "Go"}, channel="email", language="en", product="investment")
    assert not report.passed
    by_rule = {f.rule: f for f in report.findings}
    assert by_rule["no_risk_claim"].field == "subject"
    assert by_rule["no_risk_claim"].matched == "Risk-free"
    assert by_rule["misleading_urgency"].severity == "blocking"
    assert by_rule["capital_at_risk"].field == "body"
    assert "blocked" in report.status()
    assert report.to_list()[0].keys() == {"rule", "severity", "message", "field", "matched"}


FOOTER = "Unsubscribe: {{unsubscribe_url}}\n{{sender_name}}, {{sender_address}}"


def test_a_dated_deadline_turns_urgency_into_a_warning_only():
    report = check({"subject": "Last chance", "preheader": "Ends 2027-03-31",
                    "body": "b\n\n" + FOOTER, "cta": "c"}, channel="email", language="en")
    urgency = [f for f in report.findings if f.rule == "misleading_urgency"]
    assert urgency and urgency[0].severity == "warning"
    assert report.passed


def test_empty_fields_are_blocking():
    report = check({"title": "", "body": "Hello."}, channel="push", language="en")
    assert [f.rule for f in report.blocking] == ["channel_length"]


@pytest.mark.parametrize(("language", "product", "disclosure", "opt_out"), [
    ("en", "investment", "Capital at risk.", "STOP to 12345"),
    ("de", "credit_card", "Eff. Jahreszins 19,9 % (veränderlich).", "Abmelden: STOP an 12345"),
    ("en", "savings", "Variable rate; conditions apply.", "STOP to 12345"),
])
def test_repair_adds_disclosure_and_opt_out_and_fits_the_sms(language, product, disclosure,
                                                             opt_out):
    long = ("Finch: " + "Plan ahead with a clear view of your money in the app, " * 3).strip()
    fields, done = repair({"text": long}, channel="sms", language=language, product=product,
                          disclosure=disclosure, opt_out=opt_out)
    text = fields["text"]
    assert text.endswith(f"{disclosure} {opt_out}")
    assert sms_count(text).fits_one
    assert any("opt-out" in d for d in done) and any("shortened" in d for d in done)
    assert check(fields, channel="sms", language=language, product=product).passed


def test_repair_keeps_an_existing_opt_out_last_and_shortens_headlines_at_words():
    fields, _ = repair({"text": "Finch: Open Finch Invest from 25 a month. STOP to 12345"},
                       channel="sms", language="en", product="investment",
                       disclosure="Capital at risk.", opt_out="STOP to 12345")
    assert fields["text"] == "Finch: Open Finch Invest from 25 a month. Capital at risk. " \
                             "STOP to 12345"
    fields, done = repair({"title": "Pay abroad without foreign transaction fees and with "
                                    "no annual fee", "body": "Ok."},
                          channel="push", language="en", product=None)
    assert fields["title"] == "Pay abroad without foreign transaction"
    assert done == ["shortened the title to fit the push limit (cut between words: check that "
                    "it still reads well)"]


def test_shorten_prefers_whole_sentences_then_clauses():
    text = "First sentence here. Second one, which is long. Third."
    assert shorten(text, lambda t: len(t) <= 30) == "First sentence here."
    assert shorten("One long clause, and another long clause.", lambda t: len(t) <= 20) == \
        "One long clause."


def test_repair_leaves_claims_for_regeneration():
    fields, _ = repair({"subject": "Guaranteed returns", "preheader": "p", "body": "b",
                        "cta": "c"}, channel="email", language="en", product="investment",
                       disclosure="Capital at risk.", footer=FOOTER)
    assert fields["subject"] == "Guaranteed returns"
    assert fields["body"] == "b\n\nCapital at risk.\n\n" + FOOTER
    report = check(fields, channel="email", language="en", product="investment")
    assert [f.rule for f in report.blocking] == ["guaranteed_returns"]


def test_scrub_removes_personal_data_from_text_for_the_model():
    text = scrub("Write to anna@example.com or +49 151 23456789 about {{last_name}}'s savings")
    assert "anna@example.com" not in text and "23456789" not in text
    assert "{{last_name}}" not in text
    assert scrub("Hi {{first_name}}") == "Hi {{first_name}}"
