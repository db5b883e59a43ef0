"""Segmentation: deterministic clusters and cards, filters, RFM, user tables, protected
attributes, errors for people, and the agent tools' summaries (no personal data)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from lookalikes import credit_cards
from sklearn.metrics import adjusted_rand_score

from tools import rfm
from tools.result import ToolContext
from tools.segments import describe_segment, run_segmentation, segment_customers
from warehouse.errors import InvalidArgument, RunNotFound
from warehouse.user_tables import import_user_table

PII = re.compile(r"@|\+\d{6,}|first_name|last_name")


@pytest.fixture(scope="module")
def auto(shared_rw):
    return run_segmentation(shared_rw, seed=3)


def test_same_seed_same_segments(shared_rw, auto):
    again = run_segmentation(shared_rw, seed=3, save=False)
    assert auto.run.metrics["k"] == again.run.metrics["k"]
    assert (auto.members["segment_id"].to_numpy() == again.members["segment_id"].to_numpy()).all()
    assert [c.name for c in auto.cards] == [c.name for c in again.cards]
    assert [c.description for c in auto.cards] == [c.description for c in again.cards]


def test_k_is_chosen_automatically_and_explained(auto):
    m = auto.run.metrics
    assert 3 <= m["k"] <= 10 and "chosen automatically" in m["k_reason"]
    assert set(m["stability"]) == set(range(3, 11))
    assert len(auto.cards) == m["k"]


def test_cards_read_well(auto):
    cards = auto.cards
    names = [c.name for c in cards]
    assert len(set(names)) == len(names)                     # unique within the run
    assert sum(c.size for c in cards) == auto.run.row_count
    assert [c.size for c in cards] == sorted((c.size for c in cards), reverse=True)
    for c in cards:
        assert c.description.count(".") >= 2 and re.search(r"\d+%", c.description)
        effects = [abs(t.effect_size) for t in c.traits]
        assert effects == sorted(effects, reverse=True) and effects[0] >= 0.5
        assert set(c.reach) == {"email", "sms", "push"} and c.reach["email"] <= c.size
        assert abs(sum(c.countries.values()) - 1) < 0.01 or len(c.countries) == 8
        assert "age" not in c.name.lower() and all(t.feature not in ("age", "gender_female")
                                                   for t in c.traits)


def test_customers_without_transactions_are_left_out_and_counted(shared_rw, auto):
    never = shared_rw.scalar(
        "SELECT count(*) FROM customer_status WHERE last_transaction_at IS NULL "
        "OR last_transaction_at < (SELECT reference_ts FROM reference_period) "
        "- INTERVAL 365 DAY")
    assert auto.excluded == never > 0
    assert any(f"{never:,}" in note for note in auto.notes)


@pytest.mark.parametrize(("kwargs", "check"), [
    ({"active_only": True}, "SELECT bool_and(is_active) FROM customer_status JOIN m USING "
                            "(customer_id)"),
    ({"country": "DE"}, "SELECT bool_and(country = 'DE') FROM customers JOIN m USING "
                        "(customer_id)"),
    ({"product": "credit_card"}, "SELECT bool_and(list_contains(products_held, 'credit_card')) "
                                 "FROM customer_status JOIN m USING (customer_id)"),
])
def test_filters_keep_only_matching_customers(shared_rw, kwargs, check):
    seg = run_segmentation(shared_rw, k=3, save=False, **kwargs)
    shared_rw.register("m", seg.members)
    try:
        assert shared_rw.scalar(check) is True
    finally:
        shared_rw.unregister("m")
    assert seg.run.params | kwargs == seg.run.params


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"k": 50_000}, "more segments than"),
    ({"k": 1}, "between 2 and"),
    ({"columns": ["share_travle"]}, "share_travel"),
    ({"columns": ["age"]}, "protected attribute"),
    ({"method": "kmeans"}, "behaviour"),
    ({"country": "ZZ"}, "countries in the warehouse"),
    ({"product": "crypto", "country": "CA", "active_only": True, "k": 40_000},
     "more segments than"),
    ({"table": "nope"}, "no table 'nope'"),
    ({"method": "rfm", "table": "customers"}, "RFM needs"),
])
def test_bad_arguments_get_clear_errors(shared_rw, kwargs, message):
    with pytest.raises(InvalidArgument, match=message):
        run_segmentation(shared_rw, save=False, **kwargs)


def test_protected_attributes_only_on_request(shared_rw):
    seg = run_segmentation(shared_rw, k=4, include_protected=True, save=False)
    assert seg.run.protected_attributes_used
    assert "age" in seg.run.metrics["features"]
    assert all(c.protected_attributes_used for c in seg.cards)
    plain = run_segmentation(shared_rw, k=4, save=False)
    assert not plain.run.protected_attributes_used
    assert "age" not in plain.run.metrics["features"]


@pytest.mark.parametrize(("r", "fm", "segment"), [
    (5, 5, "Champions"), (5, 1, "New customers"), (5, 3, "Potential loyalists"),
    (4, 4, "Loyal customers"), (4, 1, "Promising"), (3, 3, "Need attention"),
    (3, 2, "About to sleep"), (2, 4, "At risk"), (1, 5, "Can't lose them"),
    (2, 1, "Hibernating"), (1, 1, "Lost"),
])
def test_rfm_grid(r, fm, segment):
    assert rfm.segment_of(r, fm) == segment


def test_rfm_quintiles_give_ties_the_same_score():
    scores = rfm.quintile_score(pd.Series([1, 1, 1, 1, 2, 3, 4, 5, 6, 7]))
    assert scores.iloc[:4].nunique() == 1
    assert list(rfm.quintile_score(pd.Series(range(10)), higher_is_better=False)) == \
        [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_rfm_run_uses_the_standard_segments(shared_rw):
    seg = run_segmentation(shared_rw, method="rfm", save=False)
    names = {c.name for c in seg.cards}
    assert names <= {n for n, _ in rfm.SEGMENTS} and "Champions" in names
    assert all(c.segment_id == rfm.SEGMENT_IDS[c.name] for c in seg.cards)
    champions = next(c for c in seg.cards if c.name == "Champions")
    assert champions.description.startswith("Transacted very recently")


def test_a_user_table_is_segmented_on_its_own_columns(shared_rw, tmp_path):
    frame, behaviour = credit_cards(1500)
    frame.to_csv(tmp_path / "cc.csv", index=False)
    import_user_table(shared_rw, tmp_path / "cc.csv", "cc_customers", mode="replace")
    seg = run_segmentation(shared_rw, table="cc_customers", k=4, save=False)
    assert seg.run.source_table == "cc_customers" and seg.run.params["key"] == "CUST_ID"
    assert seg.members["__key"].str.startswith("C").all()
    # the four behaviours the table was drawn from come back
    assert adjusted_rand_score(behaviour, seg.members["segment_id"]) > 0.6
    assert all(c.reach == {} for c in seg.cards)
    assert any(c.name.startswith("Cash-advance users") for c in seg.cards)
    picked = run_segmentation(shared_rw, table="cc_customers", k=3, save=False,
                              columns=["balance", "CASH_ADVANCE", "purchases"])
    assert set(picked.run.metrics["features"]) == {"BALANCE", "CASH_ADVANCE", "PURCHASES"}
    with pytest.raises(InvalidArgument, match="PURCHASES"):
        run_segmentation(shared_rw, table="cc_customers", columns=["PURCHASE"], save=False)


def test_segment_customers_tool(shared_rw):
    ctx = ToolContext(wh=shared_rw, settings=None, session="s1")
    res = segment_customers(ctx, k=5, seed=1)
    run_id = ctx.state["last_segment_run"]
    assert run_id in res.summary and "5 behavioural segments" in res.summary
    assert "were not used" in res.summary
    assert not PII.search(res.summary)
    assert len(res.data) == 5 and res.chart.kind == "bar"
    assert list(res.tables[0].df["segment"]) == [1, 2, 3, 4, 5]
    detail = describe_segment(ctx, 2)
    assert detail.data.run_id == run_id and detail.data.segment_id == 2
    assert "(d=" in detail.summary and not PII.search(detail.summary)
    with pytest.raises(InvalidArgument, match="has no segment 9"):
        describe_segment(ctx, 9)
    with pytest.raises(RunNotFound):
        describe_segment(ctx, 1, run_id="seg-nope")


def test_segment_ids_follow_size_then_cluster_label():
    from tools.clustering import _relabel_by_size

    labels = np.array([2, 2, 0, 1, 1, 1, 0])
    assert list(_relabel_by_size(labels)) == [3, 3, 2, 1, 1, 1, 2]


@pytest.fixture(scope="module")
def behaviour(shared_rw):
    from tools.clustering import Column
    from tools.features import BEHAVIOUR, FEATURES_BY_NAME, compute_features

    frame = compute_features(shared_rw, transacting_only=True, trends=False)
    cols = [Column(n, FEATURES_BY_NAME[n].scale, FEATURES_BY_NAME[n].weight) for n in BEHAVIOUR]
    return frame, cols


def test_customers_are_assigned_block_by_block_as_in_one_pass(behaviour, monkeypatch):
    from tools import clustering

    frame, cols = behaviour
    monkeypatch.setattr(clustering, "FIT_SAMPLE", 500)  # fit on a sample, assign the rest
    monkeypatch.setattr(clustering, "PREDICT_BLOCK", 10**9)
    one_pass = clustering.cluster(frame, cols, k=5, seed=1)
    monkeypatch.setattr(clustering, "PREDICT_BLOCK", 97)
    blocks = clustering.cluster(frame, cols, k=5, seed=1)
    assert (one_pass.labels == blocks.labels).all() and one_pass.fit_rows == 500
    # and the same as transforming the whole matrix at once
    raw = frame[[c.name for c in cols]].to_numpy(dtype=np.float64, na_value=np.nan)
    prep = clustering.preprocessor(cols).fit(raw[clustering._sample(
        len(frame), 500, np.random.default_rng(1))])
    X = prep.transform(raw)
    assert np.array_equal(raw, frame[[c.name for c in cols]].to_numpy(
        dtype=np.float64, na_value=np.nan), equal_nan=True)   # copy=True left it alone
    inplace = clustering.preprocessor(cols, copy=False).fit(raw[:500]).transform(raw.copy())
    assert np.array_equal(inplace, clustering.preprocessor(cols).fit(raw[:500]).transform(raw))
    assert X.dtype == np.float32 and X.flags.c_contiguous


def test_trait_bounds_from_a_sample_barely_move_the_effect_sizes(behaviour, monkeypatch):
    from tools import cards
    from tools.clustering import cluster
    from tools.features import FEATURES

    frame, cols = behaviour
    labels = cluster(frame, cols, k=5, seed=1).labels
    feats = [f for f in FEATURES if f.describe and not f.protected]
    exact = cards.compute_traits(frame, labels, feats)
    monkeypatch.setattr(cards, "BOUNDS_SAMPLE", 500)
    sampled = cards.compute_traits(frame, labels, feats)
    for s in exact:
        by_name = {t.feature: t for t in sampled[s]}
        for t in exact[s]:
            other = by_name[t.feature]
            assert (t.segment_mean, t.population_mean, t.statistic) == (
                other.segment_mean, other.population_mean, other.statistic)
            assert abs(t.effect_size - other.effect_size) < 0.1
