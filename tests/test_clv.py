"""Lifetime value on the warehouse and on an imported transaction log: summaries by the published
convention, parameters recovered from a simulated log, the holdout report, saved predictions."""

from __future__ import annotations

import re
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from tools import model_registry as mr
from tools.clv import fit_clv, predict_clv, predict_from_artifact
from tools.result import ToolContext
from warehouse.errors import InvalidArgument
from warehouse.user_tables import import_user_table

R, ALPHA, A, B = 0.243, 4.414, 0.793, 2.426          # per week
P, Q, GAMMA = 6.25, 3.74, 15.44
START = date(2024, 1, 1)


def simulated_log(n: int, seed: int = 1) -> pd.DataFrame:
    """A purchase log drawn from BG/NBD + Gamma-Gamma: customers join over 12 weeks and are
    watched for 78 weeks from the start."""
    rng = np.random.default_rng(seed)
    rows = []
    for cust in range(1, n + 1):
        lam, p = rng.gamma(R, 1 / ALPHA), rng.beta(A, B)
        nu = rng.gamma(Q, 1 / GAMMA)
        join = rng.uniform(0, 12)
        t = join
        rows.append((cust, t, rng.gamma(P, 1 / nu)))
        while True:
            t += rng.exponential(1 / lam)
            if t > 78:
                break
            rows.append((cust, t, rng.gamma(P, 1 / nu)))
            if rng.random() < p:
                break
    log = pd.DataFrame(rows, columns=["cust_ref", "weeks", "amount"])
    log["order_date"] = [START + timedelta(days=int(w * 7)) for w in log["weeks"]]
    log["note"] = "x"
    return log[["cust_ref", "order_date", "amount", "note"]]


@pytest.fixture(scope="module")
def orders(shared_rw, tmp_path_factory):
    path = tmp_path_factory.mktemp("orders") / "orders.csv"
    log = simulated_log(6000)
    log.to_csv(path, index=False)
    import_user_table(shared_rw, path, "orders")
    return log


def test_a_simulated_log_gives_back_its_parameters(shared_rw, orders):
    cal_end = START + timedelta(days=39 * 7)
    res = fit_clv(shared_rw, table="orders", calibration_end=cal_end.isoformat(),
                  unit="weeks")
    bg, gg = res.calibration.bg, res.calibration.gg
    assert res.run["params"]["customer"] == "cust_ref"          # found by name and type
    assert res.run["params"]["amount"] == "amount"
    for got, want in ((bg.r, R), (bg.alpha, ALPHA), (bg.a, A), (bg.b, B)):
        assert got == pytest.approx(want, rel=0.2)
    assert gg.p * gg.gamma / (gg.q - 1) == pytest.approx(P * GAMMA / (Q - 1), rel=0.1)
    h = res.holdout
    assert abs(h["purchases_error_pct"]) < 10                 # a model of the data predicts it
    assert h["holdout_days"] == (date.fromisoformat(h["holdout_end"]) - cal_end).days
    assert res.by_frequency["customers"].sum() == h["customers"]
    assert res.top.columns[0] == "cust_ref"


def test_summaries_follow_the_published_convention(shared_rw):
    from tools.clv import Source, summary_sql

    shared_rw.execute("CREATE OR REPLACE TABLE tiny_log AS SELECT * FROM (VALUES "
                      "(1, DATE '2024-01-01', 10.0), (1, DATE '2024-01-01', 5.0), "
                      "(1, DATE '2024-01-15', 20.0), (1, DATE '2024-01-29', 40.0), "
                      "(1, DATE '2024-03-01', 99.0), (2, DATE '2024-01-08', 7.0)) "
                      "t(cust, day, amount)")
    src = Source("tiny_log", "cust", "day", "amount")
    s = shared_rw.df(summary_sql(src, date(2024, 2, 5), date(2024, 3, 31), "weeks"))
    one = s.set_index("customer_id").loc[1]
    # two purchases on the first day are one purchase; repeats: Jan 15 and Jan 29
    assert one["frequency"] == 2 and one["recency"] == pytest.approx(4.0)
    assert one["T"] == pytest.approx(35 / 7) and one["monetary"] == pytest.approx(30.0)
    assert one["holdout_purchases"] == 1 and one["holdout_spend"] == pytest.approx(99.0)
    two = s.set_index("customer_id").loc[2]
    assert two["frequency"] == 0 and two["recency"] == 0 and two["monetary"] == 0


@pytest.fixture(scope="module")
def bank(shared_rw):
    return fit_clv(shared_rw, horizon_months=6, top_n=10)


def test_the_warehouse_forecast_is_saved_and_registered(shared_rw, bank):
    run_id = bank.run["run_id"]
    saved = shared_rw.df("SELECT * FROM assistant.clv_scores WHERE run_id = ?", [run_id])
    spenders = shared_rw.scalar(
        "SELECT count(DISTINCT customer_id) FROM transactions WHERE direction = 'debit' AND "
        "category NOT IN ('transfer', 'investment', 'fees')")
    assert len(saved) == spenders and saved["customer_id"].notna().all()
    assert saved["p_alive"].between(0, 1).all() and (saved["expected_spend"] >= 0).all()
    assert set(saved["value_decile"]) == set(range(1, 11))
    rec = mr.champion(shared_rw, "clv")
    assert rec.run_id == run_id and bank.run["metrics"]["model_id"] == rec.model_id
    # the registered artifact reproduces the saved predictions from the summaries
    art = mr.load_artifact(shared_rw, rec)
    s = bank.forecast.summary
    again = predict_from_artifact(art, s)
    assert np.allclose(again["expected_spend"].round(2).to_numpy(),
                       saved.sort_values("customer_id")["expected_spend"].to_numpy())
    # the people who churned in the data are far less likely to be alive
    churned = shared_rw.df("SELECT s.p_alive, cs.is_churned FROM assistant.clv_scores s JOIN "
                           "customer_status cs USING (customer_id) WHERE run_id = ?", [run_id])
    by = churned.groupby("is_churned")["p_alive"].mean()
    assert by[True] < by[False] - 0.3


def test_the_tool_answers_in_numbers_without_personal_data(shared_rw, bank):
    ctx = ToolContext(wh=shared_rw, settings=None)
    res = predict_clv(ctx, horizon_months=12, top_n=5)
    assert "probably still active" in res.summary and "holdout" in res.summary
    assert not re.search(r"@|first_name|email", res.summary)
    assert len(res.tables[0].df) == 5 and ctx.state["last_clv_run"] == res.data["run_id"]
    top = res.tables[0].df["expected_spend"]
    assert top.is_monotonic_decreasing


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"calibration_end": "2030-01-01"}, "inside the data period"),
    ({"calibration_end": "next week"}, "YYYY-MM-DD"),
    ({"unit": "months"}, "weeks or days"),
    ({"horizon_months": 0}, "1 to 120"),
    ({"customer": "cust_ref"}, "apply to a table"),
    ({"table": "orders", "amount": "amout"}, "did you mean 'amount'"),
    ({"table": "no_such"}, "no table"),
])
def test_bad_arguments_say_what_to_do(shared_rw, orders, kwargs, message):
    with pytest.raises(InvalidArgument, match=message):
        fit_clv(shared_rw, save=False, **kwargs)


def test_audience_of_the_top_predicted_value(shared_rw, bank, tmp_path):
    from tools.audience import audience_counts, export_audience

    counts = audience_counts(shared_rw, "email", top_value_share=0.1)
    customers = shared_rw.scalar("SELECT count(*) FROM assistant.clv_scores WHERE run_id = ?",
                                 [bank.run["run_id"]])
    assert counts.selected == int(np.ceil(customers * 0.1))
    assert 0 < counts.eligible < counts.selected        # the consent rules still apply
    aud = export_audience(shared_rw, "email", top_value_share=0.1, out=tmp_path / "a.csv")
    ids = tuple(int(i) for i in aud.members["customer_id"])
    worst = shared_rw.scalar(
        f"SELECT min(expected_spend) FROM assistant.clv_scores WHERE run_id = ? AND "
        f"customer_id IN {ids}", [bank.run["run_id"]])
    cut = shared_rw.scalar("SELECT quantile_disc(expected_spend, 0.85) FROM "
                           "assistant.clv_scores WHERE run_id = ?", [bank.run["run_id"]])
    assert worst > cut
    assert "top 10% by predicted value" in aud.selection.describe()
    with pytest.raises(InvalidArgument, match="between 0 and 1"):
        audience_counts(shared_rw, "email", top_value_share=10)


def test_no_value_audience_without_a_clv_run(rw):
    from tools.audience import audience_counts
    from warehouse.errors import RunNotFound

    with pytest.raises(RunNotFound, match="predict lifetime value first"):
        audience_counts(rw, "email", top_value_share=0.1)


def test_segment_cards_carry_predicted_value(shared_rw, bank):
    from tools.clv import latest_clv_run
    from tools.segments import run_segmentation

    seg = run_segmentation(shared_rw, k=3, seed=4)
    latest = latest_clv_run(shared_rw)
    months = shared_rw.scalar("SELECT params->>'horizon_months' FROM assistant.runs WHERE "
                              "run_id = ?", [latest])
    for card in seg.cards:
        assert card.value["clv_run"] == latest and 0 <= card.value["p_alive"] <= 1
        assert f"Predicted value over the next {months} months" in card.description
    # every segmented customer with spend has a prediction (a few only received money)
    total = sum(c.value["customers"] for c in seg.cards)
    assert 0.95 * len(seg.members) < total <= len(seg.members)


@pytest.mark.parametrize(("question", "args"), [
    ("top 10% predicted value, email consented", {"channel": "email", "top_value_share": 0.1}),
    ("sms audience of our most valuable customers", {"channel": "sms", "top_value_share": 0.1}),
    ("build an email audience of the top 5% by CLV", {"channel": "email",
                                                      "top_value_share": 0.05}),
])
def test_value_audiences_in_chat(question, args):
    from assistant.planner import intents
    from assistant.planner.text import Text

    intent = intents.tool_intent(Text(question), lambda t: [])
    assert intent.tool == "build_audience" and intent.args == args
