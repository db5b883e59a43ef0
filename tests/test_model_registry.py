"""The model registry: statuses and lineage, persisted artifacts (hash-checked, trusted types
only), champion scoring that reproduces the runs, and the champion / challenger rule."""

from __future__ import annotations

import numpy as np
import pytest

from tools import champions
from tools import model_registry as mr
from tools.churn import score_churn
from tools.features import compute_features
from tools.segments import run_segmentation
from warehouse.errors import InvalidArgument, ModelArtifactError, ModelNotFound


class Opaque:
    """A type no allow-list trusts."""

    def __init__(self) -> None:
        self.x = 1


@pytest.fixture(scope="module")
def seg(shared_rw):
    return run_segmentation(shared_rw, k=4, seed=11, question="segment my customers")


@pytest.fixture(scope="module")
def churn(shared_rw):
    return score_churn(shared_rw, top_n=5)


def test_a_segmentation_run_registers_its_model_as_champion(shared_rw, seg):
    rec = mr.champion(shared_rw, "segmentation")
    assert rec.model_id == seg.run.metrics["model_id"] and rec.run_id == seg.run.run_id
    assert rec.status == "champion" and rec.scope == "customers"
    assert rec.features == [c.name for c in seg.clustering.columns]
    assert rec.train_to == seg.run.as_of and rec.train_from < rec.train_to
    assert rec.metrics["k"] == 4 and sum(rec.metrics["sizes"].values()) == len(seg.members)
    stored = shared_rw.scalar("SELECT metrics->>'model_id' FROM assistant.runs WHERE run_id = ?",
                              [seg.run.run_id])
    assert stored == rec.model_id


def test_the_champion_reassigns_every_customer_as_the_run_did(shared_rw, seg):
    feats = compute_features(shared_rw, transacting_only=True, trends=False)
    out = mr.score_with_champion(shared_rw, "segmentation", feats)
    assert out.attrs["model_id"] == seg.run.metrics["model_id"]
    assert (out["segment_id"].to_numpy() == seg.members["segment_id"].to_numpy()).all()
    one = mr.assign_segments(mr.load_artifact(shared_rw, out.attrs["model_id"]),
                             feats.iloc[[7]])
    assert one.index.tolist() == [7]
    assert one["segment_id"].iloc[0] == seg.members["segment_id"].iloc[7]
    art = mr.load_artifact(shared_rw, out.attrs["model_id"])
    assert art["names"] == {str(c.segment_id): c.name for c in seg.cards}
    # missing values are imputed as in training, not an error
    gap = feats.iloc[[7]].copy()
    gap[art["features"][0]] = np.nan
    assert mr.assign_segments(art, gap)["segment_id"].between(1, 4).all()


def test_a_filtered_or_table_run_has_its_own_scope(shared_rw, seg):
    other = run_segmentation(shared_rw, k=3, country="DE", seed=1)
    rec = mr.get_model(shared_rw, other.run.metrics["model_id"])
    assert rec.scope == "customers where country=DE" and rec.status == "champion"
    assert mr.champion(shared_rw, "segmentation").model_id == seg.run.metrics["model_id"]


def test_churn_champion_scores_one_customer_like_the_population(shared_rw, churn):
    rec = mr.champion(shared_rw, "churn")
    assert rec.model_id == churn.run["metrics"]["model_id"]
    assert churn.run["params"]["model_id"] == rec.model_id
    assert rec.metrics["roc_auc"] == churn.run["metrics"]["roc_auc"]
    now = compute_features(shared_rw, active_only=True)
    saved = shared_rw.df("SELECT customer_id, score FROM assistant.scores WHERE run_id = ? "
                         "ORDER BY customer_id", [churn.run["run_id"]])
    art = mr.load_artifact(shared_rw, rec)
    every = mr.score_propensity(art, now)
    assert np.allclose(every["score"].to_numpy(), saved["score"].to_numpy())
    top = int(every["score"].to_numpy().argmax())
    alone = mr.score_propensity(art, now.iloc[[top]])
    assert alone["decile"].iloc[0] == 1 and alone["reasons"].iloc[0]
    # deciles place rows against the population scored at training: lower score, later decile
    ordered = every.sort_values(["score", "decile"], ascending=[True, False])
    assert ordered["decile"].is_monotonic_decreasing and ordered["decile"].iloc[0] >= 8


def test_a_retrained_model_is_a_challenger_judged_on_the_same_rows(shared_rw, churn):
    before = mr.champion(shared_rw, "churn")
    res = score_churn(shared_rw, top_n=5, retrain=True)
    challenge = res.run["metrics"]["challenge"]
    assert challenge["champion"] == before.model_id
    assert challenge["rows"] == before.metrics["test_rows"]
    # same data and seed: the same model, so it cannot beat the champion by the margin
    assert not challenge["promote"] and "did not beat" in challenge["reason"]
    assert mr.champion(shared_rw, "churn").model_id == before.model_id
    new = mr.get_model(shared_rw, challenge["challenger"])
    assert new.status == "challenger" and new.version == before.version + 1
    events = mr.history(shared_rw, "churn")
    assert "compared" in set(events.loc[events["model_id"] == new.model_id, "event"])


def test_a_person_approves_a_challenger_and_the_champion_retires(shared_rw, churn):
    challenger = mr.models(shared_rw, "churn", "customers", status="challenger")[0]
    old = mr.champion(shared_rw, "churn")
    with pytest.raises(InvalidArgument, match="who approves"):
        champions.approve(shared_rw, challenger.model_id, approver="")
    rec = champions.approve(shared_rw, challenger.model_id, approver="Jane Doe")
    assert rec.status == "champion" and rec.replaces == old.model_id
    assert rec.promoted_by == "Jane Doe"
    retired = mr.get_model(shared_rw, old.model_id)
    assert retired.status == "retired" and retired.replaced_by == rec.model_id
    events = mr.history(shared_rw, "churn")
    assert {"approved", "retired"} <= set(events["event"])
    with pytest.raises(InvalidArgument, match="only a challenger"):
        champions.approve(shared_rw, old.model_id, approver="Jane Doe")
    assert len(mr.models(shared_rw, "churn", "customers", status="champion")) == 1


@pytest.mark.parametrize(("champion", "challenger", "promote"), [
    ((0.90, 0.050, 0.30), (0.91, 0.050, 0.30), True),     # AUC up by the margin
    ((0.90, 0.050, 0.30), (0.903, 0.040, 0.35), False),   # AUC up too little
    ((0.90, 0.050, 0.30), (0.92, 0.060, 0.30), False),    # ranks better, calibrated worse
    ((0.90, 0.050, 0.30), (0.92, 0.050, 0.25), False),    # fewer churners in the top decile
    ((0.90, 0.050, 0.30), (0.905, 0.0515, 0.295), True),  # within the tolerances
])
def test_the_promotion_rule(champion, challenger, promote):
    def m(t):
        return {"roc_auc": t[0], "brier": t[1], "precision_top_decile": t[2]}

    assert champions.decide(m(champion), m(challenger))[0] is promote


def test_artifacts_are_checked_before_they_are_loaded(rw):
    rec = mr.register(rw, "clv", {"params": {"r": 0.24}}, features=["frequency"])
    path = mr.models_dir(rw) / rec.artifact_file
    mr._CACHE.clear()
    assert mr.load_artifact(rw, rec.model_id)["params"] == {"r": 0.24}
    data = path.read_bytes()
    mr._CACHE.clear()
    path.write_bytes(data[:-10] + b"0123456789")
    with pytest.raises(ModelArtifactError, match="does not match the hash"):
        mr.load_artifact(rw, rec.model_id)
    path.unlink()
    with pytest.raises(ModelArtifactError, match="missing"):
        mr.load_artifact(rw, rec.model_id)


def test_untrusted_types_are_refused(rw):
    rec = mr.register(rw, "clv", {"payload": Opaque()})
    mr._CACHE.clear()
    with pytest.raises(ModelArtifactError, match="not trusted"):
        mr.load_artifact(rw, rec)


def test_versions_statuses_and_a_failed_write_leaves_nothing(rw, monkeypatch):
    first = mr.register(rw, "clv", {"params": {}})
    second = mr.register(rw, "clv", {"params": {}})
    assert (first.status, first.version, second.status, second.version) == \
        ("champion", 1, "challenger", 2)
    promoted = mr.promote(rw, second.model_id, actor="test", reason="better")
    assert promoted.replaces == first.model_id
    assert mr.get_model(rw, first.model_id).replaced_by == second.model_id
    files = set(mr.models_dir(rw).iterdir())

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(mr, "_event", boom)
    with pytest.raises(RuntimeError):
        mr.register(rw, "clv", {"params": {}})
    assert set(mr.models_dir(rw).iterdir()) == files
    assert len(mr.models(rw, "clv")) == 2
    assert mr.champion(rw, "clv").model_id == second.model_id


def test_no_registry_no_champion(wh):
    assert mr.champion(wh, "segmentation") is None
    with pytest.raises(ModelNotFound, match="segment the customers first"):
        mr.score_with_champion(wh, "segmentation", compute_features(wh).head(3))
    with pytest.raises(InvalidArgument, match="unknown model kind"):
        mr.champion(wh, "forecast")


def test_feature_rows_must_have_the_model_columns(shared_rw, seg):
    art = mr.load_artifact(shared_rw, seg.run.metrics["model_id"])
    feats = compute_features(shared_rw, transacting_only=True, trends=False).head(3)
    with pytest.raises(InvalidArgument, match="lack the columns"):
        mr.assign_segments(art, feats.drop(columns=[art["features"][0]]))
