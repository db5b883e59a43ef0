"""Write campaign copy for a segment and a channel: A/B variants, checked, repaired and saved.

Each variant gets its own angle (tools/copy_offline.py decides them). With a model
(`ctx.writer`) the copy comes from prompts/copy/<channel>.md; the model sees the segment card
(aggregates only) and product facts, never personal data. Without one it comes from the template
library. Every variant then passes the compliance check (tools/compliance.py): a model reply with
a blocking finding is regenerated once with the findings, then repaired mechanically (disclosure,
opt-out, length) and, if a claim is still wrong, replaced by the template for the same angle. A
draft is only offered as ready when nothing blocks it. Drafts are saved with their receipts
(tools/drafts.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import pandas as pd

import prompts
from tools import copy_offline, drafts
from tools.compliance import ComplianceReport, check, repair, ruleset, scrub
from tools.copy_offline import Brief, product_facts
from tools.message_length import COPY_MODELS, HEADLINE_FIELD, LIMITS
from tools.result import TableResult, ToolContext, ToolResult
from tools.segment_card import SegmentCard
from warehouse.contract import CONTACT_CHANNELS
from warehouse.errors import (
    AssistantError,
    InvalidArgument,
    ModelReplyInvalid,
    ModelUnavailable,
)

OFFLINE_MODEL = "offline-templates"
ALL_CUSTOMERS = "All marketable customers"
LETTERS = "ABCD"
RECENT_DAYS = 90
MIN_KEPT = 0.5   # a repair that keeps less than half of a field replaces the copy instead


# -- which customers -----------------------------------------------------------------------------
def resolve_card(ctx: ToolContext, segment_id: int | None, run_id: str | None
                 ) -> SegmentCard:
    """The card of the segment asked for, the one in the conversation, or all customers."""
    if segment_id is None:
        segment_id = ctx.state.get("last_segment_id")
        run_id = run_id or ctx.state.get("last_segment_run")
    if segment_id is None:
        return all_customers_card(ctx)
    try:
        from tools.segment_card import load_card
    except ImportError:
        raise AssistantError("segment cards cannot be loaded in this installation yet; "
                             "segment the customers first") from None
    return load_card(ctx.wh, run_id or ctx.state.get("last_segment_run"), int(segment_id))


def all_customers_card(ctx: ToolContext) -> SegmentCard:
    """A card for every customer who may be marketed to: no segment traits, the real shares."""
    wh = ctx.wh
    base = "SELECT customer_id, country, preferred_language FROM customers " \
           "WHERE kyc_status = 'verified'"
    size = int(wh.scalar(f"SELECT count(*) FROM ({base})") or 0)
    if not size:
        raise InvalidArgument("the warehouse has no verified customers to write to")

    def shares(col: str) -> dict[str, float]:
        rows = wh.rows(f"SELECT {col}, count(*) / {size} FROM ({base}) WHERE {col} IS NOT NULL "
                       "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 8")
        return {str(k): round(float(v), 4) for k, v in rows}

    held = wh.rows(f"SELECT product, count(DISTINCT customer_id) / {size} FROM accounts "
                   f"WHERE status = 'open' AND customer_id IN (SELECT customer_id FROM ({base})) "
                   "GROUP BY 1 ORDER BY 2 DESC")
    return SegmentCard(
        run_id="", segment_id=-1, name=ALL_CUSTOMERS,
        description="Every verified customer; each channel only reaches those who consented.",
        size=size, share=1.0, traits=[], products={p: round(float(s), 4) for p, s in held},
        reach=_reach_all(ctx), languages=shares("preferred_language"),
        countries=shares("country"), source_sql=base,
    )


def _audience_module():
    try:
        from tools import audience
    except ImportError:
        return None
    return audience


ALL_MEMBERS = "(SELECT customer_id, 1 AS segment_id FROM customers)"


def _reach_all(ctx: ToolContext) -> dict[str, int]:
    """Customers who may be contacted per channel, all in one query."""
    audience = _audience_module()
    if audience is None:
        return {}
    row = ctx.wh.df(audience.reach_sql(ALL_MEMBERS)).iloc[0]
    return {ch: int(row[ch]) for ch in CONTACT_CHANNELS}


def _audience(ctx: ToolContext, card: SegmentCard, channel: str) -> tuple[int | None, str]:
    """Customers who may be contacted on `channel` and the SQL of the consent rules applied."""
    audience = _audience_module()
    if audience is None or channel not in CONTACT_CHANNELS:
        return card.reach.get(channel), ""
    if card.segment_id < 0:  # all customers: the reach was counted with the card
        rules = audience.eligibility_sql(channel)
        return card.reach.get(channel), f"SELECT customer_id FROM ({rules}) WHERE exclusion IS NULL"
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


# -- the model's prompt --------------------------------------------------------------------------
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
    label = copy_offline.PRODUCT_LABELS.get(brief.product, brief.product)
    if brief.proof.share is not None and brief.proof.share >= copy_offline.MIN_PEER_SHARE:
        facts.append(f"{brief.proof.share:.0%} of this segment already hold a {label}")
    if (brief.proof.openers or 0) >= copy_offline.MIN_OPENERS:
        facts.append(f"{brief.proof.openers:,} customers opened a {label} in the last "
                     f"{RECENT_DAYS} days")
    if not facts:
        return "There are no numbers for social proof: do not use any."
    return ("True numbers you may use (and no others): " + "; ".join(facts) + ".")


def render_prompts(brief: Brief, angle: str, letter: str, others: list[str]
                   ) -> tuple[str, str, dict[str, str]]:
    """(system prompt, user prompt, versions of the prompt files used)."""
    voice, _ = copy_offline.voice()
    library, _ = copy_offline.library()
    lang = voice["languages"][brief.language]
    formal = brief.register == "formal"
    facts = product_facts(brief.product, brief.language, brief.currency)
    short = brief.channel in ("sms", "push", "in_app")
    disclosure = facts["disclosure_short" if short else "disclosure"]
    angle_key = "social_proof" if angle.startswith("social_proof") else angle
    words = voice["voice"].get(brief.language, {}) if brief.language != "en" else {}
    system_prompt = prompts.load("copy/system")
    values = {
        "brand": voice["brand"], "tone": voice["voice"]["tone"],
        "principles": "\n".join(f"- {p}" for p in voice["voice"]["principles"]),
        "use_words": ", ".join(words.get("use", voice["voice"]["use"])),
        "avoid_words": ", ".join(words.get("avoid", voice["voice"]["avoid"])),
        "language_name": brief.language_name,
        "address": ' (address the reader formally as "Sie")' if brief.language == "de" else "",
    }
    system = system_prompt.render(**{k: values[k] for k in system_prompt.variables})
    channel_prompt = prompts.load(f"copy/{brief.channel}")
    tail = " ".join(p for p in (disclosure, lang["opt_out"]) if p)
    values.update({
        "variant": letter, "segment": segment_text(brief.card),
        "goal": scrub(brief.goal) if brief.goal else _default_goal(brief),
        "product_name": facts["name"],
        "facts": "\n".join(f"- {f}" for f in facts["facts"]),
        "proof": _proof_text(brief),
        "angle": library["angles"][angle_key]["label"],
        "angle_description": library["angles"][angle_key]["description"],
        "other_angles": ", ".join(library["angles"][a.replace("_recent", "")]["label"]
                                  for a in others) or "none (single variant)",
        "tone": brief.tone or "the brand voice",
        "greeting": lang["greeting_formal" if formal else "greeting"],
        "sign_off": lang["sign_off_formal" if formal else "sign_off"].replace("\n", " / "),
        "disclosure": disclosure or "(none needed)", "prefix": lang["sms_prefix"],
        "legal_tail": tail,
        **{f"{k}_limit": v for k, v in LIMITS[brief.channel].items()},
    })
    user = channel_prompt.render(**{k: values[k] for k in channel_prompt.variables})
    versions = {"copy/system": system_prompt.version,
                f"copy/{brief.channel}": channel_prompt.version}
    return system, user, versions


def _default_goal(brief: Brief) -> str:
    label = copy_offline.PRODUCT_LABELS.get(brief.product, brief.product)
    if brief.intent == "winback":
        return "bring customers back to using their account"
    return f"interest customers in the {label}"


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


class _Session:
    """Calls the writer for the variants of one request; stops calling after an outage."""

    def __init__(self, ctx: ToolContext, brief: Brief) -> None:
        self.ctx, self.brief = ctx, brief
        self.versions: dict[str, str] = {}
        self.outage: str | None = None

    def ask(self, system: str, prompt: str) -> tuple[dict[str, str] | None, str, bool]:
        """(fields or None, problem, whether the writer already retried with the error)."""
        if self.outage:
            return None, self.outage, False
        schema = COPY_MODELS[self.brief.channel]
        try:
            reply = self.ctx.writer.generate(system, prompt, schema)
        except ModelReplyInvalid as exc:
            fields = (_fields_of(exc.last_reply, self.brief.channel)
                      if exc.last_reply else None)
            return fields, str(exc), True
        except ModelUnavailable as exc:
            self.outage = str(exc)
            return None, self.outage, False
        return _fields_of(reply, self.brief.channel), "", False

    def write(self, angle: str, letter: str, others: list[str]) -> Variant:
        brief = self.brief
        system, prompt, versions = render_prompts(brief, angle, letter, others)
        self.versions.update(versions)
        repairs: list[str] = []
        fields, problem, retried = self.ask(system, prompt)
        report = check(fields, channel=brief.channel, language=brief.language,
                       product=brief.product) if fields else None
        if fields is not None and report is not None and not report.passed and not retried:
            repair_prompt = prompts.load("copy/repair")
            self.versions["copy/repair"] = repair_prompt.version
            retry = prompt + "\n\n" + repair_prompt.render(
                problems=_problems(report), previous=json.dumps(fields, ensure_ascii=False),
                channel=brief.channel)
            again, problem2, _ = self.ask(system, retry)
            repairs.append("regenerated with the compliance findings")
            if again is not None:
                fields = again
                report = check(fields, channel=brief.channel, language=brief.language,
                               product=brief.product)
            else:
                repairs.append(f"the second reply could not be used: {problem2}")
        if fields is None:
            repairs.append(f"written from the template library: the model's reply could not "
                           f"be used ({problem})")
            return _template_variant(brief, angle, letter, repairs)
        if not report.passed:
            before = fields
            fields, done = _mechanical(brief, fields)
            report = check(fields, channel=brief.channel, language=brief.language,
                           product=brief.product)
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
    lang = copy_offline.voice()[0]["languages"][brief.language]
    short = brief.channel in ("sms", "push", "in_app")
    return repair(fields, channel=brief.channel, language=brief.language, product=brief.product,
                  disclosure=facts["disclosure_short" if short else "disclosure"],
                  opt_out=lang["opt_out"] if brief.channel == "sms" else "")


def _template_variant(brief: Brief, angle: str, letter: str,
                      repairs: list[str] | None = None) -> Variant:
    repairs = list(repairs or [])
    fields = copy_offline.write(brief, angle)
    report = check(fields, channel=brief.channel, language=brief.language, product=brief.product)
    if not report.passed:
        fields, done = _mechanical(brief, fields)
        repairs += done
        report = check(fields, channel=brief.channel, language=brief.language,
                       product=brief.product)
    return Variant(letter, angle, fields, report, "template", repairs)


# -- the tool --------------------------------------------------------------------------------
def draft_campaign(ctx: ToolContext, channel: Literal["email", "sms", "push", "in_app"],
                   segment_id: int | None = None, run_id: str | None = None,
                   goal: str | None = None, product: str | None = None, tone: str | None = None,
                   language: str | None = None, variants: int = 2) -> ToolResult:
    """Write campaign copy for a customer segment and channel, as A/B variants with different
    angles, checked for compliance and saved as drafts for approval.

    Use when the marketer asks for an email, SMS, push notification or in-app message, e.g.
    "write an email for segment 3 about our savings account" or "two SMS variants for the
    travellers". Copy uses merge fields such as {{first_name}}; no personal data is involved.
    Without a segment (and none earlier in the conversation) it writes for all marketable
    customers.

    Args:
        channel: "email", "sms", "push" or "in_app".
        segment_id: the segment to write for (from the segmentation); omit for the segment
            discussed last, or for all marketable customers when there is none.
        run_id: the segmentation run of that segment; omit for the latest.
        goal: what the campaign should achieve, in the marketer's words, e.g. "win back
            customers at risk of churning" or "promote the new savings account".
        product: the product to promote: checking, savings, credit_card, personal_loan,
            mortgage, investment or crypto; omit to let the goal or the segment decide.
        tone: e.g. "friendly" or "formal"; omit for the brand voice.
        language: ISO code such as "en" or "de"; omit for the segment's main language.
        variants: how many A/B variants (1 to 4, default 2), each with a different angle.
    """
    card = resolve_card(ctx, segment_id, run_id)
    return draft_for_card(ctx, card, channel=channel, goal=goal, product=product, tone=tone,
                          language=language, variants=variants)


def draft_for_card(ctx: ToolContext, card: SegmentCard, *, channel: str,
                   goal: str | None = None, product: str | None = None,
                   tone: str | None = None, language: str | None = None, variants: int = 2,
                   save: bool = True) -> ToolResult:
    """`draft_campaign` for an explicit segment card (tests, scripts, other tools)."""
    channel = (channel or "").strip().lower().replace("-", "_")
    product = product.strip().lower().replace(" ", "_") if product else None
    openers, openers_sql = recent_openers(ctx)
    brief = copy_offline.plan(card, channel=channel, goal=goal, product=product, tone=tone,
                              language=language, variants=variants, openers=openers)
    versions = dict(ruleset().versions) | copy_offline.versions()
    session = _Session(ctx, brief) if ctx.writer is not None else None
    written = []
    for i, angle in enumerate(brief.angles):
        letter = LETTERS[i]
        others = [a for a in brief.angles if a != angle]
        written.append(session.write(angle, letter, others) if session
                       else _template_variant(brief, angle, letter))
    if session:
        versions |= session.versions
    notes = list(brief.notes)
    if session and session.outage:
        notes.append(f"the model could not be reached ({session.outage}); variants without "
                     "a model reply come from the template library")
    size, audience_sql = _audience(ctx, card, channel)
    model = ctx.writer.name if ctx.writer is not None else OFFLINE_MODEL
    batch = drafts.new_batch_id()
    now = datetime.now().replace(microsecond=0)
    records = [drafts.Draft(
        draft_id=f"{batch}-{v.letter.lower()}", batch_id=batch, variant=v.letter,
        angle=v.angle, created_at=now, channel=channel, language=brief.language,
        content=v.fields, model=model if v.source == "model" else OFFLINE_MODEL,
        prompt_versions=versions, passed=v.report.passed, findings=v.report.to_list(),
        repairs=v.repairs, notes=notes, question=ctx.question,
        run_id=card.run_id or None, segment_id=card.segment_id if card.segment_id >= 0 else None,
        segment_name=card.name, goal=goal, product=brief.product, tone=tone,
        audience_size=size, reach=dict(card.reach), segment_sql=card.source_sql,
        audience_sql=audience_sql,
    ) for v in written]
    saved = False
    if save and not ctx.wh.read_only:
        drafts.save(ctx.wh, records)
        saved = True
        ctx.state["last_draft_batch"] = batch
        ctx.state["last_draft_ids"] = [d.draft_id for d in records]
    files = [drafts.export(records, "markdown", ctx.output_dir)]
    return ToolResult(
        summary=_summary(brief, records, size, saved, notes),
        tables=[TableResult(f"{channel} variants for {card.name}", side_by_side(records))],
        sql=[s for s in (card.source_sql, audience_sql, openers_sql) if s],
        files=files, data=[d.to_dict() for d in records],
    )


def side_by_side(records: list[drafts.Draft]) -> pd.DataFrame:
    """Variants as columns, fields as rows: what a reviewer compares."""
    rows: dict[str, dict[str, str]] = {}
    for d in records:
        col = f"{d.variant} ({d.angle.replace('_', ' ')})"
        rows.setdefault("Angle", {})[col] = d.angle.replace("_", " ")
        for name, text in d.content.items():
            rows.setdefault(drafts.FIELD_LABELS.get(name, name), {})[col] = text
        rows.setdefault("Compliance", {})[col] = d.compliance
        rows.setdefault("Findings", {})[col] = "; ".join(
            f"{f['severity']}: {f['rule']}" for f in d.findings) or "none"
        rows.setdefault("Repairs", {})[col] = "; ".join(d.repairs) or "none"
        rows.setdefault("Draft id", {})[col] = d.draft_id
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("field").reset_index()


def _summary(brief: Brief, records: list[drafts.Draft], size: int | None, saved: bool,
             notes: list[str]) -> str:
    card = brief.card
    who = card.name.lower() if card.segment_id < 0 else \
        f"segment {card.segment_id} ({card.name})"
    reach = f"; {size:,} customers may be contacted by {brief.channel}" if size is not None \
        else ""
    head = (f"Drafted {len(records)} {brief.channel} variant{'s' * (len(records) != 1)} in "
            f"{brief.language_name} for {who}{reach}. Product: "
            f"{copy_offline.PRODUCT_LABELS.get(brief.product, brief.product)}"
            + (" (win-back)." if brief.intent == "winback" else "."))
    lines = [head]
    field = HEADLINE_FIELD[brief.channel]
    for d in records:
        text = d.content.get(field, "")
        if brief.channel == "sms":
            text = text if len(text) <= 90 else text[:87].rstrip() + "..."
        lines.append(f"{d.variant} ({d.angle.replace('_', ' ')}): \"{text}\"; "
                     f"compliance {d.compliance}"
                     + ("; ready for review" if d.passed else "; NOT ready: needs an edit"))
    ids = ", ".join(d.draft_id for d in records)
    # approving needs the approver's name, which the privacy guard hides from any model
    lines.append(f"Saved as {ids} (status draft). Approve one with `assistant drafts approve "
                 f"{records[0].draft_id} --by NAME`." if saved and records else
                 f"Saved as {ids} (status draft)." if saved
                 else "Not saved: the warehouse is open read-only here.")
    if records and records[0].model == OFFLINE_MODEL and not any(
            d.model != OFFLINE_MODEL for d in records):
        lines.append("Written offline from the template library.")
    if notes:
        lines.append("Notes: " + "; ".join(notes) + ".")
    if any(d.repairs for d in records):
        lines.append("Some copy was repaired; see the Repairs row.")
    return "\n".join(lines)
