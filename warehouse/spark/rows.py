"""The rows of a query kept inside Spark: counted, sampled to the driver, mapped where they are.

Segmentation and scoring on Spark never bring every customer's features to the driver:

    rows = wh.rows_of(feature_sql, key="customer_id")   # computed once, cached in Spark
    rows.count()                                        # how many
    wh.rows_of(sql, key=..., where="n > 0").left_out()  # how many did not pass `where`
    rows.take(positions)                                # the rows at these positions (in key
                                                        # order) as pandas: the fitting sample
    rows.map(fn, {"segment_id": "int"})                 # fn(pandas batch) -> pandas, run on
                                                        # the executors (mapInPandas); the
                                                        # narrow result comes back, key order
    rows.close()

`fn` is a pure function of a batch (tools/model_registry.py's assign_segments and
score_propensity are): it is pickled to the executors with the fitted model it closes over.
Positions are those of the rows in key order, the order DuckDB's feature query returns them in,
so a sample drawn by position picks the same customers on both engines.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

_SPARK_TYPES = {"int": "bigint", "float": "double", "str": "string", "bool": "boolean"}


class SparkRows:
    """A query's rows cached in Spark (see the module docstring)."""

    def __init__(self, wh, sql: str, *, key: str, where: str | None = None) -> None:
        from pyspark import StorageLevel

        self.wh = wh
        self.key = key
        self.sql = sql
        frame = wh.frame(sql, ctes_once=True)
        # spread over every core: a plan that ends in broadcast joins keeps the partitions of
        # its first table (one file: one partition), and every map over the rows would then
        # run as one task on one core
        cores = wh.spark.sparkContext.defaultParallelism
        if frame.rdd.getNumPartitions() < cores:
            frame = frame.repartition(cores, key)
        self._kept = frame.persist(StorageLevel.MEMORY_AND_DISK)
        self.frame = self._kept if where is None else self._kept.where(where)
        self._n: int | None = None
        self._keys: np.ndarray | None = None

    def left_out(self) -> int:
        """How many rows of the query did not pass `where` (0 without one)."""
        if self.frame is self._kept:
            return 0
        with self.wh._job(None):
            return int(self._kept.count()) - self.count()

    @property
    def columns(self) -> list[str]:
        return list(self.frame.columns)

    def count(self) -> int:
        if self._n is None:
            with self.wh._job(None):
                self._n = int(self.frame.count())
        return self._n

    def first(self, column: str):
        with self.wh._job(None):
            row = self.frame.select(column).limit(1).collect()
        return row[0][0] if row else None

    def keys(self) -> np.ndarray:
        """Every key, in order (8 bytes a row on the driver)."""
        if self._keys is None:
            with self.wh._job(None):
                table = self.frame.select(self.key).toArrow()
            self._keys = np.sort(table.column(0).to_numpy())
        return self._keys

    def take(self, positions: np.ndarray, columns: list[str] | None = None) -> pd.DataFrame:
        """The rows at `positions` (of the key order), as pandas in key order."""
        wanted = self.keys()[np.asarray(positions, dtype=np.int64)]
        frame = self.frame if columns is None else self.frame.select(*columns)
        with self.wh._job(None):
            out = self._only(frame, wanted).toPandas()
        return out.sort_values(self.key, kind="stable").reset_index(drop=True)[
            columns or self.columns]

    def to_pandas(self) -> pd.DataFrame:
        with self.wh._job(None):
            out = self.frame.toPandas()
        return out.sort_values(self.key, kind="stable").reset_index(drop=True)

    def _only(self, frame, keys: np.ndarray):
        from pyspark.sql import functions as F

        chosen = self.wh.spark.createDataFrame(pd.DataFrame({self.key: np.asarray(keys)}))
        return frame.join(F.broadcast(chosen), on=self.key, how="inner")

    def map(self, fn: Callable[[pd.DataFrame], pd.DataFrame], output: dict[str, str], *,
            columns: list[str] | None = None, keys: np.ndarray | None = None) -> pd.DataFrame:
        """`fn` applied to every batch of rows (or of the rows with these `keys`) on the
        executors; its output (the key and the columns of `output`, name -> int/float/str/bool)
        back on the driver, in key order."""
        key = self.key
        schema = ", ".join([f"`{key}` bigint"] + [f"`{c}` {_SPARK_TYPES[t]}"
                                                  for c, t in output.items()])
        names = list(output)

        def batches(iterator):
            for batch in iterator:
                result = fn(batch.reset_index(drop=True))
                frame = pd.DataFrame({key: batch[key].to_numpy()})
                for name in names:
                    frame[name] = result[name].to_numpy()
                yield frame

        frame = self.frame if keys is None else self._only(self.frame, keys)
        if columns is not None:
            frame = frame.select(key, *[c for c in columns if c != key])
        with self.wh._job(None):
            out = frame.mapInPandas(batches, schema=schema).toPandas()
        return out.sort_values(key, kind="stable").reset_index(drop=True)

    def close(self) -> None:
        self._kept.unpersist()
