"""The generated warehouse honours the contract: tables, columns, comments, value sets, views."""

from __future__ import annotations

from pathlib import Path

import pytest

from warehouse import schema
from warehouse.contract import (
    COUNTRIES,
    NON_SPEND_CATEGORIES,
    PII_COLUMNS,
    TABLES,
    table,
)

COLUMNS = [(t.name, c) for t in TABLES for c in t.columns]
VALUE_COLUMNS = [(t, c) for t, c in COLUMNS if c.values]


def test_committed_ddl_matches_the_contract():
    committed = (Path(schema.__file__).parent / "schema.sql").read_text()
    assert committed == schema.render(), "run `python -m warehouse.schema > warehouse/schema.sql`"


@pytest.mark.parametrize("table_name", [t.name for t in TABLES])
def test_every_table_exists_with_a_comment(wh, table_name):
    comment = wh.scalar(
        "SELECT comment FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ?",
        [table_name],
    )
    assert comment and len(comment) > 20


@pytest.mark.parametrize(("table_name", "column"), COLUMNS,
                         ids=[f"{t}.{c.name}" for t, c in COLUMNS])
def test_every_column_exists_with_type_and_comment(wh, table_name, column):
    row = wh.execute(
        "SELECT data_type, comment FROM duckdb_columns() "
        "WHERE schema_name = 'main' AND table_name = ? AND column_name = ?",
        [table_name, column.name],
    ).fetchone()
    assert row is not None, f"{table_name}.{column.name} is missing"
    data_type, comment = row
    assert data_type == column.type
    assert comment == column.comment


@pytest.mark.parametrize(("table_name", "column"), VALUE_COLUMNS,
                         ids=[f"{t}.{c.name}" for t, c in VALUE_COLUMNS])
def test_values_stay_inside_the_value_set(wh, table_name, column):
    seen = {r[0] for r in wh.rows(f"SELECT DISTINCT {column.name} FROM {table_name}")}
    assert seen - {None} <= set(column.values)
    # the generator uses the whole vocabulary of the contract (in_app is reserved for new
    # campaigns, and every value set column should show real variety)
    assert len(seen - {None}) >= min(len(column.values) - 1, 3)


def test_countries_are_the_contract_countries(wh):
    assert {r[0] for r in wh.rows("SELECT DISTINCT country FROM customers")} == set(COUNTRIES)


@pytest.mark.parametrize("t", [t for t in TABLES if t.key], ids=lambda t: t.name)
def test_keys_are_unique_and_not_null(wh, t):
    key = ", ".join(t.key)
    dupes = wh.scalar(f"SELECT count(*) FROM (SELECT {key} FROM {t.name} GROUP BY ALL "
                      "HAVING count(*) > 1)")
    nulls = wh.scalar(f"SELECT count(*) FROM {t.name} WHERE " +
                      " OR ".join(f"{k} IS NULL" for k in t.key))
    assert (dupes, nulls) == (0, 0)


@pytest.mark.parametrize(
    ("child", "column"),
    [(t.name, col) for t in TABLES for col in t.parents],
)
def test_references_resolve(wh, child, column):
    parent = table(child).parents[column]
    orphans = wh.scalar(
        f"SELECT count(*) FROM {child} c WHERE c.{column} IS NOT NULL AND NOT EXISTS "
        f"(SELECT 1 FROM {parent} p WHERE p.{column} = c.{column})"
    )
    assert orphans == 0


def test_transactions_are_booked_on_the_customers_own_accounts(wh):
    assert wh.scalar(
        "SELECT count(*) FROM transactions t JOIN accounts a USING (account_id) "
        "WHERE a.customer_id <> t.customer_id"
    ) == 0


def test_pii_columns_are_marked_in_the_comments(wh):
    for name in PII_COLUMNS:
        comment = wh.scalar(
            "SELECT comment FROM duckdb_columns() WHERE table_name = 'customers' "
            "AND column_name = ?", [name])
        assert "personal data" in comment


def test_no_persona_or_ground_truth_in_the_warehouse(wh):
    names = {r[0] for r in wh.rows("SELECT column_name FROM duckdb_columns() WHERE NOT internal")}
    assert not {n for n in names if "persona" in n or "truth" in n}
    tables = {r[0] for r in wh.rows("SELECT table_name FROM duckdb_tables()")}
    assert not {n for n in tables if "persona" in n or "truth" in n}


def test_reference_period_is_the_latest_transaction(wh):
    ref, latest = wh.execute(
        "SELECT (SELECT reference_ts FROM reference_period), max(ts) FROM transactions"
    ).fetchone()
    assert ref == latest


def test_customer_status_applies_the_business_definitions(wh):
    """Recompute active/churned/spend by hand and compare with the view."""
    mismatches = wh.scalar(f"""
        WITH ref AS (SELECT reference_ts - INTERVAL 90 DAY AS w FROM reference_period),
        hand AS (
            SELECT c.customer_id,
                   EXISTS (SELECT 1 FROM transactions t, ref
                           WHERE t.customer_id = c.customer_id AND t.ts > ref.w) AS active,
                   (EXISTS (SELECT 1 FROM transactions t WHERE t.customer_id = c.customer_id)
                    AND NOT EXISTS (SELECT 1 FROM transactions t, ref
                                    WHERE t.customer_id = c.customer_id AND t.ts > ref.w))
                   OR (EXISTS (SELECT 1 FROM accounts a WHERE a.customer_id = c.customer_id)
                       AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.customer_id =
                                       c.customer_id AND a.status <> 'closed')) AS churned,
                   coalesce((SELECT sum(amount) FROM transactions t, ref
                             WHERE t.customer_id = c.customer_id AND t.ts > ref.w
                               AND t.direction = 'debit'
                               AND t.category NOT IN {NON_SPEND_CATEGORIES}), 0) AS spend
            FROM customers c
        )
        SELECT count(*) FROM hand JOIN customer_status s USING (customer_id)
        WHERE hand.active <> s.is_active OR hand.churned <> s.is_churned
           OR hand.spend <> s.spend_90d
    """)
    assert mismatches == 0


def test_customer_status_has_both_active_and_churned_customers(wh):
    active, churned, neither = wh.execute(
        "SELECT count(*) FILTER (WHERE is_active), count(*) FILTER (WHERE is_churned), "
        "count(*) FILTER (WHERE NOT is_active AND NOT is_churned) FROM customer_status"
    ).fetchone()
    total = wh.scalar("SELECT count(*) FROM customers")
    assert 0.7 * total < active < 0.95 * total
    assert 0.03 * total < churned < 0.2 * total
    assert neither > 0  # customers who never transacted


def test_apply_is_idempotent(tmp_path):
    import duckdb

    con = duckdb.connect(str(tmp_path / "x.duckdb"))
    schema.apply(con)
    schema.apply(con)
    names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert {t.name for t in TABLES} <= names
