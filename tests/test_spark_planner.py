"""Every answer of the offline planner's reference set is the same on Spark as on DuckDB.

Each conversation of tests/fixtures/planner_cases.toml (every phrasing of every case, and every
follow-up) runs twice through the planner: on the DuckDB warehouse and on its Parquet copy on
the Spark engine. The answers must be the same text, from the same tool calls, with result
tables equal row by row (values, types, row counts). Statements the planner repeats across
phrasings run once per engine (a cache keyed by the tool call), so Spark runs each distinct
query once.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest
from test_planner import FOLLOW_UPS, SQL_CASES, Bound

from assistant.planner import OfflinePlanner
from tools import sql as sql_tool
from tools.metrics import query_metrics
from tools.registry import TOOL_NAMES

CONVERSATIONS = [[q] for q, _, _ in SQL_CASES] + [c["questions"] for c in FOLLOW_UPS]


class Cached:
    """A tool (run_sql, query_metrics) with one result per distinct call."""

    def __init__(self, tool) -> None:
        self.tool = tool
        self.results: dict[str, object] = {}

    def __call__(self, ctx, *args, **kwargs):
        key = json.dumps([args, kwargs], sort_keys=True, default=str)
        if key not in self.results:
            self.results[key] = self.tool(ctx, *args, **kwargs)
        return self.results[key]


@pytest.fixture(scope="module")
def engines(wh_module, spark_wh):
    bound = [Bound(n) for n in TOOL_NAMES]
    return {name: (OfflinePlanner.for_warehouse(handle).bind_tools(bound), handle,
                   {"run_sql": Cached(sql_tool.run_sql), "query_metrics": Cached(query_metrics)})
            for name, handle in (("duckdb", wh_module), ("spark", spark_wh))}


@pytest.fixture(scope="module")
def wh_module(warehouse_path):
    from warehouse.connection import Warehouse

    with Warehouse.open(warehouse_path, read_only=True) as handle:
        yield handle


def _answer(engine, questions, monkeypatch):
    import test_planner

    planner, handle, cached = engine
    for name, tool in cached.items():
        monkeypatch.setattr(test_planner, name, tool)
    return test_planner.converse(planner, handle, questions)


def _tables(results) -> list[pd.DataFrame]:
    return [t.df for r in results for t in r.tables]


def test_the_planner_sees_the_same_warehouse_on_both_engines(engines):
    duck, spark = engines["duckdb"][0], engines["spark"][0]
    # (coverage holds each engine's handle; what it answers is compared by the questions)
    assert replace(duck.vocab, coverage=None) == replace(spark.vocab, coverage=None)


@pytest.mark.parametrize("questions", CONVERSATIONS, ids=[" / ".join(q)[:70]
                                                          for q in CONVERSATIONS])
def test_every_reference_answer_is_the_same_on_spark(engines, questions, monkeypatch):
    text_duck, results_duck = _answer(engines["duckdb"], questions, monkeypatch)
    text_spark, results_spark = _answer(engines["spark"], questions, monkeypatch)
    assert text_spark == text_duck
    assert [r.sql for r in results_spark] == [r.sql for r in results_duck]
    assert [r.summary for r in results_spark] == [r.summary for r in results_duck]
    for d, s in zip(_tables(results_duck), _tables(results_spark), strict=True):
        assert list(s.columns) == list(d.columns)
        assert [str(t) for t in s.dtypes] == [str(t) for t in d.dtypes]
        pd.testing.assert_frame_equal(s, d, check_exact=False, rtol=1e-12)
