"""The audit log: every question, tool call, SQL statement, answer and error, never PII."""

from __future__ import annotations

import json

from fakes import ScriptedChatModel, call

from assistant.agent import Assistant
from assistant.audit import TABLE, AuditLog
from assistant.settings import Settings
from warehouse.connection import Warehouse


def _rows(wh):
    return wh.df(f"SELECT * FROM {TABLE} ORDER BY ts")


def test_a_conversation_is_written_to_the_audit_log(writable_warehouse):
    with Warehouse.open(writable_warehouse) as wh:
        email, phone, first, last = wh.rows(
            "SELECT email, phone, first_name, last_name FROM customers "
            "WHERE phone IS NOT NULL LIMIT 1")[0]
        fake = ScriptedChatModel(replies=[
            call("run_sql", sql=f"SELECT count(*) AS n FROM customers WHERE email = '{email}'"),
            call("run_sql", sql="SELECT first_name, last_name, email, phone FROM customers"),
            call("run_sql", sql="SELECT nope FROM customers"),
            "Done.",
        ])
        assistant = Assistant(Settings(warehouse=writable_warehouse), wh, model=fake)
        assistant.conversation("audit-test").ask(
            f"Is {first} {last} <{email}>, tel {phone}, one of ours?")
        log = _rows(wh)
        text = log.to_csv()
    assert list(log["kind"]) == ["question", "tool_call", "sql", "tool_call", "sql",
                                 "tool_call", "error", "answer"]
    assert set(log["session"]) == {"audit-test"} and set(log["model"]) == {"scripted-fake"}
    sql_rows = log[log["kind"] == "sql"]
    assert list(sql_rows["row_count"]) == [1, 3000]
    assert sql_rows["sql"].iloc[1] == "SELECT first_name, last_name, email, phone FROM customers"
    calls = log[log["kind"] == "tool_call"]
    assert all(json.loads(a)["sql"] for a in calls["arguments"])
    assert (calls["duration_ms"] >= 0).all()
    assert log[log["kind"] == "answer"]["detail"].iloc[0] == "Done."
    assert "Referenced column \"nope\"" in log[log["kind"] == "error"]["detail"].iloc[0]
    for value in (email, phone, f"{first} {last}"):
        assert value not in text
    assert "[email]" in text and "[phone]" in text and "[name]" in text


def test_the_log_table_is_created_once_and_described(writable_warehouse):
    with Warehouse.open(writable_warehouse) as wh:
        for _ in range(2):
            AuditLog(wh).record("question", session="s", model="m", question="q")
        assert len(_rows(wh)) == 2
        comment = wh.scalar("SELECT comment FROM duckdb_tables() WHERE table_name = "
                            "'audit_log'")
    assert "Never holds personal data" in comment


def test_a_read_only_warehouse_keeps_no_log_and_still_answers(warehouse_path):
    with Warehouse.open(warehouse_path, read_only=True) as wh:
        fake = ScriptedChatModel(replies=[call("run_sql", sql="SELECT 1 AS one"), "One."])
        answer = Assistant(Settings(warehouse=warehouse_path), wh,
                           model=fake).conversation().ask("one?")
        assert answer.answer == "One."
        assert not wh.has_table("audit_log", "assistant")
