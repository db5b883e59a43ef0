"""Shared fixtures: a small seeded warehouse built once per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from warehouse.connection import Warehouse
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


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch, tmp_path):
    """Tests never read the developer's .env or environment, nor write into the checkout."""
    for var in ("OPENAI_API_KEY", "ASSISTANT_API_KEY", "ASSISTANT_BASE_URL", "ASSISTANT_PROVIDER",
                "ASSISTANT_WAREHOUSE", "ASSISTANT_MODEL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
