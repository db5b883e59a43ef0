"""Red team against the running server (issue 16): oversized and value-echoing requests are
refused while another client stays responsive; with sign-in, nothing is reachable without it,
MCP needs its token, and one user's download link is nobody else's."""

from __future__ import annotations

import re
import statistics
import threading
import time
import urllib.error
import urllib.request

from gradio_client import Client
from ui_server import running_app

from assistant import auth


def _status(url: str, headers: dict | None = None) -> int:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


class Pinger(threading.Thread):
    """Another client: asks the server for /healthz every 50 ms and keeps the latencies."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url.rstrip("/") + "/healthz"
        self.latencies: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=10) as resp:
                    resp.read()
            except OSError:
                pass
            self.latencies.append(time.monotonic() - started)
            time.sleep(0.05)


OVERSIZED = [
    ("chat", "q" * 100_000, "at most 4,000"),
    ("chat", "SELECT error(repeat('a', 300000))", "error() is not allowed"),
    ("run_sql", "SELECT 1 AS " + "a" * 300_000, "at most 50,000 are allowed"),
    ("run_sql", "SELECT 1 AS " + "a" * 30_000, "at most 20,000 are allowed"),
    ("run_sql", "SELECT repeat('x', 2000000000)", "at most 10,000"),
    ("run_sql", "SELECT len(range(500000000))", "at most 10,000"),
]


def test_oversized_requests_are_refused_and_other_clients_stay_responsive(warehouse_path,
                                                                          tmp_path):
    with running_app(warehouse_path, tmp_path) as url:
        client = Client(url, verbose=False)
        pinger = Pinger(url)
        pinger.start()
        time.sleep(1)
        took = []
        for api, payload, message in OVERSIZED:
            started = time.monotonic()
            out = client.predict(payload, api_name=f"/{api}")
            took.append(time.monotonic() - started)
            assert message in str(out), (api, payload[:40], str(out)[:300])
        pinger.stop.set()
        pinger.join(timeout=15)
    worst = max(pinger.latencies)
    assert len(pinger.latencies) > 10
    assert worst < 1.0, (f"another client waited {worst:.2f} s (median "
                         f"{statistics.median(pinger.latencies):.3f} s)")
    assert max(took) < 20, took


def test_with_sign_in_nothing_is_open_and_links_belong_to_their_user(warehouse_path, tmp_path):
    users = tmp_path / "users.toml"
    auth.write_users(users, {
        "maria": auth.User("maria", ("marketer",), auth.hash_password("maria's password")),
        "ana": auth.User("ana", ("analyst",), auth.hash_password("ana's password")),
    })
    env = {"ASSISTANT_AUTH": "users", "ASSISTANT_USERS_FILE": str(users),
           "ASSISTANT_MCP": "true", "ASSISTANT_MCP_TOKEN": "mcp-token-for-tests"}
    with running_app(warehouse_path, tmp_path, env=env) as url:
        base = url.rstrip("/")
        for path in ("/config", "/gradio_api/info", "/gradio_api/mcp/sse",
                     "/gradio_api/file=/etc/passwd"):
            assert _status(base + path) in (401, 403, 404), path
        assert _status(base + "/gradio_api/mcp/sse",
                       {"Authorization": "Bearer wrong"}) == 401
        maria = Client(url, auth=("maria", "maria's password"), verbose=False)
        ana = Client(url, auth=("ana", "ana's password"), verbose=False)
        mine = maria.predict("SELECT * FROM customers LIMIT 3", api_name="/chat")
        theirs = ana.predict("SELECT * FROM customers LIMIT 3", api_name="/chat")
        table = next(o for o in mine if isinstance(o, dict) and "headers" in o)
        assert "email" not in table["headers"] and "country" in table["headers"]
        table = next(o for o in theirs if isinstance(o, dict) and "headers" in o)
        assert "email" in table["headers"]
        link = re.findall(r"href='([^']+)'", str(mine))[0]
        assert _status(base + link) == 404                    # without maria's cookie
        refused = maria.predict("build an email audience", api_name="/chat")
        assert "may not use build_audience" in str(refused)
