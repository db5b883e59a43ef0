"""Offline planner: questions about lifetime value, drift, the registry and refresh go to the
model tools with the right arguments, and look-alike questions do not."""

from __future__ import annotations

import pytest

from assistant.planner.frame import Reply
from assistant.planner.model_questions import CLV_SCOPE, model_intent
from assistant.planner.text import Text

CASES = [
    ("Who are our most valuable customers next year?", "predict_clv", {"horizon_months": 12}),
    ("how many customers are probably still with us?", "predict_clv", {}),
    ("predicted lifetime value for the next 6 months", "predict_clv", {"horizon_months": 6}),
    ("top 10 customers by CLV", "predict_clv", {"top_n": 10}),
    ("has anything changed since last month?", "check_model_drift", {"model": "all"}),
    ("which segments grew?", "check_model_drift", {"model": "segmentation"}),
    ("is the churn model still good?", "check_model_drift", {"model": "churn"}),
    ("are the segments still valid?", "check_model_drift", {"model": "segmentation"}),
    ("show the model registry", "show_models", {}),
    ("which churn model is the champion model?", "show_models", {"kind": "churn"}),
    ("refresh the models", "refresh_models", {}),
    ("retrain the churn model", "refresh_models", {"models": ["churn"]}),
    ("approve churn model churn-v3-ab12 as Jane Doe", "approve_model",
     {"model_id": "churn-v3-ab12", "approver": "Jane Doe"}),
]


@pytest.mark.parametrize(("question", "tool", "args"), CASES)
def test_model_questions(question, tool, args):
    intent = model_intent(Text(question))
    assert intent is not None and intent.tool == tool
    assert intent.args == args


@pytest.mark.parametrize("question", [
    "how many active customers do we have?",
    "who is likely to churn?",
    "how have our segments changed?",
    "segment my customers",
    "total spend by category last month",
    "show the Champions segment of the RFM run",
])
def test_other_questions_are_left_to_the_planner(question):
    assert model_intent(Text(question)) is None


@pytest.mark.parametrize("question", ["What's the CLV of students?", "lifetime value by country",
                                      "predicted customer value in France"])
def test_a_filter_or_breakdown_the_clv_tool_does_not_take_is_refused_saying_what_works(question):
    reply = model_intent(Text(question))
    assert isinstance(reply, Reply) and reply.text == CLV_SCOPE


class _Bound:
    """A tool as the planner sees it when bound (only its name matters)."""

    def __init__(self, name: str) -> None:
        self.name = name


@pytest.mark.parametrize(("question", "tool"), [
    ("Who are our most valuable customers next year?", "predict_clv"),
    ("Has anything changed since last month?", "check_model_drift"),
    ("top 10% predicted value, email consented", "build_audience"),
])
def test_the_planner_calls_the_model_tools(wh, question, tool):
    from langchain_core.messages import HumanMessage

    from assistant.planner import OfflinePlanner
    from tools.registry import TOOL_NAMES

    planner = OfflinePlanner.for_warehouse(wh).bind_tools([_Bound(n) for n in TOOL_NAMES])
    reply = planner.respond([HumanMessage(question)])
    assert reply.tool_calls and reply.tool_calls[0]["name"] == tool
