"""Sparse warehouses (issue 10, item 3): a warehouse with only customers and transactions (a
retailer's log: no account ids) or only customers and accounts still runs every analytic tool,
leaving out what is empty and saying so; the reference date comes from the data; a failed tool
is the answer's error in `ask --json`."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from assistant import cli
from tools.audience import build_audience
from tools.churn import predict_churn
from tools.draft_campaign import draft_campaign
from tools.result import ToolContext
from tools.segments import segment_customers
from warehouse.connection import Warehouse
from warehouse.errors import InvalidArgument
from warehouse.generate import create_empty
from warehouse.mapping import import_mapping

END = date(2024, 6, 30)


def _retail(folder: Path, n: int = 500, seed: int = 1) -> Path:
    """Customers (F/M codes) and a whitespace-separated log with YYYYMMDD dates, no account
    ids; a third of the customers stop buying some time before the end."""
    rng = np.random.default_rng(seed)
    with (folder / "clients.csv").open("w") as fh:
        fh.write("ClientNo;Sex;Joined\n")
        for i in range(1, n + 1):
            joined = END - timedelta(days=int(rng.integers(400, 900)))
            fh.write(f"{i};{'FM'[i % 2]};{joined:%d.%m.%Y}\n")
    rows = ["txn client day amount kind"]
    t = 0
    for i in range(1, n + 1):
        stop = END - timedelta(days=int(rng.integers(100, 300))) if rng.random() < 0.35 else END
        start = END - timedelta(days=int(rng.integers(200, 500)))
        every = int(rng.integers(3, 30))
        day = start
        while day <= stop:
            t += 1
            amount = 0 if rng.random() < 0.02 else round(float(rng.gamma(2, 30)), 2)
            kind = "POS" if rng.random() < 0.8 else "ATM"
            rows.append(f"{t}   {i}   {day:%Y%m%d}   {amount}   {kind}")
            day += timedelta(days=every + int(rng.integers(0, 5)))
    (folder / "log.txt").write_text("\n".join(rows) + "\n")
    mapping = folder / "retail.toml"
    mapping.write_text("""
[sources.clients]
file = "clients.csv"
dates = { Joined = "DD.MM.YYYY" }
[sources.log]
file = "log.txt"
delimiter = "whitespace"
dates = { day = "YYYYMMDD" }
[[load]]
into = "customers"
from = "clients"
[load.columns]
customer_id = "ClientNo"
gender = { column = "Sex", recode = { F = "female", M = "male" } }
signup_date = "Joined"
[[load]]
into = "transactions"
from = "log"
[load.columns]
transaction_id = "txn"
customer_id = "client"
ts = "day"
amount = "amount"
direction = { value = "debit" }
category = { sql = "CASE kind WHEN 'ATM' THEN 'cash' ELSE 'shopping' END" }
""")
    return mapping


def _core(folder: Path, n: int = 600, seed: int = 2) -> Path:
    """Customers and accounts only (a core-banking export); a quarter close every account in
    the last half year."""
    rng = np.random.default_rng(seed)
    (folder / "customers.csv").write_text("id,joined\n" + "".join(
        f"{i},{END - timedelta(days=int(rng.integers(300, 3000))):%Y-%m-%d}\n"
        for i in range(1, n + 1)))
    lines, k = ["account,customer,kind,opened,closed,balance"], 0
    products = ("GIRO", "SPAR", "KK")
    for i in range(1, n + 1):
        held = int(rng.integers(1, 4))
        leaves = rng.random() < (0.45 if held == 1 else 0.1)
        for _ in range(held):
            k += 1
            opened = END - timedelta(days=int(rng.integers(300, 3000)))
            closed = (END - timedelta(days=int(rng.integers(0, 180)))) if leaves else None
            lines.append(f"{k},{i},{products[int(rng.integers(0, 3))]},{opened:%Y%m%d},"
                         f"{closed.strftime('%Y%m%d') if closed else ''},"
                         f"{float(rng.gamma(2, 2000)):.2f}")
    (folder / "accounts.csv").write_text("\n".join(lines) + "\n")
    mapping = folder / "core.toml"
    mapping.write_text("""
[sources.customers]
file = "customers.csv"
[sources.accounts]
file = "accounts.csv"
dates = { opened = "YYYYMMDD", closed = "YYYYMMDD" }
[[load]]
into = "customers"
from = "customers"
[load.columns]
customer_id = "id"
signup_date = "joined"
[[load]]
into = "accounts"
from = "accounts"
[load.columns]
account_id = "account"
customer_id = "customer"
product = { column = "kind", recode = { GIRO = "checking", SPAR = "savings", KK = "credit_card" } }
opened_at = "opened"
closed_at = "closed"
status = { sql = "CASE WHEN closed IS NULL THEN 'open' ELSE 'closed' END" }
balance = "balance"
""")
    return mapping


@pytest.fixture(scope="module")
def retail(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("retail")
    path = create_empty(folder / "retail.duckdb")
    with Warehouse.open(path) as wh:
        import_mapping(wh, _retail(folder))
    return path


@pytest.fixture(scope="module")
def core(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("core")
    path = create_empty(folder / "core.duckdb")
    with Warehouse.open(path) as wh:
        import_mapping(wh, _core(folder))
    return path


def _ctx(wh, tmp_path) -> ToolContext:
    return ToolContext(wh=wh, settings=None, output_dir=tmp_path)


def test_customers_and_transactions_run_every_tool(retail, tmp_path):
    with Warehouse.open(retail) as wh:
        ctx = _ctx(wh, tmp_path)
        churn = predict_churn(ctx)
        assert "held-out ROC AUC" in churn.summary
        assert "Left out, as they are empty or the same for every customer" in churn.summary
        assert "from app events" in churn.summary and "from accounts" in churn.summary
        assert churn.data["metrics"]["roc_auc"] > 0.6
        segments = segment_customers(ctx)
        assert "Left out" in segments.summary and "from app events" in segments.summary
        # issue 10 item 6: the silhouette and the space it was measured in
        assert "Silhouette " in segments.summary and "clustering space" in segments.summary
        rfm = segment_customers(ctx, method="rfm")
        assert "RFM" in rfm.summary
        audience = build_audience(ctx, "email", segment_id=1)
        assert "no consents" in audience.summary and audience.data["eligible"] == 0
        draft = draft_campaign(ctx, "email", segment_id=1)
        assert "Drafted" in draft.summary


def test_customers_and_accounts_run_every_tool_but_rfm(core, tmp_path):
    with Warehouse.open(core) as wh:
        period = wh.reference_period()
        assert period["reference_source"].startswith("accounts")
        assert period["reference_date"] <= END
        ctx = _ctx(wh, tmp_path)
        churn = predict_churn(ctx)
        assert "customers holding an open account" in churn.summary
        assert "every account closed in the 90 days after" in churn.summary
        assert "from transactions" in churn.summary          # said to be left out
        segments = segment_customers(ctx)
        assert "no transactions" in segments.summary
        assert "segments" in segments.summary
        with pytest.raises(InvalidArgument, match=r"RFM .* this warehouse has none"):
            segment_customers(ctx, method="rfm")
        audience = build_audience(ctx, "email", segment_id=1)
        assert "no consents" in audience.summary and "no accounts" not in audience.summary
        assert "Drafted" in draft_campaign(ctx, "email", segment_id=1).summary


def test_the_snapshot_says_where_the_reference_date_comes_from(core):
    result = CliRunner().invoke(cli.app, ["ask", "how are we doing?", "--json", "--path",
                                          str(core)])
    payload = json.loads(result.stdout)
    assert payload["error"] is None
    assert "There are no transactions, so the reference date" in payload["answer"]
    assert "latest date of the accounts" in payload["answer"]
    # imported data without email addresses is the user's own, never "generated demo data"
    count = CliRunner().invoke(cli.app, ["ask", "how many customers by product?", "--json",
                                         "--path", str(core)])
    answer = json.loads(count.stdout)["answer"]
    assert answer.startswith("Customers by") and "generated demo data" not in answer
    # no gender was loaded: said, never a table of '(none)'
    count = CliRunner().invoke(cli.app, ["ask", "how many customers by gender?", "--json",
                                         "--path", str(core)])
    answer = json.loads(count.stdout)["answer"]
    assert "no genders are loaded (customers.gender is empty)" in answer


def test_the_snapshot_without_consents_says_opt_ins_are_unknown(retail):
    """No consent rows at all is not '0 (0%) opted in': it is unknown, and said so."""
    result = CliRunner().invoke(cli.app, ["ask", "how are we doing?", "--json", "--path",
                                          str(retail)])
    answer = json.loads(result.stdout)["answer"]
    assert "- customers: " in answer
    assert "opted in to email: unknown, there is no consent data" in answer
    assert "opted in to email: 0" not in answer


def test_a_failed_tool_is_the_error_of_ask_json(core):
    result = CliRunner().invoke(cli.app, ["ask", "segment customers by RFM", "--json",
                                          "--path", str(core)])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["error"] and "RFM" in payload["error"]
    assert "Traceback" not in result.output


def test_churn_on_a_warehouse_with_customers_only_says_what_it_needs(tmp_path):
    path = create_empty(tmp_path / "only.duckdb")
    (tmp_path / "c.csv").write_text("id,joined\n1,2024-01-01\n2,2024-02-01\n")
    (tmp_path / "m.toml").write_text('[sources.c]\nfile = "c.csv"\n[[load]]\ninto = '
                                     '"customers"\nfrom = "c"\n[load.columns]\ncustomer_id = '
                                     '"id"\nsignup_date = "joined"\n')
    with Warehouse.open(path) as wh:
        import_mapping(wh, tmp_path / "m.toml")
        with pytest.raises(InvalidArgument, match=r"transactions .* or accounts"):
            predict_churn(_ctx(wh, tmp_path))


def test_rfm_scores_lapsed_customers_over_all_history_or_a_window(retail):
    from tools.segments import run_segmentation

    with Warehouse.open(retail) as wh:
        buyers = wh.scalar("SELECT count(DISTINCT customer_id) FROM transactions WHERE "
                           "direction = 'debit'")
        every = run_segmentation(wh, method="rfm", save=False)
        window = run_segmentation(wh, method="rfm", save=False, window_days=90)
        with pytest.raises(InvalidArgument, match="window_days is the RFM window"):
            run_segmentation(wh, save=False, window_days=90)
    assert every.run.row_count == window.run.row_count == buyers     # lapsed ones scored too
    assert {"Hibernating", "Lost"} & {c.name for c in window.cards}
    assert "RFM window: all history" in " ".join(every.notes)
    assert "last 90 days" in " ".join(window.notes)
