"""The agent loop with a scripted model: tool calls and arguments, several steps, tool errors fed
back, the step limit, memory across turns, model failures, streaming events and sessions."""

from __future__ import annotations

import json

import pytest
from fakes import ScriptedChatModel, call
from langchain_core.exceptions import ModelAuthenticationError, ModelRateLimitError
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from assistant.agent import STEP_LIMIT_NOTE, Assistant
from assistant.events import Done, TextDelta, ToolFinished, ToolStarted
from assistant.settings import Settings
from tools.describe import describe_warehouse
from tools.result import ToolContext, ToolResult
from tools.sql import run_sql
from warehouse.connection import Warehouse


@pytest.fixture
def make(writable_warehouse, tmp_path):
    handles = []

    def build(replies, tools=None, **settings):
        wh = Warehouse.open(writable_warehouse)
        handles.append(wh)
        values = {"warehouse": writable_warehouse, "max_retries": 1, "retry_delay": 0,
                  "state_dir": tmp_path / "sessions"} | settings
        fake = ScriptedChatModel(replies=list(replies))
        return Assistant(Settings(**values), wh, model=fake, tools=tools), fake

    yield build
    for wh in handles:
        wh.close()


def _tool_messages(messages):
    return [m for m in messages if isinstance(m, ToolMessage)]


def test_a_tool_call_runs_and_its_result_goes_to_the_person(make):
    assistant, fake = make([call("run_sql", sql="SELECT country, count(*) AS n FROM customers "
                                                "GROUP BY country ORDER BY n DESC",
                                 title="Customers by country"),
                            "Germany has the most customers."])
    events = list(assistant.conversation().stream("Which country has the most customers?"))
    kinds = [type(e) for e in events]
    assert kinds[:2] == [ToolStarted, ToolFinished] and kinds[-1] is Done
    assert TextDelta in kinds
    answer = events[-1].answer
    assert answer.answer == "Germany has the most customers."
    assert answer.tool_calls == [{"name": "run_sql", "args": {
        "sql": "SELECT country, count(*) AS n FROM customers GROUP BY country ORDER BY n DESC",
        "title": "Customers by country"}}]
    assert answer.tables[0].title == "Customers by country" and len(answer.tables[0].df) == 8
    assert answer.charts[0].kind == "bar"
    summary = _tool_messages(fake.seen[1])[0].text
    assert summary.startswith("8 rows; columns: country, n")
    assert fake.bound_tools[0][:3] == ["describe_warehouse", "query_metrics", "run_sql"]


def test_several_steps_use_earlier_results(make):
    def second(messages):
        top = _tool_messages(messages)[-1].text.splitlines()[2].split(" | ")[0]
        return call("run_sql", sql=f"SELECT count(*) AS n FROM customers c JOIN "
                                   f"customer_status s USING (customer_id) "
                                   f"WHERE country = '{top}' AND s.is_active")

    assistant, fake = make([call("run_sql", sql="SELECT country, count(*) AS n FROM customers "
                                                "GROUP BY 1 ORDER BY 2 DESC"), second, "Done."])
    answer = assistant.conversation().ask("Active customers in our biggest country?")
    assert [c["name"] for c in answer.tool_calls] == ["run_sql", "run_sql"]
    assert "country = 'DE'" in answer.sql[1]
    assert len(answer.tables) == 2 and fake.calls == 3


def test_tool_errors_go_back_to_the_model_as_short_messages(make):
    assistant, fake = make([call("run_sql", sql="SELECT emial FROM customers"),
                            call("run_sql", sql="DROP TABLE customers"),
                            call("run_sql", sql="SELECT count(*) FROM customers"),
                            "3,000 customers."])
    answer = assistant.conversation().ask("How many customers?")
    errors = [m.text for m in _tool_messages(fake.seen[-1])][:2]
    assert errors[0].startswith("Error: the query failed: Referenced column \"emial\"")
    assert "Candidate bindings" in errors[0]
    assert errors[1].startswith("Error: DROP statements are not allowed")
    assert answer.error is None and answer.answer == "3,000 customers."
    assert answer.sql == ["SELECT count(*) FROM customers"]


def boom(ctx: ToolContext, how: str = "bad") -> ToolResult:
    """Fail on purpose.

    Args:
        how: what goes wrong.
    """
    raise RuntimeError(f"internal failure: {how}")


def counter(ctx: ToolContext) -> ToolResult:
    """Count how often this conversation called me."""
    ctx.state["n"] = ctx.state.get("n", 0) + 1
    return ToolResult(summary=f"called {ctx.state['n']} times in session {ctx.session}")


@pytest.mark.injects_bug
def test_an_unexpected_tool_failure_is_one_line_for_the_model(make):
    assistant, fake = make([call("boom", how="badly"), "That tool is broken."],
                           tools=[boom, run_sql])
    events = list(assistant.conversation().stream("Go"))
    finished = next(e for e in events if isinstance(e, ToolFinished))
    # the exception's own text may quote data values (issue 14): only its type is told
    assert finished.result is None and "(RuntimeError)" in finished.error
    assert "internal failure" not in finished.error
    message = _tool_messages(fake.seen[-1])[0]
    assert message.text.startswith("Error: boom failed unexpectedly (RuntimeError")
    assert "Traceback" not in message.text
    # every tool call failed, so the answer carries the error (issue 10: `ask --json`)
    assert events[-1].answer.error == finished.error
    assert events[-1].answer.answer == "That tool is broken."


def test_the_model_sees_typed_arguments_but_never_the_context(make):
    assistant, _ = make(["hi"], tools=[boom, counter])
    schema = assistant.tools[0].tool_call_schema
    assert list(schema["properties"]) == ["how"]
    assert schema["properties"]["how"]["description"] == "what goes wrong"
    assert assistant.tools[0].description == "Fail on purpose."


def test_tool_state_belongs_to_the_conversation(make):
    assistant, fake = make([call("counter"), "one", call("counter"), "two", call("counter"),
                            "other"], tools=[counter])
    first = assistant.conversation("alice")
    first.ask("count")
    first.ask("count again")
    assert "called 2 times in session alice" in _tool_messages(fake.seen[3])[-1].text
    assistant.conversation("bob").ask("count")
    assert "called 1 times in session bob" in _tool_messages(fake.seen[5])[-1].text


def test_the_step_limit_ends_with_an_honest_answer(make):
    replies = [call("describe_warehouse") for _ in range(4)]
    assistant, fake = make(replies, max_steps=3)
    answer = assistant.conversation().ask("Tell me everything")
    assert len(answer.tool_calls) == 3
    last_request = fake.seen[-1]
    assert STEP_LIMIT_NOTE.format(n=3) in last_request[0].text
    assert answer.answer.startswith("I stopped after 3 tool calls (describe_warehouse, "
                                    "describe_warehouse, describe_warehouse)")
    assert answer.error is None


def test_the_last_step_may_answer_from_what_it_has(make):
    replies = [call("describe_warehouse"), call("describe_warehouse"),
               "From the schema: seven tables."]
    assistant, fake = make(replies, max_steps=2)
    answer = assistant.conversation().ask("Describe twice")
    assert answer.answer == "From the schema: seven tables."
    assert fake.bound_tools[-1] != ["describe_warehouse", "run_sql"]


def test_parallel_calls_beyond_the_budget_are_dropped(make):
    replies = [[call("describe_warehouse"), call("describe_warehouse"),
                call("describe_warehouse")], "enough"]
    assistant, _ = make(replies, max_steps=2)
    assert len(assistant.conversation().ask("Three at once").tool_calls) == 2


def test_follow_ups_see_the_earlier_turns(make):
    assistant, fake = make([call("run_sql", sql="SELECT count(*) AS n FROM customers"),
                            "3,000.", "Germany has 751 of them."])
    conversation = assistant.conversation()
    conversation.ask("How many customers?")
    conversation.ask("Now only for Germany")
    last = fake.seen[-1]
    humans = [m.text for m in last if isinstance(m, HumanMessage)]
    assert humans == ["How many customers?", "Now only for Germany"]
    assert any(isinstance(m, AIMessage) and m.text == "3,000." for m in last)
    assert len(conversation.messages) == 6


def test_a_rate_limit_is_retried(make):
    assistant, fake = make([ModelRateLimitError("slow down"), "Fine."])
    answer = assistant.conversation().ask("hello")
    assert answer.answer == "Fine." and answer.error is None and fake.calls == 2


def test_model_failures_are_reported_and_the_conversation_goes_on(make):
    assistant, fake = make([ModelAuthenticationError("bad key"), "Working again."],
                           base_url="http://127.0.0.1:1/v1")
    conversation = assistant.conversation()
    failed = conversation.ask("How many customers?")
    assert failed.error.startswith("The model endpoint http://127.0.0.1:1/v1 rejected the API "
                                   "key")
    assert failed.answer == failed.error and fake.calls == 1       # no retry on auth errors
    ok = conversation.ask("And now?")
    assert ok.error is None and ok.answer == "Working again."
    assert [m.text for m in fake.seen[-1] if isinstance(m, HumanMessage)] == \
        ["How many customers?", "And now?"]


@pytest.mark.injects_bug
def test_an_unexpected_failure_keeps_the_conversation_usable(make):
    assistant, fake = make([call("run_sql", sql="SELECT 1 AS one"), ValueError("bug"),
                            "Recovered."])
    conversation = assistant.conversation()
    broken = conversation.ask("first")
    assert broken.error.startswith("Something went wrong while answering (ValueError)")
    again = conversation.ask("second")
    assert again.answer == "Recovered."
    sent = fake.seen[-1]
    assert not any(isinstance(m, AIMessage) and m.tool_calls for m in sent), \
        "a tool call without its result must not be replayed"


def test_streamed_text_adds_up_to_the_answer(make, writable_warehouse):
    from assistant.planner import OfflinePlanner

    wh = Warehouse.open(writable_warehouse)
    try:
        planner = OfflinePlanner.for_warehouse(wh)
        assistant = Assistant(Settings(warehouse=writable_warehouse), wh, model=planner)
        events = list(assistant.conversation().stream("How many customers are in Germany?"))
    finally:
        wh.close()
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 3
    assert "".join(deltas) == events[-1].answer.answer
    assert events[-1].answer.answer.startswith("There are 751 customers in Germany.")


def test_sessions_are_kept_on_disk_between_processes(make, tmp_path):
    assistant, _ = make(["First answer.", "Second answer."])
    assistant.conversation("q3-review", persist=True).ask("first question")
    path = tmp_path / "sessions" / "q3-review.json"
    saved = json.loads(path.read_text())
    assert [m["type"] for m in saved["messages"]] == ["human", "ai"]
    # a new process: a new assistant and conversation, same session name
    again, fake2 = make(["Second answer."])
    again.conversation("q3-review", persist=True).ask("follow-up")
    assert [m.text for m in fake2.seen[0] if isinstance(m, HumanMessage)] == \
        ["first question", "follow-up"]
    assert len(json.loads(path.read_text())["messages"]) == 4
    assert not list(path.parent.glob("*.tmp"))


def test_a_bad_session_name_is_refused(make):
    from warehouse.errors import InvalidArgument

    assistant, _ = make([])
    with pytest.raises(InvalidArgument, match=r"session name '\.\./x' is not allowed"):
        assistant.conversation("../x", persist=True)


def test_an_empty_question_gets_a_hint_without_a_model_call(make):
    assistant, fake = make([])
    answer = assistant.conversation().ask("   ")
    assert "Ask me a question" in answer.answer and fake.calls == 0


def test_tools_are_plain_functions(wh):
    ctx = ToolContext(wh=wh, settings=Settings())
    assert "customer_status" in describe_warehouse(ctx).summary


def test_a_stream_stopped_halfway_leaves_a_usable_conversation(make):
    assistant, fake = make([call("run_sql", sql="SELECT 1 AS one"), "unused", "Fine."])
    conversation = assistant.conversation()
    events = conversation.stream("first")
    assert isinstance(next(events), ToolStarted)
    events.close()                                   # the person went away mid-answer
    fake.replies[:] = ["Fine."]
    answer = conversation.ask("second")
    assert answer.answer == "Fine." and answer.error is None
    assert not any(isinstance(m, AIMessage) and m.tool_calls for m in fake.seen[-1])
