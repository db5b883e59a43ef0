"""Tool routing: each model request carries only the tools the question can use, every tool stays
reachable through load_tools, schemas are compact and the assistant's own tables are left out of
the system prompt unless a question needs them."""

from __future__ import annotations

import json
import re

import pytest
from fakes import ScriptedChatModel, call
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool

from assistant import routing
from assistant.agent import Assistant
from assistant.planner import OfflinePlanner
from assistant.settings import Settings
from assistant.toolkit import build_tools, first_clause
from tools import registry
from tools.describe import describe_warehouse
from tools.result import ToolContext, ToolResult
from warehouse.connection import Warehouse

DATA = ["describe_warehouse", "query_metrics", "run_sql", "load_tools"]


@pytest.fixture
def make(writable_warehouse, tmp_path):
    handles = []

    def build(replies, **settings):
        wh = Warehouse.open(writable_warehouse)
        handles.append(wh)
        values = {"warehouse": writable_warehouse, "max_retries": 1, "retry_delay": 0,
                  "state_dir": tmp_path / "sessions"} | settings
        fake = ScriptedChatModel(replies=list(replies))
        return Assistant(Settings(**values), wh, model=fake), fake

    yield build
    for wh in handles:
        wh.close()


# -- which groups a question brings in (table-driven: add a line per case) ----------------------
CASES = [
    ("How many customers live in Germany?", set()),
    ("Total spend by category", set()),
    ("email opt-in rate by country", set()),
    ("open and click rates of our email campaigns", set()),
    ("monthly spend on travel last year", set()),
    ("how are we doing?", set()),
    ("segment my customers", {"segments"}),
    ("describe segment 3", {"segments"}),
    ("average balance by segment", {"segments"}),
    ("RFM please", {"segments"}),
    ("who is likely to churn?", {"churn"}),
    ("which customers might leave us?", {"churn"}),
    ("build an SMS audience from segment 2", {"audience", "segments"}),
    ("how many customers can we reach by email?", {"audience"}),
    ("write an email for segment 4 about our savings account", {"copy", "segments"}),
    ("two SMS variants for the travellers", {"copy"}),
    ("Schreib eine SMS für Segment 2, freundlich", {"copy", "segments"}),
    ("Rédige un e-mail pour le segment 3", {"copy", "segments"}),
    ("which push triggers fired today?", {"triggers"}),
    ("design an A/B test for it", {"experiments"}),
    ("how big a sample size do we need?", {"experiments"}),
    ("approve draft d3f9a1-a, I am Maria", {"copy", "drafts"}),
    ("export the drafts as csv", {"audience", "drafts", "copy"}),
]


@pytest.mark.parametrize(("question", "groups"), CASES)
def test_the_words_of_a_question_pick_its_groups(question, groups):
    assert routing.groups_named_in(question) == groups


def _names(tools):
    return [t.name for t in tools]


def test_a_data_question_gets_the_data_tools_and_load_tools_naming_the_rest(make):
    assistant, fake = make([call("run_sql", sql="SELECT count(*) AS n FROM customers "
                                                "WHERE country = 'DE'"), "There are 378."])
    answer = assistant.conversation().ask("How many customers live in Germany?")
    assert answer.error is None
    assert fake.bound_tools == [DATA, DATA]
    request = _requested(assistant, fake)
    load = next(t for t in request if t["function"]["name"] == "load_tools")
    for group in registry.optional_groups():
        assert group in load["function"]["description"]


def _requested(assistant, fake):
    """The tool schemas of the last request, as ChatOpenAI would send them."""
    return [convert_to_openai_tool(t) for t in fake.bound[-1]]


def test_a_segmentation_question_gets_the_segment_tools_and_keeps_them_for_a_follow_up(make):
    assistant, fake = make([call("segment_customers", k=4), "Four segments.",
                            call("segment_customers", k=5), "Five segments.",
                            "Two of them are young."])
    conversation = assistant.conversation()
    conversation.ask("segment my customers")
    segments = registry.tools_of(["segments"])
    assert set(segments) <= set(fake.bound_tools[0])
    assert "draft_campaign" not in fake.bound_tools[0]
    conversation.ask("now with five")                  # no keyword: the last turn used them
    assert set(segments) <= set(fake.bound_tools[2])
    conversation.ask("How many customers live in Germany?")
    assert set(segments) <= set(fake.bound_tools[4])   # the question before used them


@pytest.mark.parametrize("group", registry.optional_groups())
def test_every_tool_is_reachable_through_load_tools(make, group):
    assistant, fake = make([call("load_tools", groups=[group]), "Loaded.", "Still here."])
    conversation = assistant.conversation()
    answer = conversation.ask("How many customers live in Germany?")
    assert answer.error is None
    assert fake.bound_tools[0] == DATA
    wanted = [n for n in registry.tools_of([group]) if n in _names(assistant.tools)]
    assert wanted and set(wanted) <= set(fake.bound_tools[1])
    loaded = [m for m in fake.seen[1] if isinstance(m, ToolMessage)][-1].text
    assert loaded.startswith("Loaded") and all(n in loaded for n in wanted)
    conversation.ask("Total spend by category")          # loaded groups stay loaded
    assert set(wanted) <= set(fake.bound_tools[2])


def test_load_tools_for_an_unknown_group_names_the_groups(make):
    assistant, fake = make([call("load_tools", groups=["crystal_ball"]), "Sorry."])
    assistant.conversation().ask("predict the future")
    error = [m for m in fake.seen[1] if isinstance(m, ToolMessage)][-1].text
    assert error.startswith("Error: 'crystal_ball' is not a tool group")
    assert all(g in error for g in registry.optional_groups())


def test_a_tool_that_was_not_offered_still_runs_when_called(make):
    assistant, fake = make([call("list_segment_runs"), "No runs yet."])
    answer = assistant.conversation().ask("How many customers live in Germany?")
    assert "list_segment_runs" not in fake.bound_tools[0]
    assert answer.error is None and answer.tool_calls[0]["name"] == "list_segment_runs"
    assert not [m for m in fake.seen[1] if isinstance(m, ToolMessage)][-1].text.startswith(
        "Error")


def test_the_offline_planner_plans_with_every_tool(writable_warehouse):
    with Warehouse.open(writable_warehouse) as wh:
        assistant = Assistant(Settings(warehouse=writable_warehouse, provider="offline"), wh)
        assert isinstance(assistant.model, OfflinePlanner)
        answer = assistant.conversation().ask("segment my customers")
    assert answer.error is None and answer.tool_calls[0]["name"] == "segment_customers"


def test_own_tables_are_left_out_of_the_system_prompt_unless_needed(make, rw):
    from tools.runs import ensure_tables

    ensure_tables(rw)                                        # segment runs exist
    assistant, fake = make(["378.", "Four segments.", "The log has entries."])
    conversation = assistant.conversation()
    conversation.ask("How many customers live in Germany?")
    conversation.ask("segment my customers")
    conversation.ask("show me the audit log")
    system = [next(m.text for m in seen if isinstance(m, SystemMessage)) for seen in fake.seen]
    assert "assistant.runs (" not in system[0]
    assert "Schema assistant: what the assistant saves" in system[0]
    assert "assistant.runs (" in system[1] and "assistant.runs (" in system[2]
    assert not any("assistant.audit_log (" in s for s in system)   # never readable (issue 16)


# -- compact schemas ----------------------------------------------------------------------------
def test_schemas_are_compact():
    for tool in build_tools():
        schema = convert_to_openai_tool(tool)["function"]
        text = json.dumps(schema)
        assert "anyOf" not in text and '"null"' not in text, tool.name
        assert '"default": null' not in text, tool.name
        assert "\n" not in schema["description"] and "Args:" not in schema["description"]
        for name, prop in schema["parameters"]["properties"].items():
            assert ";" not in prop.get("description", ""), (tool.name, name)
            assert "title" not in prop and "title" not in prop.get("items", {}), (tool.name, name)


def test_an_omitted_optional_argument_may_still_be_sent_as_null(make):
    assistant, fake = make([call("describe_warehouse", table=None), "Here."])
    answer = assistant.conversation().ask("what is in the warehouse?")
    assert answer.error is None
    assert "Tables (rows)" in [m for m in fake.seen[1] if isinstance(m, ToolMessage)][-1].text


@pytest.mark.parametrize(("text", "clause"), [
    ("the query, DuckDB dialect, e.g. \"SELECT 1\".", "the query, DuckDB dialect"),
    ("number of segments; leave empty to choose automatically.", "number of segments"),
    ("e.g. \"friendly\" or \"formal\"; omit for the brand voice.", 'e.g. "friendly" or "formal"'),
    ("number of variants compared (1 to 4; 1 means the variant vs the holdout).",
     "number of variants compared (1 to 4)"),
    ("only customers with a transaction in the last 90 days.",
     "only customers with a transaction in the last 90 days"),
])
def test_an_argument_is_described_in_one_clause(text, clause):
    assert first_clause(text) == clause


def test_an_argument_that_only_lists_its_values_needs_no_description():
    assert first_clause('"email", "sms", "push" or "in_app".', ["email", "sms", "push",
                                                                "in_app"]) == ""


# -- a new tool is one registry entry ------------------------------------------------------------
def forecast_sales(ctx: ToolContext, months: int = 3) -> ToolResult:
    """Forecast sales for the coming months.

    Args:
        months: how far ahead.
    """
    return ToolResult(summary=f"forecast for {months} months")


def test_a_new_registry_entry_is_routed_by_its_keywords(monkeypatch, make):
    import sys
    import types

    module = types.ModuleType("tools.forecast_probe")
    module.forecast_sales = forecast_sales
    monkeypatch.setitem(sys.modules, "tools.forecast_probe", module)
    entry = registry.Tool("forecast_sales", ("tools.forecast_probe",), "forecasts", "Forecast",
                          "🔮", keywords=("forecast*",))
    monkeypatch.setattr(registry, "TOOLS", (*registry.TOOLS, entry))
    monkeypatch.setitem(registry._BY_NAME, "forecast_sales", entry)
    monkeypatch.setitem(registry.GROUPS, "forecasts", registry.Group("sales forecasts"))
    assistant, fake = make(["No.", call("forecast_sales", months=6), "Up."])
    conversation = assistant.conversation()
    conversation.ask("How many customers live in Germany?")
    assert "forecast_sales" not in fake.bound_tools[0]
    load = _requested(assistant, fake)[-1]
    assert "forecasts (sales forecasts)" in load["function"]["description"]
    answer = conversation.ask("forecast sales for next quarter")
    assert "forecast_sales" in fake.bound_tools[1]
    assert answer.tool_calls == [{"name": "forecast_sales", "args": {"months": 6}}]


def test_route_reads_only_the_messages():
    messages = [HumanMessage("segment my customers"),
                AIMessage("", tool_calls=[{"name": "segment_customers", "args": {}, "id": "1"}]),
                ToolMessage("4 segments", tool_call_id="1"), AIMessage("Four."),
                HumanMessage("thanks"), AIMessage("You're welcome."),
                HumanMessage("and Germany?")]
    assert routing.route(messages) == {"data"}       # two questions later, no longer about it
    assert "segments" in routing.route(messages[:5])


# -- definitions: a request carries those its question names -----------------------------------
DEFINITION_CASES = [
    ("Total spend by category", {"spend"}),
    ("top 5 merchants by spend", {"spend"}),
    ("How many active customers in Germany hold a credit card?", {"active",
                                                                    "holding a product"}),
    ("email opt-in rate by country", {"opted in"}),
    ("open and click rates of our email campaigns", {"campaign rates"}),
    ("average balance by tenure", {"balance", "tenure"}),
    ("how many dormant high-value customers can we reach by sms?",
     {"dormant", "high value", "reachable"}),
    ("customers aged 25-34", {"age"}),
]


def test_a_question_without_defined_words_gets_no_definitions():
    from tools.describe import _terms_named_in

    assert _terms_named_in("How many customers live in Germany?") == set()


@pytest.mark.parametrize(("question", "terms"), DEFINITION_CASES)
def test_the_words_of_a_question_pick_its_definitions(question, terms):
    from tools.describe import _terms_named_in

    found = _terms_named_in(question)
    assert terms <= found and len(found - terms) <= 1   # "email" also names "opted in"
    assert found or not terms


def test_a_request_carries_the_definitions_of_its_question_and_the_one_before(make):
    from warehouse.semantic import bank_model

    defs = bank_model().definitions()
    assistant, fake = make(["Spend is 1.", "Of them 2."])
    conversation = assistant.conversation()
    conversation.ask("Total spend by category")
    conversation.ask("and only for active customers?")
    first, second = (next(m.text for m in seen if isinstance(m, SystemMessage))
                     for seen in fake.seen)
    assert defs["spend"] in first and defs["active"] not in first
    assert defs["reachable"] not in first
    assert defs["spend"] in second and defs["active"] in second
    assert "describe_warehouse() lists all" in first
    assert assistant.system_prompt in first          # the stable part comes first, unchanged


def test_a_request_carries_the_tables_and_metric_names_its_questions_name(make):
    """The stable prompt lists customers and the views in full and only names the other
    tables; each request adds the lines of those its conversation names, and describe_warehouse
    still gives everything."""
    assistant, fake = make(["378.", "Spend is 1.", "Here."])
    conversation = assistant.conversation()
    conversation.ask("How many customers live in Germany?")
    conversation.ask("and their total spend by category?")
    first, second = (next(m.text for m in seen if isinstance(m, SystemMessage))
                     for seen in fake.seen[:2])
    assert "customers (" in assistant.system_prompt and "customer_status (view)" in first
    assert "Also accounts, app_events, campaign_events, campaigns, consents, transactions" \
        in assistant.system_prompt
    assert not _line("transactions", first) and not _line("campaigns", first)
    assert _line("transactions", second) and "category [groceries" in second
    assert "dimensions country." in first and "spend[" not in first
    assert "spend[sum" in second and "category" in second.rsplit("query_metrics names", 1)[1]
    assert "time transactions.ts" not in second              # no period asked for
    assert assistant.system_prompt in second
    everything = describe_warehouse(ToolContext(wh=assistant.wh,
                                                settings=assistant.settings)).summary
    assert _line("transactions", everything) and _line("campaigns", everything)
    assert "filters active, dormant" in everything and "time customers.signup" in everything


def _line(table: str, prompt: str) -> bool:
    return re.search(rf"^{table} \([0-9,]+\): ", prompt, re.M) is not None


@pytest.mark.parametrize(("question", "named"), [
    ("Total spend by category", {"transactions"}),
    ("Email opt-in rate by country", {"consents"}),
    ("Which push campaign had the best click rate?", {"campaigns", "campaign_events"}),
    ("average balance of savings accounts", {"accounts"}),
    ("logins on ios last month", {"app_events"}),
    ("How many customers live in Germany?", set()),
])
def test_the_words_of_a_question_pick_its_tables(rw, question, named):
    from tools.describe import tables_overview

    shown = {line.split(" (", 1)[0] for line in tables_overview(rw, question).splitlines()}
    assert named <= shown and (named or not shown), shown
