"""Write campaign copy for a segment and a channel: A/B variants, checked, repaired and saved.

The brief (tools/copy_brief.py) decides intent, tone, product, angles, language and market; one
batch of variants is written per edition (a language, and within it a currency when the
audience banks in several). With a model (`ctx.writer`) the copy comes from prompts/copy/
<channel>.md (tools/copy_prompt.py); the model sees the segment card (aggregates only) and
product facts, never personal data. Without one it comes from the templates
(tools/copy_offline.py). Every variant then passes the compliance check (tools/compliance.py):
a model reply with a blocking finding is regenerated once with the findings, then repaired
mechanically (disclosure, opt-out, email footer, lock screen, length) and, if a claim is still
wrong, replaced by the template for the same angle. A draft is only offered as ready when
nothing blocks it. Drafts are saved with their receipts (tools/drafts.py). A request for a claim
no copy may make (a promised return, risk-free crypto, pressure to borrow) is refused with the
rule it breaks and what can be written instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import pandas as pd

import prompts
from tools import drafts
from tools.compliance import ComplianceReport, check, repair, ruleset
from tools.copy_brief import PRODUCT_LABELS, Brief, plan_editions, words_for_goal
from tools.copy_library import intents, text, tones, versions
from tools.copy_offline import product_facts, write
from tools.copy_prompt import render_prompts
from tools.copy_words import forbidden_request, read_goal, refusal
from tools.message_length import COPY_MODELS, HEADLINE_FIELD, LIMITS
from tools.result import TableResult, ToolContext, ToolResult
from tools.segment_card import SegmentCard
from warehouse.contract import ACTIVE_WINDOW_DAYS, ASSISTANT_SCHEMA, CONTACT_CHANNELS
from warehouse.errors import (
    AssistantError,
    InvalidArgument,
    ModelReplyInvalid,
    ModelUnavailable,
    RunNotFound,
)

OFFLINE_MODEL = "offline-templates"
ALL_CUSTOMERS = "All marketable customers"
LETTERS = "ABCD"
RECENT_DAYS = 90
MIN_KEPT = 0.5   # a repair that keeps less than half of a field replaces the copy instead
MIN_AT_RISK = 20  # fewer customers above the churn threshold: describe the top decile instead
SELECTION = "selection"  # a card built here from a selection of customers, not a stored segment


class CopyRefused(InvalidArgument):
    """The request asks for a claim no copy may make; the message says why and what instead."""


# -- which customers -----------------------------------------------------------------------------
def resolve_card(ctx: ToolContext, segment_id: int | None, run_id: str | None,
                 segment_name: str | None = None) -> SegmentCard:
    """The card of the segment asked for (by number or by name), the one in the conversation,
    or all customers."""
    from tools.runs import load_cards
    from tools.segment_card import load_card

    if segment_name and segment_id is None:
        cards = load_cards(ctx.wh, run_id or ctx.state.get("last_segment_run"))
        return _by_name(cards, segment_name)
    if segment_id is None:
        segment_id = ctx.state.get("last_segment_id")
        run_id = run_id or ctx.state.get("last_segment_run")
    if segment_id is None:
        return all_customers_card(ctx)
    return load_card(ctx.wh, run_id or ctx.state.get("last_segment_run"), int(segment_id))


def _by_name(cards: list[SegmentCard], name: str) -> SegmentCard:
    """The card whose name shares most words with `name` ("the travellers")."""
    def stems(value: str) -> set[str]:
        return {w[:5] for w in value.lower().replace("-", " ").split() if len(w) >= 4}

    wanted = stems(name)
    scored = sorted(((len(wanted & stems(f"{c.name} {c.description}")), c.segment_id, c)
                     for c in cards), key=lambda t: (-t[0], t[1]))
    if not scored or scored[0][0] == 0 or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        listed = "; ".join(f"{c.segment_id}: {c.name}" for c in cards)
        raise InvalidArgument(f"no single segment matches {name!r}; the segments are {listed}"
                              " (name one by number)")
    return scored[0][2]


def _shares(ctx: ToolContext, members: str, size: int, col: str) -> dict[str, float]:
    rows = ctx.wh.rows(f"SELECT c.{col}, count(*) / {size} FROM customers c "
                       f"WHERE c.customer_id IN (SELECT customer_id FROM ({members})) "
                       f"AND c.{col} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 8")
    return {str(k): round(float(v), 4) for k, v in rows}


def card_for_members(ctx: ToolContext, members: str, *, name: str, description: str,
                     run_id: str = "", segment_id: int = -1) -> SegmentCard:
    """A card for the customers `members` selects (customer_id): sizes and shares only."""
    size = int(ctx.wh.scalar(f"SELECT count(*) FROM ({members})") or 0)
    if not size:
        raise InvalidArgument(f"there are no customers in {name.lower()} to write to")
    held = ctx.wh.rows(
        f"SELECT product, count(DISTINCT customer_id) / {size} FROM accounts "
        f"WHERE status = 'open' AND customer_id IN (SELECT customer_id FROM ({members})) "
        "GROUP BY 1 ORDER BY 2 DESC")
    return SegmentCard(
        run_id=run_id, segment_id=segment_id, name=name, description=description, size=size,
        share=1.0, traits=[], products={p: round(float(s), 4) for p, s in held},
        reach=_reach(ctx, members), languages=_shares(ctx, members, size, "preferred_language"),
        countries=_shares(ctx, members, size, "country"), source_sql=members, kind=SELECTION)


def all_customers_card(ctx: ToolContext) -> SegmentCard:
    """A card for every customer who may be marketed to: no segment traits, the real shares."""
    base = "SELECT customer_id FROM customers WHERE kyc_status = 'verified'"
    if not int(ctx.wh.scalar(f"SELECT count(*) FROM ({base})") or 0):
        raise InvalidArgument("the warehouse has no verified customers to write to")
    return card_for_members(
        ctx, base, name=ALL_CUSTOMERS,
        description="Every verified customer; each channel only reaches those who consented.")


def new_customers_card(ctx: ToolContext, card: SegmentCard, notes: list[str]) -> SegmentCard:
    """Welcome copy without a segment: the verified customers who signed up in the last
    RECENT_DAYS days up to the data's reference date (not every customer)."""
    if card.name != ALL_CUSTOMERS or not any(    # the engine's catalog (DuckDB or Spark)
            t.name == "reference_period" for t in ctx.wh.catalog() if t.schema == "main"):
        return card
    members = (f"SELECT c.customer_id FROM customers c, reference_period r "
               f"WHERE c.kyc_status = 'verified' AND c.signup_date > r.reference_date - "
               f"INTERVAL {RECENT_DAYS} DAY AND c.signup_date <= r.reference_date")
    if not int(ctx.wh.scalar(f"SELECT count(*) FROM ({members})") or 0):
        notes.append(f"no customer signed up in the last {RECENT_DAYS} days, so this welcome "
                     "copy is written for all marketable customers; name a segment to narrow it")
        return card
    notes.append(f"written for new customers (signed up in the last {RECENT_DAYS} days of the "
                 "data); name a segment to write for it instead")
    return card_for_members(ctx, members, name="New customers",
                            description=f"Customers who signed up in the last {RECENT_DAYS} "
                            "days.")


def dormant_card(ctx: ToolContext, card: SegmentCard, notes: list[str]) -> SegmentCard:
    """Reactivation copy is for the dormant customers of `card` (the semantic model's
    "dormant": no transaction in the activity window up to the reference date, read from the
    customer_status view), not for everyone; `card` itself, with a note, when there are none."""
    if not ctx.wh.scalar("SELECT count(*) FROM duckdb_views() WHERE view_name = "
                         "'customer_status'"):
        return card
    inside = (f" AND c.customer_id IN (SELECT customer_id FROM ({card.source_sql}))"
              if card.source_sql else "")
    members = ("SELECT c.customer_id FROM customers c JOIN customer_status s "
               "ON s.customer_id = c.customer_id WHERE c.kyc_status = 'verified' "
               f"AND NOT s.is_active{inside}")
    where = "" if card.segment_id < 0 else f" in segment {card.segment_id} ({card.name})"
    if not int(ctx.wh.scalar(f"SELECT count(*) FROM ({members})") or 0):
        notes.append(f"no dormant customers{where} (every one transacted in the last "
                     f"{ACTIVE_WINDOW_DAYS} days), so this reactivation copy is written for "
                     f"{card.name.lower() if card.segment_id < 0 else 'the whole segment'}")
        return card
    notes.append(f"written for dormant customers{where} (no transaction in the last "
                 f"{ACTIVE_WINDOW_DAYS} days up to the data's reference date), not for "
                 "everyone")
    return card_for_members(ctx, members, name=f"Dormant customers{where}",
                            description=f"Customers with no transaction in the last "
                            f"{ACTIVE_WINDOW_DAYS} days{where}.",
                            run_id=card.run_id, segment_id=card.segment_id)


def at_risk_card(ctx: ToolContext, card: SegmentCard, min_churn_risk: float,
                 notes: list[str]) -> SegmentCard:
    """The customers of `card` whose latest churn score is at least `min_churn_risk`, from the
    saved churn run (never re-scored here); `card` itself, with a note, when there is none."""
    from tools.runs import get_run

    try:
        run = get_run(ctx.wh, None, kinds=("churn",))
    except RunNotFound:
        notes.append("no churn scores yet, so this is written for "
                     f"{card.name.lower() if card.segment_id < 0 else 'the whole segment'} as a "
                     "win-back; ask \"who is likely to churn?\" to score customers, then draft "
                     "again to write for those at risk only")
        return card
    scores = f"{ASSISTANT_SCHEMA}.scores"
    inside = (f" AND customer_id IN (SELECT customer_id FROM ({card.source_sql}))"
              if card.source_sql else "")
    members = (f"SELECT customer_id FROM {scores} WHERE run_id = '{run['run_id']}' "
               f"AND score >= {float(min_churn_risk)}{inside}")
    label = f"churn risk of at least {min_churn_risk:.0%}"
    if int(ctx.wh.scalar(f"SELECT count(*) FROM ({members})") or 0) < MIN_AT_RISK:
        members = (f"SELECT customer_id FROM {scores} WHERE run_id = '{run['run_id']}' "
                   f"AND decile = 1{inside}")
        notes.append(f"fewer than {MIN_AT_RISK} customers have a {label}; written for the "
                     "10% most at risk (top churn decile) instead")
        label = "the top churn decile"
    notes.append(f"written for customers at risk of churning ({label}) from churn run "
                 f"{run['run_id']}, scored {run['created_at']:%Y-%m-%d}; the model was not "
                 "re-run")
    where = "" if card.segment_id < 0 else f" in {card.name}"
    return card_for_members(ctx, members, name=f"Customers at risk of churning{where}",
                            description=f"Customers with a {label}{where}.",
                            run_id=card.run_id, segment_id=card.segment_id)


def _audience_module():
    try:
        from tools import audience
    except ImportError:
        return None
    return audience


def _reach(ctx: ToolContext, members: str) -> dict[str, int]:
    """Customers who may be contacted per channel, all in one query."""
    audience = _audience_module()
    if audience is None:
        return {}
    df = ctx.wh.df(audience.reach_sql(f"(SELECT customer_id, 1 AS segment_id FROM ({members}))"))
    if df.empty:
        return dict.fromkeys(CONTACT_CHANNELS, 0)
    row = df.iloc[0]
    return {ch: int(row[ch]) for ch in CONTACT_CHANNELS}


def _audience(ctx: ToolContext, card: SegmentCard, channel: str) -> tuple[int | None, str]:
    """Customers who may be contacted on `channel` and the SQL of the consent rules applied."""
    audience = _audience_module()
    if audience is None or channel not in CONTACT_CHANNELS:
        return card.reach.get(channel), ""
    if card.kind == SELECTION:  # the reach was counted with the card
        rules = audience.eligibility_sql(channel)
        return card.reach.get(channel), (
            f"SELECT customer_id FROM ({rules}) WHERE exclusion IS NULL AND customer_id IN "
            f"(SELECT customer_id FROM ({card.source_sql}))")
    try:
        result = audience.audience_counts(ctx.wh, channel, segment_id=card.segment_id,
                                          run_id=card.run_id)
    except AssistantError:  # a card that is not (or no longer) in the warehouse
        return card.reach.get(channel), ""
    return result.eligible, result.sql


def recent_openers(ctx: ToolContext) -> tuple[dict[str, int], str]:
    """Customers who opened each product in the last 90 days (true numbers for social proof)."""
    if not (ctx.wh.has_table("accounts") and ctx.wh.has_table("transactions")):
        return {}, ""
    sql = (f"SELECT a.product, count(DISTINCT a.customer_id) FROM accounts a, reference_period r "
           f"WHERE a.opened_at > r.reference_date - INTERVAL {RECENT_DAYS} DAY "
           "AND a.opened_at <= r.reference_date GROUP BY a.product")
    return {str(p): int(n) for p, n in ctx.wh.rows(sql)}, sql


# -- one variant ---------------------------------------------------------------------------------
@dataclass
class Variant:
    letter: str
    angle: str
    fields: dict[str, str]
    report: ComplianceReport
    source: str                      # "model", "template"
    repairs: list[str] = field(default_factory=list)


def _fields_of(reply, channel: str) -> dict[str, str]:
    if isinstance(reply, dict):
        raw = reply
    elif callable(getattr(reply, "fields", None)):
        raw = reply.fields()
    elif hasattr(reply, "model_dump"):
        raw = reply.model_dump()
    else:
        raise ModelReplyInvalid(f"the model replied with {type(reply).__name__}, not copy")
    return {name: str(raw.get(name) or "") for name in LIMITS[channel]}


def _problems(report: ComplianceReport) -> str:
    return "\n".join(f"- {f.describe()}" for f in report.blocking)


def _check(brief: Brief, fields: dict[str, str]) -> ComplianceReport:
    return check(fields, channel=brief.channel, language=brief.language, product=brief.product)


class _Session:
    """Calls the writer for the variants of one request; stops calling after an outage."""

    def __init__(self, ctx: ToolContext) -> None:
        self.ctx = ctx
        self.versions: dict[str, str] = {}
        self.outage: str | None = None

    def ask(self, brief: Brief, system: str, prompt: str
            ) -> tuple[dict[str, str] | None, str, bool]:
        """(fields or None, problem, whether the writer already retried with the error)."""
        if self.outage:
            return None, self.outage, False
        schema = COPY_MODELS[brief.channel]
        try:
            reply = self.ctx.writer.generate(system, prompt, schema)
        except ModelReplyInvalid as exc:
            fields = _fields_of(exc.last_reply, brief.channel) if exc.last_reply else None
            return fields, str(exc), True
        except ModelUnavailable as exc:
            self.outage = str(exc)
            return None, self.outage, False
        return _fields_of(reply, brief.channel), "", False

    def write(self, brief: Brief, angle: str, letter: str, others: list[str]) -> Variant:
        system, prompt, versions_used = render_prompts(brief, angle, letter, others)
        self.versions.update(versions_used)
        repairs: list[str] = []
        fields, problem, retried = self.ask(brief, system, prompt)
        report = _check(brief, fields) if fields else None
        if fields is not None and report is not None and not report.passed and not retried:
            repair_prompt = prompts.load("copy/repair")
            self.versions["copy/repair"] = repair_prompt.version
            retry = prompt + "\n\n" + repair_prompt.render(
                problems=_problems(report), previous=json.dumps(fields, ensure_ascii=False),
                channel=brief.channel)
            again, problem2, _ = self.ask(brief, system, retry)
            repairs.append("regenerated with the compliance findings")
            if again is not None:
                fields = again
                report = _check(brief, fields)
            else:
                repairs.append(f"the second reply could not be used: {problem2}")
        if fields is None:
            repairs.append(f"written from the template library: the model's reply could not "
                           f"be used ({problem})")
            return _template_variant(brief, angle, letter, repairs)
        if not report.passed:
            before = fields
            fields, done = _mechanical(brief, fields)
            report = _check(brief, fields)
            cut = [k for k in fields if len(fields[k]) < MIN_KEPT * len(before.get(k, ""))]
            if cut:  # shortened beyond recognition: no longer the model's copy
                repairs.append(f"replaced by the template for the same angle ({', '.join(cut)} "
                               "too long to shorten)")
                return _template_variant(brief, angle, letter, repairs)
            repairs += done
        if not report.passed:
            rules = ", ".join(sorted({f.rule for f in report.blocking}))
            repairs.append(f"replaced by the template for the same angle ({rules} could not "
                           "be repaired)")
            return _template_variant(brief, angle, letter, repairs)
        return Variant(letter, angle, fields, report, "model", repairs)


def _mechanical(brief: Brief, fields: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    facts = product_facts(brief.product, brief.language, brief.currency)
    legal = text(brief.language, "legal")
    short = brief.channel in ("sms", "push", "in_app")
    return repair(fields, channel=brief.channel, language=brief.language, product=brief.product,
                  disclosure=facts["disclosure_short" if short else "disclosure"],
                  opt_out=legal["opt_out"] if brief.channel == "sms" else "",
                  footer=legal["footer"] if brief.channel == "email" else "")


def _template_variant(brief: Brief, angle: str, letter: str,
                      repairs: list[str] | None = None) -> Variant:
    repairs = list(repairs or [])
    fields = write(brief, angle)
    report = _check(brief, fields)
    if not report.passed:
        fields, done = _mechanical(brief, fields)
        repairs += done
        report = _check(brief, fields)
    return Variant(letter, angle, fields, report, "template", repairs)


# -- the tool --------------------------------------------------------------------------------
Channel = Literal["email", "sms", "push", "in_app"]
Intent = Literal["winback", "welcome", "cross_sell", "upsell", "reactivation",
                 "event_triggered"]
Tone = Literal["warm", "playful", "formal", "reassuring", "urgent"]


def draft_campaign(ctx: ToolContext, channel: Channel, segment_id: int | None = None,
                   run_id: str | None = None, segment_name: str | None = None,
                   goal: str | None = None, product: str | None = None,
                   intent: Intent | None = None, tone: Tone | None = None,
                   event: str | None = None, language: str | None = None,
                   min_churn_risk: float | None = None, variants: int = 2) -> ToolResult:
    """Write campaign copy for a customer segment and channel, as A/B variants with different
    angles, checked for compliance and saved as drafts for approval.

    Use when the marketer asks for an email, SMS, push notification or in-app message, e.g.
    "write an email for segment 3 about our savings account", "a playful push for the
    travellers", "a win-back SMS for customers at risk of churning", "the welcome email in
    their languages". Copy uses merge fields such as {{first_name}}; no personal data is
    involved. Refuses, with the rule and an alternative, a request for a claim no copy may make
    (guaranteed returns, risk-free, pressure to borrow). Without a segment (and none earlier in
    the conversation) it writes for all marketable customers.

    Args:
        channel: "email", "sms", "push" or "in_app".
        segment_id: the segment to write for; omit for the segment discussed last, or for all
            marketable customers when there is none.
        run_id: the segmentation run of that segment; omit for the latest.
        segment_name: the segment by name instead of number, e.g. "travellers".
        goal: what the campaign should achieve, in the marketer's words.
        product: checking, savings, credit_card, personal_loan, mortgage, investment or crypto;
            omit to let the intent, goal or segment decide.
        intent: why it is sent: winback (at risk of leaving), welcome (new customers),
            cross_sell (a product they lack), upsell (more from what they hold), reactivation
            (dormant), event_triggered (sent by a real-time trigger; needs `event`). Omit to
            infer it from the goal and segment.
        tone: warm (default), playful, formal, reassuring or urgent (urgent without pressure).
        event: for event_triggered: card_payment_abroad, salary_received, large_deposit,
            application_started, product_viewed, account_opened or back_after_break.
        language: "en", "de", "fr", "es", "it" or "nl"; "all" for one version per preferred
            language of the segment; omit for the segment's main language.
        min_churn_risk: write for the customers whose latest saved churn score is at least
            this (0-1), e.g. 0.5 for "at risk of churning"; uses the saved churn run.
        variants: how many A/B variants (1 to 4, default 2), each with a different angle.
    """
    found = forbidden_request(" ".join(filter(None, (goal, ctx.question or ""))))
    if found is not None:
        raise CopyRefused(refusal(found, segment_id))
    card = resolve_card(ctx, segment_id, run_id, segment_name)
    return draft_for_card(ctx, card, channel=channel, goal=goal, product=product,
                          intent=intent, tone=tone, event=event, language=language,
                          min_churn_risk=min_churn_risk, variants=variants)


def draft_for_card(ctx: ToolContext, card: SegmentCard, *, channel: str,
                   goal: str | None = None, product: str | None = None,
                   intent: str | None = None, tone: str | None = None,
                   event: str | None = None, language: str | None = None,
                   min_churn_risk: float | None = None, variants: int = 2,
                   save: bool = True) -> ToolResult:
    """`draft_campaign` for an explicit segment card (tests, scripts, other tools)."""
    channel = (channel or "").strip().lower().replace("-", "_")
    product = product.strip().lower().replace(" ", "_") if product else None
    if goal:
        found = forbidden_request(goal)
        if found is not None:
            raise CopyRefused(refusal(found, card.segment_id if card.segment_id >= 0 else None))
    extra: list[str] = []
    if min_churn_risk is not None:
        if not 0 <= float(min_churn_risk) <= 1:
            raise InvalidArgument(f"min_churn_risk is a probability between 0 and 1, not "
                                  f"{min_churn_risk}")
        card = at_risk_card(ctx, card, float(min_churn_risk), extra)
        intent = intent or "winback"
    elif intent == "welcome" or (intent == "event_triggered" and event == "account_opened"):
        card = new_customers_card(ctx, card, extra)
    elif (intent or (read_goal(goal).get("intent") if goal else None)) == "reactivation":
        card = dormant_card(ctx, card, extra)
    openers, openers_sql = recent_openers(ctx)
    briefs = plan_editions(card, language=language, channel=channel, goal=goal,
                           product=product, tone=tone, intent=intent, event=event,
                           variants=variants, openers=openers)
    if goal and ctx.writer is None and words_for_goal(goal):
        b = briefs[0]
        extra.append(f"the offline templates cannot follow the goal \"{goal}\" word for word: "
                     f"written as a {intents()[b.intent]['label'].lower()} for the "
                     f"{PRODUCT_LABELS[b.product]}; with a language model configured the goal "
                     "is followed")
    session = _Session(ctx) if ctx.writer is not None else None
    size, audience_sql = _audience(ctx, card, channel)
    model = ctx.writer.name if ctx.writer is not None else OFFLINE_MODEL
    now = datetime.now().replace(microsecond=0)
    records: list[drafts.Draft] = []
    batches: list[tuple[Brief, list[drafts.Draft]]] = []
    editions = []
    for brief in briefs:
        brief.notes = extra + brief.notes
        written = []
        for i, angle in enumerate(brief.angles):
            others = [a for a in brief.angles if a != angle]
            reused = _market_neutral(brief, angle, editions) if session else None
            written.append(reused or (session.write(brief, angle, LETTERS[i], others) if session
                                      else _template_variant(brief, angle, LETTERS[i])))
        editions.append((brief, written))
    for brief, written in _merge_same_copy(editions):
        file_versions = dict(ruleset().versions) | versions([brief.language])
        if session:
            file_versions |= session.versions
        if session and session.outage:
            brief.notes.append(f"the model could not be reached ({session.outage}); variants "
                               "without a model reply come from the template library")
        notes = list(brief.notes)
        batch = drafts.new_batch_id()
        edition = [drafts.Draft(
            draft_id=f"{batch}-{v.letter.lower()}", batch_id=batch, variant=v.letter,
            angle=v.angle, created_at=now, channel=channel, language=brief.language,
            content=v.fields, model=model if v.source == "model" else OFFLINE_MODEL,
            prompt_versions=file_versions, passed=v.report.passed,
            findings=v.report.to_list(), repairs=v.repairs, notes=notes,
            question=ctx.question, run_id=card.run_id or None,
            segment_id=card.segment_id if card.segment_id >= 0 else None,
            segment_name=card.name, goal=goal, product=brief.product, tone=brief.tone,
            intent=brief.intent, event=brief.event, currency=brief.currency,
            market=list(brief.market), audience_size=size, reach=dict(card.reach),
            segment_sql=card.source_sql, audience_sql=audience_sql,
        ) for v in written]
        records += edition
        batches.append((brief, edition))
    saved = False
    if save and not ctx.wh.read_only:
        drafts.save(ctx.wh, records)
        saved = True
        ctx.state["last_draft_batch"] = records[0].batch_id
        ctx.state["last_draft_ids"] = [d.draft_id for d in records]
    files = [drafts.export(records, "markdown", ctx.output_dir)]
    return ToolResult(
        summary=_summary(batches, card, channel, size, saved),
        tables=[TableResult(f"{channel} variants for {card.name}"
                            + (f" ({b.edition})" if len(batches) > 1 else ""),
                            side_by_side(edition)) for b, edition in batches],
        sql=[s for s in (card.source_sql, audience_sql, openers_sql) if s],
        files=files, data=[d.to_dict() for d in records],
    )


_AMOUNT = re.compile(r"\d|[£$€¥]|\b(GBP|EUR|USD|CAD|CHF)\b")


def _market_neutral(brief: Brief, angle: str, editions: list[tuple[Brief, list[Variant]]]
                    ) -> Variant | None:
    """The model's variant for another market of the same language, when it states no amount
    or currency (nothing a market changes) and passes this market's checks as it is: the model
    is asked once per language, not once per market, for copy like "Your savings, growing"."""
    for other, written in editions:
        if other.language != brief.language or not other.market or not brief.market:
            continue
        for v in written:
            if v.angle != angle or v.source != "model" or v.repairs:
                continue
            if any(_AMOUNT.search(value) for value in v.fields.values()):
                return None
            report = _check(brief, v.fields)
            if report.passed and not report.findings:
                return Variant(v.letter, angle, dict(v.fields), report, "model", [])
    return None


def _merge_same_copy(editions: list[tuple[Brief, list[Variant]]]
                     ) -> list[tuple[Brief, list[Variant]]]:
    """One version for markets whose copy came out word for word the same (no amounts in the
    lines written): "one version per market" only where the markets' copy differs."""
    out: list[tuple[Brief, list[Variant]]] = []
    for brief, written in editions:
        same = next((b for b, w in out if b.language == brief.language and b.market
                     and brief.market and [v.fields for v in w] == [v.fields for v in written]),
                    None)
        if same is None:
            out.append((brief, written))
            continue
        same.market = (*same.market, *brief.market)
        same.currency = f"{same.currency}/{brief.currency}"
    for brief, _ in out:
        if "/" not in brief.currency:
            continue
        split_note = f"{brief.language_name} version for customers banking in"
        all_markets = not any(b.language == brief.language and b is not brief for b, _ in out)
        brief.notes = [n for n in brief.notes if not n.startswith(split_note)
                       and not (all_markets and n.startswith(f"no {brief.language_name} "
                                                             "version for "))]
        brief.notes.append(f"one {brief.language_name} version for customers banking in "
                           f"{brief.currency.replace('/', ', ')}: the copy states no amounts")
        if all_markets:
            brief.market, brief.currency = (), brief.currency.split("/")[0]
    return out


def side_by_side(records: list[drafts.Draft]) -> pd.DataFrame:
    """Variants as columns, fields as rows: what a reviewer compares."""
    rows: dict[str, dict[str, str]] = {}
    for d in records:
        col = f"{d.variant} ({d.angle.replace('_', ' ')})"
        rows.setdefault("Angle", {})[col] = d.angle.replace("_", " ")
        for name, value in d.content.items():
            rows.setdefault(drafts.FIELD_LABELS.get(name, name), {})[col] = value
        rows.setdefault("Compliance", {})[col] = d.compliance
        rows.setdefault("Findings", {})[col] = "; ".join(
            f"{f['severity']}: {f['rule']}" for f in d.findings) or "none"
        rows.setdefault("Repairs", {})[col] = "; ".join(d.repairs) or "none"
        rows.setdefault("Draft id", {})[col] = d.draft_id
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("field").reset_index()


def _summary(batches: list[tuple[Brief, list[drafts.Draft]]], card: SegmentCard, channel: str,
             size: int | None, saved: bool) -> str:
    who = (card.name[:1].lower() + card.name[1:]) if card.kind == SELECTION else \
        f"segment {card.segment_id} ({card.name})"
    reach = f"; {size:,} customers may be contacted by {channel}" if size is not None else ""
    records = [d for _, edition in batches for d in edition]
    first = batches[0][0]
    editions = batches[0][0].edition if len(batches) == 1 else \
        f"{len(batches)} versions ({'; '.join(b.edition for b, _ in batches)})"
    head = (f"Drafted {len(records)} {channel} variant{'s' * (len(records) != 1)} in "
            f"{editions} for {who}{reach}. "
            f"Intent: {intents()[first.intent]['label'].lower()}"
            + (f" ({first.event.replace('_', ' ')})" if first.event else "")
            + f"; tone: {tones()[first.tone]['label'].lower()}; product: "
            f"{PRODUCT_LABELS.get(first.product, first.product)}.")
    lines = [head]
    field_name = HEADLINE_FIELD[channel]
    for brief, edition in batches:
        prefix = f"{brief.edition} " if len(batches) > 1 else ""
        for d in edition:
            shown = d.content.get(field_name, "")
            if channel == "sms":
                shown = shown if len(shown) <= 90 else shown[:87].rstrip() + "..."
            lines.append(f"{prefix}{d.variant} ({d.angle.replace('_', ' ')}): \"{shown}\"; "
                         f"compliance {d.compliance}"
                         + ("; ready for review" if d.passed else "; NOT ready: needs an edit"))
    ids = ", ".join(d.draft_id for d in records)
    # approving needs the approver's name, which the privacy guard hides from any model
    lines.append(f"Saved as {ids} (status draft). Approve one with `assistant drafts approve "
                 f"{records[0].draft_id} --by NAME`." if saved and records else
                 "Not saved: the warehouse is open read-only here.")
    if records and all(d.model == OFFLINE_MODEL for d in records):
        lines.append("Written offline from the template library.")
    notes = list(dict.fromkeys(n for brief, _ in batches for n in brief.notes))
    if notes:
        lines.append("Notes: " + "; ".join(notes) + ".")
    if any(d.repairs for d in records):
        lines.append("Some copy was repaired; see the Repairs row.")
    return "\n".join(lines)
