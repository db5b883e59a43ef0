"""Imported tables are first-class: `assistant import FILE --as NAME` drafts a semantic model for
the table, `assistant model show/edit NAME` shows and changes it (validated, never reading other
tables or personal data), and the offline planner answers questions about the table from the
table itself, never from the demo tables; answers on generated demo data say so once."""

from __future__ import annotations

import re

import pytest
from langchain_core.messages import AIMessage
from lookalikes import bank_churn, credit_cards
from planner_talk import converse
from typer.testing import CliRunner

import prompts
from assistant import cli
from assistant.planner.model import DEMO_NOTE
from assistant.settings import Settings
from tools.describe import overview
from tools.metrics import query_metrics
from tools.result import ToolContext
from warehouse.connection import Warehouse
from warehouse.semantic.models import model_for, stored_models

runner = CliRunner()



@pytest.fixture(scope="module")
def imported(warehouse_path, tmp_path_factory):
    """A copy of the demo warehouse with two imported tables (through the CLI) and the frames
    they came from."""
    base = tmp_path_factory.mktemp("tables")
    path = base / "w.duckdb"
    path.write_bytes(warehouse_path.read_bytes())
    churn, (cards, _) = bank_churn(1500), credit_cards(800)
    churn.to_csv(base / "churn.csv", index=False)
    cards.to_csv(base / "cc.csv", index=False)
    for file, name in (("churn.csv", "bank_churn"), ("cc.csv", "cc_customers")):
        result = runner.invoke(cli.app, ["import", str(base / file), "--as", name,
                                         "--path", str(path)])
        assert result.exit_code == 0, result.output
        assert "Semantic model drafted" in result.output
    return path, churn, cards


def ask(path, questions: list[str]):
    """The questions as one conversation on the offline planner: (messages, results)."""
    messages, _, results = converse(path, questions)
    return messages, results


def test_the_drafted_model_is_stored_and_shown_as_toml(imported):
    path, _, _ = imported
    with Warehouse.open(path, read_only=True) as wh:
        models = stored_models(wh)
    assert set(models) >= {"bank_churn", "cc_customers"}
    shown = runner.invoke(cli.app, ["model", "show", "bank_churn", "--path", str(path)])
    assert shown.exit_code == 0 and shown.output == models["bank_churn"]
    assert "Surname" not in shown.output.split("# personal data", 1)[1].split("\n", 1)[1]
    missing = runner.invoke(cli.app, ["model", "show", "nope", "--path", str(path)])
    assert missing.exit_code != 0 and "bank_churn" in missing.output


@pytest.mark.parametrize(("question", "reference"), [
    ("churn rate by geography", lambda c, _: (c.groupby("Geography")["Exited"].mean() * 100)),
    ("average balance by tenure in bank_churn",
     lambda c, _: c.groupby("Tenure")["Balance"].mean()),
    ("average purchases by tenure", lambda _, k: k.groupby("TENURE")["PURCHASES"].mean()),
])
def test_questions_about_a_table_are_answered_from_it(imported, question, reference):
    path, churn, cards = imported
    _, results = ask(path, [question])
    assert len(results) == 1
    args, result = results[0]
    assert args["table"] in ("bank_churn", "cc_customers")
    df = result.tables[0].df
    expected = reference(churn, cards)
    got = dict(zip(df.iloc[:, 0], df.iloc[:, 1], strict=True))
    assert got.keys() == set(expected.index)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=0.051)     # rounded to 0.1 or 0.01


def test_a_share_and_a_count_with_conditions(imported):
    path, churn, _ = imported
    messages, _ = ask(path, ["how many customers have a credit card in bank_churn"])
    assert f"{int(churn['HasCrCard'].sum()):,}" in messages[-1].text
    messages, _ = ask(path, ["what share of customers in France are active members"])
    france = churn[churn["Geography"] == "France"]
    assert f"{int(france['IsActiveMember'].sum()):,} of {len(france):,}" in messages[-1].text


def test_a_follow_up_refines_the_table_question(imported):
    path, churn, _ = imported
    _, results = ask(path, ["churn rate by geography", "only for customers with a credit card"])
    df = results[-1][1].tables[0].df
    held = churn[churn["HasCrCard"] == 1]
    expected = held.groupby("Geography")["Exited"].mean() * 100
    got = dict(zip(df.iloc[:, 0], df.iloc[:, 1], strict=True))
    assert got["Germany"] == pytest.approx(expected["Germany"], abs=0.051)


def test_a_question_with_a_table_word_is_never_answered_from_the_demo_tables(imported):
    """'purchases' is the credit-card table's; that table has no segments, so the question is
    refused with phrasings that work on it, not answered from the demo transactions."""
    path, _, _ = imported
    messages, results = ask(path, ["average purchases by segment"])
    assert not results
    text = messages[-1].text
    assert text.startswith("Offline planner") and "cc_customers" in text
    assert "in cc_customers" in text.split("Questions like", 1)[1]


def test_a_refusal_about_a_table_suggests_phrasings_that_work_there(imported):
    path, _, _ = imported
    messages, _ = ask(path, ["average balance by zodiac in bank_churn"])
    text = messages[-1].text
    assert "'zodiac'" in text
    suggested = text.split("Questions like", 1)[1].split('"')[1::2][:-1]
    assert len(suggested) >= 2
    for phrasing in suggested:
        _, results = ask(path, [phrasing])
        assert results and results[0][0]["table"] == "bank_churn", phrasing


def test_the_person_s_table_comes_before_the_demo_data_and_the_rest_stays_the_warehouse_s(
        imported):
    path, churn, _ = imported
    messages, results = ask(path, ["how many customers are in Germany?"])
    assert results[0][0]["table"] == "bank_churn"
    assert f"{(churn['Geography'] == 'Germany').sum():,} customers" in messages[-1].text
    messages, results = ask(path, ["open rate by campaign"])
    assert results and "table" not in results[0][0]


def test_the_schema_lists_the_imported_tables_with_their_words(imported):
    path, churn, cards = imported
    result = runner.invoke(cli.app, ["schema", "--path", str(path)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    own = result.output.split("Your imported tables", 1)[1].split("Business definitions")[0]
    assert f"bank_churn ({len(churn):,} rows): measures credit score" in own
    assert "rates churn rate" in own and "customer_status" not in own
    assert f"cc_customers ({len(cards):,} rows)" in own


def test_an_edit_is_validated_before_it_is_stored(imported, tmp_path):
    path, churn, _ = imported
    with Warehouse.open(path, read_only=True) as wh:
        before = stored_models(wh)["bank_churn"]
    edited = before.replace('words = ["tenure"]', 'words = ["tenure", "years with us"]')
    assert edited != before
    (tmp_path / "m.toml").write_text(edited)
    result = runner.invoke(cli.app, ["model", "edit", "bank_churn", "--file",
                                     str(tmp_path / "m.toml"), "--path", str(path)])
    assert result.exit_code == 0, result.output
    _, results = ask(path, ["churn rate by years with us in bank_churn"])
    assert len(results[0][1].tables[0].df) == churn["Tenure"].nunique()
    for bad, why in [
        (edited.replace('expr = "u.\\"Tenure\\""', 'expr = "u.\\"Surname\\""'), "personal"),
        (edited.replace('expr = "u.\\"Tenure\\""',
                        'expr = "(SELECT max(email) FROM customers)"'), "own columns"),
        (edited.replace('expr = "u.\\"Tenure\\""', 'expr = "u.\\"Nope\\""'), "no column"),
        ("name = 3\n", "not a valid"),
    ]:
        assert bad != edited
        (tmp_path / "bad.toml").write_text(bad)
        result = runner.invoke(cli.app, ["model", "edit", "bank_churn", "--file",
                                         str(tmp_path / "bad.toml"), "--path", str(path)])
        assert result.exit_code != 0 and why in result.output, result.output
        with Warehouse.open(path, read_only=True) as wh:
            assert stored_models(wh)["bank_churn"] == edited


def test_answers_on_demo_data_say_so_once_per_conversation(imported):
    path, _, _ = imported
    messages, _ = ask(path, ["open rate by campaign", "and the click rate?"])
    answers = [m.text for m in messages if isinstance(m, AIMessage) and not m.tool_calls]
    assert DEMO_NOTE in answers[0] and DEMO_NOTE not in answers[1]


def test_a_warehouse_of_real_data_carries_no_demo_note(writable_warehouse):
    with Warehouse.open(writable_warehouse) as wh:
        wh.execute("UPDATE customers SET email = 'someone' || customer_id || '@bank.example.org'"
                   " WHERE customer_id % 2 = 0")
    messages, _ = ask(writable_warehouse, ["how many customers are in Germany?"])
    assert DEMO_NOTE not in messages[-1].text


def test_the_prompt_lists_the_model_names_and_each_runs_through_query_metrics(imported):
    """The language model's system prompt carries the semantic model compactly (the
    warehouse's and each imported table's); every metric it lists is one query_metrics runs."""
    path, churn, _ = imported
    with Warehouse.open(path, read_only=True) as wh:
        prompt = prompts.load("system").render(overview=overview(wh), max_steps=8)
        ctx = ToolContext(wh=wh, settings=Settings())
        lines = [ln for ln in prompt.splitlines() if ln.startswith("query_metrics")]
        assert len(lines) == 3 and "table bank_churn:" in lines[1] + lines[2]
        for line in lines:
            table = m.group(1) if (m := re.search(r"table (\w+):", line)) else None
            listed = line.split("metrics ", 2)[-1].split(";", 1)[0].split(", ")
            assert len(listed) >= 5, line
            for item in listed:
                name = item.split("[", 1)[0]
                if name == "value_threshold":       # a parameter of high_value, one row
                    continue
                result = query_metrics(ctx, {"metrics": [name]}, table=table)
                assert result.data["rows"] == 1, (table, name)
        rows = query_metrics(ctx, {"metrics": ["rows"]}, table="bank_churn")
        assert str(len(churn)) in rows.summary.replace(",", "")


# -- messy shapes: category spellings, keys ----------------------------------------------------
@pytest.fixture(scope="module")
def messy_imported(tmp_path_factory):
    """An empty warehouse with two look-alikes imported through the CLI, their categories
    re-spelled here and there ('france', 'GERMANY', ' Spain', 'GOLD'): (path, frames, outputs)."""
    from public_shapes import bank_churners_frame, messy

    from warehouse.generate import create_empty

    base = tmp_path_factory.mktemp("messy")
    path = create_empty(base / "mine.duckdb")
    churn = messy(bank_churn(2000, seed=11), ("Geography", "Gender"), share=0.03)
    cards = messy(bank_churners_frame(1500), ("Card_Category", "Education_Level"), share=0.03)
    churn.to_csv(base / "churn.csv", index=False)
    cards.to_csv(base / "cards.csv", index=False)
    outputs = {}
    for file, name in (("churn.csv", "bank_churn"), ("cards.csv", "cards")):
        result = runner.invoke(cli.app, ["import", str(base / file), "--as", name,
                                         "--path", str(path)])
        assert result.exit_code == 0, result.output
        outputs[name] = " ".join(result.output.split())
    return path, churn, cards, outputs


def _folded(series):
    return series.str.strip().str.lower()


def test_spellings_differing_by_case_or_spaces_are_one_value(messy_imported):
    path, churn, cards, outputs = messy_imported
    raw = set(churn["Geography"])
    assert len(raw) > 3 and len(set(_folded(churn["Geography"]))) == 3
    assert "merged with" in outputs["bank_churn"] and "Geography:" in outputs["bank_churn"]
    assert "assistant model edit bank_churn" in outputs["bank_churn"]
    with Warehouse.open(path, read_only=True) as wh:
        geo = model_for(wh, "bank_churn").values["geography"]
    assert set(geo) == {"France", "Germany", "Spain"}
    # a breakdown has one group per country, and each rate counts every spelling
    _, results = ask(path, ["churn rate by geography in bank_churn"])
    df = results[0][1].tables[0].df
    expected = churn.assign(g=_folded(churn["Geography"])).groupby("g")["Exited"].mean() * 100
    got = {k.lower(): v for k, v in zip(df.iloc[:, 0], df.iloc[:, 1], strict=True)}
    assert got.keys() == set(expected.index)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=0.051)
    # a filter by the word counts every German row, whatever its spelling
    messages, _ = ask(path, ["how many customers in Germany have exited in bank_churn"])
    german = churn[(_folded(churn["Geography"]) == "germany") & (churn["Exited"] == 1)]
    assert f"There are {len(german):,} customers" in messages[-1].text
    # and a follow-up keeps it
    messages, results = ask(path, ["how many customers churned in bank_churn",
                                   "now only in germany", "and by gender?"])
    df = results[-1][1].tables[0].df
    by_gender = german.assign(s=_folded(german["Gender"])).groupby("s").size()
    assert {k.lower(): v for k, v in zip(df.iloc[:, 0], df.iloc[:, 1], strict=True)} == \
        by_gender.to_dict()
    # the card table too: one Gold, averaged over every spelling
    _, results = ask(path, ["average credit limit by card category in cards"])
    df = results[0][1].tables[0].df
    assert len(df) == len(set(_folded(cards["Card_Category"])))
    gold = cards[_folded(cards["Card_Category"]) == "gold"]["Credit_Limit"].mean()
    assert dict(zip(df.iloc[:, 0], df.iloc[:, 1], strict=True))["Gold"] == \
        pytest.approx(gold, abs=0.006)


def test_a_word_naming_several_values_filters_on_all_of_them():
    """A model (edited by hand, or drafted before spellings were merged) where 'germany' names
    two values: the filter takes both, never one picked; the longest words win."""
    from assistant.planner.tables import parse_table
    from warehouse.semantic.model import read_model

    model = read_model('''
name = "t"
[entities.t]
table = "t"
alias = "u"
key = "id"
label = "customers"
user_table = true
[entities.t.dimensions.geography]
expr = "u.geo"
values = "geography"
label = "geography"
words = ["geography", "country"]
phrase = "in {values}"
[entities.t.dimensions.education]
expr = "u.edu"
values = "education"
label = "education"
words = ["education"]
phrase = "with {values}"
[measures.rows]
entity = "t"
agg = "count"
label = "customers"
[values.geography]
"GERMANY" = ["GERMANY", "germany"]
"Germany" = ["Germany", "germany"]
"France" = ["France", "france"]
[values.education]
"Graduate" = ["Graduate", "graduate"]
"Post-Graduate" = ["Post-Graduate", "post-graduate"]
''')
    ask_ = parse_table("how many customers in germany", model)
    assert [(c.field, sorted(c.values)) for c in ask_.query.filters] == \
        [("geography", ["GERMANY", "Germany"])]
    ask_ = parse_table("how many post-graduate customers in france", model)
    assert sorted((c.field, tuple(c.values)) for c in ask_.query.filters) == \
        [("education", ("Post-Graduate",)), ("geography", ("France",))]


def test_an_identifier_number_is_the_key_never_a_measure_or_an_input(messy_imported):
    from tools.table_features import profile_table

    path, _, cards, outputs = messy_imported
    assert cards["CLIENTNUM"].is_unique
    assert "key CLIENTNUM" in outputs["cards"]
    with Warehouse.open(path, read_only=True) as wh:
        text = stored_models(wh)["cards"]
        prof = profile_table(wh, "cards", target="Attrition_Flag", model_inputs=True)
    assert 'key = "CLIENTNUM"' in text and 'label = "customers"' in text
    assert 'u.\\"CLIENTNUM\\"' not in text              # no measure, no dimension on it
    assert "CLIENTNUM" not in prof.feature_columns and prof.key == "CLIENTNUM"
    messages, _ = ask(path, ["average clientnum in cards"])
    assert "708," not in messages[-1].text and "clientnum" in messages[-1].text.lower()


def _by(result) -> dict:
    df = result.tables[0].df
    return dict(zip(df.iloc[:, 0], df.iloc[:, 1], strict=True))


def test_abbreviated_columns_are_asked_about_in_plain_words(messy_imported):
    """BankChurners' Total_Trans_Amt, Avg_Utilization_Ratio, Dependent_count, Months_on_book
    and a text Attrition_Flag: the words people use reach them, and the attrited are a rate."""
    path, _, cards, _ = messy_imported
    attrited = cards["Attrition_Flag"] == "Attrited Customer"
    card = cards["Card_Category"].str.strip().str.lower()
    messages, results = ask(path, ["attrition rate by card category in cards"])
    rates = {k.lower(): v for k, v in _by(results[0][1]).items()}
    for level, value in (attrited.groupby(card).mean() * 100).items():
        assert rates[level] == pytest.approx(value, abs=0.051)
    cases = [
        ("average utilization ratio of attrited customers in cards",
         cards.loc[attrited, "Avg_Utilization_Ratio"].mean(), 0.006),
        ("median months on book in cards", cards["Months_on_book"].median(), 0.006),
        ("how many cards customers have more than 3 dependents",
         (cards["Dependent_count"] > 3).sum(), 0),
        ("how many existing customers in cards", (~attrited).sum(), 0),
        ("what is the churn rate in cards", attrited.mean() * 100, 0.051),
    ]
    for question, expected, tol in cases:
        messages, results = ask(path, [question])
        assert results, (question, messages[-1].text)
        value = results[0][1].tables[0].df.iloc[0, 0]
        assert value == pytest.approx(expected, abs=tol), question
    messages, results = ask(path, ["total transaction amount by education level in cards"])
    sums = cards.groupby(cards["Education_Level"].str.strip().str.lower())["Total_Trans_Amt"].sum()
    assert {k.lower(): v for k, v in _by(results[0][1]).items()} == sums.to_dict()
    assert messages[-1].text.startswith("Total transaction amount of customers, by education")


def test_a_yes_no_and_its_opposite_are_a_split_in_words(messy_imported, imported):
    path, _, cards, _ = messy_imported
    messages, results = ask(path, ["average total transaction count for existing vs attrited "
                                   "customers in cards"])
    got = _by(results[0][1])
    means = cards.groupby("Attrition_Flag")["Total_Trans_Ct"].mean()
    assert set(got) == {True, False}
    assert got[True] == pytest.approx(means["Attrited Customer"], abs=0.006)
    text = messages[-1].text
    assert "attrited: " in text and "not attrited: " in text and "True" not in text
    path, churn, _ = imported
    messages, _ = ask(path, ["churn rate by has credit card in bank_churn"])
    text = messages[-1].text
    assert "by credit card" in text and "with a credit card: " in text
    assert "without a credit card: " in text and "true" not in text
    messages, results = ask(path, ["average balance of churned vs retained customers in "
                                   "bank_churn"])
    got = _by(results[0][1])
    assert got[True] == pytest.approx(churn.loc[churn["Exited"] == 1, "Balance"].mean(),
                                      abs=0.006)


def test_answers_on_a_table_read_as_sentences(imported, messy_imported):
    from assistant.planner.answer import Table, _after_noun

    path, _, _ = imported
    messy = messy_imported[0]
    messages, _ = ask(path, ["avg tenure of active members in bank_churn"])
    assert "of customers who are active members is" in messages[-1].text
    messages, _ = ask(path, ["how many customers in Germany have exited in bank_churn"])
    assert "customers in Germany who are churned" in messages[-1].text
    assert _after_noun(["with a credit card", "churned"]) == \
        " with a credit card who are churned"
    messages, _ = ask(messy, ["what share of cards customers are married"])
    assert "of customers have marital status Married (table cards)" in messages[-1].text
    t = Table(["customers"], [[1], [2000]])
    assert (t.people(t.rows[0], "customers"), t.people(t.rows[1], "customers")) == \
        ("1 customer", "2,000 customers")


def test_a_date_column_is_the_table_s_time_and_periods_count_back_from_its_latest_date(
        warehouse_path, tmp_path):
    """'Total amount last month' on an imported table with a date column: the drafted model
    makes the column its time dimension, and the period counts back from the table's latest
    date (not the warehouse's); a table without one refuses a period rather than drop it."""
    import pandas as pd

    path = tmp_path / "w.duckdb"
    path.write_bytes(warehouse_path.read_bytes())
    days = pd.date_range("2025-01-01", "2026-08-24", freq="D")
    orders = pd.DataFrame({"order_id": range(1, len(days) * 2 + 1),
                           "order_date": [d.date() for d in days for _ in (0, 1)],
                           "amount": [float(i % 97) for i in range(len(days) * 2)],
                           "segment": ["retail", "business"] * len(days)})
    orders.to_csv(tmp_path / "orders.csv", index=False)
    result = runner.invoke(cli.app, ["import", str(tmp_path / "orders.csv"), "--as", "orders",
                                     "--path", str(path)])
    assert result.exit_code == 0, result.output
    with Warehouse.open(path, read_only=True) as wh:
        assert 'time = "order_date"' in stored_models(wh)["orders"]
    july = orders[(orders.order_date >= pd.Timestamp("2026-07-01").date()) &
                  (orders.order_date < pd.Timestamp("2026-08-01").date())]
    messages, results = ask(path, ["total amount in orders last month"])
    assert "July 2026" in messages[-1].text and "24 Aug 2026" in messages[-1].text
    assert f"{july.amount.sum():,.2f}".rstrip("0").rstrip(".") in messages[-1].text
    recent = orders[orders.order_date > pd.Timestamp("2026-07-25").date()]
    messages, _ = ask(path, ["total amount in orders in the last 30 days"])
    assert f"{recent.amount.sum():,.2f}".rstrip("0").rstrip(".") in messages[-1].text
    messages, results = ask(path, ["total amount by month in orders in 2026"])
    assert len(results[-1][1].tables[0].df) == 8


def test_a_period_on_a_table_without_a_time_dimension_is_refused(imported):
    path, _, _ = imported
    messages, results = ask(path, ["average balance in bank_churn last month"])
    assert not results and messages[-1].text.startswith("Offline planner")
