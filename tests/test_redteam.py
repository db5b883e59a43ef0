"""Red team (issue 16, issue 14 item 2): every attack of tests/fixtures/redteam.toml on every door
it names. Personal data never comes out of the model's door (run_sql summaries and errors, the
agent's messages, MCP endpoints), the audit log or an error shown to the person; every limit
holds with a clear message."""

from __future__ import annotations

import shutil
import time

import pytest
from fakes import ScriptedChatModel, call
from redteam import CASES, personal_values
from typer.testing import CliRunner

from assistant.agent import Assistant
from assistant.cli import app as cli
from assistant.settings import Settings
from assistant.ui import mcp
from tools.result import ToolContext
from tools.sql import run_sql
from warehouse.connection import Warehouse
from warehouse.errors import AssistantError
from warehouse.privacy import NameIndex

LEAKS = [c["sql"] for c in CASES["leak"]]
ERRORS = [c["sql"] for c in CASES["error"]]


@pytest.fixture(scope="module")
def door(warehouse_path):
    """A read-only handle on the test warehouse, its names index and personal values."""
    with Warehouse.open(warehouse_path, read_only=True) as wh:
        names = NameIndex.from_warehouse(wh)
        yield wh, names, personal_values(wh)


def _model_text(ctx, sql: str) -> str:
    try:
        return run_sql(ctx, sql).summary
    except AssistantError as exc:
        return f"Error: {exc}"


@pytest.mark.parametrize("sql", LEAKS, ids=[s[:60] for s in LEAKS])
def test_the_model_door_gives_away_no_personal_value(door, sql):
    wh, names, personal = door
    ctx = ToolContext(wh=wh, settings=Settings(query_timeout=20), names=names)
    text = _model_text(ctx, sql)
    assert not personal.leaks(text), (sql, personal.leaks(text), text[:300])


@pytest.fixture(scope="module")
def personal(warehouse_path):
    """The personal values, read with a handle closed again: the CLI must open the file itself
    (with a handle of other settings open, DuckDB refused it and the test saw only that)."""
    with Warehouse.open(warehouse_path, read_only=True) as wh:
        return personal_values(wh)


@pytest.mark.parametrize("sql", ERRORS, ids=[s[:60] for s in ERRORS])
def test_errors_carry_no_values_on_the_persons_door_either(warehouse_path, personal, sql):
    result = CliRunner().invoke(cli, ["sql", sql, "--path", str(warehouse_path)])
    if result.exit_code == 0:
        return          # it ran: the person may see their own data in the table
    assert result.exit_code == 1, result.output        # a clear error, not the catch-all (2)
    assert "Traceback" not in result.output and "did not expect" not in result.output
    assert not personal.leaks(result.output), (sql, result.output[:300])


def test_the_mcp_door_gives_away_no_personal_value(writable_warehouse):
    settings = Settings(warehouse=writable_warehouse, provider="offline", query_timeout=20)
    with Warehouse.open(writable_warehouse) as wh:
        names = NameIndex.from_warehouse(wh)
        personal = personal_values(wh)
        from tools.sql import run_sql as tool

        endpoint = mcp.mcp_function(tool, lambda: ToolContext(wh=wh, settings=settings,
                                                               names=names), names, None)
        leaked = {}
        for sql in LEAKS:
            text = endpoint(sql)
            if personal.leaks(text):
                leaked[sql] = personal.leaks(text)
        # arguments that do not fit are an error, not a crash
        assert endpoint(123).startswith("Error")
        assert endpoint("x" * 30_000).startswith("Error: the SQL is 30,000 characters long")
    assert not leaked


def test_a_malicious_model_learns_nothing_personal_and_the_audit_log_holds_nothing(
        writable_warehouse):
    """One conversation in which a scripted model sends every attack (and every value-echoing
    error) as a tool call; everything it received and every audit row is scanned."""
    with Warehouse.open(writable_warehouse) as wh:
        personal = personal_values(wh)
        sample = personal.sample
        attacks = LEAKS + ERRORS
        batches = [attacks[i:i + 10] for i in range(0, len(attacks), 10)]
        script = []
        for batch in batches:                    # ten tool calls in one reply
            script += [[call("run_sql", sql=sql) for sql in batch], "noted"]
        script += [call("describe_warehouse"), "ok", call("describe_warehouse",
                                                          table="customers"), "ok"]
        fake = ScriptedChatModel(replies=script)
        settings = Settings(warehouse=writable_warehouse, max_steps=10, query_timeout=20)
        conversation = Assistant(settings, wh, model=fake).conversation()
        for i, _ in enumerate(batches):
            conversation.ask(f"attack {i}: is {sample['first']} {sample['last']} "
                             f"({sample['email']}, born {sample['birth_dmy']}) in there?")
        conversation.ask("what is in the warehouse?")
        conversation.ask("and the customers table?")
        seen = "\n".join(fake.texts())
        audit = "\n".join(" ".join(str(v) for v in row if v is not None) for row in wh.rows(
            "SELECT question, arguments, sql, detail FROM assistant.audit_log"))
    assert "hidden from the assistant: personal data" in seen
    assert not personal.leaks(seen), personal.leaks(seen)
    assert not personal.leaks(audit), personal.leaks(audit)


@pytest.mark.parametrize("case", CASES["question"], ids=[c["text"][:40] for c in
                                                        CASES["question"]])
def test_questions_are_masked_before_the_model_sees_them(writable_warehouse, case):
    with Warehouse.open(writable_warehouse) as wh:
        sample = personal_values(wh).sample
        question = case["text"].format(**sample)
        fake = ScriptedChatModel(replies=["I cannot look people up."])
        Assistant(Settings(warehouse=writable_warehouse), wh, model=fake).conversation().ask(
            question)
        audit = " ".join(r[0] for r in wh.rows(
            "SELECT question FROM assistant.audit_log WHERE question IS NOT NULL"))
    seen = "\n".join(fake.texts())
    for hidden in case["hidden"]:
        value = hidden.format(**sample)
        assert value.lower() not in seen.lower(), (value, seen)
        assert value.lower() not in audit.lower(), (value, audit)


@pytest.mark.parametrize("case", CASES["limit"], ids=[c["what"][:50] for c in CASES["limit"]])
def test_every_limit_binds_with_a_clear_message(warehouse_path, tmp_path, door, case):
    wh, names, _ = door
    settings = Settings(query_timeout=case.get("timeout", 30), max_cell_chars=1_000)
    started = time.monotonic()
    if case.get("memory"):                  # a handle of its own with that memory limit
        copy = tmp_path / "memory.duckdb"
        shutil.copy(warehouse_path, copy)
        with Warehouse.open(copy, read_only=True, memory_limit=case["memory"]) as own:
            text = _model_text(ToolContext(wh=own, settings=settings, names=names), case["sql"])
    else:
        text = _model_text(ToolContext(wh=wh, settings=settings, names=names), case["sql"])
    seconds = time.monotonic() - started
    assert case["message"] in text, text[:300]
    assert seconds <= case["seconds"], f"{seconds:.1f} s"


def test_the_memory_limit_of_the_handle_binds(writable_warehouse):
    with Warehouse.open(writable_warehouse, read_only=True, memory_limit="300MB") as wh:
        ctx = ToolContext(wh=wh, settings=Settings())
        text = _model_text(ctx, "SELECT list(x) FROM range(100000000) t(x)")
        assert "more memory than the warehouse engine may use" in text
        assert "1 row" in _model_text(ctx, "SELECT count(*) FROM transactions")  # still works


def test_the_time_limit_covers_the_analysis_of_a_very_wide_select(door):
    """600 output columns, each an expression over personal columns: the whole call (guard,
    run, personal-data analysis) finishes within the limit."""
    wh, names, personal = door
    columns = ", ".join(f"upper(first_name) || '{i}' || lower(last_name) AS c{i}"
                        for i in range(600))
    ctx = ToolContext(wh=wh, settings=Settings(query_timeout=10, max_sql_chars=100_000),
                      names=names)
    started = time.monotonic()
    text = _model_text(ctx, f"SELECT {columns} FROM customers LIMIT 20")
    assert time.monotonic() - started < 10
    assert not personal.leaks(text)


def test_sizes_have_limits_with_clear_messages(door):
    wh, names, _ = door
    ctx = ToolContext(wh=wh, settings=Settings(max_sql_chars=1_000), names=names)
    assert "at most 1,000 are allowed" in _model_text(ctx, "SELECT 1 AS " + "x" * 2_000)
    assert "not int" in _model_text(ctx, 123)                    # {"sql": 123}


def test_an_oversized_question_reply_and_arguments_are_refused(writable_warehouse):
    with Warehouse.open(writable_warehouse) as wh:
        fake = ScriptedChatModel(replies=["y" * 200_000])         # a huge model reply
        settings = Settings(warehouse=writable_warehouse, max_reply_chars=10_000)
        conversation = Assistant(settings, wh, model=fake).conversation()
        long = conversation.ask("q" * 100_000)
        assert long.error and "at most 4,000" in long.error and fake.calls == 0
        reply = conversation.ask("say a lot")
        assert "more than the 10,000 allowed" in reply.answer and len(reply.answer) < 1_000
        # arguments over their own limit (the reply itself is within its limit)
        fake = ScriptedChatModel(replies=[call("run_sql", sql="SELECT 1", title="t" * 60_000),
                                          "done"])
        settings = Settings(warehouse=writable_warehouse, max_reply_chars=100_000)
        answer = Assistant(settings, wh, model=fake).conversation().ask("run it")
    told = "\n".join(fake.texts())
    assert "the arguments of run_sql are 60,0" in told and "at most 50,000" in told
    assert answer.sql == []
