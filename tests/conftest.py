"""Shared fixtures: a small seeded warehouse built once per test session, and the same data on
the Spark engine (one Spark session for the whole run)."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

from warehouse.connection import Warehouse
from warehouse.errors import unexpected_log
from warehouse.generate import generate

SMALL_CUSTOMERS = 3_000
SMALL_SEED = 7


@pytest.fixture(scope="session")
def warehouse_path(tmp_path_factory) -> Path:
    """Path of a generated warehouse (3,000 customers, seed 7). Never write to it."""
    path = tmp_path_factory.mktemp("warehouse") / "small.duckdb"
    generate(path, customers_n=SMALL_CUSTOMERS, seed=SMALL_SEED)
    return path


@pytest.fixture
def wh(warehouse_path) -> Warehouse:
    """The small warehouse, read-only and sandboxed."""
    with Warehouse.open(warehouse_path, read_only=True) as handle:
        yield handle


@pytest.fixture
def writable_warehouse(warehouse_path, tmp_path) -> Path:
    """A private copy of the small warehouse that a test may change."""
    path = tmp_path / "copy.duckdb"
    shutil.copy(warehouse_path, path)
    return path


@pytest.fixture
def empty_warehouse(tmp_path) -> Path:
    """A warehouse made by `assistant init --empty`: the tables, no rows, ready for imports."""
    from warehouse.generate import create_empty

    return create_empty(tmp_path / "mine.duckdb")


@pytest.fixture
def rw(writable_warehouse) -> Warehouse:
    """A writable handle on a private copy of the small warehouse, for one test."""
    with Warehouse.open(writable_warehouse) as handle:
        yield handle


@pytest.fixture(scope="module")
def shared_rw(warehouse_path, tmp_path_factory) -> Warehouse:
    """A writable handle on a copy of the small warehouse shared by one module's tests (for
    modules whose tests build on one segmentation or churn run)."""
    path = tmp_path_factory.mktemp("shared") / "w.duckdb"
    shutil.copy(warehouse_path, path)
    with Warehouse.open(path) as handle:
        yield handle


# -- the Spark engine ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def spark_session(tmp_path_factory):
    """The one Spark session of the test run: local[2], no UI, 2 shuffle partitions, UTC, an
    in-memory catalog, no package downloads. Skipped without pyspark, unless
    ASSISTANT_REQUIRE_SPARK is set (`make test` sets it, so CI cannot skip it silently)."""
    from warehouse.spark.session import get_session, spark_available

    if not spark_available():
        if os.environ.get("ASSISTANT_REQUIRE_SPARK"):
            pytest.fail("pyspark is not installed; `make test` installs the [spark] extra")
        pytest.skip("pyspark is not installed (pip install -e '.[spark]')")
    scratch = tmp_path_factory.mktemp("spark")
    return get_session("local[2]", conf={
        "spark.sql.shuffle.partitions": "2",
        "spark.sql.warehouse.dir": str(scratch / "warehouse"),
        "spark.driver.extraJavaOptions": f"-Djava.io.tmpdir={scratch}",
    })


@pytest.fixture(scope="session")
def spark_lake(warehouse_path, tmp_path_factory) -> Path:
    """The small warehouse as Parquet, written by `assistant export --format parquet`."""
    from warehouse.export import export_parquet

    folder = tmp_path_factory.mktemp("lake")
    export_parquet(warehouse_path, folder)
    return folder


@pytest.fixture(scope="session")
def spark_wh(spark_session, spark_lake, tmp_path_factory):
    """The small warehouse on the Spark engine, for tests that only read."""
    from warehouse.spark.handle import SparkWarehouse

    state = tmp_path_factory.mktemp("spark-state") / "state.duckdb"
    with SparkWarehouse.open(tables=spark_lake, state=state, cache="all") as handle:
        yield handle


@pytest.fixture(scope="module")
def spark_rw(spark_session, spark_lake, tmp_path_factory):
    """The small warehouse on Spark with a state file of its own, shared by one module's tests
    (segmentation and scoring runs are saved there)."""
    from warehouse.spark.handle import SparkWarehouse

    state = tmp_path_factory.mktemp("spark-rw") / "state.duckdb"
    with SparkWarehouse.open(tables=spark_lake, state=state, cache="all") as handle:
        yield handle


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch, tmp_path):
    """Tests never read the developer's .env or environment, nor write into the checkout."""
    for var in ("OPENAI_API_KEY", "ASSISTANT_API_KEY", "ASSISTANT_BASE_URL", "ASSISTANT_PROVIDER",
                "ASSISTANT_WAREHOUSE", "ASSISTANT_MODEL", "ASSISTANT_ENGINE",
                "ASSISTANT_SPARK_TABLES", "ASSISTANT_SPARK_STATE", "ASSISTANT_SPARK_MASTER"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


# -- a catch-all must never hide a bug in CI ---------------------------------------------------
class _Unexpected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record.getMessage())


@pytest.fixture(autouse=True)
def no_bug_behind_a_catch_all(request):
    """Fail a test in which a catch-all (CLI, page, agent, tool call, MCP, live panel, coverage
    check) caught an exception it did not expect: the person saw one polite line, the test would
    otherwise pass. A test that injects a bug on purpose says so with @pytest.mark.injects_bug."""
    handler = _Unexpected()
    unexpected_log.addHandler(handler)
    try:
        yield
    finally:
        unexpected_log.removeHandler(handler)
    if handler.seen and not request.node.get_closest_marker("injects_bug"):
        report = os.environ.get("ASSISTANT_TEST_UNEXPECTED_REPORT")
        if report:
            with open(report, "a") as f:
                f.write(f"{request.node.nodeid}\t{'; '.join(handler.seen[:3])}\n")
        else:
            pytest.fail("a catch-all caught a bug: " + "; ".join(handler.seen[:5]) + " (a test that"
                        " breaks something on purpose: @pytest.mark.injects_bug)", pytrace=False)
