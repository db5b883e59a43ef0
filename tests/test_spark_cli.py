"""The README's Spark steps as a new user runs them: export the demo warehouse as Parquet, then
ask on Spark (ASSISTANT_ENGINE=spark, its own state file) and get DuckDB's answer. The CLI runs
in this process, so it uses the test run's one Spark session instead of starting a JVM."""

from __future__ import annotations

import json

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
