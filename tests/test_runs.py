"""Persistence in schema `assistant`: idempotent tables with comments, atomic runs, memberships
joinable by SQL, listing and comparing runs."""

from __future__ import annotations

import pandas as pd
import pytest

from tools.result import ToolContext
from tools.runs import (
    Run,
    code_version,
    compare_runs,
    ensure_tables,
    get_run,
    list_runs,
    load_cards,
    save_segmentation,
)
from tools.segment_card import load_card
from tools.segments import compare_segment_runs, list_segment_runs, run_segmentation
from warehouse.errors import AssistantError, RunNotFound


def test_tables_are_created_once_with_comments(rw):
    ensure_tables(rw)
    ensure_tables(rw)  # idempotent
    tables = dict(rw.rows("SELECT table_name, comment FROM duckdb_tables() "
                          "WHERE schema_name = 'assistant'"))
    assert {"runs", "segments", "segment_members", "scores", "audiences"} <= set(tables)
    assert all(tables[t] for t in ("runs", "segments", "segment_members", "scores"))
    uncommented = rw.scalar("SELECT count(*) FROM duckdb_columns() WHERE schema_name = "
                            "'assistant' AND comment IS NULL")
    assert uncommented == 0


def test_a_read_only_warehouse_cannot_save(wh):
    with pytest.raises(AssistantError, match="read-only"):
        ensure_tables(wh)


def test_a_run_is_stored_whole_and_members_join_customers(rw):
    seg = run_segmentation(rw, k=4, seed=5, question="segment my customers")
    run = get_run(rw, seg.run.run_id)
    assert run["kind"] == "segmentation" and run["row_count"] == seg.run.row_count
    assert run["params"]["k"] == 4 and run["metrics"]["k"] == 4
    assert run["code_version"] == code_version() and "+" in run["code_version"]
    assert run["question"] == "segment my customers"
    assert not run["protected_attributes_used"]
    # "how many customers in segment 3 live in Germany?" by SQL
    by_sql = rw.scalar("SELECT count(*) FROM assistant.segment_members m JOIN customers c "
                       "USING (customer_id) WHERE m.run_id = ? AND m.segment_id = 3 "
                       "AND c.country = 'DE'", [seg.run.run_id])
    countries = rw.df("SELECT customer_id, country FROM customers")
    by_pandas = seg.members.merge(countries, on="customer_id")
    assert by_sql == ((by_pandas.segment_id == 3) & (by_pandas.country == "DE")).sum()
    card = load_card(rw, seg.run.run_id, 3)
    assert card == seg.cards[2]
    assert rw.scalar(card.source_sql.replace("SELECT customer_id", "SELECT count(*)")) == \
        card.size
    assert load_card(rw, None, 1).run_id == seg.run.run_id  # None: the latest run


def test_a_failing_save_leaves_nothing_behind(rw):
    seg = run_segmentation(rw, k=3, seed=5, save=False)
    broken = seg.members.copy()
    broken["customer_id"] = broken["customer_id"].astype("string") + "x"  # not a BIGINT
    with pytest.raises(Exception):  # noqa: B017 - whatever the engine raises
        save_segmentation(rw, seg.run, seg.cards, broken)
    assert rw.scalar("SELECT count(*) FROM assistant.runs WHERE run_id = ?",
                     [seg.run.run_id]) == 0
    assert rw.scalar("SELECT count(*) FROM assistant.segments WHERE run_id = ?",
                     [seg.run.run_id]) == 0


def test_runs_are_listed_newest_first_and_compared(rw):
    with pytest.raises(RunNotFound, match="no runs saved yet"):
        load_cards(rw, None)
    first = run_segmentation(rw, k=4, seed=1)
    second = run_segmentation(rw, k=5, seed=1)
    listed = list_runs(rw)
    assert list(listed["run_id"][:2]) == [second.run.run_id, first.run.run_id]
    cmp = compare_runs(rw)  # the two latest: A older, B newer
    assert cmp.run_a["run_id"] == first.run.run_id and cmp.run_b["run_id"] == second.run.run_id
    assert cmp.common == first.run.row_count
    assert int(cmp.migration.to_numpy().sum()) == cmp.common
    assert cmp.migration.shape == (4, 5)
    assert 0.5 < cmp.stayed <= 1
    ctx = ToolContext(wh=rw, settings=None)
    res = compare_segment_runs(ctx)
    assert first.run.run_id in res.summary and "stayed" in res.summary
    assert list_segment_runs(ctx, limit=1).summary.count("\n- ") == 1
    with pytest.raises(RunNotFound, match="recent runs"):
        compare_runs(rw, "seg-unknown", second.run.run_id)


def test_run_records_serialise_numpy_and_dates(rw):
    ensure_tables(rw)
    run = Run(kind="segmentation", source_table="customers",
              params={"k": 3, "when": pd.Timestamp("2026-01-01")},
              metrics={"score": pd.Series([0.5]).iloc[0]})
    members = pd.DataFrame({"customer_id": [1, 2], "segment_id": [1, 1]})
    save_segmentation(rw, run, [], members)
    stored = get_run(rw, run.run_id)
    assert stored["params"]["when"].startswith("2026-01-01") and stored["metrics"]["score"] == 0.5
