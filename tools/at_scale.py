"""Segmentation and scoring with the customer features kept in the engine (Spark).

On DuckDB the features of every customer come to Python in one frame: at a million customers
that is fast and fits in memory. On Spark, where a bank may have tens of millions, they stay in
the cluster (`wh.rows_of`, warehouse/spark/rows.py):

- segmentation fits on a seeded sample brought to the driver: the rows clustering reads
  (`clustering.sample_positions`, by position in customer order, so the same customers as on
  DuckDB) plus up to CARD_SAMPLE more for the segment cards' traits; every customer is then
  assigned on the executors with the fitted model. Sizes, shares, consented reach, countries
  and languages are exact (from every customer's label); traits, products and status shares are
  computed on the sample, which is every customer up to CARD_SAMPLE;
- churn scoring scores every active customer on the executors (predicted probability), ranks
  them into deciles on the driver from the scores alone (8 bytes a customer), and explains the
  top deciles on the executors;
- what comes back to the driver is the key and one or two numbers a customer, which the
  assistant's run tables (DuckDB) store.

The results are the ones the DuckDB path gives on the same data (tests/test_spark_pipeline.py
compares them row by row); above CARD_SAMPLE customers the card traits are estimates from the
sample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
import pandas as pd

from tools.features import (
    LEFT_OUT,
    LOOKBACK_DAYS,
    Filters,
    check_filters,
    feature_sql,
    reference_ts,
)
from warehouse.errors import EmptyResult
from warehouse.lazy import lazy

propensity = lazy("tools.propensity")     # scikit-learn: on first use
_clustering = lazy("tools.clustering")

CARD_SAMPLE = 200_000
KEY = "customer_id"


def in_engine(wh) -> bool:
    """True when the features should stay in the engine (it can keep and map rows)."""
    return getattr(wh, "engine", "duckdb") == "spark" and hasattr(wh, "rows_of")


@dataclass
class EngineFeatures:
    """The feature rows of the selected customers, kept in the engine."""

    rows: object                # the engine's rows handle (count, take, map, close)
    n: int
    sql: str
    as_of: datetime
    filters: Filters
    left_out: int = 0

    def frame(self, positions: np.ndarray | None = None) -> pd.DataFrame:
        """The rows at `positions` (all rows when None) as a frame with the attrs
        compute_features gives (sql, as_of, filters, without_transactions)."""
        df = self.rows.to_pandas() if positions is None else self.rows.take(positions)
        if LEFT_OUT in df.columns:
            df = df.drop(columns=LEFT_OUT)
        df.attrs.update(sql=self.sql, as_of=self.as_of, filters=self.filters)
        df.attrs[LEFT_OUT] = self.left_out
        return df

    def keys(self) -> np.ndarray:
        return self.rows.keys()

    def close(self) -> None:
        self.rows.close()


def features(wh, as_of: datetime | None = None, *, active_only: bool = False,
             country: str | None = None, product: str | None = None,
             transacting_only: bool = False, include_protected: bool = False,
             lookback_days: int = LOOKBACK_DAYS, trends: bool = True) -> EngineFeatures:
    """tools.features.compute_features, with the rows left in the engine."""
    ref = reference_ts(wh)
    as_of = as_of or ref
    country, product = check_filters(wh, country=country, product=product)
    filters = Filters(active_only=active_only, country=country, product=product,
                      transacting_only=transacting_only)
    options = dict(current=as_of >= ref, include_protected=include_protected,
                   lookback_days=lookback_days, trends=trends)
    sql = feature_sql(as_of, filters=filters, **options)
    # The customers without transactions are counted on the kept rows, not by the statement's
    # window over all of them (DuckDB's way): on Spark a window without PARTITION BY moves
    # every row to one task, and the kept rows would be one partition that every later map
    # (assignment, scoring) runs through on a single core. The same rows; the receipt keeps
    # the statement DuckDB runs.
    rows = wh.rows_of(feature_sql(as_of, filters=replace(filters, transacting_only=False),
                                  **options),
                      key=KEY, where="n_transactions > 0" if transacting_only else None)
    n = rows.count()
    if n == 0:
        rows.close()
        raise EmptyResult(f"no customers match the filter ({filters.describe()}); widen it")
    return EngineFeatures(rows, n, sql, as_of, filters, rows.left_out())


def segmentation_sample(ef: EngineFeatures, k: int | None, seed: int) -> np.ndarray:
    """The positions brought to the driver: what clustering reads, and the cards' sample."""
    return np.union1d(_clustering.sample_positions(ef.n, k, seed),
                      _clustering._sample(ef.n, CARD_SAMPLE, np.random.default_rng(seed)))


def label_all(ef: EngineFeatures, columns: list[str]
              ) -> Callable[[Callable[[np.ndarray], np.ndarray]], np.ndarray]:
    """`label_all(predict)` for tools.clustering.cluster: raw labels of every row, computed on
    the executors from the raw values of `columns`, in customer order."""
    def run(predict: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        def batch_labels(batch: pd.DataFrame) -> pd.DataFrame:
            block = np.empty((len(batch), len(columns)), dtype=np.float64)
            for j, name in enumerate(columns):
                block[:, j] = batch[name].to_numpy(dtype=np.float64, na_value=np.nan)
            return pd.DataFrame({"label": predict(block)})

        out = ef.rows.map(batch_labels, {"label": "int"}, columns=[KEY, *columns])
        return out["label"].to_numpy()

    return run


def score(ef: EngineFeatures, report: propensity.ModelReport, *, reasons: int = 3
          ) -> pd.DataFrame:
    """propensity.score of every row, computed on the executors: customer_id, score, decile
    (1 = the highest 10% of the rows scored) and reasons for the top deciles."""
    from tools import propensity as model  # the real module: closures go to the executors

    names = [f.name for f in report.features]

    def predicted(batch: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"p": model.predict(report, batch)})

    p = ef.rows.map(predicted, {"p": "float"}, columns=[KEY, *names])
    probability = p["p"].to_numpy()
    ranks = pd.Series(probability).rank(method="first", ascending=False).to_numpy()
    out = pd.DataFrame({KEY: p[KEY].to_numpy(), "score": probability.round(4),
                        "decile": np.minimum(np.ceil(ranks / len(probability) * 10)
                                             .astype(int), 10)})
    out["reasons"] = ""
    explain = out.loc[out["decile"] <= propensity.REASON_DECILES, KEY].to_numpy()
    if reasons > 0 and len(explain):
        def explained(batch: pd.DataFrame) -> pd.DataFrame:
            scored = model.score(report, batch, reasons=reasons, explain_deciles=10)
            return pd.DataFrame({"reasons": scored["reasons"].to_numpy()})

        why = ef.rows.map(explained, {"reasons": "str"}, columns=[KEY, *names], keys=explain)
        out = out.set_index(KEY)
        out.loc[why[KEY].to_numpy(), "reasons"] = why["reasons"].to_numpy()
        out = out.reset_index()
    return out
