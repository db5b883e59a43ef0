"""The analytics commands as a newcomer uses them: segment, runs, churn, audience, import --as."""

from __future__ import annotations

import csv

import pytest
from lookalikes import bank_churn, credit_cards
from typer.testing import CliRunner

from assistant import cli

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(cli.app, [str(a) for a in args], terminal_width=160)
    return result


@pytest.fixture
def path(writable_warehouse):
    return writable_warehouse


def test_help_explains_the_commands():
    result = invoke("--help")
    for command in ("segment", "churn", "audience", "runs"):
        assert command in result.output
    assert "effect sizes" in " ".join(invoke("segment", "--help").output.split())
    assert "--target" in invoke("churn", "--help").output
    assert "consent" in invoke("audience", "--help").output


def test_segment_runs_and_audience(path, tmp_path):
    result = invoke("segment", "--k", 4, "--path", path)
    assert result.exit_code == 0, result.output
    assert "4 segments" in result.output and "were not used" in result.output
    assert "what sets them apart" in result.output
    assert "@" not in result.output
    assert invoke("segment", "--method", "rfm", "--path", path).exit_code == 0
    listed = invoke("runs", "--path", path)
    assert listed.exit_code == 0 and "rfm-" in listed.output and "seg-" in listed.output
    compared = invoke("runs", "compare", "--path", path)
    assert compared.exit_code == 0 and "Run A" in compared.output
    shown = invoke("runs", "show", "--segment", 1, "--path", path)
    assert shown.exit_code == 0 and "Champions" in shown.output
    out = tmp_path / "aud.csv"
    aud = invoke("audience", "--channel", "sms", "--segment", 1, "--out", out, "--path", path)
    assert aud.exit_code == 0, aud.output
    assert "objected to profiling" in aud.output and str(out) in aud.output.replace("\n", "")
    with open(out, newline="") as fh:
        assert next(csv.reader(fh))[:4] == ["customer_id", "first_name", "last_name", "phone"]
    assert "+" not in aud.output.split("Wrote")[0]  # no phone numbers printed


def test_errors_are_one_clear_line(path):
    result = invoke("segment", "--k", 1_000_000, "--path", path)
    assert result.exit_code == 1 and "more segments than" in result.output
    assert "Traceback" not in result.output
    result = invoke("segment", "--columns", "share_travle", "--path", path)
    assert result.exit_code == 1 and "share_travel" in result.output
    assert invoke("churn", "--table", "x", "--path", path).exit_code == 1
    assert "no run" in invoke("runs", "show", "seg-nope", "--path", path).output
    result = invoke("audience", "--channel", "fax", "--path", path)
    assert result.exit_code == 1 and "email, sms, push" in result.output


def test_user_tables_from_import_to_segments_and_churn(path, tmp_path):
    frame, _ = credit_cards(600)
    frame.to_csv(tmp_path / "cc.csv", index=False)
    bank_churn(1500).to_csv(tmp_path / "bank.csv", index=False)
    result = invoke("import", tmp_path / "cc.csv", "--as", "cc_customers", "--path", path)
    assert result.exit_code == 0, result.output
    assert "key CUST_ID" in result.output and "assistant segment --table" in result.output
    result = invoke("import", tmp_path / "bank.csv", "--as", "bank_churn", "--path", path)
    assert "personal data left out: Surname" in result.output
    assert "protected attributes left out: Gender, Age" in result.output
    again = invoke("import", tmp_path / "bank.csv", "--as", "bank_churn", "--path", path)
    assert again.exit_code == 1 and "--mode replace" in again.output
    seg = invoke("segment", "--table", "cc_customers", "--k", 4, "--path", path)
    assert seg.exit_code == 0, seg.output
    assert "rows of cc_customers" in seg.output
    churn = invoke("churn", "--table", "bank_churn", "--target", "Exited", "-n", 5,
                   "--path", path)
    assert churn.exit_code == 0, churn.output
    assert "ROC AUC" in churn.output and "Calibration" in churn.output
    assert not any(name in churn.output for name in ("Hargrave", "Mitchell", "Onio"))


def test_churn_on_the_warehouse(path):
    result = invoke("churn", "-n", 5, "--path", path)
    assert result.exit_code == 0, result.output
    assert "held-out ROC AUC" in result.output and "Highest risk" in result.output
    assert "reused" in invoke("churn", "-n", 5, "--path", path).output
