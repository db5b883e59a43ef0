"""Churn risk by segment asked in chat, offline, with the real tools: segmented first when there is
no segmentation, then the segments ranked by their average predicted risk."""

from __future__ import annotations

import pytest

from assistant.factory import build_assistant
from assistant.settings import Settings
from warehouse.connection import Warehouse


@pytest.fixture
def offline(writable_warehouse):
    """An offline conversation with the real tools, and its writable warehouse."""
    settings = Settings(warehouse=writable_warehouse, openai_api_key=None)
    with Warehouse.open(writable_warehouse) as wh:
        yield build_assistant(settings, wh).conversation(), wh


def test_which_segment_is_most_likely_to_churn(offline):
    chat, _ = offline
    answer = chat.ask("which segment is most likely to churn?")
    called = [c["name"] for c in answer.tool_calls]
    assert called[:2] == ["segment_customers", "predict_churn"], answer.answer
    table = next(t.df for t in answer.tables if t.title == "Churn risk by segment")
    # the page opens on what was asked, not on the segmentation made first
    assert answer.tables[answer.first_shown].title == "Churn risk by segment"
    top = table[table["segment"].notna()].iloc[0]
    assert f"Highest: segment {int(top.segment)} ({top.segment_name})" in answer.answer
    assert f"average predicted churn risk {top.average_risk_pct:.1f}%" in answer.answer
    # and one segment, by its number, on the segmentation just made
    one = chat.ask("who in segment 1 is likely to churn?")
    assert "Churn risk of segment 1 (" in one.answer, one.answer


def test_which_segment_is_most_valuable(offline):
    chat, wh = offline
    answer = chat.ask("which segment is most valuable?")
    called = [c["name"] for c in answer.tool_calls]
    assert called[:2] == ["segment_customers", "predict_clv"], answer.answer
    table = next(t.df for t in answer.tables if t.title == "Predicted value by segment")
    truth = wh.df("""SELECT m.segment_id, count(*) AS n, avg(v.expected_spend) AS spend
        FROM assistant.clv_scores v JOIN assistant.segment_members m USING (customer_id)
        WHERE m.run_id = (SELECT run_id FROM assistant.runs WHERE kind = 'segmentation'
                          ORDER BY created_at DESC LIMIT 1)
          AND v.run_id = (SELECT run_id FROM assistant.runs WHERE kind = 'clv'
                          ORDER BY created_at DESC LIMIT 1)
        GROUP BY 1 ORDER BY spend DESC""")
    assert list(table["segment"]) == list(truth["segment_id"])
    assert list(table["customers"]) == list(truth["n"])
    top = table.iloc[0]
    assert f"Highest: segment {top.segment} ({top.segment_name}): " in answer.answer
    assert f"{top.expected_spend:,.0f} spend per customer" in answer.answer
    one = chat.ask("average clv of segment 2")
    assert "Predicted value over the next 12 months of segment 2 (" in one.answer
    told = chat.ask("predicted lifetime value by country")
    assert told.answer.startswith("Offline planner: lifetime value is predicted per customer")
