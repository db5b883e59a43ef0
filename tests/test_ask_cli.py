"""`assistant ask`: the --json contract, readable output, sessions across invocations, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from fakes import ScriptedChatModel, call
from typer.testing import CliRunner

from assistant import cli
from assistant.llm import use_model

runner = CliRunner()
KEYS = ["question", "mode", "answer", "tool_calls", "sql", "tables", "error"]


def ask(*args, env=None):
    return runner.invoke(cli.app, ["ask", *[str(a) for a in args]], env=env)


def test_json_is_one_object_with_the_contract_keys(writable_warehouse):
    result = ask("How many customers do we have by country?", "--json",
                 "--path", writable_warehouse)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)                 # exactly one JSON document
    assert list(payload) == KEYS
    assert payload["mode"] == "offline" and payload["error"] is None
    assert payload["answer"].startswith("Customers by country: DE: 751")
    assert [c["name"] for c in payload["tool_calls"]] == ["query_metrics"]
    assert payload["tool_calls"][0]["args"]["query"] == {"metrics": ["customers"],
                                                         "dimensions": ["customers.country"]}
    assert len(payload["sql"]) == 1 and "GROUP BY" in payload["sql"][0]
    table = payload["tables"][0]
    assert table["columns"] == ["country", "customers"]
    assert len(table["rows"]) == 8 and sum(r[1] for r in table["rows"]) == 3000
    assert "Metrics" in result.stderr or "query_metrics" in result.stderr   # progress: stderr


def test_json_tables_hold_every_row_with_json_safe_values(writable_warehouse):
    fake = ScriptedChatModel(replies=[
        call("run_sql", sql="SELECT a.account_id, a.opened_at, a.balance, c.email, "
                            "t.last_transaction_at FROM accounts a JOIN customers c USING "
                            "(customer_id) JOIN customer_status t USING (customer_id)"),
        "Here they are."])
    with use_model(fake):
        result = ask("List all accounts", "--json", "--path", writable_warehouse)
    payload = json.loads(result.stdout)
    rows = payload["tables"][0]["rows"]
    assert len(rows) == 6277                              # the full table, not the summary
    first = rows[0]
    assert isinstance(first[1], str) and len(first[1]) == 10         # DATE -> ISO text
    assert isinstance(first[2], float)                                # DECIMAL -> number
    assert "@" in first[3]                                            # the person sees it
    assert payload["mode"] == "scripted-fake"
    seen = "\n".join(fake.texts())
    assert first[3] not in seen                                       # the model does not


def test_plain_output_prints_the_answer_and_the_table(writable_warehouse):
    result = ask("What share of customers are active?", "--path", writable_warehouse, "--sql")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("82.3% of customers are active: 2,468 of 3,000.")
    assert "customers_pct" in result.stdout and "customer_status" in result.stdout


def test_a_session_carries_follow_ups_across_invocations(writable_warehouse, tmp_path):
    env = {"ASSISTANT_STATE_DIR": str(tmp_path / "state")}
    first = ask("How many active customers do we have?", "--session", "weekly", "--json",
                "--path", writable_warehouse, env=env)
    second = ask("now only for Germany", "--session", "weekly", "--json",
                 "--path", writable_warehouse, env=env)
    third = ask("now only for Germany", "--json", "--path", writable_warehouse, env=env)
    assert json.loads(first.stdout)["answer"].startswith("There are 2,468 active customers.")
    assert json.loads(second.stdout)["answer"].startswith(
        "There are 620 active customers in Germany.")
    assert json.loads(third.stdout)["answer"].startswith("There are 751 customers in Germany.")
    assert (tmp_path / "state" / "weekly.json").exists()


def test_a_missing_warehouse_is_an_error_in_both_modes(tmp_path):
    missing = tmp_path / "none.duckdb"
    plain = ask("How many customers?", "--path", missing)
    assert plain.exit_code == 1 and "no warehouse at" in plain.stderr
    as_json = ask("How many customers?", "--json", "--path", missing)
    assert as_json.exit_code == 1
    payload = json.loads(as_json.stdout)
    assert list(payload) == KEYS and "no warehouse at" in payload["error"]


def test_an_unreachable_model_is_a_clear_error(writable_warehouse):
    env = {"ASSISTANT_BASE_URL": "http://127.0.0.1:9/v1", "ASSISTANT_MAX_RETRIES": "0",
           "ASSISTANT_TIMEOUT": "2"}
    result = ask("How many customers?", "--json", "--path", writable_warehouse, env=env)
    payload = json.loads(result.stdout)
    assert result.exit_code == 1 and payload["mode"] == "gpt-4.1-mini"
    assert payload["error"].startswith("Could not connect to the model endpoint "
                                       "http://127.0.0.1:9/v1")


@pytest.mark.slow
def test_nothing_but_json_reaches_stdout_in_a_real_process(writable_warehouse, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "OPENAI_"))}
    done = subprocess.run(
        [sys.executable, "-c", "from assistant.cli import main; main()", "ask",
         "churn rate by country", "--json",
         "--path", str(writable_warehouse)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["answer"].startswith("Share of customers who have churned, by country")
