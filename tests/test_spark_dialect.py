"""DuckDB SQL means the same on Spark: every case of tests/fixtures/spark_dialect.toml runs on
both engines over the same data (the small warehouse and its Parquet copy) and gives the same
columns, types and rows, or is refused with a reason. The traps are listed in
warehouse/spark/dialect.py."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pytest

from warehouse.errors import SqlRefused

CASES = tomllib.loads((Path(__file__).parent / "fixtures" / "spark_dialect.toml").read_text())


def _same_value(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b or \
            abs(a - b) <= 1e-9 * max(abs(a), abs(b))
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b, strict=True))
    return a == b and type(a) is type(b)


def assert_same_result(duck, spark) -> None:
    """Same column names and types, same rows in the same order."""
    assert [d[0] for d in spark.description] == [d[0] for d in duck.description]
    assert [str(d[1]) for d in spark.description] == [str(d[1]) for d in duck.description]
    expected, got = duck.fetchall(), spark.fetchall()
    assert len(got) == len(expected)
    for row_e, row_g in zip(expected, got, strict=True):
        assert all(_same_value(e, g) for e, g in zip(row_e, row_g, strict=True)), (row_e, row_g)


@pytest.mark.parametrize("case", CASES["same"], ids=lambda c: c["sql"][:70])
def test_duckdb_sql_gives_the_same_result_on_spark(case, wh, spark_wh):
    assert_same_result(wh.execute(case["sql"]), spark_wh.execute(case["sql"]))


@pytest.mark.parametrize("case", CASES["refused"], ids=lambda c: c["sql"][:70])
def test_sql_without_a_faithful_spark_rendering_is_refused(case, spark_wh):
    with pytest.raises(SqlRefused) as refused:
        spark_wh.execute(case["sql"])
    assert case["reason"] in str(refused.value)
