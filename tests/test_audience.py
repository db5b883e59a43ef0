"""Consent-safe audiences: nobody without consent ever appears (property-based), exclusions are
counted by reason, the CSV has stable columns, and the model only ever sees counts."""

from __future__ import annotations

import csv
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tools.audience import (
    EXPORT_COLUMNS,
    REASONS,
    audience_counts,
    build_audience,
    export_audience,
)
from tools.result import ToolContext
from tools.segments import run_segmentation
from warehouse import schema
from warehouse.connection import Warehouse
from warehouse.errors import EmptyResult, InvalidArgument, RunNotFound

CONSENT = st.sampled_from([True, False, None])  # None: no consents row at all
CUSTOMER = st.fixed_dictionaries({
    "email": CONSENT, "sms": CONSENT, "push": CONSENT, "profiling": CONSENT,
    "kyc": st.sampled_from(["verified", "pending", "rejected", None]),
    "accounts": st.lists(st.sampled_from(["open", "closed", "frozen"]), max_size=3),
    "has_email": st.booleans(), "has_phone": st.booleans(),
    "app": st.sampled_from([None, "ios", "android", "web"]),
})


@pytest.fixture(scope="module")
def mem():
    with Warehouse.memory() as wh:
        schema.apply(wh.cursor())
        yield wh


def _load(wh: Warehouse, people: list[dict]) -> None:
    for table in ("app_events", "consents", "accounts", "customers"):
        wh.execute(f"DELETE FROM {table}")
    for i, p in enumerate(people, start=1):
        wh.execute("INSERT INTO customers (customer_id, first_name, email, phone, country, "
                   "kyc_status) VALUES (?, 'X', ?, ?, 'DE', ?)",
                   [i, f"x{i}@example.com" if p["has_email"] else None,
                    "+4915112345678" if p["has_phone"] else None, p["kyc"]])
        for purpose in ("email", "sms", "push", "profiling"):
            if p[purpose] is not None:
                wh.execute("INSERT INTO consents (customer_id, purpose, granted) VALUES (?, ?, ?)",
                           [i, purpose, p[purpose]])
        for j, status in enumerate(p["accounts"]):
            wh.execute("INSERT INTO accounts (account_id, customer_id, product, status) VALUES "
                       "(?, ?, 'checking', ?)", [i * 10 + j, i, status])
        if p["app"]:
            wh.execute("INSERT INTO app_events (event_id, customer_id, ts, event_type, platform) "
                       "VALUES (?, ?, TIMESTAMP '2026-01-01', 'login', ?)", [i, i, p["app"]])


def _may_contact(p: dict, channel: str) -> bool:
    contact = {"email": p["has_email"], "sms": p["has_phone"],
               "push": p["app"] in ("ios", "android")}[channel]
    return (p[channel] is True and p["profiling"] is True and p["kyc"] == "verified"
            and "open" in p["accounts"] and contact)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=st.lists(CUSTOMER, min_size=1, max_size=12),
       channel=st.sampled_from(["email", "sms", "push"]))
def test_nobody_without_consent_is_ever_in_an_audience(mem, tmp_path, people, channel):
    _load(mem, people)
    aud = export_audience(mem, channel, out=tmp_path / "a.csv", save=False)
    members = set(aud.members["customer_id"])
    expected = {i for i, p in enumerate(people, start=1) if _may_contact(p, channel)}
    assert members == expected
    assert aud.counts.eligible + sum(aud.counts.excluded.values()) == len(people)
    assert list(aud.counts.excluded) == list(REASONS)
    counts = audience_counts(mem, channel)
    assert (counts.eligible, counts.excluded) == (aud.counts.eligible, aud.counts.excluded)
    if members:
        with open(tmp_path / "a.csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert {int(r["customer_id"]) for r in rows} == expected


@pytest.fixture(scope="module")
def seg(shared_rw):
    return run_segmentation(shared_rw, k=4, seed=2)


@pytest.mark.parametrize("channel", ["email", "sms", "push"])
def test_export_columns_are_stable_per_channel(shared_rw, seg, tmp_path, channel):
    aud = export_audience(shared_rw, channel, segment_id=2, out=tmp_path / f"{channel}.csv")
    with open(aud.path, newline="") as fh:
        header = next(csv.reader(fh))
    assert tuple(header) == EXPORT_COLUMNS[channel]
    assert (aud.members["segment_id"] == 2).all()
    assert (aud.members["run_id"] == seg.run.run_id).all()
    assert aud.counts.selected == seg.cards[1].size
    assert aud.counts.eligible == seg.cards[1].reach[channel]    # cards and exports agree
    stored = shared_rw.df("SELECT * FROM assistant.audiences WHERE audience_id = ?",
                          [aud.audience_id])
    assert stored["size"][0] == aud.counts.eligible and stored["file_path"][0] == str(aud.path)
    assert "consents" in stored["selection_sql"][0]


def test_the_tool_gives_the_model_counts_only(shared_rw, seg, tmp_path):
    ctx = ToolContext(wh=shared_rw, settings=None, output_dir=tmp_path / "exports",
                      state={"last_segment_run": seg.run.run_id})
    res = build_audience(ctx, "email", segment_id=1, country="DE")
    assert res.files and res.files[0].parent == tmp_path / "exports"
    assert not re.search(r"@|first_name|\+\d{6}", res.summary)
    emails = shared_rw.df("SELECT email FROM customers")["email"]
    assert not any(e in res.summary for e in emails[:200])
    assert "may be contacted" in res.summary and "no consent for the channel" in res.summary
    table = res.tables[0].df
    assert table["customers"].sum() == res.data["selected"]
    assert not list((tmp_path / "exports").glob(".*.tmp"))       # the temp file is gone


def test_churn_risk_filter_needs_a_churn_run(shared_rw):
    with pytest.raises(RunNotFound, match="churn"):
        audience_counts(shared_rw, "email", min_churn_risk=0.5)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"channel": "fax"}, InvalidArgument, "email, sms, push"),
    ({"channel": "email", "segment_id": 99}, InvalidArgument, "has no segment 99"),
    ({"channel": "email", "run_id": "seg-x"}, InvalidArgument, "needs a segment_id"),
    ({"channel": "email", "min_churn_risk": 1.5}, InvalidArgument, "between 0 and 1"),
    ({"channel": "email", "country": "Germany"}, InvalidArgument, "countries"),
])
def test_bad_audience_arguments(shared_rw, seg, kwargs, error, message):
    with pytest.raises(error, match=message):
        export_audience(shared_rw, save=False, **kwargs)


def test_an_empty_selection_says_so(mem):
    _load(mem, [])
    with pytest.raises(EmptyResult, match="no customers match"):
        export_audience(mem, "email", save=False)
