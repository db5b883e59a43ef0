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


@pytest.fixture
def merge_joins(spark_wh):
    """Joins sorted and merged, as at a bank's sizes (the small tables would be broadcast)."""
    conf = spark_wh.spark.conf
    before = conf.get("spark.sql.autoBroadcastJoinThreshold")
    conf.set("spark.sql.autoBroadcastJoinThreshold", "-1")
    yield spark_wh
    conf.set("spark.sql.autoBroadcastJoinThreshold", before)


def test_a_runaway_join_frees_the_cores_at_its_time_limit(merge_joins):
    """A many-to-many join (about 3.5 billion pairs: minutes of work here) stops at its time
    limit and its tasks stop too: a query needing both cores runs within seconds. Without the
    interrupt check, Spark's merge loop never looks at the cancel and the cores stay busy for
    minutes (measured), so the second query waits for them."""
    runaway = ("SELECT count(*) AS n FROM transactions a JOIN transactions b "
               "ON a.category = b.category WHERE a.amount > b.amount")
    with pytest.raises(QueryError, match=r"longer than 1 s"):
        run_sql(ToolContext(wh=merge_joins, settings=Settings(query_timeout=1)), runaway)
    started = time.perf_counter()
    assert merge_joins.spark.range(0, 1000, 1, 2).count() == 1000      # one task per core
    assert time.perf_counter() - started < 20
    assert run_sql(ToolContext(wh=merge_joins, settings=Settings()),
                   "SELECT count(*) AS n FROM customers").data["rows"] == 1


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
