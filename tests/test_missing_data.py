"""Questions the warehouse's tables hold no data for (issue 10, evaluation of own shapes): a
retailer's warehouse (customers without birth dates, transactions, no accounts) beside tables
imported with `--as`. The planner never answers them from the empty contract data with a 0, a
NULL or "no customers": the one imported table that has the data answers (and says so), or it
says what is missing and which tables have it."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from lookalikes import bank_churn, credit_cards
from planner_talk import converse
from typer.testing import CliRunner

from assistant import cli
from warehouse.connection import Warehouse
from warehouse.generate import create_empty
from warehouse.mapping import import_mapping

END = date(2025, 3, 31)
COUNTRIES = ("GB", "DE", "FR", "ES")



def _shop(folder: Path, n: int = 120, seed: int = 7) -> Path:
    """A shop's customers (id, country; no birth dates) and its purchases; no accounts."""
    rng = np.random.default_rng(seed)
    (folder / "clients.csv").write_text("id,land\n" + "".join(
        f"{i},{COUNTRIES[int(rng.integers(0, 4))]}\n" for i in range(1, n + 1)))
    rows, t = ["ref,client,day,total"], 0
    for i in range(1, n + 1):
        for _ in range(int(rng.integers(1, 6))):
            t += 1
            day = END - timedelta(days=int(rng.integers(0, 400)))
            rows.append(f"{t},{i},{day:%Y-%m-%d},{float(rng.gamma(2, 20)):.2f}")
    (folder / "orders.csv").write_text("\n".join(rows) + "\n")
    mapping = folder / "shop.toml"
    mapping.write_text("""
[sources.clients]
file = "clients.csv"
[sources.orders]
file = "orders.csv"
[[load]]
into = "customers"
from = "clients"
[load.columns]
customer_id = "id"
country = "land"
[[load]]
into = "transactions"
from = "orders"
[load.columns]
transaction_id = "ref"
customer_id = "client"
ts = "day"
amount = "total"
direction = { value = "debit" }
category = { value = "shopping" }
""")
    return mapping


def _import(path: Path, frame, name: str, folder: Path) -> None:
    frame.to_csv(folder / f"{name}.csv", index=False)
    result = CliRunner().invoke(cli.app, ["import", str(folder / f"{name}.csv"), "--as", name,
                                          "--path", str(path)])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def shops(tmp_path_factory):
    """Three warehouses of the same shop: alone, with a bank-churn table, and with a
    bank-churn and a credit-card table (both have balances); and the churn frame."""
    folder = tmp_path_factory.mktemp("shop")
    churn = bank_churn(900, seed=11)
    cards, _ = credit_cards(400, seed=12)
    paths = {}
    for name in ("alone", "churn", "both", "cards"):
        paths[name] = create_empty(folder / f"{name}.duckdb")
        with Warehouse.open(paths[name]) as wh:
            import_mapping(wh, _shop(folder))
    _import(paths["churn"], churn, "bank_churn", folder)
    _import(paths["both"], churn, "bank_churn", folder)
    _import(paths["both"], cards, "cc_customers", folder)
    _import(paths["cards"], cards, "cc_customers", folder)
    paths["frames"] = {"cards": cards}
    return paths, churn


def ask(path, questions: list[str]):
    """The questions as one conversation on the offline planner: (last answer, results)."""
    _, answers, results = converse(path, questions)
    return answers[-1], results


def _number(text: str) -> float:
    return float(re.search(r"-?\d[\d,]*(?:\.\d+)?", text).group(0).replace(",", ""))


@pytest.mark.parametrize("question", [
    "what is the average age of our customers?",
    "how many customers are older than 40?",
    "customers by age band",
    "how many customers hold 3 or more products?",
    "average products held per customer",
    "total balance of customers in Germany",
    "how many customers have a credit card?",
])
def test_no_number_from_data_that_is_not_there(shops, question):
    """The shop alone: no birth dates, no accounts; each is said, with no number."""
    paths, _ = shops
    text, results = ask(paths["alone"], [question])
    assert not results, (question, text)
    assert text.startswith("Offline planner: ") and "so I can't compute" in text
    assert re.search(r"no birth dates are loaded|the accounts table is empty", text), text
    assert "Questions like" in text


def test_the_one_imported_table_with_the_data_answers_and_says_why(shops):
    paths, churn = shops
    text, results = ask(paths["churn"], ["what is the average age of our customers?"])
    assert results[0][0]["table"] == "bank_churn"
    assert _number(text) == pytest.approx(churn["Age"].mean(), abs=0.01)
    assert "(table bank_churn)" in text and "no birth dates are loaded" in text.lower()
    text, results = ask(paths["churn"], ["how many customers hold 3 or more products?"])
    assert results[0][0]["table"] == "bank_churn"
    assert _number(text) == (churn["NumOfProducts"] >= 3).sum()
    text, results = ask(paths["churn"], ["total balance of customers in Germany"])
    german = churn[churn["Geography"] == "Germany"]
    assert _number(text) == pytest.approx(german["Balance"].sum(), abs=0.01)
    assert "the accounts table is empty" in text.lower()


def test_several_tables_with_the_data_are_named_and_none_is_guessed(shops):
    """Both imported tables have balances: a question either could answer is asked back; one
    with a value only one of them has ('in Germany') is that one's."""
    paths, churn = shops
    text, results = ask(paths["both"], ["what is the average balance of our customers?"])
    assert not results, text
    assert "bank_churn" in text and "cc_customers" in text and "say which one" in text
    text, results = ask(paths["both"], ["total balance of customers in Germany"])
    assert results[0][0]["table"] == "bank_churn"
    german = churn[churn["Geography"] == "Germany"]
    assert _number(text) == pytest.approx(german["Balance"].sum(), abs=0.01)
    assert "the accounts table is empty" in text.lower() and "cc_customers has it too" in text


def test_what_the_shop_has_is_answered_from_it_and_named(shops):
    """Countries and purchases are loaded: the shop's tables answer, and say they did when
    imported customer tables stand beside them."""
    paths, _ = shops
    with Warehouse.open(paths["alone"], read_only=True) as wh:
        germans = wh.scalar("SELECT count(*) FROM customers WHERE country = 'DE'")
    text, results = ask(paths["alone"], ["how many customers are in Germany?"])
    assert results and _number(text) == germans and "From the warehouse" not in text
    text, results = ask(paths["churn"], ["how many customers are in Germany?"])
    assert results and "table" not in results[0][0] and _number(text) == germans
    assert "From the warehouse's customers table (not your imported table bank_churn" in text


@pytest.mark.parametrize(("question", "expected"), [
    ("how many customers are in the churn table?", lambda c: len(c)),
    ("how many customers hold 3 or more products in the churn data",
     lambda c: (c["NumOfProducts"] >= 3).sum()),
    ("customers with 2 or more products in bank_churn",
     lambda c: (c["NumOfProducts"] >= 2).sum()),
    ("customers aged 40-50 in France in bank_churn: how many churned?",
     lambda c: ((c["Age"].between(40, 50)) & (c["Geography"] == "France")
                & (c["Exited"] == 1)).sum()),
    ("how many customers older than 60 in bank_churn", lambda c: (c["Age"] > 60).sum()),
    ("how many bank_churn customers have a credit score below 500",
     lambda c: (c["CreditScore"] < 500).sum()),
])
def test_a_table_named_by_a_part_of_its_name_and_number_comparisons(shops, question, expected):
    """'the churn table' is bank_churn (not the filter 'churned'); a comparison reads the
    column it names ('2 or more products' is never a credit-score filter)."""
    paths, churn = shops
    text, results = ask(paths["churn"], [question])
    assert results and results[0][0]["table"] == "bank_churn", text
    assert _number(text) == expected(churn), text


def test_the_age_count_is_of_customers_with_a_birth_date(writable_warehouse):
    with Warehouse.open(writable_warehouse) as wh:
        wh.execute("UPDATE customers SET birth_date = NULL WHERE customer_id % 3 = 0")
        dated = wh.scalar("SELECT count(*) FROM customers WHERE birth_date IS NOT NULL")
    text, _ = ask(writable_warehouse, ["what is the average age of our customers?"])
    assert f"({dated:,} customers with a birth date)" in text


@pytest.mark.parametrize("question", ["app events by platform", "opt-in rate by channel",
                                      "how many customers hold a mortgage?",
                                      "average zodiac of customers"])
def test_refusals_suggest_only_questions_whose_data_is_there(shops, question):
    """Each phrasing a refusal offers answers with data: never the empty contract tables'
    ('app events by platform' on a shop without app events)."""
    paths, _ = shops
    text, results = ask(paths["churn"], [question])
    assert not results and text.startswith("Offline planner: ")
    suggested = text.split("Questions like", 1)[1].split('"')[1::2][:-1]
    assert len(suggested) >= 2, text
    for phrasing in suggested:
        answer, ran = ask(paths["churn"], [phrasing])
        assert ran and not answer.startswith("Offline planner"), (phrasing, answer)
        assert "No rows matched" not in answer


def test_a_period_asked_of_a_table_without_dates_says_so(shops):
    paths, churn = shops
    text, results = ask(paths["churn"], ["how many bank_churn customers churned last month?"])
    assert not results
    assert text.startswith("Offline planner: bank_churn has no dates, so I can't answer for")
    assert 'Without the period, "how many bank_churn customers churned" works.' in text
    text, results = ask(paths["churn"], ["how many bank_churn customers churned"])
    assert _number(text) == churn["Exited"].sum()


@pytest.mark.parametrize(("question", "expected"), [
    ("how many card holders have a balance over 1000?", lambda k: (k["BALANCE"] > 1000).sum()),
    ("what is the average balance of our credit card customers?",
     lambda k: round(k["BALANCE"].mean(), 2)),
    ("how many customers are in the cc customers table?", len),
])
def test_customers_named_after_an_imported_table_are_its_rows(shops, question, expected):
    """'card holders', 'credit card customers' name cc_customers (the shorthand 'cc' spelled
    out) when the warehouse's own tables cannot answer."""
    paths, _ = shops
    text, results = ask(paths["cards"], [question])
    assert results and results[0][0]["table"] == "cc_customers", text
    assert _number(text) == pytest.approx(expected(paths["frames"]["cards"]), abs=0.01), text


def test_comparisons_and_zero_on_an_imported_table(shops):
    """'with a credit card vs without' and 'churned vs retained' split by the column; 'a zero
    balance' is balance = 0; two groups compared are never pooled or intersected."""
    paths, churn = shops
    text, results = ask(paths["churn"], ["churn rate for customers with a credit card vs "
                                         "without in bank_churn"])
    df = results[0][1].tables[0].df
    got = dict(zip(df.iloc[:, 0], df.iloc[:, 1], strict=True))
    expected = churn.groupby(churn["HasCrCard"] == 1)["Exited"].mean() * 100
    assert got[True] == pytest.approx(expected[True], abs=0.051)
    assert got[False] == pytest.approx(expected[False], abs=0.051)
    text, results = ask(paths["churn"], ["average balance of churned vs retained customers "
                                         "in bank_churn"])
    df = results[0][1].tables[0].df
    got = dict(zip(df.iloc[:, 0], df.iloc[:, 1], strict=True))
    assert got[True] == pytest.approx(churn[churn["Exited"] == 1]["Balance"].mean(), abs=0.01)
    text, _ = ask(paths["churn"], ["how many bank_churn customers have a zero balance?"])
    assert _number(text) == (churn["Balance"] == 0).sum()
    text, results = ask(paths["churn"], ["churn rate in Germany vs France in bank_churn"])
    assert len(results[0][1].tables[0].df) == 2, text
    text, results = ask(paths["churn"], ["average balance of churned vs active members in "
                                         "bank_churn"])
    assert not results and "'vs'" in text
