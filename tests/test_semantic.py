"""The semantic model and its compiler: query -> SQL per dialect, query -> result, one meaning.

The cases are in tests/fixtures/compiler_cases.toml (query and expected SQL per dialect; query
and a hand-written reference query whose result the compiled query must reproduce)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from results import contains

import prompts
from tools import audience
from warehouse import schema
from warehouse.semantic import bank_model, read_model
from warehouse.semantic.compiler import CompileError, compile_query
from warehouse.semantic.model import BANK_MODEL, ModelError, fill
from warehouse.semantic.query import Query

CASES = tomllib.loads((Path(__file__).parent / "fixtures" / "compiler_cases.toml").read_text())
MODEL = bank_model()


def _compile(query: str, dialect: str = "duckdb"):
    return compile_query(Query.model_validate_json(query), MODEL, dialect,
                         params={"run_id": "r1"}, pretty=False)


@pytest.mark.parametrize("case", CASES["sql"], ids=[c["query"][:70] for c in CASES["sql"]])
@pytest.mark.parametrize("dialect", ["duckdb", "spark"])
def test_queries_compile_to_the_expected_sql(case, dialect):
    assert _compile(case["query"], dialect).sql == case[dialect]


@pytest.mark.parametrize("case", CASES["result"], ids=[c["query"][:70] for c in CASES["result"]])
def test_compiled_queries_give_the_reference_results(wh, case):
    got = wh.df(_compile(case["query"]).sql)
    reference = wh.df(case["sql"])
    assert contains(reference, got), f"\n{got.head(10)}\nreference:\n{reference.head(10)}"


def test_generated_sql_has_no_duckdb_only_constructs():
    for case in CASES["sql"]:
        sql = case["duckdb"].upper()
        for construct in ("GROUP BY ALL", "LIST_HAS", "LIST_CONTAINS", "LEN(", "::",
                          "PRODUCTS_HELD)"):
            assert construct not in sql, (construct, case["query"])


def test_every_column_says_what_it_is():
    compiled = _compile('{"metrics": ["click_rate"], "dimensions": ["campaign"]}')
    roles = {c.name: c.role for c in compiled.columns}
    assert roles == {"campaign": "dimension", "channel": "support", "sent_on": "support",
                     "click_rate": "metric", "clicked": "part", "sent": "total"}
    assert compiled.column("click_rate").unit == "percent"
    assert any(d.startswith("campaign rates = ") for d in compiled.definitions)


@pytest.mark.parametrize(("query", "message"), [
    ('{"metrics": ["revenue"]}', "unknown metric 'revenue'"),
    ('{"metrics": ["customers"], "dimensions": ["colour"]}', "unknown dimension or filter"),
    ('{"metrics": ["spend"], "dimensions": ["event_type"]}', "cannot be split or filtered by"),
    ('{"metrics": ["customers"], "filters": [{"field": "marketable"}]}', "needs one or more"),
    ('{"metrics": ["customers"], "filters": [{"field": "marketable", "values": ["fax"]}]}',
     "not 'fax'"),
    ('{"metrics": ["open_rate"], "subgroup": [{"field": "active"}]}', "a subgroup share"),
    ('{"metrics": [{"name": "interest_rate", "agg": "sum"}]}', "not available"),
    ('{"metrics": ["customers"], "dimensions": ["signup"]}', "with a grain"),
    ('{"metrics": ["customers"], "filters": [{"field": "active", "op": "gt", "values": [1]}]}',
     "takes in, not_in or all"),
])
def test_what_cannot_be_compiled_is_said_plainly(query, message):
    with pytest.raises(CompileError, match=message):
        _compile(query)


def test_queries_are_validated_strictly():
    with pytest.raises(ValueError, match="between takes two values"):
        Query.model_validate_json('{"metrics": ["customers"], "filters": [{"field": "age", '
                                  '"op": "between", "values": [30]}]}')
    with pytest.raises(ValueError, match="extra"):
        Query.model_validate_json('{"metrics": ["customers"], "where": "1=1"}')


# -- the model file --------------------------------------------------------------------------
BANK_TEXT = BANK_MODEL.read_text()


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t.replace('values = "country"', 'values = "countries"', 1),
     "unknown value set 'countries'"),
    (lambda t: t.replace('expr = "s.is_active"', 'expr = "s.is_active AND ("', 1),
     "SQL does not parse"),
    (lambda t: t.replace('entity = "transactions"', 'entity = "payments"', 1),
     "unknown entity 'payments'"),
    (lambda t: t.replace('numerator = "opened"', 'numerator = "opened"\ncolour = "red"', 1),
     "colour"),
    (lambda t: t + "\n[broken", "not valid TOML"),
])
def test_a_broken_model_file_says_where(change, message):
    with pytest.raises(ModelError, match=message):
        read_model(change(BANK_TEXT), "bank.toml")


# -- one meaning per word --------------------------------------------------------------------
def test_one_definition_per_concept_everywhere(wh):
    """The views, the system prompt, the planner's definitions and the reach rule of cards and
    audiences are all rendered from the semantic model."""
    defs = MODEL.definitions()
    assert "dormant" in defs and "not active" in defs["dormant"]
    assert "never transacted" in defs and defs["never transacted"] != defs["dormant"]
    # the views: the spend rule and the activity window are the model's
    views = {name: (body, comment, cols) for name, body, comment, cols in schema.VIEWS}
    status_sql = views["customer_status"][0]
    assert fill(MODEL.measures["spend"].filter) in status_sql
    assert defs["active"].split(" = ", 1)[1] in views["customer_status"][2]["is_active"].lower()
    # the system prompt shows the model's definitions
    from tools.describe import overview

    prompt = prompts.load("system").render(overview=overview(wh), max_steps=8)
    for term in ("active", "churned", "dormant", "spend", "reachable", "opted in"):
        assert defs[term].replace(" {ref}", "") in prompt or defs[term] in prompt, term
    # the reach rule of audiences and cards is the model's marketable filter
    rules = MODEL.filters["marketable"].rules
    assert tuple(r.reason for r in rules) == audience.REASONS
    sql = audience.eligibility_sql("email")
    for rule in rules:
        assert fill(rule.sql("email"), channel="email") in sql


def test_reach_in_chat_equals_reach_in_audiences(wh):
    """'How many customers can we reach by SMS?' and an SMS audience count the same people."""
    for channel in ("email", "sms", "push"):
        compiled = _compile('{"metrics": ["customers"], "filters": [{"field": "marketable", '
                            f'"values": ["{channel}"]}}]}}')
        in_chat = wh.scalar(compiled.sql)
        counts = audience.audience_counts(wh, channel)
        assert in_chat == counts.eligible > 0
