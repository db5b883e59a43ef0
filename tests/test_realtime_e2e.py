"""End to end on the real app (`assistant serve`): a posted event becomes an outbox row and a
webhook call received by a local test server (retried after a failure, with an idempotency
key); a crash between receipt and commit (SIGKILL) loses nothing and doubles nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
from realtime_support import approved_draft, consent, marketable, tx
from ui_server import free_port

from tools.features import feature_sql, reference_ts
from tools.realtime import rules, state, tables
from warehouse.connection import Warehouse

TOKEN = "e2e-token"


@contextmanager
def serving(path, workdir, **env):
    port = free_port()
    env = {**os.environ, "ASSISTANT_WAREHOUSE": str(path), "ASSISTANT_PROVIDER": "offline",
           "ASSISTANT_MCP": "false", "GRADIO_ANALYTICS_ENABLED": "False",
           "ASSISTANT_INGEST_TOKEN": TOKEN, **env}
    log = open(workdir / f"server-{port}.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--port",
                             str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                            cwd=workdir)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                status, _ = post(url, [], timeout=2)
                if status == 400:      # the route is up and the writer answers
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                log.flush()
                raise RuntimeError((workdir / f"server-{port}.log").read_text()[-3000:])
            time.sleep(0.3)
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


def post(url, events, timeout=30) -> tuple[int, dict]:
    request = urllib.request.Request(f"{url}/v1/events", data=json.dumps(events).encode(),
                                     method="POST", headers={
                                         "Authorization": f"Bearer {TOKEN}",
                                         "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


class Receiver:
    """A webhook on 127.0.0.1 that fails the first `fail` calls with 503."""

    def __init__(self, fail: int = 1) -> None:
        self.calls: list[tuple[int, dict, dict]] = []
        self.fail = fail
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                code = 503 if len(receiver.calls) < receiver.fail else 200
                receiver.calls.append((code, dict(self.headers), body))
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def test_a_posted_event_reaches_the_webhook_once_retried_with_its_key(writable_warehouse,
                                                                       tmp_path):
    with Warehouse.open(writable_warehouse) as wh:
        draft = approved_draft(wh, "email")
        who = marketable(wh, "email", 2)
        with wh.transaction() as cur:
            tables.ensure(cur)
            rules.save(cur, rules.parse_rule({
                "name": "travel offer", "event": "Transaction", "where": {"category": "travel"},
                "draft": draft, "quiet_hours": None}))
    hook = Receiver(fail=1)
    try:
        with serving(writable_warehouse, tmp_path, ASSISTANT_OUTBOX_WEBHOOK=hook.url) as (_, url):
            status, body = post(url, [tx(who[0], "e2e-1"), consent(who[1], "e2e-2", "email",
                                                                   False),
                                      tx(who[1], "e2e-3")])
            assert status == 200 and body["accepted"] == 3, body
            deadline = time.time() + 20
            while not any(code == 200 for code, _, _ in hook.calls) and time.time() < deadline:
                time.sleep(0.1)
    finally:
        hook.close()
    assert [code for code, _, _ in hook.calls] == [503, 200]       # retried after a failure
    _, headers, payload = hook.calls[1]
    assert headers["Idempotency-Key"] == payload["outbox_id"] == hook.calls[0][2]["outbox_id"]
    assert payload["customer_id"] == who[0] and payload["draft_id"] == draft
    with Warehouse.open(writable_warehouse, read_only=True) as wh:
        email = wh.scalar("SELECT email FROM customers WHERE customer_id = ?", [who[0]])
        assert email not in json.dumps(payload)
        assert wh.rows("SELECT status, attempts FROM assistant.outbox") == [("delivered", 2)]
        skipped = wh.rows("SELECT customer_id, reason FROM assistant.trigger_log "
                          "WHERE decision = 'skipped'")
        assert skipped == [(who[1], "no_channel_consent")]        # withdrawn in the batch


def _batches(wh, n: int, size: int) -> list[list[dict]]:
    ids = [r[0] for r in wh.rows("SELECT customer_id FROM customers ORDER BY customer_id "
                                 f"LIMIT {size}")]
    out = []
    for b in range(n):
        batch = []
        for i, c in enumerate(ids):
            minute = (b * size + i) % 50
            if i % 4 == 3:
                batch.append({"userId": c, "event": "Login", "messageId": f"k{b}-{i}",
                              "timestamp": f"2026-10-31T23:{minute:02d}:00",
                              "properties": {"platform": "ios"}})
            else:
                batch.append(tx(c, f"k{b}-{i}", ts=f"2026-11-01T00:{minute:02d}:00",
                                category="dining", amount=10 + i))
        out.append(batch)
    return out


def test_a_crash_between_receipt_and_commit_loses_nothing_and_doubles_nothing(
        writable_warehouse, tmp_path):
    with Warehouse.open(writable_warehouse, read_only=True) as wh:
        batches = _batches(wh, 30, 40)
        before = wh.scalar("SELECT count(*) FROM transactions")
    sent_tx = sum(1 for b in batches for e in b if e["event"] == "Transaction")
    acked: list[int] = []
    in_flight = threading.Event()
    with serving(writable_warehouse, tmp_path) as (proc, url):
        def client():
            for i, batch in enumerate(batches):
                if i == 8:
                    in_flight.set()    # the crash comes while this request is on its way
                try:
                    status, _ = post(url, batch, timeout=10)
                except OSError:
                    return
                if status == 200:
                    acked.append(i)

        thread = threading.Thread(target=client)
        thread.start()
        assert in_flight.wait(60)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        thread.join(30)
    assert 0 < len(acked) < len(batches)
    with serving(writable_warehouse, tmp_path) as (_, url):
        # the client retries everything it is not sure of (and, to be hard on it, the rest too)
        results = [post(url, batch) for batch in batches]
    assert all(status == 200 for status, _ in results)
    assert sum(r["accepted"] + r["duplicates"] for _, r in results) == 30 * 40
    assert all(r["duplicates"] == 40 for i, (_, r) in enumerate(results) if i in acked)
    with Warehouse.open(writable_warehouse, read_only=True) as wh:
        assert wh.scalar("SELECT count(*) FROM assistant.events") == 30 * 40
        assert wh.scalar("SELECT count(*) FROM transactions") == before + sent_tx
        assert state.current(wh) == state.STATE
        ref = reference_ts(wh)
        pd.testing.assert_frame_equal(wh.df(feature_sql(ref, current=True, state=state.STATE)),
                                      wh.df(feature_sql(ref, current=True)))
