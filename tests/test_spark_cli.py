"""The README's Spark steps as a new user runs them: export the demo warehouse as Parquet, then
ask on Spark (ASSISTANT_ENGINE=spark, its own state file) and get DuckDB's answer. The CLI runs
in this process, so it uses the test run's one Spark session instead of starting a JVM. And
what the page says about real-time events on Spark: the live panel and POST /v1/events agree."""

from __future__ import annotations

import json

from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from assistant.cli import app

runner = CliRunner()


def test_export_then_ask_on_spark_gives_the_duckdb_answer(writable_warehouse, tmp_path,
                                                         spark_session, monkeypatch):
    lake = tmp_path / "lake"
    exported = runner.invoke(app, ["export", "--format", "parquet", str(lake), "--path",
                                   str(writable_warehouse)])
    assert exported.exit_code == 0, exported.output
    assert "Exported 7 tables" in exported.output and (lake / "_catalog.json").exists()
    assert (lake / "transactions" / "data.parquet").exists()

    question = ["ask", "How many active customers in Germany hold a credit card?", "--json"]
    duck = runner.invoke(app, [*question, "--path", str(writable_warehouse)])
    assert duck.exit_code == 0, duck.output
    monkeypatch.setenv("ASSISTANT_ENGINE", "spark")
    monkeypatch.setenv("ASSISTANT_SPARK_TABLES", str(lake))
    monkeypatch.setenv("ASSISTANT_SPARK_STATE", str(tmp_path / "state.duckdb"))
    spark = runner.invoke(app, question)
    assert spark.exit_code == 0, spark.output
    d, s = json.loads(duck.stdout), json.loads(spark.stdout)
    assert s["answer"] == d["answer"] and s["tables"] == d["tables"] and s["error"] is None
    assert d["answer"] and d["tables"]
    assert (tmp_path / "state.duckdb").exists()            # the audit log went to the state


def test_export_refuses_what_it_cannot_write(writable_warehouse, tmp_path):
    target = tmp_path / "a-file"
    target.write_text("not a folder")
    done = runner.invoke(app, ["export", str(target), "--path", str(writable_warehouse)])
    assert done.exit_code == 1 and "is a file" in done.output
    done = runner.invoke(app, ["export", str(tmp_path / "x"), "--format", "csv", "--path",
                               str(writable_warehouse)])
    assert done.exit_code == 1 and "--format must be one of parquet" in done.output


# -- real time on Spark: the panel and the endpoint agree ------------------------------------------
def test_on_spark_the_live_panel_and_the_events_endpoint_say_the_same(spark_wh):
    from assistant.app import _no_events_on
    from assistant.ui import live

    app = FastAPI()
    _no_events_on(app, spark_wh.engine)
    answer = TestClient(app).post("/v1/events", json={"event": "Transaction"})
    panel = live.markdown(spark_wh, ingest_on=True)
    assert answer.status_code == 501 and answer.json()["error"] == panel
    assert "Post some" not in panel and "answers 501" in panel
    assert "Questions, segments, churn" in panel and "ASSISTANT_ENGINE=duckdb" in panel
    assert not live.live(spark_wh)


def test_on_duckdb_an_empty_panel_says_how_events_arrive(wh):
    from assistant.ui import live

    assert live.live(wh)
    off = live.markdown(wh, ingest_on=False)
    assert "is off" in off and "ASSISTANT_INGEST_TOKEN" in off and "assistant events ingest" in off
    assert "Post some to `/v1/events`" in live.markdown(wh, ingest_on=True)
