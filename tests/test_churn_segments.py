"""Churn risk read per segment of the latest segmentation: "which segment is most likely to
churn?", "churn risk of segment 3"; checked against the saved scores, refused without segments."""

from __future__ import annotations

import pytest

from assistant.settings import Settings
from tools.churn import predict_churn
from tools.result import ToolContext
from tools.segments import segment_customers
from warehouse.connection import Warehouse
from warehouse.errors import InvalidArgument


@pytest.fixture(scope="module")
def ctx(shared_rw):
    context = ToolContext(wh=shared_rw, settings=Settings())
    segment_customers(context, k=4, seed=3)
    return context


def test_without_a_segmentation_it_says_to_segment_first_and_scores_nothing(writable_warehouse):
    with Warehouse.open(writable_warehouse) as wh:
        with pytest.raises(InvalidArgument, match="no segmentation of the customers yet"):
            predict_churn(ToolContext(wh=wh, settings=Settings()), by_segment=True)
        assert not wh.has_table("runs", "assistant")        # nothing was trained or saved


def test_by_segment_agrees_with_the_saved_scores(ctx):
    res = predict_churn(ctx, by_segment=True)
    table = res.tables[0].df
    assert res.tables[0].title == "Churn risk by segment"
    run = res.data["run_id"]
    truth = ctx.wh.df(f"""
        SELECT m.segment_id AS segment, count(*) AS n, avg(s.score) AS risk,
               count(*) FILTER (WHERE s.decile = 1) AS top
        FROM assistant.scores s JOIN assistant.segment_members m USING (customer_id)
        WHERE s.run_id = '{run}' AND m.run_id = (SELECT run_id FROM assistant.runs
              WHERE kind = 'segmentation' ORDER BY created_at DESC LIMIT 1)
        GROUP BY 1 ORDER BY risk DESC""")
    got = table[table["segment"].notna()].reset_index(drop=True)
    assert list(got["segment"].astype(int)) == list(truth["segment"])
    assert list(got["scored"]) == list(truth["n"]) and list(got["top_decile"]) == list(truth["top"])
    assert got["average_risk_pct"].tolist() == (100 * truth["risk"]).round(2).tolist()
    assert int(table["scored"].sum()) == res.data["metrics"]["scored"]
    best = got.iloc[0]
    assert res.summary.startswith("Churn risk by segment")
    assert f"Highest: segment {int(best.segment)} ({best.segment_name})" in res.summary
    assert f"{best.average_risk_pct:.1f}%" in res.summary
    assert "probability of churning in the next 90 days" in res.summary
    assert res.chart.y == ["average_risk_pct"]


def test_one_segment_lists_only_its_customers(ctx):
    res = predict_churn(ctx, segment_id=2, top_n=5)
    at_risk = res.tables[0].df
    assert len(at_risk) == 5 and at_risk["segment"].str.startswith("2: ").all()
    assert res.summary.startswith("Churn risk of segment 2 (")
    assert res.tables[0].title == "Top 5 customers of segment 2 at risk of churning"


def test_an_unknown_segment_or_both_arguments_are_refused(ctx):
    with pytest.raises(InvalidArgument, match="segment 9 is not in the latest segmentation"):
        predict_churn(ctx, segment_id=9)
    with pytest.raises(InvalidArgument, match="not both"):
        predict_churn(ctx, segment_id=1, by_segment=True)
    with pytest.raises(InvalidArgument, match="not an imported table"):
        predict_churn(ctx, by_segment=True, table="t", target="y")
