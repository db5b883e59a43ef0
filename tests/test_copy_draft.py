"""draft_campaign with a scripted fake model: what the model is sent, validation and repair."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tools import drafts
from tools.ab_design import design_ab_test
from tools.compliance import check
from tools.draft_campaign import draft_campaign, draft_for_card
from tools.message_length import EmailCopy, PushCopy, SmsCopy
from tools.result import ToolContext
from tools.segment_card import SegmentCard
from tools.segments import run_segmentation
from warehouse.connection import Warehouse
from warehouse.errors import ModelReplyInvalid, ModelUnavailable

CARDS = {d["segment_id"]: SegmentCard.from_dict(d) for d in json.loads(
    (Path(__file__).parent / "fixtures" / "segment_cards.json").read_text("utf-8"))}
# The travellers, banking in the UK and Germany: English copy has one market (pounds).
TRAVEL = SegmentCard.from_dict({**CARDS[1].to_dict(), "countries": {"GB": 0.6, "DE": 0.4}})

GOOD_EMAIL = EmailCopy(
    subject="Put money aside for your next trip",
    preheader="Instant access savings that earn while you plan.",
    body="Hi {{first_name}},\n\nSave for your next trip and earn 2.75% AER.\n\nBest wishes,\n"
         "The Finch team\n\nVariable rate: 2.75% AER today; the rate can change. "
         "Conditions apply, see the app for details.\n\nUnsubscribe at any time: "
         "{{unsubscribe_url}}\n{{sender_name}}, {{sender_address}}",
    cta="Open my savings account")


class FakeWriter:
    """A scripted model: returns queued replies (or raises queued errors), records every call."""

    name = "fake-model-1"

    def __init__(self, *replies) -> None:
        self.replies = list(replies)
        self.calls: list[tuple[str, str, type]] = []

    def generate(self, system, prompt, schema):
        self.calls.append((system, prompt, schema))
        reply = self.replies.pop(0) if self.replies else GOOD_EMAIL
        if isinstance(reply, Exception):
            raise reply
        return reply


@pytest.fixture
def ctx(writable_warehouse, tmp_path):
    with Warehouse.open(writable_warehouse) as wh:
        yield ToolContext(wh=wh, settings=None, question="two emails for the travellers",
                          output_dir=tmp_path / "exports")


def _draft(ctx, writer, card=TRAVEL, **kw):
    ctx.writer = writer
    kw.setdefault("channel", "email")
    kw.setdefault("language", "en")
    kw.setdefault("product", "savings")
    return draft_for_card(ctx, card, **kw)


def test_the_model_gets_segment_traits_and_product_facts_and_no_personal_data(ctx):
    writer = FakeWriter(GOOD_EMAIL, GOOD_EMAIL)
    result = _draft(ctx, writer, goal="promote savings to anna.k@example.com, tel +4915112345678")
    assert [s for _, _, s in writer.calls] == [EmailCopy, EmailCopy]
    system, prompt, _ = writer.calls[0]
    for trait in TRAVEL.traits:
        assert trait.label in prompt
    assert "share of card payments abroad: 44% vs 8% (higher)" in prompt
    assert "Finch Instant Access Savings" in prompt and "2.75% a year (AER, variable)" in prompt
    assert "Variable rate: 2.75% AER today" in prompt          # the disclosure, verbatim
    assert "48% of this segment already hold a savings account" in prompt
    assert "Angle of this variant: Benefit" in prompt and "Timely" in writer.calls[1][1]
    assert "Never invent numbers" in system and "Clear, warm and confident" in system
    sent = system + prompt + writer.calls[1][1]
    assert "anna.k@example.com" not in sent and "4915112345678" not in sent
    assert result.data[0]["model"] == "fake-model-1"
    assert {"copy/system", "copy/email", "brand_voice", "compliance_rules"} <= set(
        result.data[0]["prompt_versions"])


def test_a_warehouse_audience_sends_aggregates_only(ctx):
    """Drafting for all customers builds the card from the warehouse: still no PII."""
    writer = FakeWriter(PushCopy(title="Your money, clearer than ever",
                                 body="See every payment the moment it happens."))
    ctx.writer = writer
    result = draft_campaign(ctx, channel="push", goal="win back customers at risk of churning",
                            variants=1)
    prompt = writer.calls[0][0] + writer.calls[0][1]
    people = ctx.wh.rows("SELECT first_name || ' ' || last_name, email, phone FROM customers "
                         "ORDER BY customer_id LIMIT 500")
    for name, email, phone in people:
        assert name not in prompt and email not in prompt
        assert not phone or phone not in prompt
    assert not re.search(r"[\w.]+@[\w.]+", prompt)
    assert "All marketable customers" in prompt and "Products they hold" in prompt
    assert result.data[0]["segment_id"] is None
    assert result.data[0]["audience_size"] > 0


def test_a_reply_over_the_limit_is_regenerated_with_the_findings(ctx):
    too_long = EmailCopy.model_construct(**{**GOOD_EMAIL.fields(), "subject": "S" * 75})
    writer = FakeWriter(too_long, GOOD_EMAIL, GOOD_EMAIL)
    result = _draft(ctx, writer)
    assert len(writer.calls) == 3                   # variant A twice, variant B once
    retry = writer.calls[1][1]
    assert "channel_length in subject" in retry and "75 characters, the limit is 60" in retry
    assert '"subject": "' + "S" * 75 in retry       # the previous reply is given back
    first = result.data[0]
    assert first["passed"] and first["content"]["subject"] == GOOD_EMAIL.subject
    assert first["repairs"] == ["regenerated with the compliance findings"]
    assert first["model"] == "fake-model-1"


def test_a_claim_that_survives_regeneration_is_replaced_by_the_template(ctx):
    bad = EmailCopy.model_construct(**{**GOOD_EMAIL.fields(),
                                       "subject": "Risk-free growth for your travel money"})
    writer = FakeWriter(bad, bad, GOOD_EMAIL)
    result = _draft(ctx, writer)
    first = result.data[0]
    assert first["passed"]
    assert first["model"] == "offline-templates"
    assert "Risk-free" not in first["content"]["subject"]
    assert any("replaced by the template" in r and "no_risk_claim" in r
               for r in first["repairs"])
    assert first["angle"] == "benefit"


def test_missing_legal_text_is_added_when_regeneration_does_not_add_it(ctx):
    bare = EmailCopy(subject="Save for your next trip", preheader="Earn 2.75% AER.",
                     body="Hi {{first_name}},\n\nEarn 2.75% AER on savings.", cta="Open savings")
    writer = FakeWriter(bare, bare, GOOD_EMAIL)
    result = _draft(ctx, writer)
    first = result.data[0]
    assert first["passed"] and first["model"] == "fake-model-1"
    body = first["content"]["body"]
    assert "Conditions apply, see the app for details.\n\nYou are receiving this email" in body
    assert body.endswith("{{sender_name}}, {{sender_address}}")
    assert "added the savings rate conditions disclosure" in first["repairs"]
    assert "added the email footer (unsubscribe line, sender and postal address)" in \
        first["repairs"]


def test_an_sms_pushed_into_unicode_by_a_curly_quote_is_brought_back_to_gsm7(ctx):
    curly = SmsCopy.model_construct(text="Finch: It’s a good moment to save before your next "
                                         "trip: 2.75% AER with access any time. Variable rate; "
                                         "conditions apply. STOP to 12345")
    writer = FakeWriter(curly, curly)
    result = _draft(ctx, writer, channel="sms", variants=1)
    draft = result.data[0]
    assert draft["passed"] and draft["model"] == "fake-model-1"
    assert draft["content"]["text"] == curly.text.replace("’", "'")
    assert draft["repairs"][-1].startswith("replaced typographic characters")


def test_a_reply_invalid_after_the_writers_own_retry_is_repaired_not_asked_again(ctx):
    last = {"title": "No foreign transaction fees abroad, ever again",
            "body": "Pay like a local wherever you land."}
    writer = FakeWriter(ModelReplyInvalid("title too long twice", last_reply=last))
    result = _draft(ctx, writer, channel="push", product="credit_card", variants=1)
    assert len(writer.calls) == 1
    draft = result.data[0]
    assert draft["passed"] and draft["model"] == "fake-model-1"
    assert draft["content"] == {
        "title": "No foreign transaction fees abroad",
        "body": "Pay like a local wherever you land. Representative 19.9% APR (variable)."}
    assert draft["repairs"] == ["added the representative apr disclosure",
                                "shortened the title to fit the push limit"]


def test_a_repair_that_would_gut_the_copy_uses_the_template_instead(ctx):
    last = {"title": "No foreign transaction fees on any of your trips abroad this year",
            "body": "Pay like a local wherever you land."}
    writer = FakeWriter(ModelReplyInvalid("title too long twice", last_reply=last))
    draft = _draft(ctx, writer, channel="push", product="credit_card", variants=1).data[0]
    assert draft["passed"] and draft["model"] == "offline-templates"
    assert draft["repairs"] == ["replaced by the template for the same angle (title too long "
                                "to shorten)"]


def test_an_outage_falls_back_to_templates_for_every_variant_and_says_so(ctx):
    writer = FakeWriter(ModelUnavailable("connection refused"))
    result = _draft(ctx, writer, variants=2)
    assert len(writer.calls) == 1                   # no hammering a model that is down
    assert [d["model"] for d in result.data] == ["offline-templates"] * 2
    assert all(d["passed"] for d in result.data)
    assert "could not be reached" in result.summary


def test_offline_drafts_are_saved_with_receipts_and_a_summary_without_personal_data(ctx):
    ctx.question = "write two German emails for the travellers"
    result = _draft(ctx, None, language="de")
    assert len(result.data) == 2 and all(d["passed"] for d in result.data)
    saved = drafts.get(ctx.wh, [d["draft_id"] for d in result.data])
    first = saved[0]
    assert first.question == "write two German emails for the travellers"
    assert (first.run_id, first.segment_id, first.segment_name) == ("r-sample", 1, TRAVEL.name)
    assert first.reach == TRAVEL.reach and first.audience_size == TRAVEL.reach["email"]
    assert first.segment_sql == TRAVEL.source_sql
    assert first.model == "offline-templates"
    assert set(first.prompt_versions) == {"copy_library", "copy_templates/de", "brand_voice",
                                          "compliance_rules"}
    assert (first.intent, first.tone, first.currency) == ("cross_sell", "warm", "€")
    assert first.status == "draft" and first.language == "de"
    assert result.files[0].read_text("utf-8").startswith("# Campaign drafts")
    assert ctx.state["last_draft_batch"] == first.batch_id
    summary = result.summary
    assert "segment 1" in summary and "1,530 customers may be contacted by email" in summary
    assert "A (benefit)" in summary and "ready for review" in summary
    assert not re.search(r"@|\+\d{6,}", summary)
    table = result.tables[0].df
    assert list(table.columns) == ["field", "A (benefit)", "B (timely)"]
    assert {"Subject", "Preheader", "Body", "Button", "Compliance"} <= set(table["field"])
    for d in result.data:
        assert check(d["content"], channel="email", language="de", product="savings").passed


def test_the_page_renders_a_draft_result_as_a_review_document(ctx):
    from assistant.ui import render

    result = _draft(ctx, None)
    text = render.data_markdown(result.data)
    first = result.data[0]
    assert text.startswith("# Campaign drafts") and f"## {first['draft_id']}" in text
    assert first["content"]["subject"] in text and "{" + "{first_name}}" in text
    assert drafts.Draft.from_dict(first).to_dict() == first                  # round trip


def test_a_read_only_warehouse_still_drafts_but_says_it_did_not_save(warehouse_path, tmp_path):
    with Warehouse.open(warehouse_path, read_only=True) as wh:
        ctx = ToolContext(wh=wh, settings=None, output_dir=tmp_path)
        result = draft_for_card(ctx, TRAVEL, channel="sms", language="en")
    assert "Not saved" in result.summary and result.files
    assert all(d["passed"] for d in result.data)


def test_bad_arguments_are_clear(ctx):
    with pytest.raises(Exception, match="unknown channel 'fax'"):
        _draft(ctx, None, channel="fax")
    with pytest.raises(Exception, match="unknown product 'bonds'"):
        _draft(ctx, None, product="bonds")
    with pytest.raises(Exception, match="variants must be between 1 and 4"):
        _draft(ctx, None, variants=7)


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("channel", ["email", "sms", "push", "in_app"])
def test_the_prompt_of_every_channel_is_complete(channel, language):
    from tools.copy_brief import plan
    from tools.copy_prompt import render_prompts

    brief = plan(TRAVEL, channel=channel, language=language, product="investment")
    system, prompt, versions = render_prompts(brief, brief.angles[0], "A", brief.angles[1:])
    assert "${" not in system + prompt
    assert set(versions) == {"copy/system", f"copy/{channel}"}
    legal = {"en": "Capital at risk.", "de": "Ihr Kapital unterliegt Risiken"}[language]
    if channel == "email" and language == "de":   # email carries the full legal text
        legal = "Kapitalanlagen sind mit Risiken verbunden"
    assert legal in prompt
    assert ("German" in system and '"Sie"' in system) if language == "de" else "English" in system
    limit = {"email": "at most 60 characters", "sms": "At most 160 characters",
             "push": "at most 40 characters", "in_app": "at most 50 characters"}[channel]
    assert limit in prompt
    if channel == "sms":
        opt_out = {"en": "STOP to 12345", "de": "Abmelden: STOP an 12345"}[language]
        assert opt_out in prompt


@pytest.mark.parametrize("language", ["en", "de", "fr", "es", "it", "nl"])
def test_the_model_is_told_the_brief_the_templates_follow(language):
    """Model path and templates share one brief: the prompt names its intent, tone, event,
    market currency, language and legal lines, in each language and channel."""
    from tools.copy_brief import plan
    from tools.copy_library import events, intents, language_name, text, tones
    from tools.copy_offline import product_facts
    from tools.copy_prompt import render_prompts

    for channel in ("email", "sms", "push", "in_app"):
        for kwargs in ({"intent": "winback", "tone": "reassuring"}, {"tone": "playful"},
                       {"intent": "cross_sell", "tone": "warm"}, {"tone": "formal"},
                       {"event": "salary_received", "tone": "urgent"}):
            brief = plan(TRAVEL, channel=channel, language=language, **kwargs)
            system, prompt, _ = render_prompts(brief, brief.angles[0], "A", brief.angles[1:])
            told = " ".join((system + prompt).split())
            assert f"Intent: {intents()[brief.intent]['label']}" in told
            assert f"Tone: {tones()[brief.tone]['label']}" in told
            assert brief.tone == kwargs["tone"] and f"every amount in {brief.currency}" in told
            assert f"Write in {language_name(language)}" in told
            if brief.event:
                assert f"Sent right after: {events()[brief.event]['label']}" in told
            facts = product_facts(brief.product, language, brief.currency)
            assert facts["disclosure" if channel == "email" else "disclosure_short"] in told
            if channel == "email":
                assert "{{unsubscribe_url}}" in told and "{{sender_address}}" in told
            if channel == "sms":
                assert text(language, "legal", "opt_out") in told
            if channel == "push":   # the lock screen: the tone never asks for a greeting
                assert "greeting by first name." not in told


def test_a_stored_segment_is_drafted_for_with_its_run_and_consent_counts(writable_warehouse,
                                                                          tmp_path):
    """The segmentation's own card, loaded lazily: receipts carry its run, SQL and reach."""
    with Warehouse.open(writable_warehouse) as wh:
        run = run_segmentation(wh, k=4, seed=1)
        ctx = ToolContext(wh=wh, settings=None, output_dir=tmp_path,
                          state={"last_segment_run": run.run.run_id})
        result = draft_campaign(ctx, channel="email", segment_id=2, variants=2)
        draft = drafts.get(wh, result.data[0]["draft_id"])[0]
        card = next(c for c in run.cards if c.segment_id == 2)
        ab = design_ab_test(ctx, channel="email", segment_id=2)
    assert (draft.run_id, draft.segment_id, draft.segment_name) == (run.run.run_id, 2, card.name)
    assert draft.reach == card.reach and draft.audience_size == card.reach["email"]
    assert run.run.run_id in draft.segment_sql and "consents" in draft.audience_sql
    assert draft.passed and f"segment 2 ({card.name})" in result.summary
    assert ab.data["audience"] == card.reach["email"] and card.name in ab.summary


def test_markets_get_their_own_version_only_when_the_copy_states_amounts(ctx):
    """English speakers banking in pounds and dollars: the email states amounts (one version
    per market, each in its currency); the savings SMS states none (one version, said so)."""
    card = SegmentCard.from_dict({**CARDS[1].to_dict(),
                                  "countries": {"GB": 0.5, "US": 0.3, "DE": 0.2}})
    email = _draft(ctx, None, card=card, channel="email", product="credit_card")
    assert {(d["currency"], tuple(d["market"])) for d in email.data} == {
        ("£", ("GB",)), ("$", ("US",))}
    for d in email.data:
        body = d["content"]["body"]
        assert ("£" in body) != ("$" in body), body
    assert "2 versions (English, GB (£); English, US ($))" in email.summary
    sms = _draft(ctx, None, card=card, channel="sms", product="savings")
    assert {(d["currency"], tuple(d["market"])) for d in sms.data} == {("£", ())}
    assert "one English version for customers banking in £, $: the copy states no amounts" \
        in sms.summary


def test_reactivation_copy_is_for_dormant_customers_not_everyone(ctx):
    """"A reactivation email for inactive customers" is written for the semantic model's
    dormant customers (customer_status.is_active false), by goal words as by intent."""
    dormant = ctx.wh.scalar("SELECT count(*) FROM customers c JOIN customer_status s ON "
                            "s.customer_id = c.customer_id WHERE c.kyc_status = 'verified' "
                            "AND NOT s.is_active")
    everyone = ctx.wh.scalar("SELECT count(*) FROM customers WHERE kyc_status = 'verified'")
    assert 0 < dormant < everyone
    for kwargs in ({"intent": "reactivation"}, {"goal": "re-engage dormant customers"}):
        result = draft_campaign(ctx, channel="email", variants=1, **kwargs)
        draft = drafts.get(ctx.wh, result.data[0]["draft_id"])[0]
        assert draft.segment_name == "Dormant customers" and draft.intent == "reactivation"
        assert "written for dormant customers" in result.summary
        members = ctx.wh.scalar(f"SELECT count(*) FROM ({draft.audience_sql}) a JOIN "
                                "customer_status s ON s.customer_id = a.customer_id "
                                "WHERE s.is_active")
        assert members == 0 and 0 < draft.audience_size <= dormant
    cross_sell = draft_campaign(ctx, channel="email", intent="cross_sell", variants=1)
    assert cross_sell.data[0]["segment_name"] != "Dormant customers"


def test_welcome_copy_without_a_segment_is_for_new_customers(ctx):
    result = draft_campaign(ctx, channel="email", intent="welcome", variants=1)
    assert result.data[0]["segment_name"] == "New customers"
    assert "for new customers" in result.summary
    assert "signed up in the last 90 days" in result.summary
    size = ctx.wh.scalar("SELECT count(*) FROM customers c, reference_period r WHERE "
                         "c.kyc_status = 'verified' AND c.signup_date > r.reference_date - "
                         "INTERVAL 90 DAY AND c.signup_date <= r.reference_date")
    everyone = ctx.wh.scalar("SELECT count(*) FROM customers WHERE kyc_status = 'verified'")
    assert 0 < size < everyone
