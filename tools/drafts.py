"""Saved campaign drafts with their receipts: save, list, show, approve, export.

One row per variant in `assistant.campaign_drafts`; the variants of one request share a batch id
(`d3f9a1`) and are named `d3f9a1-a`, `d3f9a1-b`. Every row is a receipt: the question, the
segment run and segment, the consented reach per channel, the SQL that defined the segment, the
model and prompt versions, the compliance findings, status and approval. A draft with a blocking
finding cannot be approved.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from tools.message_length import HEADLINE_FIELD
from tools.result import TableResult, ToolContext, ToolResult
from warehouse.connection import Warehouse
from warehouse.contract import ASSISTANT_SCHEMA
from warehouse.errors import AssistantError, EmptyResult, InvalidArgument
from warehouse.files import spreadsheet_text, write_text_atomic

TABLE = f"{ASSISTANT_SCHEMA}.campaign_drafts"
STATUSES = ("draft", "approved")
FORMATS = ("markdown", "json", "csv")
FIELD_LABELS = {"subject": "Subject", "preheader": "Preheader", "body": "Body", "cta": "Button",
                "text": "Text", "title": "Title"}

# column, type, comment (the model reads comments when it describes the warehouse)
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("draft_id", "VARCHAR PRIMARY KEY", "Draft key: batch id and variant letter, e.g. d3f9a1-a."),
    ("batch_id", "VARCHAR NOT NULL", "The request that produced this variant; its variants "
     "are an A/B test."),
    ("variant", "VARCHAR NOT NULL", "Variant label: A, B, C or D."),
    ("angle", "VARCHAR NOT NULL", "Why this variant differs: benefit, social_proof, timely, "
     "loss_aversion, simplicity."),
    ("created_at", "TIMESTAMP NOT NULL", "When the draft was written (wall clock)."),
    ("question", "VARCHAR", "The marketer's question that led to the draft."),
    ("run_id", "VARCHAR", "Segmentation run the segment comes from; NULL for all customers."),
    ("segment_id", "INTEGER", "Segment within the run; NULL for all marketable customers."),
    ("segment_name", "VARCHAR", "Name of the segment at drafting time."),
    ("channel", "VARCHAR NOT NULL", "email, sms, push or in_app."),
    ("goal", "VARCHAR", "The campaign goal as asked."),
    ("product", "VARCHAR", "Product promoted (checking for re-engagement)."),
    ("language", "VARCHAR NOT NULL", "Language of the copy, ISO 639-1."),
    ("tone", "VARCHAR", "Tone written in: warm (the brand default), playful, formal, "
     "reassuring or urgent (urgent without pressure)."),
    ("intent", "VARCHAR", "Why the message is sent: winback, welcome, cross_sell, upsell, "
     "reactivation or event_triggered."),
    ("event", "VARCHAR", "For event-triggered copy, the event a real-time trigger sends it on, "
     "e.g. card_payment_abroad."),
    ("currency", "VARCHAR", "Currency symbol the amounts in the copy are written in."),
    ("market", "VARCHAR", "Countries this version is for, as JSON (empty: the whole audience); "
     "send it only to customers there."),
    ("content", "VARCHAR NOT NULL", "The copy as JSON: subject, preheader, body, cta (email); "
     "text (sms); title, body (push); title, body, cta (in_app). Merge fields such as "
     "{{first_name}} are filled at send time."),
    ("audience_size", "BIGINT", "Customers who may be contacted on this channel (consent, "
     "profiling, KYC, open account, contact address) at drafting time."),
    ("reach", "VARCHAR", "Consented reach per channel as JSON, e.g. {\"email\": 1530}."),
    ("segment_sql", "VARCHAR", "SQL that selects the segment's members."),
    ("audience_sql", "VARCHAR", "SQL that applied the consent rules for the channel."),
    ("model", "VARCHAR NOT NULL", "Model that wrote the copy, or offline-templates."),
    ("prompt_versions", "VARCHAR NOT NULL", "Prompt and data files used, name -> version hash, "
     "as JSON."),
    ("passed", "BOOLEAN NOT NULL", "True when the compliance check found nothing blocking."),
    ("findings", "VARCHAR NOT NULL", "Compliance findings as JSON: rule, severity, message, "
     "field, matched text."),
    ("repairs", "VARCHAR NOT NULL", "What was done to make the copy compliant, as JSON."),
    ("notes", "VARCHAR NOT NULL", "Notes for the reviewer (language coverage, product choice), "
     "as JSON."),
    ("status", "VARCHAR NOT NULL", "draft or approved."),
    ("approved_by", "VARCHAR", "Who approved it."),
    ("approved_at", "TIMESTAMP", "When it was approved."),
)
_JSON_COLUMNS = ("content", "reach", "prompt_versions", "findings", "repairs", "notes", "market")


@dataclass
class Draft:
    """One variant of campaign copy and its receipt."""

    draft_id: str
    batch_id: str
    variant: str
    angle: str
    created_at: datetime
    channel: str
    language: str
    content: dict[str, str]
    model: str
    prompt_versions: dict[str, str]
    passed: bool
    findings: list[dict] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    question: str = ""
    run_id: str | None = None
    segment_id: int | None = None
    segment_name: str = ""
    goal: str | None = None
    product: str | None = None
    tone: str | None = None
    intent: str | None = None
    event: str | None = None
    currency: str | None = None
    market: list[str] = field(default_factory=list)
    audience_size: int | None = None
    reach: dict[str, int] = field(default_factory=dict)
    segment_sql: str = ""
    audience_sql: str = ""
    status: str = "draft"
    approved_by: str | None = None
    approved_at: datetime | None = None

    @property
    def headline(self) -> str:
        text = self.content.get(HEADLINE_FIELD.get(self.channel, ""), "")
        return text if len(text) <= 70 else text[:67].rstrip() + "..."

    @property
    def compliance(self) -> str:
        blocking = [f["rule"] for f in self.findings if f["severity"] == "blocking"]
        warnings = [f for f in self.findings if f["severity"] == "warning"]
        if blocking:
            return f"blocked ({', '.join(sorted(set(blocking)))})"
        return f"passed, {len(warnings)} warning(s)" if warnings else "passed"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("created_at", "approved_at"):
            d[k] = d[k].isoformat(timespec="seconds") if d[k] else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Draft:
        """The inverse of to_dict (tool results carry drafts as JSON-safe dicts)."""
        values = dict(d)
        for k in ("created_at", "approved_at"):
            if isinstance(values.get(k), str):
                values[k] = datetime.fromisoformat(values[k])
        return cls(**values)

    @staticmethod
    def looks_like(d: Any) -> bool:
        return isinstance(d, dict) and {"draft_id", "content", "channel"} <= d.keys()


def new_batch_id() -> str:
    return "d" + secrets.token_hex(3)


# -- the table -----------------------------------------------------------------------------------
def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ensure_table(cur) -> None:
    """Create the drafts table with its comments (idempotent); `cur` is in a transaction."""
    cols = ",\n    ".join(f"{name} {type_}" for name, type_, _ in COLUMNS)
    cur.execute(f"CREATE SCHEMA IF NOT EXISTS {ASSISTANT_SCHEMA}")
    cur.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (\n    {cols}\n)")
    cur.execute(f"COMMENT ON TABLE {TABLE} IS " + _quote(
        "Campaign copy drafts, one row per A/B variant, each with its receipt: question, "
        "segment, consented reach, SQL, model and prompt versions, compliance findings, "
        "approval."))
    for name, type_, comment in COLUMNS:   # tables saved by older versions gain new columns
        cur.execute(f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS {name} "
                    f"{type_.replace(' NOT NULL', '').replace(' PRIMARY KEY', '')}")
        cur.execute(f"COMMENT ON COLUMN {TABLE}.{name} IS {_quote(comment)}")


def _writable(wh: Warehouse, action: str) -> None:
    if wh.read_only:
        raise AssistantError(f"cannot {action}: the warehouse is open read-only here; run the "
                             "command line (`assistant drafts ...`) or open it for writing")


def save(wh: Warehouse, drafts: list[Draft]) -> None:
    """Insert the drafts in one transaction: all of them or none."""
    _writable(wh, "save drafts")
    names = [c[0] for c in COLUMNS]
    rows = []
    for d in drafts:
        values = asdict(d)
        rows.append([json.dumps(values[n], ensure_ascii=False) if n in _JSON_COLUMNS
                     else values[n] for n in names])
    with wh.transaction() as cur:
        ensure_table(cur)
        cur.executemany(f"INSERT INTO {TABLE} ({', '.join(names)}) VALUES "
                        f"({', '.join('?' * len(names))})", rows)


def _has_table(wh: Warehouse) -> bool:
    return wh.has_table("campaign_drafts", schema=ASSISTANT_SCHEMA)


def _from_row(row: dict[str, Any]) -> Draft:
    values = {k: (json.loads(v) if k in _JSON_COLUMNS and v is not None else v)
              for k, v in row.items()}
    for k in ("created_at", "approved_at"):
        if isinstance(values.get(k), pd.Timestamp):
            values[k] = values[k].to_pydatetime()
    if values.get("segment_id") is not None and not pd.isna(values["segment_id"]):
        values["segment_id"] = int(values["segment_id"])
    else:
        values["segment_id"] = None
    if values.get("audience_size") is not None and not pd.isna(values["audience_size"]):
        values["audience_size"] = int(values["audience_size"])
    else:
        values["audience_size"] = None
    values = {k: (None if not isinstance(v, list | dict) and pd.isna(v) else v)
              for k, v in values.items()}
    values["market"] = values.get("market") or []
    return Draft(**values)


def _select(wh: Warehouse, where: str = "", params: list | None = None,
            limit: int | None = None) -> list[Draft]:
    if not _has_table(wh):
        return []
    sql = f"SELECT * FROM {TABLE} {where} ORDER BY created_at DESC, draft_id"
    if limit:
        sql += f" LIMIT {int(limit)}"
    df = wh.df(sql, params or [])
    return [_from_row(r) for r in df.to_dict("records")]


def list_saved(wh: Warehouse, *, status: str | None = None, limit: int = 20) -> list[Draft]:
    """The newest drafts first, optionally only those with `status`."""
    if status is not None and status not in STATUSES:
        raise InvalidArgument(f"unknown status {status!r}; use {' or '.join(STATUSES)}")
    if limit < 1:
        raise InvalidArgument("limit must be at least 1")
    if status:
        return _select(wh, "WHERE status = ?", [status], limit)
    return _select(wh, limit=limit)


def get(wh: Warehouse, ids: list[str] | str) -> list[Draft]:
    """The drafts with these ids; a batch id stands for all its variants."""
    ids = [ids] if isinstance(ids, str) else list(ids)
    wanted = [i.strip().lower() for i in ids if i and i.strip()]
    if not wanted:
        raise InvalidArgument("name at least one draft id (see `list_drafts`)")
    found = _select(wh, "WHERE draft_id IN (SELECT unnest(?)) OR batch_id IN "
                        "(SELECT unnest(?))", [wanted, wanted])
    missing = [i for i in wanted if not any(i in (d.draft_id, d.batch_id) for d in found)]
    if missing:
        known = [d.draft_id for d in _select(wh, limit=200)]
        known += sorted({k.rsplit("-", 1)[0] for k in known})
        hints = {m: difflib.get_close_matches(m, known, n=3, cutoff=0.5) for m in missing}
        text = "; ".join(f"{m}" + (f" (did you mean {', '.join(h)}?)" if h else "")
                         for m, h in hints.items())
        if not known:
            raise EmptyResult("there are no saved drafts yet; write one with draft_campaign")
        raise InvalidArgument(f"no draft {text}")
    order = {i: n for n, i in enumerate(wanted)}
    return sorted(found, key=lambda d: (order.get(d.draft_id, order.get(d.batch_id, 0)),
                                        d.draft_id))


def approve(wh: Warehouse, draft_id: str, approver: str) -> list[Draft]:
    """Approve a draft (or every variant of a batch); refused while a finding is blocking."""
    approver = (approver or "").strip()
    if not approver:
        raise InvalidArgument("say who approves the draft (approver)")
    if re.fullmatch(r"\[?(name|email|phone)\]?", approver, re.I) or "[" in approver:
        # the privacy guard hid a personal name from the model: a receipt needs the real one
        raise InvalidArgument(
            "the approver's name was hidden from the assistant as personal data; approve it "
            f"with `assistant drafts approve {draft_id} --by NAME` so the receipt has the name")
    _writable(wh, "approve drafts")
    drafts = get(wh, draft_id)
    blocked = [d for d in drafts if not d.passed]
    if blocked:
        rules = sorted({f["rule"] for d in blocked for f in d.findings
                        if f["severity"] == "blocking"})
        raise AssistantError(
            f"cannot approve {', '.join(d.draft_id for d in blocked)}: blocking compliance "
            f"findings ({', '.join(rules)}); fix the copy and draft it again")
    now = datetime.now().replace(microsecond=0)
    with wh.transaction() as cur:
        for d in drafts:
            if d.status == "approved":
                continue
            cur.execute(f"UPDATE {TABLE} SET status = 'approved', approved_by = ?, "
                        "approved_at = ? WHERE draft_id = ?", [approver, now, d.draft_id])
            d.status, d.approved_by, d.approved_at = "approved", approver, now
    return drafts


# -- export --------------------------------------------------------------------------------------
def receipt(d: Draft) -> dict[str, str]:
    """The receipt of a draft in words: where it came from and what was checked."""
    segment = (f"{d.segment_name} (segment {d.segment_id} of run {d.run_id})"
               if d.segment_id is not None else d.segment_name or "all marketable customers")
    size = (f"{d.audience_size:,} may be contacted by {d.channel}"
            if d.audience_size is not None else "not counted")
    reach = ", ".join(f"{k} {v:,}" for k, v in d.reach.items())
    approved = (f" by {d.approved_by} on {d.approved_at:%Y-%m-%d %H:%M}"
                if d.approved_at else "")
    return {
        "Status": d.status + approved,
        "Compliance": d.compliance,
        "Segment": segment,
        "Audience": size + (f" (consented reach: {reach})" if reach else ""),
        "Brief": "; ".join(filter(None, (
            f"intent: {d.intent}" if d.intent else "",
            f"event: {d.event}" if d.event else "",
            f"tone: {d.tone}" if d.tone else "",
            f"product: {d.product}" if d.product else "",
            f"goal: {d.goal}" if d.goal else ""))) or "-",
        "Language and market": d.language + (
            f"; {', '.join(d.market)} ({d.currency})" if d.market else
            f"; amounts in {d.currency}" if d.currency else ""),
        "Written by": f"{d.model}, {d.created_at:%Y-%m-%d %H:%M}",
        "Prompt versions": ", ".join(f"{k} {v}" for k, v in sorted(d.prompt_versions.items())),
        "Question": d.question or "-",
    }


def to_markdown(drafts: list[Draft]) -> str:
    """A review document: each variant's copy, compliance result and receipt."""
    out = ["# Campaign drafts", ""]
    for d in drafts:
        out += [f"## {d.draft_id}: variant {d.variant} ({d.angle.replace('_', ' ')}), "
                f"{d.channel}, {d.language}", ""]
        out += [f"- **{k}:** {v}" for k, v in receipt(d).items()] + [""]
        for name, text in d.content.items():
            label = FIELD_LABELS.get(name, name)
            if "\n" in text:
                out += [f"**{label}:**", "", *[f"> {line}" if line else ">"
                                               for line in text.splitlines()], ""]
            else:
                out += [f"**{label}:** {text}", ""]
        if d.findings:
            out += ["**Findings:**", ""]
            out += [f"- [{f['severity']}] {f['rule']} in {f['field']}"
                    + (f' ("{f["matched"]}")' if f.get("matched") else "")
                    + f": {f['message']}" for f in d.findings]
            out.append("")
        for title, items in (("Repairs", d.repairs), ("Notes for the reviewer", d.notes)):
            if items:
                out += [f"**{title}:**", "", *[f"- {i}" for i in items], ""]
        if d.segment_sql:
            out += ["**Segment SQL:**", "", "```sql", d.segment_sql.strip(), "```", ""]
    return "\n".join(out).rstrip() + "\n"


def _csv(drafts: list[Draft]) -> str:
    fields = sorted({k for d in drafts for k in d.content}, key=list(FIELD_LABELS).index)
    head = ["draft_id", "batch_id", "variant", "angle", "status", "passed", "created_at",
            "segment_id", "segment_name", "run_id", "channel", "language", "currency", "market",
            "intent", "event", "product", "goal", "tone", "audience_size", *fields, "findings",
            "repairs", "notes", "model",
            "prompt_versions", "reach", "question", "segment_sql", "audience_sql",
            "approved_by", "approved_at"]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(head)
    for d in drafts:
        row = d.to_dict()
        row.update({f: d.content.get(f, "") for f in fields})
        row["findings"] = "; ".join(f"{f['severity']}: {f['rule']} ({f['field']})"
                                    for f in d.findings)
        for k in ("repairs", "notes"):
            row[k] = "; ".join(row[k])
        for k in ("prompt_versions", "reach"):
            row[k] = json.dumps(row[k])
        row["market"] = " ".join(row["market"] or [])
        writer.writerow(["" if row.get(h) is None else spreadsheet_text(row.get(h))
                         for h in head])
    return buf.getvalue()


def render(drafts: list[Draft], fmt: str) -> str:
    if fmt == "markdown":
        return to_markdown(drafts)
    if fmt == "json":
        return json.dumps([d.to_dict() for d in drafts], ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        return _csv(drafts)
    raise InvalidArgument(f"unknown format {fmt!r}; use {', '.join(FORMATS)}")


def export(drafts: list[Draft], fmt: str, out_dir: Path) -> Path:
    """Write the drafts to `out_dir` as Markdown, JSON or CSV; returns the file."""
    fmt = {"md": "markdown"}.get(fmt, fmt)
    text = render(drafts, fmt)
    batches = sorted({d.batch_id for d in drafts})
    stem = f"drafts-{batches[0]}" if len(batches) == 1 else \
        f"drafts-{datetime.now():%Y%m%d-%H%M%S}"
    ext = {"markdown": "md", "json": "json", "csv": "csv"}[fmt]
    return write_text_atomic(text, Path(out_dir) / f"{stem}.{ext}")


def overview(drafts: list[Draft]) -> pd.DataFrame:
    """One row per draft for a table."""
    return pd.DataFrame([{
        "draft": d.draft_id, "created": f"{d.created_at:%Y-%m-%d %H:%M}",
        "segment": d.segment_name, "channel": d.channel, "language": d.language,
        "angle": d.angle, "headline": d.headline, "compliance": d.compliance,
        "status": d.status, "approved by": d.approved_by or "",
    } for d in drafts], columns=["draft", "created", "segment", "channel", "language", "angle",
                                 "headline", "compliance", "status", "approved by"])


# -- agent-facing tools --------------------------------------------------------------------------
def _line(d: Draft) -> str:
    return (f"{d.draft_id} ({d.channel}, {d.language}, {d.angle.replace('_', ' ')}) for "
            f"{d.segment_name or 'all customers'}: \"{d.headline}\"; {d.compliance}; {d.status}")


def list_drafts(ctx: ToolContext, status: str | None = None, limit: int = 20) -> ToolResult:
    """List saved campaign drafts, newest first.

    Use when the marketer asks which drafts exist, what is waiting for approval or what was
    approved.

    Args:
        status: only drafts with this status: "draft" (not yet approved) or "approved".
        limit: most drafts to list (default 20).
    """
    drafts = list_saved(ctx.wh, status=status, limit=limit)
    if not drafts:
        what = f"{status} " if status else ""
        return ToolResult(summary=f"No {what}drafts saved yet.")
    lines = [_line(d) for d in drafts[:10]]
    more = f" (showing 10 of {len(drafts)})" if len(drafts) > 10 else ""
    return ToolResult(
        summary=f"{len(drafts)} draft{'s' * (len(drafts) != 1)}{more}:\n- " + "\n- ".join(lines),
        tables=[TableResult("Campaign drafts", overview(drafts))],
        data=[d.to_dict() for d in drafts])


def show_draft(ctx: ToolContext, draft_id: str) -> ToolResult:
    """Show one saved draft (or every variant of a batch) with its copy and receipt.

    Use when the marketer asks to see a draft again, its compliance findings or where it came
    from.

    Args:
        draft_id: a draft id such as "d3f9a1-a", or a batch id such as "d3f9a1" for all its
            variants.
    """
    drafts = get(ctx.wh, draft_id)
    return ToolResult(summary="\n".join(_line(d) for d in drafts),
                      tables=[TableResult("Drafts", overview(drafts))],
                      data=[d.to_dict() for d in drafts])


def approve_draft(ctx: ToolContext, draft_id: str, approver: str) -> ToolResult:
    """Approve a saved campaign draft so it can be sent; refused if compliance blocks it.

    Use only when the marketer explicitly approves a draft and says who approves it.

    Args:
        draft_id: the draft id ("d3f9a1-a"), or a batch id ("d3f9a1") to approve every variant.
        approver: name of the person approving, recorded in the receipt.
    """
    drafts = approve(ctx.wh, draft_id, approver)
    return ToolResult(
        summary=f"Approved {', '.join(d.draft_id for d in drafts)} "
                f"(approver recorded in the receipt).",
        tables=[TableResult("Approved drafts", overview(drafts))],
        data=[d.to_dict() for d in drafts])


def export_drafts(ctx: ToolContext, draft_ids: list[str] | None = None,
                  format: Literal["markdown", "json", "csv"] = "markdown") -> ToolResult:
    """Export campaign drafts with their receipts to a file the marketer can download.

    Use when the marketer wants the drafts as a document (Markdown), for another system (JSON)
    or a spreadsheet (CSV).

    Args:
        draft_ids: draft or batch ids; omit for the drafts of the last request (or the 20
            newest when there is none).
        format: "markdown", "json" or "csv".
    """
    if draft_ids:
        drafts = get(ctx.wh, draft_ids)
    elif ctx.state.get("last_draft_ids") or ctx.state.get("last_draft_batch"):
        drafts = get(ctx.wh, ctx.state.get("last_draft_ids") or ctx.state["last_draft_batch"])
    else:
        drafts = list_saved(ctx.wh, limit=20)
    if not drafts:
        raise EmptyResult("there are no saved drafts to export yet")
    path = export(drafts, format, ctx.output_dir)
    return ToolResult(summary=f"Exported {len(drafts)} draft{'s' * (len(drafts) != 1)} as "
                              f"{format} to {path.name}.",
                      files=[path], data=[d.to_dict() for d in drafts])
