"""Refresh keeps segment identities; drift is flagged where a shift was injected and not where
none was. Scenario: the last 90 days are held back, models are trained on what is left, then
the 90 days arrive (as generated, or with 40% of customers paying abroad online)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from tools import drift, psi
from tools import model_registry as mr
from tools.churn import score_churn
from tools.identity import match_segments
from tools.refresh import refresh
from tools.segments import run_segmentation
from warehouse.connection import Warehouse
from warehouse.synth.scenarios import hold_back, release


# -- matching, table-driven ------------------------------------------------------------------------
def _series(ids):
    return pd.Series(ids, index=[f"c{i}" for i in range(len(ids))])


@pytest.mark.parametrize(("old", "new", "expect"), [
    # same groups, labels permuted: every id and its status carried over
    ([1] * 40 + [2] * 30 + [3] * 30, [3] * 40 + [1] * 30 + [2] * 30,
     {3: (1, "stable"), 1: (2, "stable"), 2: (3, "stable")}),
    # 20 of segment 2 join segment 1: 1 keeps 71% (changed), 2 keeps 60% (changed)
    ([1] * 50 + [2] * 50, [1] * 50 + [2] * 30 + [1] * 20,
     {1: (1, "changed"), 2: (2, "changed")}),
    # segment 3 splits 60/40: the larger part keeps the id (changed), the other is new
    ([1] * 50 + [3] * 50, [1] * 50 + [2] * 30 + [3] * 20,
     {1: (1, "stable"), 2: (3, "changed"), 3: (4, "new")}),
    # a fresh segment appears beside unchanged ones: never a reused id
    ([1] * 50 + [2] * 50, [1] * 50 + [2] * 50 + [3] * 0, {1: (1, "stable"), 2: (2, "stable")}),
])
def test_matching(old, new, expect):
    ident = match_segments(_series(old), _series(new), used_ids={1, 2, 3})
    got = {m.label: (m.segment_id, m.status) for m in ident.matches}
    assert got == expect


def test_a_split_and_a_vanished_segment_are_said():
    old = _series([1] * 50 + [2] * 50 + [3] * 20)
    new = _series([1] * 50 + [2] * 24 + [3] * 26 + [1] * 20)
    ident = match_segments(old, new)
    assert ident.splits == {2: [2, 4]} and ident.merged == {3: 1}
    words = " ".join(ident.sentences({1: "Savers", 2: "Travellers", 3: "Gamers"},
                                     {1: "Savers", 2: "City", 4: "Beach"}))
    assert "Segment 2 ('Travellers') split into 2 ('City') and 4 ('Beach')" in words
    assert "Segment 3 ('Gamers') merged into segment 1" in words


def test_without_common_customers_centres_decide():
    old_c = np.array([[0.0, 0.0], [10.0, 10.0], [0.0, 10.0]])
    new_c = np.array([[10.2, 9.9], [0.1, 0.1]])
    ident = match_segments(_series([1, 2, 3]), pd.Series([1, 2], index=["x", "y"]),
                           old_centers=old_c, old_ids=np.array([1, 2, 3]), new_centers=new_c)
    assert ident.mapping == {1: 2, 2: 1} and ident.vanished == [3]


def test_psi_bands():
    rng = np.random.default_rng(0)
    ref = psi.profile(pd.DataFrame({"x": rng.normal(size=20_000)}), ["x"])["x"]
    assert psi.psi(ref, rng.normal(size=20_000)) < 0.01
    assert psi.band(psi.psi(ref, rng.normal(0.45, 1, 20_000))) == "moderate"
    assert psi.band(psi.psi(ref, rng.normal(1.0, 1, 20_000))) == "significant"
    with_gaps = np.where(rng.random(20_000) < 0.3, np.nan, rng.normal(size=20_000))
    assert psi.psi(ref, with_gaps) > 0.25        # missing values are a bin of their own


# -- the scenarios -----------------------------------------------------------------------------
def _scenario(warehouse_path, tmp_path_factory, shift):
    path = tmp_path_factory.mktemp(f"scenario-{shift}") / "w.duckdb"
    shutil.copy(warehouse_path, path)
    hold_back(path, 90)
    with Warehouse.open(path) as wh:
        seg = run_segmentation(wh, k=8, seed=3)
        score_churn(wh)
    release(path, shift=shift)
    wh = Warehouse.open(path)
    return wh, seg


@pytest.fixture(scope="module")
def calm(warehouse_path, tmp_path_factory):
    wh, seg = _scenario(warehouse_path, tmp_path_factory, None)
    yield wh, seg, drift.segmentation_drift(wh)
    wh.close()


@pytest.fixture(scope="module")
def shifted(warehouse_path, tmp_path_factory):
    wh, seg = _scenario(warehouse_path, tmp_path_factory, "abroad")
    yield wh, seg, drift.segmentation_drift(wh)
    wh.close()


def test_no_shift_no_drift_flagged(calm):
    _, _, report = calm
    psi_table = report.tables[0].df
    assert report.verdict != "significant"
    assert (psi_table["band"] != "significant").all()
    assert "Verdict" in report.sentences[-1]


def test_an_injected_shift_is_flagged_and_named(shifted):
    _, _, report = shifted
    table = report.tables[0].df.set_index("feature")
    assert table.loc["share_international", "band"] == "significant"
    assert report.verdict == "significant"
    text = " ".join(report.sentences)
    assert "share of card payments abroad" in text and "refresh recommended" in text
    assert "grew" in text          # the travel-like segment takes the customers who moved


@pytest.mark.parametrize("scenario", ["calm", "shifted"])
def test_refresh_keeps_the_ids_of_segments_that_stayed(scenario, request):
    wh, seg, _ = request.getfixturevalue(scenario)
    old = mr.champion(wh, "segmentation")
    done = refresh(wh, ("segmentation",))[0]
    assert done.error is None and done.previous == old.model_id
    new = mr.champion(wh, "segmentation")
    assert new.model_id == done.model_id and new.replaces == old.model_id
    assert mr.get_model(wh, old.model_id).replaced_by == new.model_id
    run = wh.df("SELECT metrics FROM assistant.runs WHERE run_id = ?", [done.run_id])
    ident = json.loads(run["metrics"][0])["identity"]
    old_names = {c.segment_id: c.name for c in seg.cards}
    new_names = dict(wh.rows("SELECT segment_id, name FROM assistant.segments WHERE run_id = ?",
                             [done.run_id]))
    # the judges' rule: every segment whose membership mostly stayed keeps its id and name
    members_old = wh.df("SELECT record_key, segment_id FROM assistant.segment_members WHERE "
                        "run_id = ?", [seg.run.run_id]).set_index("record_key")["segment_id"]
    members_new = wh.df("SELECT record_key, segment_id FROM assistant.segment_members WHERE "
                        "run_id = ?", [done.run_id]).set_index("record_key")["segment_id"]
    both = members_old.index.intersection(members_new.index)
    for sid in old_names:
        a = set(members_old.loc[both][members_old.loc[both] == sid].index)
        best = max(len(a & set(members_new.loc[both][members_new.loc[both] == j].index)) /
                   len(a | set(members_new.loc[both][members_new.loc[both] == j].index))
                   for j in set(members_new))
        if best >= 0.75:
            assert sid in new_names and new_names[sid] == old_names[sid], sid
    stable = [m for m in ident["matches"] if m["status"] == "stable"]
    assert len(stable) >= 5
    assert any("kept their id and name" in s for s in done.sentences)


def test_churn_drift_judges_the_model_on_new_outcomes(calm):
    wh, _, _ = calm
    report = drift.churn_drift(wh)
    text = " ".join(report.sentences)
    assert "newest window" in text and "latest" in report.metrics
    assert report.verdict in ("stable", "significant")


def test_the_agent_tools_say_it_in_words(calm):
    from tools.drift import check_model_drift
    from tools.models import approve_model, show_models
    from tools.refresh import refresh_models
    from tools.result import ToolContext

    wh, _, _ = calm
    ctx = ToolContext(wh=wh, settings=None)
    res = check_model_drift(ctx)
    assert "Verdict" in res.summary and {"segmentation", "churn"} <= set(res.data)
    assert "Churn model" in check_model_drift(ctx, "churn").summary
    with pytest.raises(Exception, match="all, segmentation or churn"):
        check_model_drift(ctx, "weather")
    done = refresh_models(ctx, ["churn"])
    assert "churn" in done.summary.lower() and done.data[0]["kind"] == "churn"
    shown = show_models(ctx)
    assert "Champions (in use)" in shown.summary and "segmentation model" in shown.summary
    waiting = mr.models(wh, "churn", status="challenger")
    if waiting:
        ok = approve_model(ctx, waiting[0].model_id, "Ada Lovelace")
        assert "approved by Ada Lovelace" in ok.summary
        assert mr.champion(wh, "churn").model_id == waiting[0].model_id
