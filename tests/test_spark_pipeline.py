"""The same features, segments, scores and audiences on Spark as on DuckDB, row by row.

Both engines read the same data: the small test warehouse and its Parquet copy written by
`assistant export --format parquet`. On Spark the features stay in Spark (tools/at_scale.py):
clustering fits on a sample brought to the driver, every customer is assigned and scored on the
executors, audiences are written by Spark."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tools import at_scale, clustering
from tools.audience import export_audience
from tools.churn import score_churn
from tools.describe import describe_warehouse
from tools.features import compute_features
from tools.result import ToolContext
from tools.segments import run_segmentation


def _same_frames(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for col in a.columns:
        x, y = a[col].reset_index(drop=True), b[col].reset_index(drop=True)
        if pd.api.types.is_float_dtype(x):
            assert np.allclose(x.to_numpy(), y.to_numpy(dtype=float), rtol=1e-9, atol=1e-12,
                               equal_nan=True), col
        else:
            assert x.astype(str).tolist() == y.astype(str).tolist(), col


def test_the_feature_query_gives_the_same_rows_on_both_engines(wh, spark_wh):
    duck = compute_features(wh)
    spark = compute_features(spark_wh)
    assert len(duck) == 3_000
    _same_frames(duck, spark)
    kept = at_scale.features(spark_wh, transacting_only=True, trends=False)
    try:
        reference = compute_features(wh, transacting_only=True, trends=False)
        assert kept.n == len(reference)
        assert kept.left_out == reference.attrs["without_transactions"] > 0
        _same_frames(reference, kept.frame())
    finally:
        kept.close()


@pytest.fixture(scope="module")
def both_segmentations(shared_rw, spark_rw):
    kwargs = {"k": 6, "seed": 3, "question": "segment my customers"}
    return run_segmentation(shared_rw, **kwargs), run_segmentation(spark_rw, **kwargs)


def _card(card) -> dict:
    """A card without its run's id (each engine's run has its own)."""
    return {k: v.replace(card.run_id, "RUN") if isinstance(v, str) else v
            for k, v in card.to_dict().items() if k != "run_id"}


def test_a_segmentation_is_the_same_on_both_engines(both_segmentations):
    duck, spark = both_segmentations
    _same_frames(duck.members, spark.members)
    assert [_card(c) for c in duck.cards] == [_card(c) for c in spark.cards]
    assert duck.run.metrics["k"] == spark.run.metrics["k"] == 6
    assert duck.excluded == spark.excluded


def test_every_customer_is_assigned_on_the_executors_as_on_the_driver(shared_rw, spark_rw,
                                                                      monkeypatch):
    """With a fitting sample smaller than the population, DuckDB assigns the rest block by
    block in Python and Spark on its executors (mapInPandas): the same labels."""
    monkeypatch.setattr(clustering, "FIT_SAMPLE", 700)
    monkeypatch.setattr(clustering, "K_SEARCH_SAMPLE", 600)
    monkeypatch.setattr(at_scale, "CARD_SAMPLE", 800)
    kwargs = {"k": None, "seed": 5, "save": False}
    duck = run_segmentation(shared_rw, **kwargs)
    spark = run_segmentation(spark_rw, **kwargs)
    assert spark.clustering.fit_rows == 700 < len(spark.members)
    _same_frames(duck.members, spark.members)
    assert duck.run.metrics["k"] == spark.run.metrics["k"]
    # the cards' sizes, shares and reach count everyone; their traits come from the sample
    assert [(c.segment_id, c.size, c.share, c.reach) for c in duck.cards] == \
        [(c.segment_id, c.size, c.share, c.reach) for c in spark.cards]


def test_churn_scores_are_the_same_on_both_engines(shared_rw, spark_rw):
    duck = score_churn(shared_rw, top_n=10, seed=2)
    spark = score_churn(spark_rw, top_n=10, seed=2)
    for key in ("roc_auc", "scored", "top_decile_threshold", "model"):
        assert duck.run["metrics"][key] == spark.run["metrics"][key], key
    _same_frames(duck.at_risk, spark.at_risk)
    query = ("SELECT customer_id, score, decile, reasons FROM assistant.scores "
             "WHERE run_id = ? ORDER BY customer_id")
    _same_frames(shared_rw.df(query, [duck.run["run_id"]]),
                 spark_rw.df(query, [spark.run["run_id"]]))


def test_churn_risk_by_segment_is_the_same_on_both_engines(shared_rw, spark_rw,
                                                         both_segmentations):
    from assistant.settings import Settings
    from tools.churn import predict_churn

    duck, spark = (predict_churn(ToolContext(wh=w, settings=Settings()), by_segment=True,
                                 top_n=5) for w in (shared_rw, spark_rw))
    _same_frames(duck.tables[0].df, spark.tables[0].df)
    runs = [(r.data["run_id"], s.run.run_id) for r, s in zip((duck, spark), both_segmentations,
                                                             strict=True)]
    said = [r.summary.split("\n\n")[0].replace(a, "RUN").replace(b, "SEG")
            for r, (a, b) in zip((duck, spark), runs, strict=True)]
    assert said[0] == said[1] and said[0].startswith("Churn risk by segment")


@pytest.mark.parametrize("channel", ["email", "sms"])
def test_audiences_written_by_spark_hold_the_same_customers(shared_rw, spark_rw,
                                                            both_segmentations, tmp_path,
                                                            channel):
    duck_run, spark_run = (s.run.run_id for s in both_segmentations)
    duck = export_audience(shared_rw, channel, segment_id=2, run_id=duck_run,
                           output_dir=tmp_path / "duck")
    spark = export_audience(spark_rw, channel, segment_id=2, run_id=spark_run,
                            output_dir=tmp_path / "spark")
    assert (duck.counts.selected, duck.counts.eligible, duck.counts.excluded) == \
        (spark.counts.selected, spark.counts.eligible, spark.counts.excluded)
    written = pd.read_csv(spark.path, dtype=str, keep_default_na=False)
    expected = pd.read_csv(duck.path, dtype=str, keep_default_na=False)
    expected["run_id"] = spark_run
    _same_frames(expected, written)


def test_the_catalog_keeps_the_comments_the_model_reads(spark_wh, wh):
    from assistant.settings import Settings

    spark = describe_warehouse(ToolContext(wh=spark_wh, settings=Settings()))
    duck = describe_warehouse(ToolContext(wh=wh, settings=Settings()))
    assert spark.summary == duck.summary
    table = describe_warehouse(ToolContext(wh=spark_wh, settings=Settings()), "customer_status")
    assert "is_active BOOLEAN: Active: at least one transaction" in table.summary


def test_lifetime_value_is_the_same_on_both_engines(shared_rw, spark_rw):
    from tools.clv import fit_clv

    duck = fit_clv(shared_rw, horizon_months=6, reuse=False)
    spark = fit_clv(spark_rw, horizon_months=6, reuse=False)
    assert duck.run["metrics"]["bgnbd"] == spark.run["metrics"]["bgnbd"]
    _same_frames(duck.scores.reset_index(drop=True), spark.scores.reset_index(drop=True))
    _same_frames(duck.top, spark.top)


def test_tables_can_come_from_the_spark_catalog(spark_wh):
    """Without a folder the tables are those of the Spark catalog, with the contract's
    comments where the catalog has none; the handle's own temporary views are not listed."""
    from warehouse.spark.tables import register_catalog

    infos = {t.name: t for t in register_catalog(spark_wh.spark)}
    assert {"customers", "transactions", "customer_status"} <= set(infos)
    assert not any(name.startswith("__") for name in infos)
    assert infos["customers"].comment.startswith("One row per customer")
    amount = next(c for c in infos["transactions"].columns if c.name == "amount")
    assert amount.type == "DECIMAL(18,2)" and amount.comment
