"""'Which X has the highest Y?' when several X share the top value: all of them are named as a tie,
never the one the database happened to return first."""

from planner_talk import converse

from assistant.settings import Settings
from tools.result import ToolContext
from tools.segments import segment_customers
from warehouse.connection import Warehouse


def test_segments_of_active_customers_tie_at_no_churn(writable_warehouse):
    with Warehouse.open(writable_warehouse) as wh:
        segment_customers(ToolContext(wh=wh, settings=Settings()), k=4, active_only=True, seed=1)
    _, (answer, lowest, by_income), results = converse(writable_warehouse, [
        "which segment has the highest churn rate?", "which segment has the lowest churn rate?",
        "which income band has the highest churn rate?"])
    assert "tie for the highest share of customers who have churned: 0% each" in answer, answer
    for sid in "1234":
        assert f"{sid} / " in answer
    assert "has the highest" not in answer
    assert "tie for the lowest" in lowest
    # no tie: one band named, and the table keeps the runners-up for the chart
    assert " has the highest share of customers who have churned: " in by_income
    assert "tie" not in by_income
    assert len(results[-1][1].tables[0].df) == 4
