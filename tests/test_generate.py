"""The synthetic generator: reproducible, realistic in shape, dirty where real data is, atomic."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from warehouse import generate as gen
from warehouse.connection import Warehouse
from warehouse.contract import TABLES
from warehouse.errors import AssistantError
from warehouse.generate import generate, truth_path
from warehouse.personas import PERSONA_KEYS


def fingerprint(path) -> dict[str, str]:
    """A content hash per table, independent of physical layout."""
    out = {}
    with Warehouse.open(path, read_only=True) as wh:
        for t in TABLES:
            cols = ", ".join(t.column_names)
            rows = wh.rows(f"SELECT {cols} FROM {t.name} ORDER BY ALL")
            out[t.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return out


def test_same_seed_same_warehouse_other_seed_other_warehouse(tmp_path):
    a, b, c = (tmp_path / f"{n}.duckdb" for n in "abc")
    generate(a, customers_n=400, seed=11)
    generate(b, customers_n=400, seed=11)
    generate(c, customers_n=400, seed=12)
    fa, fb, fc = fingerprint(a), fingerprint(b), fingerprint(c)
    assert fa == fb
    assert all(fa[t] != fc[t] for t in ("customers", "transactions", "app_events"))
    assert truth_path(a).read_bytes() == truth_path(b).read_bytes()


def test_chunks_join_up_without_clashing_keys(tmp_path, monkeypatch):
    monkeypatch.setattr(gen, "CHUNK_SIZE", 150)
    path = tmp_path / "chunked.duckdb"
    report = generate(path, customers_n=500, seed=3)
    assert report.rows["customers"] == 500
    with Warehouse.open(path, read_only=True) as wh:
        assert wh.scalar("SELECT min(customer_id) || '-' || max(customer_id) FROM customers") \
            == "1-500"
        for t in TABLES:
            if t.key:
                key = ", ".join(t.key)
                assert wh.scalar(f"SELECT count(*) - count(DISTINCT ({key})) FROM {t.name}") == 0
        ids = wh.execute("SELECT min(transaction_id), max(transaction_id), count(*) "
                         "FROM transactions").fetchone()
        assert ids == (1, ids[2], ids[2])


def test_ground_truth_is_kept_outside_the_warehouse(warehouse_path, wh):
    truth = pd.read_parquet(truth_path(warehouse_path))
    assert len(truth) == wh.scalar("SELECT count(*) FROM customers")
    assert set(truth.persona) == set(PERSONA_KEYS)
    shares = truth.persona.value_counts(normalize=True)
    assert shares.min() > 0.04  # every persona is well represented


def test_about_fifty_transactions_per_customer(wh):
    per_customer = wh.scalar("SELECT count(*) / (SELECT count(*) FROM customers) "
                             "FROM transactions")
    assert 40 <= per_customer <= 75


def test_eighteen_months_of_history(wh):
    months = wh.scalar("SELECT count(DISTINCT date_trunc('month', ts)) FROM transactions")
    assert months == 18


GIG_PAYERS = ("'Uber payout', 'Deliveroo payout', 'Upwork', 'Fiverr', 'Etsy payments', "
              "'Airbnb host payout', 'Client invoice'")


def test_salaries_arrive_monthly_around_payday(wh):
    df = wh.df(f"""
        SELECT customer_id, count(*) AS n, count(DISTINCT date_trunc('month', ts)) AS months
        FROM transactions WHERE category = 'salary' AND merchant NOT IN ({GIG_PAYERS})
        GROUP BY customer_id HAVING count(*) >= 6
    """)
    assert len(df) > 500
    assert (df.n == df.months).mean() > 0.99  # one salary (or pension) a month
    days = wh.df(f"SELECT day(ts) AS d, count(*) AS n FROM transactions "
                 f"WHERE category = 'salary' AND merchant NOT IN ({GIG_PAYERS}) GROUP BY d")
    share_payday = days[days.d.isin([1, 2, 3, 25, 26, 27, 28])].n.sum() / days.n.sum()
    assert share_payday > 0.95


def test_gig_income_is_irregular(wh):
    per_month = wh.scalar(f"""
        SELECT median(n) FROM (
            SELECT customer_id, date_trunc('month', ts), count(*) AS n FROM transactions
            WHERE category = 'salary' AND merchant IN ({GIG_PAYERS}) GROUP BY ALL)
    """)
    assert per_month >= 3


def test_spend_is_seasonal(wh):
    by_month = wh.df("""
        SELECT category, month(ts) AS m, sum(amount) AS spend FROM transactions
        WHERE direction = 'debit' AND ts >= (SELECT reference_ts FROM reference_period)
              - INTERVAL 12 MONTH
        GROUP BY ALL
    """).pivot(index="m", columns="category", values="spend")
    assert by_month.loc[12, "shopping"] > 1.4 * by_month.loc[2, "shopping"]
    assert by_month.loc[[7, 8], "travel"].mean() > 1.8 * by_month.loc[[1, 2], "travel"].mean()


def test_amounts_are_positive_and_heavy_tailed(wh):
    lo, median, p99, hi = wh.execute(
        "SELECT min(amount), median(amount), quantile_cont(amount, 0.99), max(amount) "
        "FROM transactions WHERE category IN ('shopping', 'travel')"
    ).fetchone()
    assert lo > 0
    assert p99 > 8 * median
    assert hi > 40 * median


def test_dirty_reality_is_present(wh):
    checks = {
        "customers who never transacted":
            "SELECT count(*) FROM customer_status WHERE last_transaction_at IS NULL",
        "customers without any account":
            "SELECT count(*) FROM customers c WHERE NOT EXISTS "
            "(SELECT 1 FROM accounts a WHERE a.customer_id = c.customer_id)",
        "closed accounts": "SELECT count(*) FROM accounts WHERE status = 'closed'",
        "frozen accounts": "SELECT count(*) FROM accounts WHERE status = 'frozen'",
        "withdrawn consents": "SELECT count(*) FROM consents WHERE NOT granted AND source IN "
                              "('preference_center', 'app_settings', 'unsubscribe_link')",
        "missing income band": "SELECT count(*) FROM customers WHERE income_band IS NULL",
        "missing phone": "SELECT count(*) FROM customers WHERE phone IS NULL",
        "missing city": "SELECT count(*) FROM customers WHERE city IS NULL",
        "unstated gender": "SELECT count(*) FROM customers WHERE gender IS NULL",
        "KYC rejected": "SELECT count(*) FROM customers WHERE kyc_status = 'rejected'",
        "refunds": "SELECT count(*) FROM transactions WHERE direction = 'credit' "
                   "AND category = 'shopping'",
    }
    for what, sql in checks.items():
        assert wh.scalar(sql) > 0, what


def test_churned_customers_have_stopped(wh):
    assert wh.scalar("""
        SELECT count(*) FROM customer_status s
        WHERE s.is_churned AND s.transactions_90d > 0
    """) == 0
    # customers about to leave show it: fewer transactions in the last 3 months than before
    truth_churners = wh.scalar("SELECT count(*) FROM customer_status WHERE is_churned")
    assert truth_churners > 0


def test_unsubscribes_withdraw_the_email_consent(wh):
    assert wh.scalar("""
        SELECT count(*) FROM campaign_events e JOIN campaigns c USING (campaign_id)
        JOIN consents k ON k.customer_id = e.customer_id AND k.purpose = 'email'
        WHERE e.event = 'unsubscribed' AND c.channel = 'email' AND k.granted
    """) == 0


def test_campaigns_only_went_to_consented_verified_customers(wh):
    # every recipient had granted the channel at some point (never 'never granted')
    assert wh.scalar("""
        SELECT count(*) FROM campaign_events e JOIN campaigns c USING (campaign_id)
        JOIN consents k ON k.customer_id = e.customer_id AND k.purpose = c.channel
        WHERE e.event = 'sent' AND NOT k.granted AND k.source = 'signup_form'
    """) == 0
    assert wh.scalar("""
        SELECT count(*) FROM campaign_events e JOIN customers c USING (customer_id)
        WHERE c.kyc_status <> 'verified'
    """) == 0


def test_campaign_funnel_is_plausible(wh):
    rates = wh.df("""
        SELECT channel, avg(open_rate) AS open_rate, avg(click_rate) AS click_rate FROM (
            SELECT c.campaign_id, c.channel,
                   count(DISTINCT customer_id) FILTER (WHERE event = 'opened')
                     / count(DISTINCT customer_id) FILTER (WHERE event = 'sent') AS open_rate,
                   count(DISTINCT customer_id) FILTER (WHERE event = 'clicked')
                     / count(DISTINCT customer_id) FILTER (WHERE event = 'sent') AS click_rate
            FROM campaign_events JOIN campaigns c USING (campaign_id) GROUP BY ALL)
        GROUP BY channel
    """).set_index("channel")
    assert 0.1 < rates.loc["email", "open_rate"] < 0.45
    assert rates.loc["email", "click_rate"] < rates.loc["email", "open_rate"]


def test_personas_behave_differently(warehouse_path, wh):
    truth = pd.read_parquet(truth_path(warehouse_path))
    wh.register("truth", truth)
    mix = wh.df("""
        SELECT persona,
               avg((category = 'travel')::INT) AS travel,
               avg((category = 'crypto')::INT) AS crypto,
               avg(is_international::INT) AS abroad
        FROM transactions JOIN truth USING (customer_id)
        WHERE direction = 'debit' GROUP BY persona
    """).set_index("persona")
    wh.unregister("truth")
    assert mix.travel.idxmax() == "globetrotter"
    assert mix.crypto.idxmax() == "crypto_enthusiast"
    assert mix.abroad.idxmax() == "globetrotter"


def test_refuses_to_overwrite_without_force(tmp_path):
    path = tmp_path / "w.duckdb"
    generate(path, customers_n=50, seed=1)
    before = path.read_bytes()
    with pytest.raises(AssistantError, match="--force"):
        generate(path, customers_n=60, seed=2)
    assert path.read_bytes() == before
    generate(path, customers_n=60, seed=2, force=True)
    with Warehouse.open(path, read_only=True) as wh:
        assert wh.scalar("SELECT count(*) FROM customers") == 60


def test_an_interrupted_build_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(gen, "CHUNK_SIZE", 50)
    path = tmp_path / "w.duckdb"

    def boom(done, total):
        if done >= 100:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate(path, customers_n=300, seed=1, progress=boom)
    assert list(tmp_path.iterdir()) == []


def test_rejects_an_empty_population(tmp_path):
    with pytest.raises(AssistantError, match="at least 1"):
        generate(tmp_path / "w.duckdb", customers_n=0)
