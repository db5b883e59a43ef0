"""Saved drafts and their receipts: list, show, approve (refused when blocked), export."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from tools import drafts
from tools.draft_campaign import draft_for_card
from tools.drafts import approve_draft, export_drafts, list_drafts, show_draft
from tools.result import ToolContext
from tools.segment_card import SegmentCard
from warehouse.connection import Warehouse
from warehouse.errors import AssistantError, EmptyResult, InvalidArgument

CARDS = {d["segment_id"]: SegmentCard.from_dict(d) for d in json.loads(
    (Path(__file__).parent / "fixtures" / "segment_cards.json").read_text("utf-8"))}


@pytest.fixture
def ctx(writable_warehouse, tmp_path):
    with Warehouse.open(writable_warehouse) as wh:
        yield ToolContext(wh=wh, settings=None, question="emails for students",
                          output_dir=tmp_path / "exports")


@pytest.fixture
def batch(ctx) -> list[dict]:
    """Two variants for the students (in the UK only, so English copy has one market)."""
    uk = SegmentCard.from_dict({**CARDS[2].to_dict(), "countries": {"GB": 1.0}})
    return draft_for_card(ctx, uk, channel="email", language="en").data


def _blocked(ctx) -> drafts.Draft:
    good = drafts.get(ctx.wh, ctx.state["last_draft_ids"][0])[0]
    return replace(good, draft_id="dbad000-a", batch_id="dbad000", passed=False, findings=[
        {"rule": "no_risk_claim", "severity": "blocking", "message": "claims no risk",
         "field": "subject", "matched": "risk-free"}])


def test_list_and_show(ctx, batch):
    ids = [d["draft_id"] for d in batch]
    listed = list_drafts(ctx)
    assert listed.summary.startswith("2 drafts")
    assert set(listed.tables[0].df["draft"]) == set(ids)
    assert all(i in listed.summary for i in ids)
    shown = show_draft(ctx, batch[0]["batch_id"])
    assert [d["draft_id"] for d in shown.data] == ids
    assert list_drafts(ctx, status="approved").summary == "No approved drafts saved yet."
    with pytest.raises(InvalidArgument, match="unknown status"):
        list_drafts(ctx, status="sent")


def test_the_receipt_is_complete(ctx, batch):
    d = drafts.get(ctx.wh, batch[0]["draft_id"])[0]
    assert d.question == "emails for students"
    assert (d.run_id, d.segment_id, d.segment_name) == ("r-sample", 2, CARDS[2].name)
    assert d.reach == CARDS[2].reach and d.audience_size == CARDS[2].reach["email"]
    assert d.segment_sql == CARDS[2].source_sql
    assert d.model == "offline-templates"
    assert all(len(v) == 12 for v in d.prompt_versions.values())
    assert d.passed and d.findings == [] and d.status == "draft" and d.approved_by is None
    assert isinstance(d.created_at, datetime)
    comments = dict(ctx.wh.rows(
        "SELECT column_name, comment FROM duckdb_columns() WHERE schema_name = 'assistant' "
        "AND table_name = 'campaign_drafts'"))
    assert set(comments) == {c[0] for c in drafts.COLUMNS}
    assert all(comments.values())
    assert "receipt" in ctx.wh.scalar("SELECT comment FROM duckdb_tables() WHERE "
                                      "table_name = 'campaign_drafts'")


def test_approve_a_batch_and_record_who(ctx, batch):
    result = approve_draft(ctx, batch[0]["batch_id"], "Jana Weber")
    assert {d["status"] for d in result.data} == {"approved"}
    saved = drafts.get(ctx.wh, batch[1]["draft_id"])[0]
    assert saved.approved_by == "Jana Weber" and saved.approved_at is not None
    assert "approved" in list_drafts(ctx, status="approved").summary
    again = approve_draft(ctx, batch[1]["draft_id"], "Someone Else")   # already approved
    assert again.data[0]["approved_by"] == "Jana Weber"


def test_approving_a_draft_with_a_blocking_finding_is_refused(ctx, batch):
    drafts.save(ctx.wh, [_blocked(ctx)])
    with pytest.raises(AssistantError, match="cannot approve dbad000-a: blocking compliance "
                                             r"findings \(no_risk_claim\)"):
        approve_draft(ctx, "dbad000-a", "Jana Weber")
    assert drafts.get(ctx.wh, "dbad000-a")[0].status == "draft"
    with pytest.raises(InvalidArgument, match="say who approves"):
        approve_draft(ctx, batch[0]["draft_id"], "  ")


def test_saving_is_all_or_nothing(ctx, batch):
    blocked = _blocked(ctx)
    with pytest.raises(Exception, match=r"(?i)duplicate|constraint"):
        drafts.save(ctx.wh, [blocked, blocked])
    with pytest.raises(InvalidArgument):
        drafts.get(ctx.wh, "dbad000-a")


def test_unknown_ids_suggest_close_ones(ctx, batch):
    wrong = batch[0]["draft_id"][:-1] + "z"
    with pytest.raises(InvalidArgument, match=f"no draft {wrong} \\(did you mean"):
        show_draft(ctx, wrong)


def test_exports_in_three_formats(ctx, batch):
    md = export_drafts(ctx)                     # the last request's drafts by default
    text = md.files[0].read_text("utf-8")
    assert md.files[0].suffix == ".md" and text.startswith("# Campaign drafts")
    for d in batch:
        assert f"## {d['draft_id']}" in text and d["content"]["subject"] in text
    assert "**Compliance:** passed" in text and "```sql" in text
    js = export_drafts(ctx, draft_ids=[batch[1]["draft_id"]], format="json")
    loaded = json.loads(js.files[0].read_text("utf-8"))
    assert [d["draft_id"] for d in loaded] == [batch[1]["draft_id"]]
    assert loaded[0]["prompt_versions"] and loaded[0]["reach"] == CARDS[2].reach
    table = export_drafts(ctx, draft_ids=[batch[0]["batch_id"]], format="csv")
    rows = list(csv.DictReader(io.StringIO(table.files[0].read_text("utf-8"))))
    assert len(rows) == 2 and rows[0]["subject"] and "Hi {{first_name}}" in rows[0]["body"]
    assert {"findings", "model", "segment_sql", "approved_by"} <= set(rows[0])
    leftovers = [p for p in (ctx.output_dir).iterdir() if p.name.startswith(".")]
    assert leftovers == []
    with pytest.raises(InvalidArgument, match="unknown format"):
        export_drafts(ctx, format="pdf")


def test_read_only_warehouses_list_nothing_and_refuse_changes(warehouse_path, tmp_path):
    with Warehouse.open(warehouse_path, read_only=True) as wh:
        ctx = ToolContext(wh=wh, settings=None, output_dir=tmp_path)
        assert list_drafts(ctx).summary == "No drafts saved yet."
        with pytest.raises(EmptyResult, match="no saved drafts yet"):
            show_draft(ctx, "d000000-a")
        with pytest.raises(AssistantError, match="read-only"):
            approve_draft(ctx, "d000000-a", "Jana Weber")
