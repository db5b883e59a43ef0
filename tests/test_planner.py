"""The offline planner, judged on results: every phrasing in tests/fixtures/planner_cases.toml
must produce the same numbers as a hand-written reference query (or the expected tool call, or a
refusal). The planner is driven exactly as the agent drives a chat model."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from results import contains

from assistant.agent import Assistant
from assistant.planner import OfflinePlanner
from assistant.planner.plan import TIE_PROBE
from assistant.settings import Settings
from tools.metrics import query_metrics
from tools.registry import TOOL_NAMES
from tools.result import ToolContext, ToolResult
from tools.sql import run_sql
from warehouse.connection import Warehouse

FIXTURE = tomllib.loads((Path(__file__).parent / "fixtures" / "planner_cases.toml").read_text())
SQL_CASES = [(q, c["sql"], c.get("answer") if i == 0 else None)
             for c in FIXTURE["case"] for i, q in enumerate(c["questions"])]
FOLLOW_UPS = FIXTURE["followup"]
TOOL_CASES = FIXTURE["tool"]
REFUSALS = [q for block in FIXTURE["refuse"] for q in block["questions"]]
REFUSED_FOLLOW_UPS = FIXTURE["refuse_followup"]


class Bound:
    """A tool the planner can call: name only (what bind_tools reads)."""

    def __init__(self, name: str) -> None:
        self.name = name


@pytest.fixture(scope="module")
def read_only(warehouse_path):
    with Warehouse.open(warehouse_path, read_only=True) as wh:
        yield wh


@pytest.fixture(scope="module")
def planner(read_only):
    return OfflinePlanner.for_warehouse(read_only).bind_tools([Bound(n) for n in TOOL_NAMES])


SETTINGS = Settings()


def converse(planner, wh, questions: list[str]):
    """Run the questions as one conversation; return the last answer and its SQL results."""
    ctx = ToolContext(wh=wh, settings=SETTINGS)
    messages, results = [], []
    for question in questions:
        messages.append(HumanMessage(question))
        results = []
        for _ in range(5):
            reply = planner.respond(messages)
            messages.append(reply)
            if not reply.tool_calls:
                break
            for tool_call in reply.tool_calls:
                tool = {"run_sql": run_sql, "query_metrics": query_metrics}[tool_call["name"]]
                result = tool(ctx, **tool_call["args"])
                results.append(result)
                messages.append(ToolMessage(result.summary, tool_call_id=tool_call["id"],
                                            name=tool_call["name"]))
    return messages[-1].text, results


def test_the_fixture_has_many_phrasings():
    assert len(SQL_CASES) + len(FOLLOW_UPS) >= 150
    assert len(REFUSALS) >= 20 and len(TOOL_CASES) >= 20


@pytest.mark.parametrize(("question", "sql", "expected"), SQL_CASES,
                         ids=[c[0][:60] for c in SQL_CASES])
def test_questions_give_the_reference_numbers(planner, read_only, question, sql, expected):
    text, results = converse(planner, read_only, [question])
    assert results, f"no query ran; the planner said: {text}"
    reference = read_only.df(sql)
    got = _answered(reference, results[-1])
    assert contains(reference, got), (
        f"\n{results[-1].sql[0]}\n{results[-1].tables[0].df.head(12)}\nreference:\n"
        f"{reference.head(12)}")
    if expected:
        assert expected in text
    assert not text.startswith("Offline planner")


@pytest.mark.parametrize("case", FOLLOW_UPS, ids=[" / ".join(c["questions"]) for c in FOLLOW_UPS])
def test_follow_ups_refine_the_previous_question(planner, read_only, case):
    text, results = converse(planner, read_only, case["questions"])
    assert results, f"no query ran; the planner said: {text}"
    reference = read_only.df(case["sql"])
    assert contains(reference, _answered(reference, results[-1])), results[-1].sql[0]


def _answered(reference, result):
    """The rows that answer: for 'which X has the most' the first (the others show ties)."""
    got = result.tables[0].df
    if len(reference) == 1 and re.search(rf"LIMIT {TIE_PROBE}\s*$", result.sql[0]):
        return got.head(1)
    return got


@pytest.mark.parametrize("case", TOOL_CASES, ids=[c["question"] for c in TOOL_CASES])
def test_tool_questions_call_the_right_tool_with_the_right_arguments(planner, case):
    reply = planner.respond([HumanMessage(case["question"])])
    assert reply.tool_calls, reply.text
    assert reply.tool_calls[0]["name"] == case["tool"]
    assert reply.tool_calls[0]["args"] == case["args"]


@pytest.mark.parametrize("question", REFUSALS)
def test_questions_it_cannot_answer_are_refused_plainly(planner, question):
    reply = planner.respond([HumanMessage(question)])
    assert not reply.tool_calls, f"answered {question!r} with {reply.tool_calls}"
    assert reply.text.startswith("Offline planner")


@pytest.mark.parametrize("case", REFUSED_FOLLOW_UPS,
                         ids=[" / ".join(c["questions"]) for c in REFUSED_FOLLOW_UPS])
def test_follow_ups_of_an_unanswered_question_are_not_guessed(planner, read_only, case):
    """After a question it could not answer, 'and the click rate?' is not attached to an older
    question of the conversation: the planner asks for the question in full."""
    text, results = converse(planner, read_only, case["questions"])
    assert not results, results[-1].sql
    assert text.startswith("Offline planner")


def test_a_narrowing_follow_up_keeps_the_previous_filters_in_the_answer(planner, read_only):
    text, _ = converse(planner, read_only, ["How many customers are opted in to push?",
                                            "Of those, how many have churned?"])
    assert "churned customers opted in to push" in text


def test_a_question_after_an_unanswered_one_says_why_it_is_not_answered(planner):
    messages = [HumanMessage("open rate per campaign"), AIMessage("..."),
                HumanMessage("What is the conversion rate of the Fluffy unicorn campaign?"),
                AIMessage("Offline planner: ..."), HumanMessage("and the click rate?")]
    assert "could not answer your previous question" in planner.respond(messages).text


def test_what_can_you_do_lists_the_capabilities(planner):
    text = planner.respond([HumanMessage("What can you do?")]).text
    assert "Offline planner" in text and "segment my customers" in text


def test_answers_state_the_period_and_definitions(planner, read_only):
    text, _ = converse(planner, read_only, ["Average spend per customer last month"])
    assert "September 2026" in text
    assert "spend = debit transactions excluding transfer, investment and fees" in text
    text, _ = converse(planner, read_only, ["How many active customers?"])
    assert "active = at least one transaction in the 90 days up to the reference date " \
           "31 Oct 2026" in text


def test_the_overview_is_one_query_and_a_short_list(planner, read_only):
    text, results = converse(planner, read_only, ["how are we doing?"])
    assert len(results) == 1
    assert text.splitlines()[:7] == [
        "Snapshot of customers at the reference date 31 Oct 2026:",
        "- customers: 3,000",
        "- active (a transaction in the last 90 days): 2,468 (82.3%)",
        "- churned: 197 (6.6%)",
        "- new customers in the last 90 days: 427",
        "- spend in the last 90 days: 4,848,252.83",
        "- opted in to email: 1,570 (52.3%)",
    ]
    assert "spend = debit transactions excluding transfer, investment and fees" in text


@pytest.mark.parametrize("question", ["how's business looking?", "hows business", "where do we "
                                      "stand?", "how do things look?", "give me a quick update",
                                      "how are our numbers looking"])
def test_the_overview_is_the_semantic_model_s_headline_figures(planner, read_only, question):
    """Every headline figure the model declares, in its order, each with its definition."""
    from warehouse.semantic import bank_model
    from warehouse.semantic.model import words_text

    text, results = converse(planner, read_only, [question])
    assert len(results) == 1 and text.startswith("Snapshot of customers")
    lines = [line for line in text.splitlines() if line.startswith("- ")]
    model = bank_model()
    assert [line.split(":")[0][2:] for line in lines] == [words_text(h.title)
                                                           for h in model.headline]
    definitions = text.split("Definitions: ", 1)[1]
    for h in model.headline:
        term = model.headline_definition(h).split(" = ")[0]
        assert f"{term} = " in definitions


def test_high_value_dormant_customers_get_their_size_definition_and_profile(planner, read_only):
    text, results = converse(planner, read_only,
                             ["how big is the high-value dormant group and what do they do?"])
    assert len(results) == 3        # what they spent on, what they hold, the size and profile
    lines = text.splitlines()
    assert lines[0].startswith("High-value dormant customers: 24 (4.5% of the 532 dormant "
                               "customers). They made no transaction in the 90 days to 31 Oct "
                               "2026")
    assert "(the top 20% of all customers who have transacted)" in lines[0]
    assert lines[1] == "What they do:"
    assert lines[2].startswith("- before going quiet: ") and "mostly rent " in lines[2]
    assert any(line.startswith("- products still held: checking ") for line in lines)
    assert any(line.startswith("- reachable for a win-back: ") for line in lines)
    assert "ask \"RFM segments\"" in text
    assert "high value = spend in the 12 months up to the last transaction" in text


def test_the_planner_is_deterministic(planner):
    messages = [HumanMessage("Top 5 merchants by spend last quarter")]
    assert planner.respond(messages) == planner.respond(messages)


def test_a_missing_tool_is_said_plainly(read_only):
    bare = OfflinePlanner.for_warehouse(read_only).bind_tools([Bound("run_sql")])
    text = bare.respond([HumanMessage("write an email for segment 2 about savings")]).text
    assert "draft_campaign tool, which is not installed" in text


# -- through the agent, with stand-in tools ------------------------------------------------
CALLS: list[tuple[str, dict]] = []


def _fake(name: str):
    def tool(ctx: ToolContext, **kwargs) -> ToolResult:
        CALLS.append((name, kwargs))
        return ToolResult(summary=f"{name} ran with {sorted(kwargs.items())}")

    return tool


def segment_customers(ctx: ToolContext, k: int | None = None, method: str = "behaviour",
                      active_only: bool = False, country: str | None = None,
                      product: str | None = None) -> ToolResult:
    """Stand-in segmentation."""
    return _fake("segment_customers")(ctx, k=k, method=method, active_only=active_only,
                                      country=country, product=product)


def describe_segment(ctx: ToolContext, segment_id: int, run_id: str | None = None) -> ToolResult:
    """Stand-in segment description."""
    return _fake("describe_segment")(ctx, segment_id=segment_id, run_id=run_id)


def build_audience(ctx: ToolContext, channel: str, segment_id: int | None = None,
                   country: str | None = None, min_churn_risk: float | None = None
                   ) -> ToolResult:
    """Stand-in audience."""
    return _fake("build_audience")(ctx, channel=channel, segment_id=segment_id,
                                   country=country, min_churn_risk=min_churn_risk)


@pytest.mark.parametrize(("question", "expected"), [
    ("Segment my customers into 4 groups", ("segment_customers", {"k": 4})),
    ("describe segment 3", ("describe_segment", {"segment_id": 3})),
    ("build an audience for SMS from segment 2", ("build_audience",
                                                   {"channel": "sms", "segment_id": 2})),
])
def test_tool_intents_run_through_the_agent(read_only, warehouse_path, question, expected):
    CALLS.clear()
    planner = OfflinePlanner.for_warehouse(read_only)
    assistant = Assistant(Settings(warehouse=warehouse_path), read_only, model=planner,
                          tools=[segment_customers, describe_segment, build_audience, run_sql])
    answer = assistant.conversation().ask(question)
    name, args = expected
    assert CALLS[0][0] == name
    assert {k: v for k, v in CALLS[0][1].items() if k in args} == args
    assert answer.answer.startswith(f"{name} ran with") or name in answer.answer


def test_spend_by_segment_uses_the_latest_segmentation(writable_warehouse):
    with Warehouse.open(writable_warehouse) as wh:
        wh.execute("CREATE SCHEMA IF NOT EXISTS assistant")
        wh.execute("CREATE TABLE assistant.runs (run_id VARCHAR, kind VARCHAR, "
                   "source_table VARCHAR, created_at TIMESTAMP)")
        wh.execute("INSERT INTO assistant.runs VALUES "
                   "('old', 'segmentation', 'customers', '2026-01-01'), "
                   "('new', 'segmentation', 'customers', '2026-02-01'), "
                   "('table', 'segmentation', 'my_import', '2026-03-01')")
        wh.execute("CREATE TABLE assistant.segment_members AS "
                   "SELECT 'old' AS run_id, customer_id, 1 AS segment_id FROM customers "
                   "UNION ALL SELECT 'new', customer_id, customer_id % 3 + 1 FROM customers")
        wh.execute("CREATE TABLE assistant.segments AS SELECT 'new' AS run_id, i AS segment_id, "
                   "'Segment ' || i AS name FROM range(1, 4) t(i)")
        planner = OfflinePlanner.for_warehouse(wh).bind_tools([Bound("query_metrics")])
        text, results = converse(planner, wh, ["What is the total spend by segment?"])
        reference = wh.df(
            "SELECT m.segment_id, round(sum(t.amount), 2) FROM transactions t "
            "JOIN assistant.segment_members m ON m.customer_id = t.customer_id AND "
            "m.run_id = 'new' WHERE t.direction = 'debit' AND t.category NOT IN "
            "('transfer', 'investment', 'fees') GROUP BY 1")
        assert contains(reference, results[-1].tables[0].df)
        assert "Segment 1" in text


@pytest.mark.parametrize(("questions", "tool", "args"), [
    (["describe segment 2", "and segment 3?"], "describe_segment", {"segment_id": 3}),
    (["build an audience for SMS from segment 3", "same for email"], "build_audience",
     {"channel": "email", "segment_id": 3}),
    (["segment my customers into 6 groups", "describe the third one"], "describe_segment",
     {"segment_id": 3}),
    (["segment customers into 5 groups", "tell me about the 2nd one"], "describe_segment",
     {"segment_id": 2}),
    (["describe segment 2", "and the fourth one?"], "describe_segment", {"segment_id": 4}),
])
def test_tool_follow_ups_change_one_argument(planner, questions, tool, args):
    messages = []
    for question in questions:
        messages.append(HumanMessage(question))
        reply = planner.respond(messages)
        messages.append(reply)
        for tool_call in reply.tool_calls:
            messages.append(ToolMessage("done", tool_call_id=tool_call["id"],
                                        name=tool_call["name"]))
            messages.append(planner.respond(messages))
    last_call = next(m for m in reversed(messages) if getattr(m, "tool_calls", None))
    assert last_call.tool_calls[0]["name"] == tool
    assert last_call.tool_calls[0]["args"] == args


@pytest.mark.parametrize(("question", "args"), [
    ("which customers at high churn risk can we reach by email? build me that list",
     {"channel": "email"}),
    ("give me a list of at-risk customers we can reach by SMS", {"channel": "sms"}),
    ("build an email audience of customers at risk of churning", {"channel": "email"}),
    ("export a push audience of segment 2 customers at risk of churn",
     {"channel": "push", "segment_id": 2}),
])
def test_an_audience_at_churn_risk_scores_churn_first_then_builds_it(planner, question, args):
    messages, calls = [HumanMessage(question)], []
    while len(calls) < 3 and (reply := planner.respond(messages)).tool_calls:
        call = reply.tool_calls[0]
        calls.append((call["name"], call["args"]))
        messages += [reply, ToolMessage(f"{call['name']} done", tool_call_id=call["id"],
                                        name=call["name"])]
    messages.append(reply)
    assert calls == [("predict_churn", {}),
                     ("build_audience", args | {"min_churn_risk": 0.5})]
    assert messages[-1].text == "build_audience done"


def test_an_audience_at_churn_risk_uses_the_saved_churn_run(writable_warehouse):
    with Warehouse.open(writable_warehouse) as wh:
        wh.execute("CREATE SCHEMA IF NOT EXISTS assistant")
        wh.execute("CREATE TABLE assistant.runs (run_id VARCHAR, kind VARCHAR, "
                   "created_at TIMESTAMP)")
        wh.execute("INSERT INTO assistant.runs VALUES ('c1', 'churn', '2026-01-01')")
        planner = OfflinePlanner.for_warehouse(wh).bind_tools([Bound(n) for n in TOOL_NAMES])
        reply = planner.respond([HumanMessage("which customers at high churn risk can we reach "
                                              "by email? build me that list")])
        assert reply.tool_calls[0]["name"] == "build_audience"
        assert reply.tool_calls[0]["args"] == {"channel": "email", "min_churn_risk": 0.5}


def test_sending_a_campaign_is_declined_plainly(planner):
    text = planner.respond([HumanMessage("Send the savings email to segment 2 right now "
                                         "please")]).text
    assert text.startswith("Offline planner: I don't send campaigns.")
    assert "build the audience" in text


def test_a_median_it_cannot_compute_is_not_answered_with_another_statistic(planner):
    text = planner.respond([HumanMessage("median credit limit")]).text
    assert "can't compute the median of that measure" in text


@pytest.mark.parametrize(("question", "word"), [
    ("churn rate by zodiac sign", "churn rate"),
    ("average balanse by wibble", "balance"),
    ("click rate by weather", "click rate"),
])
def test_a_refusal_suggests_phrasings_that_work_close_to_the_question(planner, read_only,
                                                                      question, word):
    """The suggested phrasings come from the semantic model; each one is answered by the
    planner, and the first shares the question's words."""
    text = planner.respond([HumanMessage(question)]).text
    assert text.startswith("Offline planner")
    suggested = re.findall(r'"([^"]+)"', text.split("Questions like", 1)[1])[:-1]
    assert 2 <= len(suggested) <= 3, text
    assert word in suggested[0], text
    for phrasing in suggested:
        answer, results = converse(planner, read_only, [phrasing])
        assert results and not answer.startswith("Offline planner"), (phrasing, answer)


def test_a_question_by_segment_segments_first_then_answers_from_the_new_run(writable_warehouse):
    """With no segmentation yet the planner segments first; once that run exists its plan keeps
    the same steps, so the metric query follows and the answer comes from its rows."""
    with Warehouse.open(writable_warehouse) as wh:
        planner = OfflinePlanner.for_warehouse(wh).bind_tools(
            [Bound("segment_customers"), Bound("query_metrics")])
        messages = [HumanMessage("What is the total spend by segment?")]
        first = planner.respond(messages)
        assert first.tool_calls[0]["name"] == "segment_customers"
        wh.execute("CREATE SCHEMA IF NOT EXISTS assistant")     # what segmenting writes
        wh.execute("CREATE TABLE assistant.runs AS SELECT 'r1' AS run_id, 'segmentation' AS "
                   "kind, 'customers' AS source_table, TIMESTAMP '2026-02-01' AS created_at")
        wh.execute("CREATE TABLE assistant.segment_members AS SELECT 'r1' AS run_id, "
                   "customer_id, customer_id % 2 + 1 AS segment_id FROM customers")
        wh.execute("CREATE TABLE assistant.segments AS SELECT 'r1' AS run_id, i AS segment_id,"
                   " 'Segment ' || i AS name FROM range(1, 3) t(i)")
        messages += [first, ToolMessage("segmented", tool_call_id=first.tool_calls[0]["id"],
                                        name="segment_customers")]
        second = planner.respond(messages)
        assert second.tool_calls and second.tool_calls[0]["name"] == "query_metrics"
        result = query_metrics(ToolContext(wh=wh, settings=SETTINGS),
                               **second.tool_calls[0]["args"])
        messages += [second, ToolMessage(result.summary, name="query_metrics",
                                         tool_call_id=second.tool_calls[0]["id"])]
        text = planner.respond(messages).text
        assert "Segment 2" in text and not text.startswith("Offline planner"), text
