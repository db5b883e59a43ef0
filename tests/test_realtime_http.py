"""The HTTP door: token, malformed bodies, size limits, partial batches, duplicates; and the
trigger routes the command line uses while the server holds the warehouse."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from realtime_support import approved_draft, consent, marketable, tx

from assistant.realtime_api import router
from assistant.settings import Settings
from tools.realtime.clock import Clock
from tools.realtime.service import Config, RealTime

TOKEN = "s3cret-token"


@pytest.fixture
def live(rw, tmp_path):
    realtime = RealTime(rw, Config(outbox_file=tmp_path / "outbox.jsonl"), clock=Clock())
    realtime.start(wait=True)
    yield realtime
    realtime.stop()


def _client(realtime, **settings) -> TestClient:
    app = FastAPI()
    app.include_router(router(realtime, Settings(**{"ingest_token": TOKEN, **settings})))
    return TestClient(app)


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_no_token_configured_means_the_endpoint_is_off(live):
    app = FastAPI()
    app.include_router(router(live, Settings()))
    r = TestClient(app).post("/v1/events", json=tx(1, "m1"), headers=AUTH)
    assert r.status_code == 404 and "ASSISTANT_INGEST_TOKEN" in r.json()["error"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"},
                                     {"Authorization": f"Basic {TOKEN}"}])
def test_a_missing_or_wrong_token_is_refused(live, headers):
    r = _client(live).post("/v1/events", json=tx(1, "m1"), headers=headers)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert live.wh.scalar("SELECT count(*) FROM assistant.events") == 0


@pytest.mark.parametrize(("body", "status", "words"), [
    (b"{not json", 400, "not valid JSON"),
    (b'"a string"', 400, "one event"),
    (b"[]", 400, "empty"),
    (b'{"batch": 3}', 400, "one event"),
])
def test_malformed_bodies_get_a_clear_4xx(live, body, status, words):
    r = _client(live).post("/v1/events", content=body, headers=AUTH)
    assert r.status_code == status and words in r.json()["error"]


def test_request_size_and_batch_length_are_bounded(live):
    small = _client(live, ingest_max_bytes=2_000, ingest_max_events=3)
    big = small.post("/v1/events", json=[tx(1, f"m{i}") for i in range(20)], headers=AUTH)
    assert big.status_code == 413 and "bytes" in big.json()["error"]
    many = small.post("/v1/events", json=[{"userId": 1}] * 5, headers=AUTH)
    assert many.status_code == 413 and "at most 3" in many.json()["error"]


def test_good_events_land_while_bad_ones_get_reasons_and_repeats_are_duplicates(live):
    client = _client(live)
    batch = {"batch": [tx(1, "m1"), {"userId": 1, "event": "Nope", "messageId": "m2"},
                       tx(99_999_999, "m3"), consent(2, "m4", "sms", False)]}
    r = client.post("/v1/events", json=batch, headers=AUTH)
    assert r.status_code == 200
    body = r.json()
    assert body["accepted"] == 2 and body["duplicates"] == 0
    assert [(x["index"], x["messageId"]) for x in body["rejected"]] == [(1, "m2"), (2, "m3")]
    again = client.post("/v1/events", json=batch, headers=AUTH).json()
    assert again["accepted"] == 0 and again["duplicates"] == 2
    only_bad = client.post("/v1/events", json={"userId": 1, "event": "Nope"}, headers=AUTH)
    assert only_bad.status_code == 422


def test_trigger_routes_add_pause_and_history(live):
    client = _client(live)
    draft = approved_draft(live.wh, "email")
    rules = f'''[[trigger]]
name = "travel offer"
event = "Transaction"
where = {{ category = "travel" }}
draft = "{draft}"
quiet_hours = {{ start = "00:00", end = "00:00" }}
'''
    added = client.post("/v1/triggers", content=rules, headers=AUTH)
    assert added.status_code == 200, added.text
    assert added.json()["added"][0]["name"] == "travel offer"
    who = marketable(live.wh, "email", 2)
    assert client.post("/v1/events", json=tx(who[0], "t1"), headers=AUTH).status_code == 200
    hist = client.get("/v1/triggers/history", params={"period": "today"}, headers=AUTH).json()
    assert {(c["decision"], c["reason"]) for c in hist["counts"]} >= {("fired", "fired")}
    paused = client.post("/v1/triggers/travel/pause", headers=AUTH)
    assert paused.json()["status"] == "paused"
    client.post("/v1/events", json=tx(who[1], "t2"), headers=AUTH)
    assert live.wh.scalar("SELECT count(*) FROM assistant.outbox") == 1
    bad = client.post("/v1/triggers", content='[[trigger]]\nname = "x"\nevent = "Nope"\n'
                      'draft = "d"\n', headers=AUTH)
    assert bad.status_code == 400 and "unknown event" in bad.json()["error"]
