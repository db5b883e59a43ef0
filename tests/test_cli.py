"""The command line, as a newcomer uses it: init, sql, schema, import, serve, errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant import cli
from warehouse.connection import Warehouse

runner = CliRunner()
FIXTURES = Path(__file__).parent / "fixtures" / "import"


def invoke(*args, env=None):
    return runner.invoke(cli.app, [str(a) for a in args], env=env)


def test_help_names_every_command():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("init", "import", "sql", "schema", "serve"):
        assert command in result.output


def test_init_builds_a_warehouse_with_the_given_size_and_seed(tmp_path):
    path = tmp_path / "w.duckdb"
    result = invoke("init", "--path", path, "--customers", 120, "--seed", 5)
    assert result.exit_code == 0, result.output
    assert "120 customers" in result.output
    with Warehouse.open(path, read_only=True) as wh:
        assert wh.scalar("SELECT count(*) FROM customers") == 120


def test_init_reads_the_warehouse_path_from_the_environment(tmp_path):
    path = tmp_path / "env.duckdb"
    result = invoke("init", "-n", 30, env={"ASSISTANT_WAREHOUSE": str(path)})
    assert result.exit_code == 0, result.output
    assert path.exists()


def test_init_refuses_to_overwrite_without_force(warehouse_path):
    result = invoke("init", "--path", warehouse_path, "-n", 10)
    assert result.exit_code == 1
    assert "--force" in result.output


def test_sql_prints_a_table(warehouse_path):
    result = invoke("sql", "SELECT country, count(*) AS n FROM customers GROUP BY ALL "
                    "ORDER BY n DESC", "--path", warehouse_path)
    assert result.exit_code == 0, result.output
    assert "country" in result.output and "DE" in result.output


def test_sql_json_is_machine_readable(warehouse_path):
    result = invoke("sql", "SELECT count(*) AS n, sum(amount) AS total FROM transactions",
                    "--json", "--path", warehouse_path)
    payload = json.loads(result.stdout)
    assert payload["columns"] == ["n", "total"]
    assert payload["rows"][0][0] > 0


def test_sql_stops_at_the_limit(warehouse_path):
    result = invoke("sql", "SELECT customer_id FROM customers", "--limit", 5, "--json",
                    "--path", warehouse_path)
    payload = json.loads(result.stdout)
    assert len(payload["rows"]) == 5 and payload["truncated"]


@pytest.mark.parametrize(("query", "message"), [
    ("DELETE FROM customers", "read-only"),
    ("DROP TABLE customers", "read-only"),
    ("SELECT * FROM read_csv('/etc/passwd')", "not allowed"),
    ("COPY customers TO '/tmp/leak.csv'", "not allowed"),
    ("SELECT * FROM assistant.audit_log", "unknown table"),
    ("SELECT nope FROM customers", "nope"),
    ("SELEKT 1", "could not be parsed"),
])
def test_sql_refuses_changes_and_reports_errors(writable_warehouse, query, message):
    before = writable_warehouse.read_bytes()
    result = invoke("sql", query, "--path", writable_warehouse)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert writable_warehouse.read_bytes() == before


def test_missing_warehouse_says_what_to_do(tmp_path):
    result = invoke("sql", "SELECT 1", "--path", tmp_path / "none.duckdb")
    assert result.exit_code == 1
    assert "assistant init" in result.output


def test_schema_lists_tables_and_definitions(warehouse_path):
    result = invoke("schema", "--path", warehouse_path)
    assert result.exit_code == 0, result.output
    for text in ("customers", "transactions", "consents", "active", "reachable",
                 "Reference date"):
        assert text in result.output


def test_schema_ddl():
    result = invoke("schema", "--ddl")
    assert "CREATE TABLE IF NOT EXISTS customers" in result.output


def test_import_through_the_cli(tmp_path):
    path = tmp_path / "mine.duckdb"
    result = invoke("import", FIXTURES / "customers.csv", "--path", path, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["rows_loaded"] > 0
    with Warehouse.open(path, read_only=True) as wh:
        assert wh.scalar("SELECT count(*) FROM customers") == report["rows_loaded"]


def test_import_failure_names_the_problem_and_changes_nothing(writable_warehouse):
    before = writable_warehouse.read_bytes()
    # --remove-demo deletes the demo rows inside the import's transaction: the failure later in
    # the same transaction brings them back
    result = invoke("import", FIXTURES / "customers_bad_date.csv", "--path", writable_warehouse,
                    "--remove-demo")
    assert result.exit_code == 1
    assert "customers_bad_date.csv" in result.output and "birth_date" in result.output
    with Warehouse.open(writable_warehouse, read_only=True) as wh:
        assert wh.scalar("SELECT count(*) FROM customers") == 3000
    assert writable_warehouse.stat().st_size == len(before)


def test_serve_builds_the_warehouse_on_first_run(tmp_path, monkeypatch):
    served = {}
    import assistant.app

    monkeypatch.setattr(assistant.app, "serve", lambda settings: served.update(s=settings))
    path = tmp_path / "first.duckdb"
    result = invoke("serve", "--path", path, "--port", 7999,
                    env={"ASSISTANT_CUSTOMERS": "80"})
    assert result.exit_code == 0, result.output
    assert path.exists()
    assert served["s"].port == 7999 and served["s"].host == "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_really_answers_on_localhost(writable_warehouse, tmp_path):
    """The README's run command, end to end: the page comes up on 127.0.0.1."""
    port = _free_port()
    env = {**os.environ, "ASSISTANT_WAREHOUSE": str(writable_warehouse),
           "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            cwd=tmp_path)
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:
                    body = resp.read().decode()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    proc.kill()      # a server that is up but slow must not hang the test
                    raise AssertionError(proc.communicate()[0].decode()[-3000:]) from None
                time.sleep(0.5)
        assert "Fintech marketing assistant" in body
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.injects_bug
def test_an_unexpected_failure_is_one_line_and_a_report_file(monkeypatch, tmp_path):
    import tempfile

    import warehouse.user_tables

    def boom(*args, **kwargs):
        raise OverflowError("date value out of range")

    monkeypatch.setattr(warehouse.user_tables, "_read", boom)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))    # the report file goes there
    (tmp_path / "t.csv").write_text("a,b\n1,2\n")
    result = invoke("init", "--empty", "--path", tmp_path / "w.duckdb")
    assert result.exit_code == 0, result.output
    result = invoke("import", tmp_path / "t.csv", "--as", "t", "--path", tmp_path / "w.duckdb")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "did not expect (OverflowError)" in result.output
    report = result.output.split("report are in ")[1].split()[0]
    assert "date value out of range" in Path(report).read_text()
    assert Path(report).parent == tmp_path
