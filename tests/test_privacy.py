"""Personal data never reaches the model: lineage, value checks, text masking, and a full scan of
everything a scripted model received in a multi-turn conversation."""

from __future__ import annotations

import re

import pytest
from fakes import ScriptedChatModel, call

from assistant.agent import Assistant
from assistant.settings import Settings
from tools import sql_guard
from tools.result import ToolContext
from tools.sql import run_sql
from warehouse.connection import Warehouse
from warehouse.privacy import NameIndex, mask_text, mask_value

# (query, output columns the model must not see)
LINEAGE = [
    ("SELECT * FROM customers LIMIT 3",
     {"first_name", "last_name", "email", "phone", "birth_date"}),
    ("SELECT c.* FROM customers c LIMIT 3",
     {"first_name", "last_name", "email", "phone", "birth_date"}),
    ("SELECT * EXCLUDE (email, phone) FROM customers LIMIT 3",
     {"first_name", "last_name", "birth_date"}),
    ("SELECT email AS e, country FROM customers LIMIT 3", {"e"}),
    ("SELECT lower(email) AS contact FROM customers LIMIT 3", {"contact"}),
    ("SELECT first_name || ' ' || last_name AS who, country FROM customers LIMIT 3", {"who"}),
    ("SELECT concat(first_name, last_name) AS x FROM customers LIMIT 3", {"x"}),
    ("SELECT upper(substr(last_name, 1, 3)) AS initials FROM customers LIMIT 3", {"initials"}),
    ("WITH x AS (SELECT email AS a, customer_id FROM customers) SELECT a AS b, customer_id "
     "FROM x LIMIT 3", {"b"}),
    ("SELECT t.p FROM (SELECT phone AS p FROM customers) t LIMIT 3", {"p"}),
    ("SELECT year(birth_date) AS born, count(*) AS n FROM customers GROUP BY 1", {"born"}),
    ("SELECT string_agg(first_name, ', ') AS names FROM customers", {"names"}),
    ("SELECT max(email) AS m FROM customers", {"m"}),
    ("SELECT email FROM customers UNION ALL SELECT merchant FROM transactions LIMIT 3",
     {"email"}),
    ("SELECT (SELECT max(phone) FROM customers) AS p", {"p"}),
    ("SELECT first_name AS country FROM customers LIMIT 3", {"country"}),
    ("SELECT c.customer_id, s.age, s.spend_90d FROM customers c JOIN customer_status s "
     "USING (customer_id) LIMIT 3", set()),
    ("SELECT count(DISTINCT email) AS with_email FROM customers", set()),
    ("SELECT count(*) FILTER (WHERE phone IS NULL) AS no_phone FROM customers", set()),
    ("SELECT country, count(*) AS n FROM customers GROUP BY ALL", set()),
    ("SELECT COLUMNS('.*name') FROM customers LIMIT 3", {"first_name", "last_name"}),
]


@pytest.mark.parametrize(("sql", "hidden"), LINEAGE, ids=[c[0][:45] for c in LINEAGE])
def test_personal_columns_are_hidden_from_the_model_but_not_the_person(wh, sql, hidden):
    result = run_sql(ToolContext(wh=wh, settings=Settings()), sql)
    assert set(result.data["hidden"]) == hidden
    assert set(result.tables[0].df.columns) >= hidden          # the person sees everything
    for line in result.summary.splitlines():
        if line.startswith("column"):
            assert "hidden from the assistant: personal data" in line
            continue
        assert not re.search(r"@example\.|\+\d{7,}", line)


def test_columns_that_look_personal_are_hidden_whatever_their_name(writable_warehouse):
    with Warehouse.open(writable_warehouse) as wh:
        wh.execute("CREATE TABLE leads AS SELECT customer_id AS lead, email AS contact, "
                   "phone AS reach FROM customers")
        result = run_sql(ToolContext(wh=wh, settings=Settings()),
                         "SELECT lead, contact, reach FROM leads LIMIT 5")
    assert result.data["hidden"] == ["contact", "reach"]


@pytest.mark.parametrize(("text", "masked"), [
    ("write to jurgen.meyer1@example.net today", "write to [email] today"),
    ("call +491590936287 or +44 7700 900123", "call [phone] or [phone]"),
    ("US style (415) 555-0100", "US style [phone]"),
    ("spend 1,234,567.89 in 2026-10-31 by 3,000 customers", None),
    ("growth +12.5% and id 1234567", None),
])
def test_text_masking(text, masked):
    assert mask_text(text) == (masked or text)


def test_known_customer_names_are_masked_as_pairs_only():
    names = NameIndex(["Jürgen", "Grace"], ["Meyer", "Kelly"])
    assert names.mask("Ask Jürgen Meyer and Grace Kelly.") == "Ask [name] and [name]."
    assert names.mask("Grace period in Kelly Street") == "Grace period in Kelly Street"
    assert mask_value({"q": ["mail a@b.io", 3]}, names) == {"q": ["mail [email]", 3]}


def _personal_data(wh) -> tuple[set[str], set[str], set[str]]:
    rows = wh.rows("SELECT first_name, last_name, email, phone FROM customers")
    names = {r[0] for r in rows} | {r[1] for r in rows}
    fulls = {f"{r[0]} {r[1]}" for r in rows}
    contacts = {r[2] for r in rows if r[2]} | {r[3] for r in rows if r[3]}
    return names, fulls, contacts


def test_nothing_personal_reaches_the_model_in_a_conversation(writable_warehouse):
    """Every message the model received, over a multi-turn conversation that selects raw and
    aliased personal data, is scanned for every email, phone and name in the warehouse."""
    with Warehouse.open(writable_warehouse) as wh:
        email, phone, first, last = wh.rows(
            "SELECT email, phone, first_name, last_name FROM customers "
            "WHERE phone IS NOT NULL LIMIT 1")[0]
        script = [
            call("run_sql", sql="SELECT * FROM customers LIMIT 40"), "ok",
            call("run_sql", sql="SELECT first_name || ' ' || last_name AS who, lower(email) AS "
                                "contact, phone AS p, country FROM customers LIMIT 40"), "ok",
            call("run_sql", sql="WITH x AS (SELECT email AS e, birth_date AS b FROM customers) "
                                "SELECT e, b FROM x ORDER BY e LIMIT 40"), "ok",
            call("run_sql", sql="SELECT CAST(email AS INTEGER) FROM customers"), "ok",
            call("run_sql", sql=f"SELECT count(*) FROM customers WHERE email = '{email}'"),
            "ok",
            [call("describe_warehouse"), call("describe_warehouse", table="customers")], "ok",
        ]
        fake = ScriptedChatModel(replies=script)
        conversation = Assistant(Settings(warehouse=writable_warehouse), wh,
                                 model=fake).conversation()
        questions = ["Show me some customers", "Who are they and how do I reach them?",
                     "Emails and birthdays please", "Cast the emails",
                     f"Is {first} {last} ({email}, {phone}) a customer?", "What data is there?"]
        answers = [conversation.ask(q) for q in questions]
        names, fulls, contacts = _personal_data(wh)
        public = " ".join(str(v) for row in wh.rows(
            "SELECT DISTINCT city, region FROM customers UNION ALL "
            "SELECT DISTINCT merchant, NULL FROM transactions UNION ALL "
            "SELECT name, NULL FROM campaigns") for v in row if v)
    # only the cast fails (its one tool call errs, so its answer carries the error), and the
    # error, like everything else, holds no personal data
    assert [a.error is None for a in answers] == [True, True, True, False, True, True]
    assert not [c for c in contacts if c in answers[3].error]
    assert any(len(t.df) == 40 and "email" in t.df.columns for t in answers[0].tables)
    seen = "\n".join(fake.texts())
    assert "hidden from the assistant: personal data" in seen
    assert "[email]" in seen and "[phone]" in seen                 # the question was masked
    assert not [c for c in contacts if c in seen]
    assert not [f for f in fulls if f in seen]
    allowed = {n for n in names if re.search(rf"\b{re.escape(n)}\b", public + fake.texts()[0])}
    leaked = {n for n in names - allowed if re.search(rf"\b{re.escape(n)}\b", seen)}
    assert not leaked, f"names reached the model: {sorted(leaked)[:10]}"


def test_lineage_needs_the_catalog_of_this_warehouse(wh):
    catalog = sql_guard.catalog_of(wh)
    assert ("main", "customer_status") in catalog.tables
    assert "email" in catalog.tables[("main", "customers")]
