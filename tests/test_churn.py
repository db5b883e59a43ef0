"""Churn with a proper time split on the warehouse, reuse of a recent run, and the same model as a
propensity tool on a user's table with a target column."""

from __future__ import annotations

import re
from datetime import timedelta

import numpy as np
import pytest
from lookalikes import bank_churn

from tools import churn as churn_mod
from tools import propensity
from tools.churn import predict_churn, score_churn, score_table
from tools.features import compute_features
from tools.result import ToolContext
from warehouse.errors import InvalidArgument
from warehouse.user_tables import import_user_table

PII = re.compile(r"@|Hargrave|Mitchell|first_name|last_name")


@pytest.fixture(scope="module")
def churn(shared_rw):
    return score_churn(shared_rw, top_n=15)


def test_the_model_is_evaluated_on_held_out_customers(churn):
    m = churn.run["metrics"]
    assert m["model"] in ("gbm", "logistic") and set(m["validation_auc"]) == {"gbm", "logistic"}
    assert m["roc_auc"] > 0.8                       # the generator fades leavers out
    assert m["lift_top_decile"] > 2
    assert 0 <= m["brier"] < m["base_rate"]         # better than guessing the base rate
    assert len(m["calibration"]) == 10 and m["test_rows"] > 0
    assert m["drivers"] and m["drivers"][0]["importance"] > 0


def test_time_split_features_before_the_cutoff_label_after(shared_rw, churn):
    params = churn.run["params"]
    ref = shared_rw.reference_period()["reference_ts"]
    assert params["cutoff"] == (ref - timedelta(days=90)).isoformat()
    # the training rows are the customers active at the cutoff
    past = compute_features(shared_rw, as_of=ref - timedelta(days=90), active_only=True)
    m = churn.run["metrics"]
    assert m["train_rows"] + m["test_rows"] == len(past)
    label_rate = shared_rw.scalar(
        "SELECT avg(is_churned::INT) FROM customer_status WHERE customer_id IN "
        "(SELECT customer_id FROM transactions WHERE ts > ? - INTERVAL 90 DAY AND ts <= ?)",
        [ref - timedelta(days=90), ref - timedelta(days=90)])
    assert m["positive_rate"] == pytest.approx(label_rate, abs=1e-3)


def test_a_large_population_is_fitted_on_a_seeded_sample(shared_rw, monkeypatch):
    ref = shared_rw.reference_period()["reference_ts"]
    everyone = compute_features(shared_rw, as_of=ref - timedelta(days=90), active_only=True)
    monkeypatch.setattr(churn_mod, "TRAIN_ROWS", 1_500)
    said = []
    first = churn_mod.train_latest(shared_rw, progress=said.append)
    again = churn_mod.train_latest(shared_rw)
    ids = first.past["customer_id"].to_numpy()
    assert len(everyone) > 1_500 and len(ids) == 1_500
    assert set(ids) <= set(everyone["customer_id"]) and (np.diff(ids) > 0).all()
    assert (again.past["customer_id"].to_numpy() == ids).all()      # the same seeded sample
    assert first.report.train_rows + first.report.test_rows == 1_500
    assert len(first.y) == 1_500 and first.y.sum() >= propensity.MIN_POSITIVES
    assert any(f"a seeded sample of 1,500 of {len(everyone):,}" in s for s in said)


def test_scores_are_saved_for_the_active_customers(shared_rw, churn):
    run_id = churn.run["run_id"]
    saved = shared_rw.df("SELECT s.*, cs.is_active FROM assistant.scores s JOIN customer_status cs "
                  "USING (customer_id) WHERE run_id = ?", [run_id])
    active = shared_rw.scalar("SELECT count(*) FROM customer_status WHERE is_active")
    assert len(saved) == active and saved["is_active"].all()
    assert saved["score"].between(0, 1).all() and set(saved["decile"]) == set(range(1, 11))
    top = saved[saved["decile"] == 1]
    assert (top["reasons"].str.len() > 0).mean() > 0.9
    assert top["score"].min() >= saved.loc[saved["decile"] == 2, "score"].max()


def test_the_at_risk_table_has_context_but_no_personal_data(churn):
    risk = churn.at_risk
    assert len(risk) == 15 and risk["score"].is_monotonic_decreasing
    assert {"customer_id", "products_held", "days_since_last_transaction", "reasons"} <= \
        set(risk.columns)
    assert not {"first_name", "last_name", "email", "phone", "birth_date"} & set(risk.columns)


def test_a_recent_run_on_the_same_data_is_reused(shared_rw, churn):
    again = score_churn(shared_rw, top_n=5)
    assert again.reused and again.run["run_id"] == churn.run["run_id"]
    assert list(again.at_risk["customer_id"]) == list(churn.at_risk["customer_id"][:5])


def test_the_tool_summary_has_numbers_and_no_personal_data(shared_rw, churn):
    ctx = ToolContext(wh=shared_rw, settings=None)
    res = predict_churn(ctx, top_n=10)
    assert ctx.state["last_churn_run"] == churn.run["run_id"]
    assert "ROC AUC" in res.summary and "top decile" in res.summary
    assert "not used" in res.summary and not PII.search(res.summary)
    assert str(res.tables[0].df["customer_id"].iloc[0]) not in res.summary
    assert len(res.tables[0].df) == 10


def test_protected_attributes_are_recorded(shared_rw):
    res = score_churn(shared_rw, include_protected=True, retrain=True)
    assert res.run["protected_attributes_used"]
    assert res.run["params"]["include_protected"]
    assert not res.reused


@pytest.fixture(scope="module")
def bank(shared_rw, tmp_path_factory):
    path = tmp_path_factory.mktemp("bank") / "bank.csv"
    bank_churn(3000).to_csv(path, index=False)
    import_user_table(shared_rw, path, "bank_churn")
    return score_table(shared_rw, "bank_churn", "exited", top_n=25)


def test_propensity_on_a_user_table(bank):
    run = bank.run
    assert run["kind"] == "propensity" and run["params"]["target"] == "Exited"
    assert run["params"]["key"] == "CustomerId"
    feats = run["params"]["features"]
    assert "CreditScore" in feats and "Geography=Germany" in feats
    assert not {"RowNumber", "CustomerId", "Surname", "Gender", "Age", "Exited"} & set(feats)
    assert not run["protected_attributes_used"]
    assert run["metrics"]["roc_auc"] > 0.65
    assert run["metrics"]["ignored_columns"]["Surname"] == "personal data"
    risk = bank.at_risk
    assert len(risk) == 25 and "Surname" not in risk.columns and "Age" not in risk.columns
    assert "CustomerId" in risk.columns


def test_propensity_tool_on_a_table(shared_rw, bank):
    ctx = ToolContext(wh=shared_rw, settings=None)
    res = predict_churn(ctx, table="bank_churn", target="Exited", include_protected=True)
    assert "WERE used" in res.summary and not PII.search(res.summary)
    run_feats = ctx.wh.df("SELECT params FROM assistant.runs WHERE run_id = ?",
                          [ctx.state["last_propensity_run"]])["params"][0]
    assert '"Age"' in run_feats and '"Surname"' not in run_feats


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"table": "bank_churn", "target": "Geography"}, "exactly two values"),
    ({"table": "bank_churn", "target": "Exitted"}, "Exited"),
    ({"table": "bank_churn", "target": None}, "both table and target"),
    ({"top_n": 0}, "between 1 and 1000"),
])
def test_bad_propensity_arguments(shared_rw, bank, kwargs, message):
    with pytest.raises(InvalidArgument, match=message):
        predict_churn(ToolContext(wh=shared_rw, settings=None), **kwargs)


def test_top_decile_precision_and_lift():
    y = np.array([1] * 10 + [0] * 90)
    p = np.linspace(1, 0, 100)
    assert propensity.top_decile(y, p) == (1.0, 10.0)
    assert propensity.top_decile(y, p[::-1]) == (0.0, 0.0)
