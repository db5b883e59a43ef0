"""Hostile SQL is refused on the Spark engine too: the whole red-team fixture of the one SQL
guard (tests/fixtures/sql_guard.toml), Spark's own escape hatches (path tables, Java calls,
ADD JAR, SET, function registration, scripts), and time limits that stop Spark jobs."""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

import pytest

from assistant.settings import Settings
from tools import sql_guard
from tools.result import ToolContext
from tools.sql import run_sql
from warehouse.errors import QueryError, SqlRefused
from warehouse.spark import guard

CASES = tomllib.loads((Path(__file__).parent / "fixtures" / "sql_guard.toml").read_text())

# Spark's ways out of a read-only query, written as a model would send them (DuckDB dialect)
SPARK_ESCAPES = [
    ("SELECT * FROM parquet.`/etc/passwd`", "could not be parsed"),   # backticks: not DuckDB
    ('SELECT * FROM parquet."/tmp/lake/customers"', "not allowed"),
    ("SELECT * FROM csv.customers", "unknown schema 'csv'"),
    ("SELECT * FROM delta.\"s3a://bank/customers\"", "not allowed"),
    ("SELECT reflect('java.lang.Runtime', 'getRuntime')", "reflect() is not allowed"),
    ("SELECT java_method('java.lang.System', 'getProperty', 'user.home')",
     "java_method() is not allowed"),
    ("SELECT try_reflect('java.lang.System', 'exit', 1)", "try_reflect() is not allowed"),
    ("SELECT input_file_name() FROM customers", "input_file_name() is not allowed"),
    ("SELECT xpath_string('<a>x</a>', 'a') FROM customers", "xpath_string() is not allowed"),
    ("ADD JAR '/tmp/evil.jar'", "not allowed"),
    ("ADD FILE '/tmp/x'", "not allowed"),
    ("SET spark.sql.runSQLOnFiles = true", "SET statements are not allowed"),
    ("RESET", "not allowed"),
    ("CREATE FUNCTION evil AS 'com.evil.Udf' USING JAR '/tmp/e.jar'", "not allowed"),
    ("CREATE TEMPORARY FUNCTION evil AS 'com.evil.Udf'", "not allowed"),
    ("CREATE TEMPORARY VIEW v AS SELECT * FROM customers", "not allowed"),
    ("CACHE TABLE customers", "not allowed"),
    ("REFRESH TABLE customers", "not allowed"),
    ("MSCK REPAIR TABLE customers", "not allowed"),
    ("INSERT OVERWRITE DIRECTORY '/tmp/out' SELECT * FROM customers", "not allowed"),
    ("LOAD DATA LOCAL INPATH '/etc/passwd' INTO TABLE customers", "not allowed"),
    ("SELECT TRANSFORM(customer_id) USING 'cat /etc/passwd' AS (x) FROM customers",
     "could not be parsed"),
    ("DROP TABLE customers", "DROP statements are not allowed"),
    ("INSERT INTO customers SELECT * FROM customers", "INSERT statements are not allowed"),
]


@pytest.fixture(scope="module")
def spark_catalog(spark_wh):
    return sql_guard.catalog_of(spark_wh)


@pytest.mark.parametrize("case", CASES["refused"], ids=lambda c: c["sql"][:50] or "<empty>")
def test_the_hostile_fixture_is_refused_on_spark(case, spark_catalog):
    with pytest.raises(SqlRefused) as refused:
        sql_guard.check(case["sql"], spark_catalog)
    assert case["reason"] in str(refused.value)


@pytest.mark.parametrize(("sql", "reason"), SPARK_ESCAPES, ids=[s[:50] for s, _ in SPARK_ESCAPES])
def test_spark_escape_hatches_are_refused(sql, reason, spark_wh, spark_catalog):
    with pytest.raises(SqlRefused) as refused:
        sql_guard.check(sql, spark_catalog)
    assert reason in str(refused.value)
    with pytest.raises(QueryError):                     # and through the tool
        run_sql(ToolContext(wh=spark_wh, settings=Settings()), sql)


@pytest.mark.parametrize("sql", [
    "SELECT * FROM parquet.`/etc/passwd`",
    "SELECT reflect('java.lang.Runtime', 'getRuntime')",
    "SELECT TRANSFORM(a) USING 'cat' AS (b) FROM t",
    "SET spark.sql.runSQLOnFiles=true",
    "ADD JAR /tmp/x.jar",
    "SELECT 1; SELECT 2",
    "CREATE TEMPORARY FUNCTION f AS 'x.Y'",
])
def test_the_spark_layer_refuses_what_reaches_spark(sql):
    """Second lock: the Spark SQL the engine is about to run is checked again."""
    with pytest.raises(SqlRefused):
        guard.check_spark(sql)


def test_reading_files_by_path_is_off_in_the_session(spark_wh, spark_lake):
    """Third lock: a path table that got past both checks finds nothing."""
    assert spark_wh.spark.conf.get("spark.sql.runSQLOnFiles") == "false"
    with pytest.raises(Exception, match=r"TABLE_OR_VIEW_NOT_FOUND|cannot be found"):
        spark_wh.spark.sql(f"SELECT * FROM parquet.`{spark_lake / 'customers'}`").collect()


@pytest.mark.parametrize("case", CASES["accepted"], ids=lambda c: c["sql"][:50])
def test_analytical_queries_are_accepted_and_run_on_spark(case, spark_wh):
    # (a generous limit: the first query over a view also caches the tables it reads, which
    # took over 30 s on the shared 2 cores; this test is about what is accepted)
    result = run_sql(ToolContext(wh=spark_wh, settings=Settings(row_cap=50, query_timeout=300)),
                     case["sql"])
    assert result.data["rows"] >= 1


# Every transaction paired with every other of its category (about 3.5 billion pairs of the small
# warehouse's 190,000 transactions: minutes of both cores here if nothing stops it). Each row
# meets a few thousand others: a join that fans out more per row (the customers joined four
# times on their country: millions per row) buffers them, and ran the 1 GB test JVM out of
# memory while a cancel was on its way.
RUNAWAY = ("SELECT count(*) AS n FROM transactions a JOIN transactions b "
           "ON a.category = b.category WHERE a.amount > b.amount")


def _jvm_cpu_seconds(spark_wh) -> float:
    """CPU time used so far by the JVM (in local mode the executors' tasks run in it)."""
    import os

    pid = int(spark_wh.spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stops_at_its_limit_and_frees_the_cores(spark_wh, limit: float, within: float) -> None:
    started = time.perf_counter()
    with pytest.raises(QueryError, match=rf"longer than {limit:g} s"):
        run_sql(ToolContext(wh=spark_wh, settings=Settings(query_timeout=limit)), RUNAWAY)
    assert time.perf_counter() - started < within
    used = _jvm_cpu_seconds(spark_wh)
    time.sleep(2)
    assert _jvm_cpu_seconds(spark_wh) - used < 1.0      # two busy cores would use about 4 s
    assert run_sql(ToolContext(wh=spark_wh, settings=Settings()),       # the session goes on
                   "SELECT count(*) AS n FROM customers").data["rows"] == 1


def test_a_runaway_join_stops_at_its_time_limit_and_frees_the_cores(spark_wh):
    """The query runs for minutes unless its Spark job is cancelled at the time limit; its
    tasks stop with it (the JVM is idle right after) and the session answers the next query.
    Fails when the time limit does not cancel the job: the query then returns its count
    minutes later. (Without the interrupt check on joined rows it passes: on pyspark 4.3
    local[2] cancelled merge and broadcast joins stopped within a second either way; `within`
    is wide for a cold start on loaded cores.)"""
    _stops_at_its_limit_and_frees_the_cores(spark_wh, limit=3, within=60)


def test_a_job_that_starts_after_the_time_limit_is_cancelled_too(spark_wh, monkeypatch):
    """The time limit passes before Spark has submitted the query's job (here the SQL is
    slow to be made; in life the planning, a broadcast or a CTE computed first): the cancel is
    repeated until the query stops, so the job is cancelled when it starts. Fails when the
    job group is cancelled only once: the job then runs on (measured: with one cancel both
    tests failed, the runaway ran for minutes until the test JVM ran out of memory)."""
    from warehouse.spark.handle import SparkWarehouse

    render = SparkWarehouse._sql

    def slow(tree, **kwargs):
        time.sleep(1.5)
        return render(tree, **kwargs)

    monkeypatch.setattr(SparkWarehouse, "_sql", staticmethod(slow))
    _stops_at_its_limit_and_frees_the_cores(spark_wh, limit=0.5, within=60)


def test_only_queries_that_join_carry_the_interrupt_check():
    import sqlglot

    from warehouse.spark.handle import _interruptible

    def spark(sql):
        return sqlglot.parse_one(sql, read="spark")

    plain = spark("SELECT country, count(*) FROM customers GROUP BY country")
    assert _interruptible(plain) is plain
    joined = _interruptible(spark(
        "WITH t AS (SELECT a.x FROM a JOIN b ON a.k = b.k WHERE a.y > 1) "
        "SELECT * FROM t WHERE x IN (SELECT c.x FROM c JOIN d ON c.k = d.k)")).sql("spark")
    assert joined.count("RAISE_ERROR") == 1          # the CTE's join, not the IN subquery's
    assert "WHERE a.y > 1 AND (MONOTONICALLY_INCREASING_ID() % 4096 <> 0" in joined


def test_database_errors_name_the_problem_in_duckdb_words(spark_wh):
    with pytest.raises(QueryError, match='Referenced column "emial" not found'):
        run_sql(ToolContext(wh=spark_wh, settings=Settings()), "SELECT emial FROM customers")


def test_the_red_team_gets_no_personal_value_out_of_spark(spark_wh):
    """The red-team fixture's value-echoing errors on the Spark engine fail without any
    personal value (Spark's own messages echo values too: "The value 'sarah roberts' of the
    type STRING cannot be cast"). The fixture's other attacks are about what a result shows,
    which the same lineage analysis decides on both engines (tests/test_redteam.py)."""
    from redteam import CASES as RED
    from redteam import personal_values

    from warehouse.errors import AssistantError
    from warehouse.privacy import NameIndex

    names = NameIndex.from_warehouse(spark_wh)
    personal = personal_values(spark_wh)
    ctx = ToolContext(wh=spark_wh, settings=Settings(query_timeout=30), names=names)
    leaked = {}
    for case in RED["error"]:
        try:
            text = run_sql(ctx, case["sql"]).summary
        except AssistantError as exc:
            text = f"Error: {exc}"
        if personal.leaks(text):
            leaked[case["sql"]] = (personal.leaks(text), text[:200])
    assert not leaked
