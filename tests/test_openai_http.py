"""The real langchain-openai / openai client, over HTTP, against a local Chat Completions server.

A stdlib http.server on 127.0.0.1 (random port, own thread; tests/openai_server.py) answers from
a script: tool calls, text, streamed (SSE) or not, HTTP errors, slow answers and malformed
tool-call arguments.
"""

from __future__ import annotations

import json
import time

import pytest
from openai_server import (
    ChatServer,
    empty,
    keepalive,
    null,
    slow,
    status,
    text,
    tool_call,
    truncated,
)

from assistant.agent import Assistant
from assistant.llm import chat_model
from assistant.settings import Settings
from warehouse.connection import Warehouse

KEY = "sk-test-local"


@pytest.fixture
def conversation_for(writable_warehouse):
    handles = []

    def make(url: str, **overrides):
        values = {"warehouse": writable_warehouse, "provider": "openai", "base_url": url,
                  "ASSISTANT_API_KEY": KEY, "model": "local-model", "max_retries": 1,
                  "retry_delay": 0.01, "timeout": 5}
        settings = Settings(**(values | overrides))
        wh = Warehouse.open(writable_warehouse)
        handles.append(wh)
        return Assistant(settings, wh).conversation()

    yield make
    for wh in handles:
        wh.close()


def test_the_factory_builds_a_chat_completions_client_for_a_base_url():
    settings = Settings(provider="openai", base_url="http://127.0.0.1:9/v1",
                        ASSISTANT_API_KEY=KEY, model="llama3", timeout=7, max_retries=2)
    model = chat_model(settings)
    from langchain_openai import ChatOpenAI

    assert isinstance(model, ChatOpenAI)
    assert model.model_name == "llama3" and model.use_responses_api is False
    assert model.openai_api_base == "http://127.0.0.1:9/v1" and model.request_timeout == 7


def test_a_tool_call_round_trip_over_http(conversation_for):
    script = [tool_call("run_sql", {"sql": "SELECT count(*) AS n FROM customers",
                                    "title": "Customers"}),
              text("There are 3,000 customers.")]
    with ChatServer(script) as server:
        answer = conversation_for(server.url).ask("How many customers do we have?")
    assert answer.error is None
    assert answer.answer.strip() == "There are 3,000 customers."
    assert answer.mode == "local-model"
    assert [c["name"] for c in answer.tool_calls] == ["run_sql"]
    assert answer.tables[0].df.iloc[0, 0] == 3000
    first = server.requests[0]
    assert first["model"] == "local-model" and first["stream"] is True
    assert {t["function"]["name"] for t in first["tools"]} >= {"run_sql", "describe_warehouse"}
    run_sql = next(t for t in first["tools"] if t["function"]["name"] == "run_sql")
    assert "ctx" not in run_sql["function"]["parameters"]["properties"]
    assert server.headers[0]["authorization"] == f"Bearer {KEY}"
    assert "3,000" in server.tool_messages(1)[0]["content"]


def test_a_rate_limit_is_retried_with_backoff(conversation_for):
    script = [status(429, {"Retry-After": "0"}), text("Fine now.")]
    with ChatServer(script) as server:
        answer = conversation_for(server.url).ask("hello?")
    assert answer.error is None and answer.answer.strip() == "Fine now."
    assert len(server.requests) == 2


def test_a_rate_limit_waits_as_long_as_the_endpoint_asks(conversation_for):
    script = [status(429, {"Retry-After": "1"}), text("Fine now.")]
    with ChatServer(script) as server:
        started = time.perf_counter()
        answer = conversation_for(server.url).ask("hello?")   # backoff alone: 0.01 s
        waited = time.perf_counter() - started
    assert answer.error is None and len(server.requests) == 2
    assert waited >= 1.0


def test_a_rate_limit_asking_for_a_long_wait_fails_at_once_and_says_how_long(conversation_for):
    script = [status(429, {"Retry-After": "120"}), text("never sent")]
    with ChatServer(script) as server:
        started = time.perf_counter()
        answer = conversation_for(server.url).ask("hello?")
        waited = time.perf_counter() - started
    assert len(server.requests) == 1 and waited < 5
    assert "is limiting requests" in answer.error and "asks to wait 120 s" in answer.error


def test_server_errors_end_in_a_clear_message_and_the_conversation_goes_on(conversation_for):
    script = [status(500), status(500), text("Back again.")]
    with ChatServer(script) as server:
        conversation = conversation_for(server.url)
        failed = conversation.ask("How many customers?")
        assert len(server.requests) == 2                  # the first try and one retry
        assert failed.error and server.url in failed.error and "server error" in failed.error
        assert failed.answer == failed.error
        again = conversation.ask("And now?")
    assert again.error is None and again.answer.strip() == "Back again."
    history = [m["content"] for m in server.requests[-1]["messages"] if m["role"] == "user"]
    assert history == ["How many customers?", "And now?"]


def test_a_timeout_names_the_endpoint_and_the_setting(conversation_for):
    script = [slow(120), slow(120)]       # far longer than any machine's load could explain
    with ChatServer(script) as server:
        started = time.perf_counter()
        answer = conversation_for(server.url, timeout=0.3).ask("How many customers?")
        elapsed = time.perf_counter() - started
    assert answer.error and "did not answer within 0.3 s" in answer.error
    assert "ASSISTANT_TIMEOUT" in answer.error and server.url in answer.error
    assert elapsed < 60                   # the client gave up: it did not wait for the replies


def test_malformed_tool_arguments_go_back_to_the_model(conversation_for):
    script = [tool_call("run_sql", '{"sql": SELECT count(*) FROM customers}'),
              tool_call("run_sql", {"sql": "SELECT count(*) AS n FROM customers"}, "call_2"),
              text("3,000 customers.")]
    with ChatServer(script) as server:
        answer = conversation_for(server.url).ask("How many customers?")
    assert answer.error is None and answer.answer.strip() == "3,000 customers."
    feedback = server.tool_messages(1)[0]["content"]
    assert feedback.startswith("Error: the arguments of run_sql are not valid JSON (Expecting "
                               "value: line 1 column 9 (char 8)); nothing ran.")
    assert [c["name"] for c in answer.tool_calls] == ["run_sql", "run_sql"]
    assert answer.sql == ["SELECT count(*) AS n FROM customers"]


def test_a_rejected_key_is_reported_without_retrying(conversation_for):
    with ChatServer([status(401), text("never sent")]) as server:
        answer = conversation_for(server.url).ask("How many customers?")
    assert len(server.requests) == 1
    assert "rejected the API key" in answer.error and "OPENAI_API_KEY" in answer.error


def test_an_unreachable_endpoint_is_reported(conversation_for):
    with ChatServer([]) as server:
        url = server.url
    answer = conversation_for(url).ask("How many customers?")
    assert answer.error.startswith(f"Could not connect to the model endpoint {url}")
    assert "ASSISTANT_BASE_URL" in answer.error


# -- fault scripts: each ends in a clear message, nothing runs on guessed arguments, and the next
# question of the same conversation is answered ------------------------------------------------
CUT = "{\"sql\": \"SELECT sum(amount) AS spend FROM transactions WHERE direction = 'debit'"
FAULTS = [
    # (name, script, settings, what the model was told or the person reads)
    ("truncated arguments", [truncated("run_sql", CUT), text("The query was cut off.")], {},
     "Error: the arguments of run_sql were cut off before the end (Unterminated string"),
    ("invalid arguments", [tool_call("run_sql", '{"sql": SELECT 1}'), text("Bad JSON.")], {},
     "Error: the arguments of run_sql are not valid JSON (Expecting value"),
    ("arguments not an object", [tool_call("run_sql", '["SELECT 1"]'), text("A list.")], {},
     "Error: the arguments of run_sql are a list, not a JSON object of named arguments"),
    ("unknown tool", [tool_call("frobnicate", {"x": 1}), text("No such tool.")], {},
     "frobnicate is not a valid tool"),
    ("empty message", [empty()], {}, "The model sent an empty reply"),
    ("null message", [null()], {}, "The model sent an empty reply"),
    ("endless tool calls", [tool_call("run_sql", {"sql": "SELECT 1 AS one"}, f"call_{i}")
                            for i in range(4)], {"max_steps": 3},   # 3 + the last call
     "I stopped after 3 tool calls"),
    ("rate limited", [status(429), status(429)], {}, "is limiting requests (HTTP 429)"),
    ("server errors", [status(500), status(502)], {}, "had a server error"),
    ("timeouts", [slow(1.5), slow(1.5)], {"timeout": 0.3}, "did not answer within 0.3 s"),
    ("keep-alives forever", [keepalive(), keepalive()], {"timeout": 0.5},
     "did not answer within 0.5 s"),
]


@pytest.mark.parametrize(("script", "overrides", "said"), [f[1:] for f in FAULTS],
                         ids=[f[0] for f in FAULTS])
def test_a_fault_ends_in_a_clear_message_and_the_next_question_works(
        conversation_for, script, overrides, said):
    follow_up = [tool_call("run_sql", {"sql": "SELECT count(*) AS n FROM customers"}, "call_ok"),
                 text("3,000 customers.")]
    with ChatServer(script + follow_up) as server:
        conversation = conversation_for(server.url, **overrides)
        started = time.perf_counter()
        failed = conversation.ask("Total spend?")
        elapsed = time.perf_counter() - started
        told = [m["content"] for r in server.requests for m in r["messages"]
                if m["role"] == "tool"]
        assert any(said in t for t in told) or said in (failed.error or failed.answer), \
            (failed, told)
        assert failed.sql == [] or overrides.get("max_steps")   # nothing ran on a guess
        assert failed.answer.strip() and "Traceback" not in failed.answer
        assert elapsed < 10
        again = conversation.ask("How many customers?")
    assert again.error is None and again.answer.strip() == "3,000 customers.", again
    assert again.sql == ["SELECT count(*) AS n FROM customers"]


def test_cut_off_arguments_are_never_completed_into_a_query_that_runs(conversation_for):
    complete = (CUT + " AND category NOT IN ('transfer', 'investment', 'fees')\"}")
    script = [truncated("run_sql", CUT), tool_call("run_sql", complete, "call_2"),
              text("Spend is ...")]
    with ChatServer(script) as server:
        answer = conversation_for(server.url).ask("Total spend?")
    assert answer.sql == [json.loads(complete)["sql"]]       # only the complete query ran
    assert answer.tool_calls[0]["args"] == {}                # the cut call ran with nothing
    assert "cut off" in server.tool_messages(1)[0]["content"]


def test_an_empty_reply_is_an_error_of_assistant_ask(writable_warehouse):
    from typer.testing import CliRunner

    from assistant import cli

    with ChatServer([empty()]) as server:
        env = {"ASSISTANT_BASE_URL": server.url, "ASSISTANT_API_KEY": KEY,
               "ASSISTANT_MAX_RETRIES": "0"}
        result = CliRunner().invoke(cli.app, ["ask", "How many customers?", "--json",
                                              "--path", str(writable_warehouse)], env=env)
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["error"].startswith("The model sent an empty reply")


def test_assistant_ask_writes_copy_with_the_configured_model(writable_warehouse):
    from typer.testing import CliRunner

    from assistant import cli

    copy = {"title": "Your savings, growing",
            "body": "Open a savings account in minutes. Variable rate; conditions apply."}
    script = [tool_call("draft_campaign", {"channel": "push", "product": "savings",
                                           "variants": 1}),
              text(json.dumps(copy)), text("Here is the draft.")]
    with ChatServer(script) as server:
        env = {"ASSISTANT_BASE_URL": server.url, "ASSISTANT_API_KEY": KEY,
               "ASSISTANT_MODEL": "local-model", "ASSISTANT_MAX_RETRIES": "0"}
        result = CliRunner().invoke(cli.app, [
            "ask", "write a push about our savings account", "--json",
            "--path", str(writable_warehouse)], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["answer"].strip() == "Here is the draft."
    writer = server.requests[1]                   # the copy request, with the copy schema
    assert writer["response_format"]["json_schema"]["name"] == "PushCopy"
    assert "savings" in json.dumps(writer["messages"]).lower()
    with Warehouse.open(writable_warehouse, read_only=True) as wh:
        model, content = wh.rows("SELECT model, content FROM assistant.campaign_drafts")[0]
    assert model == "local-model" and copy["title"] in content
