"""The SQL guard refuses every hostile statement with a reason and lets analysis through.

Table-driven from tests/fixtures/sql_guard.toml. The hostile statements also go through
run_sql on a writable, sandboxed handle: afterwards the warehouse file is byte-for-byte the same.
"""

from __future__ import annotations

import hashlib
import time
import tomllib
from pathlib import Path

import pytest

from assistant.settings import Settings
from tools import sql_guard
from tools.result import ToolContext
from tools.runs import ensure_tables
from tools.sql import Limits, _execute, run_sql
from warehouse.connection import Warehouse
from warehouse.errors import QueryError, SqlRefused

CASES = tomllib.loads((Path(__file__).parent / "fixtures" / "sql_guard.toml").read_text())
REFUSED = CASES["refused"]
ACCEPTED = CASES["accepted"]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_fixture_is_big_enough():
    assert len(REFUSED) >= 60 and len(ACCEPTED) >= 30


@pytest.fixture(scope="module")
def catalog(warehouse_path):
    with Warehouse.open(warehouse_path, read_only=True) as wh:
        return sql_guard.catalog_of(wh)


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c["sql"][:50] or "<empty>")
def test_hostile_statements_are_refused_with_a_reason(case, catalog):
    with pytest.raises(SqlRefused) as refused:
        sql_guard.check(case["sql"], catalog)
    assert case["reason"] in str(refused.value)


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda c: c["sql"][:50])
def test_analytical_queries_are_accepted_and_run(case, wh):
    ctx = ToolContext(wh=wh, settings=Settings(row_cap=50))
    result = run_sql(ctx, case["sql"])
    assert result.sql == [case["sql"].strip()]
    assert result.data["rows"] >= 1


def test_the_warehouse_is_unchanged_after_the_hostile_statements(writable_warehouse):
    before = _digest(writable_warehouse)
    with Warehouse.open(writable_warehouse) as wh:          # read-write, sandboxed
        ctx = ToolContext(wh=wh, settings=Settings())
        for case in REFUSED:
            with pytest.raises(QueryError):
                run_sql(ctx, case["sql"])
        # Second lock: even SQL that slipped past the guard runs sandboxed, nested in a SELECT
        # (so only a query can run at all), and is rolled back.
        limits = Limits(seconds=5, rows=10)
        for sneaky in ("SELECT * FROM read_csv('/etc/passwd')", "SELECT * FROM 'x.csv'",
                       "COPY customers TO 'leak.csv'", "SET enable_external_access = true",
                       "CREATE TABLE leak AS SELECT 1 AS x", "DELETE FROM customers",
                       "SELECT 1) t; DROP TABLE customers; SELECT * FROM (SELECT 1"):
            with pytest.raises(QueryError):
                _execute(wh, sneaky, limits, time.monotonic() + 5)
        assert not wh.has_table("leak")
        assert wh.scalar("SELECT count(*) FROM customers") > 0
    assert _digest(writable_warehouse) == before


@pytest.mark.parametrize(("sql", "message"), [
    ("SELECT emial FROM customers", 'Referenced column "emial" not found'),
    ("SELECT country FROM customers WHERE signup_date > 'yesterday'", "the query failed"),
])
def test_database_errors_are_short_and_name_the_problem(wh, sql, message):
    with pytest.raises(QueryError) as failed:
        run_sql(ToolContext(wh=wh, settings=Settings()), sql)
    text = str(failed.value)
    assert message in text and "LINE 1" not in text and "^" not in text


def test_rows_are_capped_and_truncation_is_reported(wh):
    result = run_sql(ToolContext(wh=wh, settings=Settings(row_cap=7)),
                     "SELECT customer_id FROM customers")
    assert len(result.tables[0].df) == 7 and result.data["truncated"]
    assert "cut at the row cap of 7 rows" in result.summary


def test_a_slow_query_is_stopped_at_the_time_limit(wh):
    slow = ("SELECT count(*) FROM range(100000000) a(i), range(1000) b(j) "
            "WHERE (a.i * b.j) % 7 = 3")
    with pytest.raises(QueryError, match=r"longer than 0\.2 s"):
        run_sql(ToolContext(wh=wh, settings=Settings(query_timeout=0.2)), slow)
    # the cursor is usable again afterwards
    assert run_sql(ToolContext(wh=wh, settings=Settings()),
                   "SELECT 1 AS one").data["rows"] == 1


def test_user_tables_and_allowed_assistant_tables_can_be_read(writable_warehouse):
    with Warehouse.open(writable_warehouse) as wh:
        wh.execute("CREATE TABLE leads AS SELECT 1 AS lead_id, 'DE' AS country")
        ensure_tables(wh)
        wh.execute("CREATE TABLE assistant.notes AS SELECT 'hello' AS note")
        catalog = sql_guard.catalog_of(wh)
        sql_guard.check("SELECT * FROM leads JOIN assistant.segments ON true", catalog)
        sql_guard.check("SELECT count(*) FROM assistant.segment_members JOIN assistant.scores "
                        "USING (run_id)", catalog)
        # an allow-list: a table the assistant adds later is not readable until listed
        for table in ("notes", "audiences", "drafts", "audit_log", "nothing"):
            with pytest.raises(SqlRefused, match=rf"unknown table 'assistant\.{table}'"):
                sql_guard.check(f"SELECT * FROM assistant.{table}", catalog)


def test_runs_are_read_without_sessions_questions(writable_warehouse):
    """Another session's question or conversation id never comes back, whatever the shape."""
    with Warehouse.open(writable_warehouse) as wh:
        ensure_tables(wh)
        wh.execute("INSERT INTO assistant.runs (run_id, kind, created_at, session, question) "
                   "VALUES ('seg-1', 'segmentation', now(), 'secret-session', 'a secret')")
        catalog = sql_guard.catalog_of(wh)
        ctx = ToolContext(wh=wh, settings=Settings())
        for sql in ("SELECT * FROM assistant.runs", "SELECT r FROM assistant.runs r",
                    "SELECT #11, #12 FROM assistant.runs", "SELECT COLUMNS('.*') FROM "
                    "ASSISTANT.RUNS", "SELECT to_json(r) FROM assistant.runs AS r"):
            tree = sql_guard.check(sql, catalog)
            try:
                result = run_sql(ctx, sql)
            except QueryError:
                continue                                  # a refusal is fine, a leak is not
            text = result.summary + result.tables[0].df.to_csv()
            assert "secret" not in text, (sql, sql_guard.restricted_sql(tree, catalog))


@pytest.mark.parametrize("sql", [
    "SELECT * FROM pg_settings, (WITH pg_settings AS (SELECT 1) SELECT 1) t",
    "WITH x AS (SELECT 1) SELECT * FROM (WITH duckdb_settings AS (SELECT 1) SELECT 1) s, "
    "pg_settings",
    "SELECT * FROM (WITH information_schema AS (SELECT 1) SELECT 1) s, information_schema.tables",
])
def test_a_cte_only_hides_tables_where_it_is_visible(wh, sql):
    with pytest.raises(SqlRefused):
        sql_guard.check(sql, sql_guard.catalog_of(wh))
