"""Customer features in SQL: exact values on a hand-made warehouse, the as-of cutoff, filters,
errors for people, and SQL that other engines can take (sqlglot)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest
import sqlglot

from tools.features import BEHAVIOUR, FEATURES, compute_features, feature_sql
from warehouse import schema
from warehouse.connection import Warehouse
from warehouse.errors import EmptyResult, InvalidArgument


def tiny() -> Warehouse:
    """Two customers whose features can be worked out by hand; reference date 2026-06-30."""
    wh = Warehouse.memory()
    schema.apply(wh.cursor())
    wh.execute("""INSERT INTO customers (customer_id, first_name, email, country, signup_date,
                  kyc_status, gender, birth_date) VALUES
        (1, 'Eva', 'eva@example.com', 'DE', DATE '2024-06-30', 'verified', 'female',
         DATE '1990-01-01'),
        (2, 'Tom', 'tom@example.com', 'FR', DATE '2026-01-01', 'verified', 'male',
         DATE '2000-01-01'),
        (3, 'Ann', 'ann@example.com', 'FR', DATE '2026-01-01', 'pending', NULL, NULL)""")
    wh.execute("""INSERT INTO accounts (account_id, customer_id, product, opened_at, closed_at,
                  status, balance, credit_limit) VALUES
        (11, 1, 'checking', DATE '2024-06-30', NULL, 'open', 1000, NULL),
        (12, 1, 'credit_card', DATE '2025-01-01', NULL, 'open', 250, 1000),
        (13, 1, 'savings', DATE '2024-07-01', DATE '2026-06-01', 'closed', 0, NULL),
        (21, 2, 'checking', DATE '2026-01-01', NULL, 'open', 50, NULL)""")
    rows = [
        # customer 1: 4 everyday card payments (2 groceries, 1 travel abroad online, 1 dining),
        # a salary, a rent payment and a transfer (not spend)
        (1, 11, 1, "2026-06-01 10:00:00", 40, "debit", "groceries", "card_present", False),
        (2, 11, 1, "2026-06-10 10:00:00", 60, "debit", "groceries", "card_present", False),
        (3, 12, 1, "2026-06-15 10:00:00", 300, "debit", "travel", "online", True),
        (4, 12, 1, "2026-06-20 10:00:00", 20, "debit", "dining", "card_present", False),
        (5, 11, 1, "2026-06-25 09:00:00", 2500, "credit", "salary", "bank_transfer", False),
        (6, 11, 1, "2026-06-02 09:00:00", 800, "debit", "rent", "bank_transfer", False),
        (7, 11, 1, "2026-06-05 09:00:00", 100, "debit", "transfer", "p2p", False),
        # customer 2: one cash withdrawal long ago (churned: nothing in the last 90 days)
        (8, 21, 2, "2026-02-01 12:00:00", 100, "debit", "cash", "atm", False),
        # the latest transaction sets the reference date
        (9, 11, 1, "2026-06-30 18:00:00", 10, "debit", "dining", "online", False),
    ]
    for r in rows:
        wh.execute("INSERT INTO transactions (transaction_id, account_id, customer_id, ts, amount,"
                   " direction, category, channel, is_international) VALUES "
                   "(?, ?, ?, CAST(? AS TIMESTAMP), ?, ?, ?, ?, ?)", list(r))
    return wh


@pytest.fixture
def small() -> Warehouse:
    with tiny() as wh:
        yield wh


def test_features_match_a_hand_calculation(small):
    f = compute_features(small).set_index("customer_id")
    eva = f.loc[1]
    # everyday payments: groceries x2, travel, dining x2 -> 5 (smoothed shares: +2 pseudo-counts
    # at the population share, which includes Tom's cash withdrawal: 6 payments in all)
    assert eva["share_groceries"] == pytest.approx((2 + 2 * 2 / 6) / (5 + 2))
    assert eva["spend_12m"] == pytest.approx(40 + 60 + 300 + 20 + 800 + 10)  # rent counts
    assert eva["payments_12m"] == 6
    assert eva["avg_ticket"] == pytest.approx((40 + 60 + 300 + 20 + 10) / 5)
    assert eva["holds_credit_card"] == 1 and eva["holds_savings"] == 0  # savings closed
    assert eva["deposits"] == pytest.approx(1000)          # checking only; the card is owed
    assert eva["card_utilisation"] == pytest.approx(0.25)
    assert eva["days_since_last_transaction"] == 0
    assert bool(eva["is_active"]) and not bool(eva["is_churned"])
    tom = f.loc[2]
    assert bool(tom["is_churned"]) and not bool(tom["is_active"])
    assert tom["share_cash"] > eva["share_cash"]
    assert f.loc[3, "n_transactions"] == 0


def test_as_of_uses_only_what_was_known_then(small):
    f = compute_features(small, as_of=datetime(2026, 6, 12)).set_index("customer_id")
    assert f.loc[1, "payments_12m"] == 3           # rent and 2 groceries before 12 June
    assert f.loc[1, "days_since_last_transaction"] == 2
    assert f["deposits"].isna().all()              # balances are today's, not the cutoff's
    may = compute_features(small, as_of=datetime(2026, 5, 15)).set_index("customer_id")
    assert may.loc[1, "holds_savings"] == 1        # closed on 1 June, so held in May
    assert may.loc[1, "payments_12m"] == 0
    assert 2 not in may.index or may.loc[2, "n_transactions"] == 1


def test_protected_attributes_are_only_computed_on_request(small):
    assert "age" not in compute_features(small).columns
    f = compute_features(small, include_protected=True).set_index("customer_id")
    assert f.loc[1, "age"] == 36 and f.loc[1, "gender_female"] == 1
    assert not set(BEHAVIOUR) & {"age", "gender_female"}


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({}, {1, 2, 3}),
    ({"active_only": True}, {1}),
    ({"country": "fr"}, {2, 3}),
    ({"product": "credit_card"}, {1}),
    ({"transacting_only": True}, {1, 2}),
])
def test_filters(small, kwargs, expected):
    assert set(compute_features(small, **kwargs)["customer_id"]) == expected


@pytest.mark.parametrize(("kwargs", "error", "words"), [
    ({"country": "XX"}, InvalidArgument, "DE, FR"),
    ({"product": "credit card"}, None, None),              # spaces are accepted
    ({"product": "mortage"}, InvalidArgument, "mortgage"),  # a close name is suggested
    ({"product": "mortgage"}, EmptyResult, "no customers match"),
])
def test_bad_filters_get_messages_people_can_act_on(small, kwargs, error, words):
    if error is None:
        compute_features(small, **kwargs)
        return
    with pytest.raises(error, match=words):
        compute_features(small, **kwargs)


def test_features_on_the_generated_warehouse(wh):
    f = compute_features(wh)
    assert len(f) == wh.scalar("SELECT count(*) FROM customers")
    assert f["customer_id"].is_monotonic_increasing
    status = wh.df("SELECT customer_id, is_active, is_churned FROM customer_status "
                   "ORDER BY customer_id")
    assert (f["is_active"].to_numpy() == status["is_active"].to_numpy()).all()
    known = f["is_churned"].notna().to_numpy()
    assert known[f["n_transactions"].to_numpy() > 0].all()
    assert (f["is_churned"][known].astype(bool).to_numpy()
            == status["is_churned"][known].to_numpy()).all()
    shares = [c.name for c in FEATURES if c.scale == "share" and c.name in f]
    assert ((f[shares].fillna(0) >= 0) & (f[shares].fillna(0) <= 1)).all().all()


def test_feature_sql_is_portable():
    sql = feature_sql(datetime(2026, 6, 30), current=True)
    assert sqlglot.transpile(sql, read="duckdb", write="spark")
    assert "read_csv" not in sql and "read_parquet" not in sql


@pytest.mark.parametrize("kwargs", [{}, {"country": "DE"}, {"product": "savings"}])
def test_transacting_only_counts_the_customers_it_leaves_out(wh, kwargs):
    everyone = compute_features(wh, trends=False, **kwargs)
    transacting = compute_features(wh, trends=False, transacting_only=True, **kwargs)
    idle = everyone["n_transactions"] == 0
    assert transacting.attrs["without_transactions"] == idle.sum() > 0
    assert "without_transactions" not in transacting.columns
    expected = everyone[~idle].reset_index(drop=True)
    pd.testing.assert_frame_equal(transacting, expected, check_dtype=False)


def test_feature_sql_explains_its_codes():
    sql = feature_sql(datetime(2026, 6, 30), current=True)
    assert "-- kind: 1 groceries" in sql and "-- chan: 1 card_present" in sql
