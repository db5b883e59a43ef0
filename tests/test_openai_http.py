"""The real langchain-openai / openai client, over HTTP, against a local Chat Completions server.

A stdlib http.server on 127.0.0.1 (random port, own thread) answers from a script: tool calls,
text, streamed (SSE) or not, HTTP errors, slow answers and malformed tool-call arguments.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assistant.agent import Assistant
from assistant.llm import chat_model
from assistant.settings import Settings
from warehouse.connection import Warehouse

KEY = "sk-test-local"


def tool_call(name: str, arguments: str | dict, call_id: str = "call_1") -> dict:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"tool_calls": [{"id": call_id, "name": name, "arguments": args}]}


def text(content: str) -> dict:
    return {"content": content}


def status(code: int, headers: dict | None = None) -> dict:
    return {"status": code, "headers": headers or {}}


def slow(seconds: float) -> dict:
    return {"sleep": seconds}


class ChatServer:
    """Scripted OpenAI-compatible endpoint; records every request body and header."""

    def __init__(self, script: list[dict]) -> None:
        self.script = list(script)
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                server.headers.append({k.lower(): v for k, v in self.headers.items()})
                step = server.script.pop(0) if server.script else text("(script exhausted)")
                if "sleep" in step:
                    time.sleep(step["sleep"])
                    step = text("too late")
                if "status" in step:
                    self.send_response(step["status"])
                    self.send_header("Content-Type", "application/json")
                    for k, v in step["headers"].items():
                        self.send_header(k, v)
                    payload = json.dumps({"error": {"message": f"scripted {step['status']}",
                                                    "type": "server_error"}}).encode()
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if body.get("stream"):
                    self._stream(step, body["model"])
                else:
                    self._complete(step, body["model"])

            def _message(self, step):
                message = {"role": "assistant", "content": step.get("content")}
                if "tool_calls" in step:
                    message["tool_calls"] = [
                        {"id": c["id"], "type": "function",
                         "function": {"name": c["name"], "arguments": c["arguments"]}}
                        for c in step["tool_calls"]]
                return message

            def _complete(self, step, model):
                payload = json.dumps({
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 0,
                    "model": model,
                    "choices": [{"index": 0, "message": self._message(step),
                                 "finish_reason": "tool_calls" if "tool_calls" in step
                                 else "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _stream(self, step, model):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()

                def send(delta, finish=None):
                    chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0,
                             "model": model, "choices": [{"index": 0, "delta": delta,
                                                          "finish_reason": finish}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()

                send({"role": "assistant", "content": ""})
                if "tool_calls" in step:
                    for i, c in enumerate(step["tool_calls"]):
                        args = c["arguments"]
                        half = len(args) // 2
                        send({"tool_calls": [{"index": i, "id": c["id"], "type": "function",
                                              "function": {"name": c["name"],
                                                           "arguments": args[:half]}}]})
                        send({"tool_calls": [{"index": i, "function": {
                            "arguments": args[half:]}}]})
                    send({}, "tool_calls")
                else:
                    for word in (step.get("content") or "").split(" "):
                        send({"content": word + " "})
                    send({}, "stop")
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True        # a slow handler must not hold up shutdown
        self.httpd.block_on_close = False
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def tool_messages(self, n: int) -> list[dict]:
        return [m for m in self.requests[n]["messages"] if m["role"] == "tool"]


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
    assert type(model).__name__ == "ChatOpenAI"
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
    script = [slow(1.5), slow(1.5)]
    with ChatServer(script) as server:
        started = time.perf_counter()
        answer = conversation_for(server.url, timeout=0.3).ask("How many customers?")
        elapsed = time.perf_counter() - started
    assert answer.error and "did not answer within 0.3 s" in answer.error
    assert "ASSISTANT_TIMEOUT" in answer.error and server.url in answer.error
    assert elapsed < 3


def test_malformed_tool_arguments_go_back_to_the_model(conversation_for):
    script = [tool_call("run_sql", '{"sql": SELECT count(*) FROM customers}'),
              tool_call("run_sql", {"sql": "SELECT count(*) AS n FROM customers"}, "call_2"),
              text("3,000 customers.")]
    with ChatServer(script) as server:
        answer = conversation_for(server.url).ask("How many customers?")
    assert answer.error is None and answer.answer.strip() == "3,000 customers."
    feedback = server.tool_messages(1)[0]["content"]
    assert feedback.startswith("Error: the arguments of run_sql were not valid JSON")
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
