"""A scripted OpenAI-compatible Chat Completions server on 127.0.0.1 (stdlib only).

Tests and bench/agent_bench.py drive the real langchain-openai / openai client against it. It
answers each request with the next step of its script and records every request body and header.
A step is one of:

- `text("...")`, `empty()` (content ""), `null()` (content null, no tool calls);
- `tool_call(name, arguments)`: `arguments` a dict, or a raw string (malformed on purpose);
  `truncated(...)` is a tool call whose stream ends with finish_reason "length";
- `status(429, {"Retry-After": "1"})`: an HTTP error;
- `slow(seconds)`: answers only after a while (a timeout);
- `keepalive()`: a stream that sends SSE keep-alive comments and never ends.

Streamed replies (the agent streams) split each tool call's arguments into two chunks, as real
servers send them in pieces.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def tool_call(name: str, arguments: str | dict, call_id: str = "call_1") -> dict:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"tool_calls": [{"id": call_id, "name": name, "arguments": args}]}


def truncated(name: str, arguments: str, call_id: str = "call_1") -> dict:
    return tool_call(name, arguments, call_id) | {"finish": "length"}


def text(content: str) -> dict:
    return {"content": content}


def empty() -> dict:
    return {"content": ""}


def null() -> dict:
    return {"content": None}


def status(code: int, headers: dict | None = None) -> dict:
    return {"status": code, "headers": headers or {}}


def slow(seconds: float) -> dict:
    return {"sleep": seconds}


def keepalive(every: float = 0.05) -> dict:
    return {"keepalive": every}


class ChatServer:
    """Scripted OpenAI-compatible endpoint; records every request body and header."""

    def __init__(self, script: list[dict], default: dict | None = None) -> None:
        self.script = list(script)
        self.default = default or text("(script exhausted)")
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.closing = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                server.headers.append({k.lower(): v for k, v in self.headers.items()})
                step = server.script.pop(0) if server.script else server.default
                # the client may give up mid-answer (a timeout): that is the point of some steps
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._answer(step, body)

            def _answer(self, step, body):
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
                if "keepalive" in step:
                    self._keepalive(step["keepalive"])
                elif body.get("stream"):
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

            def _finish(self, step):
                return step.get("finish") or ("tool_calls" if "tool_calls" in step else "stop")

            def _complete(self, step, model):
                payload = json.dumps({
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 0,
                    "model": model,
                    "choices": [{"index": 0, "message": self._message(step),
                                 "finish_reason": self._finish(step)}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _keepalive(self, every):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                while not server.closing.is_set():
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                    time.sleep(every)

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

                send({"role": "assistant", "content": "" if step.get("content") is not None
                      or "tool_calls" in step else None})
                if "tool_calls" in step:
                    for i, c in enumerate(step["tool_calls"]):
                        args = c["arguments"]
                        half = len(args) // 2
                        send({"tool_calls": [{"index": i, "id": c["id"], "type": "function",
                                              "function": {"name": c["name"],
                                                           "arguments": args[:half]}}]})
                        send({"tool_calls": [{"index": i, "function": {
                            "arguments": args[half:]}}]})
                elif step.get("content"):
                    for word in step["content"].split(" "):
                        send({"content": word + " "})
                send({}, self._finish(step))
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
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def tool_messages(self, n: int) -> list[dict]:
        return [m for m in self.requests[n]["messages"] if m["role"] == "tool"]
