"""Propensity safety (issue 10, item 5): --exclude and --columns, a leakage warning when one
feature carries the model or a driver is known only after the outcome, and targets and ids never
clustering features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lookalikes import bank_churn
from public_shapes import bank_marketing_frame

from tools import propensity
from tools.churn import score_churn, score_table
from tools.features import Feature
from tools.segments import run_segmentation
from tools.table_features import profile_table
from warehouse.errors import InvalidArgument
from warehouse.user_tables import import_user_table


def _frame(n: int = 2000, leak: bool = True, seed: int = 0):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    y = (0.6 * a + 0.4 * b + rng.normal(size=n) > 0.8).astype(int)
    X = pd.DataFrame({"a": a, "b": b})
    feats = [Feature("a", "a", "a"), Feature("b", "b", "b")]
    if leak:
        X["call_seconds"] = y * 300 + rng.normal(0, 20, n)
        feats.append(Feature("call_seconds", "c", "call seconds"))
    return X, y, feats


def test_one_feature_that_dwarfs_the_rest_is_a_leakage_warning():
    X, y, feats = _frame()
    report = propensity.train(X, y, feats)
    assert report.drivers[0].feature == "call_seconds"
    assert report.warnings and "one feature carries the model" in report.warnings[0]
    assert "--exclude call_seconds" in report.warnings[0]
    clean = propensity.train(*_frame(leak=False))
    assert clean.warnings == []


def test_a_driver_named_like_an_after_the_fact_value_is_warned_about():
    drivers = [propensity.Driver("balance", "balance", 0.05, "higher"),
               propensity.Driver("closed_date", "closed date", 0.03, "higher")]
    warnings = propensity.leakage_warnings(drivers, 0.8)
    assert len(warnings) == 1 and "closed_date is a top driver" in warnings[0]


@pytest.fixture(scope="module")
def tables(shared_rw, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tables")
    bank_marketing_frame(6000, seed=3).to_csv(folder / "bank.csv", index=False, sep=";")
    churn = bank_churn(3000)
    churn["district_id"] = np.arange(len(churn)) % 40        # an id, not a quantity
    churn.to_csv(folder / "churn.csv", index=False)
    import_user_table(shared_rw, folder / "bank.csv", "bank_mkt", mode="replace")
    import_user_table(shared_rw, folder / "churn.csv", "churn_tbl", mode="replace")
    return shared_rw


def test_duration_leaks_and_exclude_removes_it(tables):
    leaky = score_table(tables, "bank_mkt", "y")
    m = leaky.run["metrics"]
    assert m["drivers"][0]["feature"] == "duration"
    assert any("duration" in w and "carries the model" in w for w in m["warnings"])
    fixed = score_table(tables, "bank_mkt", "y", exclude=["duration"])
    f = fixed.run["metrics"]
    assert "duration" not in fixed.run["params"]["features"]
    assert f["ignored_columns"]["duration"] == "excluded"
    assert not any("carries the model" in w for w in f["warnings"])
    assert f["roc_auc"] < m["roc_auc"]
    only = score_table(tables, "bank_mkt", "y", columns=["balance", "housing", "loan"])
    assert set(only.run["params"]["features"]) <= {"balance", "housing=no", "housing=yes",
                                                    "loan=no", "loan=yes", "housing", "loan"}


def test_segmenting_a_table_never_clusters_on_the_target_or_ids(tables):
    prof = profile_table(tables, "churn_tbl", model_inputs=True)
    assert prof.ignored["Exited"].startswith("looks like an outcome")
    assert prof.ignored["district_id"] == "identifier"
    assert prof.ignored["CustomerId"] == "key" and prof.ignored["RowNumber"] == "row number"
    assert "Exited" in prof.describe()
    seg = run_segmentation(tables, table="churn_tbl", k=3, save=False)
    used = set(seg.run.metrics["features"])
    assert not used & {"Exited", "district_id", "CustomerId", "RowNumber"}
    # as the target of a propensity model it is the target, and named in columns it is used
    assert profile_table(tables, "churn_tbl", target="Exited",
                         model_inputs=True).ignored["Exited"] == "target"
    assert "Exited" in profile_table(tables, "churn_tbl", columns=["Exited", "Balance"],
                                     model_inputs=True).numeric
    # describing a table (its semantic model) keeps the outcome as a column to count
    assert profile_table(tables, "churn_tbl").numeric["Exited"] == "flag"


def test_warehouse_churn_takes_exclude_and_columns(shared_rw):
    res = score_churn(shared_rw, exclude=["days_since_last_transaction", "transactions_30d"])
    names = {d["feature"] for d in res.run["metrics"]["drivers"]}
    assert not names & {"days_since_last_transaction", "transactions_30d"}
    from tools import model_registry as mr

    champ = mr.champion(shared_rw, "churn", "customers [features: without "
                        "days_since_last_transaction, transactions_30d]")
    assert champ is not None
    assert "days_since_last_transaction" not in champ.features
    with pytest.raises(InvalidArgument, match="unknown feature 'tenure'"):
        score_churn(shared_rw, columns=["tenure"])
    with pytest.raises(InvalidArgument, match="known only as of today"):
        score_churn(shared_rw, columns=["deposits"])


def test_a_text_target_predicts_the_value_that_says_churned_and_says_which(shared_rw, tmp_path):
    """Attrition_Flag 'Attrited Customer' / 'Existing Customer': the attrited are the event
    (never the larger string), the run says so, and the highest risk rows are mostly attrited."""
    from public_shapes import bank_churners_frame

    frame = bank_churners_frame(2000, seed=9)
    frame.to_csv(tmp_path / "cards.csv", index=False)
    import_user_table(shared_rw, tmp_path / "cards.csv", "cards_tbl", mode="replace")
    res = score_table(shared_rw, "cards_tbl", "Attrition_Flag", top_n=10)
    attrited = (frame["Attrition_Flag"] == "Attrited Customer").mean()
    assert res.run["params"]["positive"] == "Attrited Customer"
    assert res.run["metrics"]["positive_share"] == pytest.approx(attrited, abs=0.001)
    assert "CLIENTNUM" not in res.run["params"]["features"]
    assert res.run["params"]["key"] == "CLIENTNUM"
    from tools.churn import summary
    assert "predicting Attrition_Flag = 'Attrited Customer'" in summary(
        res, table="cards_tbl", target="Attrition_Flag")
    # the list is of rows without the outcome yet, scored from the attrited's pattern: their
    # predicted risk is well above the base rate
    assert res.at_risk["score"].min() > attrited
    # named otherwise, the other class is modelled, and an unknown value is refused
    other = score_table(shared_rw, "cards_tbl", "Attrition_Flag", positive="existing customer")
    assert other.run["params"]["positive"] == "Existing Customer"
    with pytest.raises(InvalidArgument, match="'Attrited Customer', 'Existing Customer'"):
        score_table(shared_rw, "cards_tbl", "Attrition_Flag", positive="Closed")


def test_a_target_whose_values_do_not_say_which_is_the_event_is_refused(shared_rw, tmp_path):
    frame = bank_churn(800)
    frame["Segment"] = np.where(frame["Exited"] == 1, "Bronze", "Gold")
    frame.drop(columns=["Exited"]).to_csv(tmp_path / "seg.csv", index=False)
    import_user_table(shared_rw, tmp_path / "seg.csv", "seg_tbl", mode="replace")
    with pytest.raises(InvalidArgument) as err:
        score_table(shared_rw, "seg_tbl", "Segment")
    assert "--positive" in str(err.value) and "'Bronze', 'Gold'" in str(err.value)
    res = score_table(shared_rw, "seg_tbl", "Segment", positive="bronze")
    assert res.run["params"]["positive"] == "Bronze"
    # messy spellings of yes/no are one value each
    frame["Left"] = np.where(frame["Segment"] == "Bronze", "Yes", "no")
    frame.loc[:5, "Left"] = " yes"
    frame.drop(columns=["Segment"]).to_csv(tmp_path / "left.csv", index=False)
    import_user_table(shared_rw, tmp_path / "left.csv", "left_tbl", mode="replace")
    assert score_table(shared_rw, "left_tbl", "Left").run["params"]["positive"] in ("Yes", "yes")
