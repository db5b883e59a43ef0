"""Which semantic model answers: the warehouse's (bank.toml), or an imported table's own.

A user table imported with `assistant import FILE --as NAME` gets a drafted model stored in the
warehouse (schema assistant, table semantic_models: name, TOML text, when it changed), so it
travels with the file and every process reads the same one; `assistant model show/edit NAME`
shows and changes it.
"""

from __future__ import annotations

import re
from datetime import datetime

import sqlglot
from sqlglot import exp

from warehouse import privacy
from warehouse.contract import ASSISTANT_SCHEMA
from warehouse.errors import InvalidArgument
from warehouse.semantic.model import SemanticModel, bank_model, read_model

MODELS_TABLE = f"{ASSISTANT_SCHEMA}.semantic_models"


def stored_models(wh) -> dict[str, str]:
    """{table name: model TOML} of the user tables that have a model."""
    if wh is None or not wh.has_table("semantic_models", ASSISTANT_SCHEMA):
        return {}
    return {name: text for name, text in wh.rows(
        f"SELECT name, source FROM {MODELS_TABLE} ORDER BY name")}


def user_models(wh) -> dict[str, SemanticModel]:
    """The models of the user tables (parsed; a model that no longer parses is skipped and
    reported by `assistant model show`)."""
    out = {}
    for name, text in stored_models(wh).items():
        try:
            out[name] = read_model(text, f"the model of {name}")
        except InvalidArgument:
            continue
    return out


def model_for(wh, table: str | None = None) -> SemanticModel:
    """The model that answers questions about `table` (None: the warehouse's own)."""
    if not table or table in ("bank", "warehouse"):
        return bank_model()
    text = stored_models(wh).get(table)
    if text is None:
        known = ", ".join(stored_models(wh)) or "none yet"
        raise InvalidArgument(f"no semantic model for a table {table!r}; imported tables with "
                              f"a model: {known} (import one with `assistant import FILE --as "
                              "NAME`)")
    return read_model(text, f"the model of {table}")


def check_table_model(wh, name: str, model: SemanticModel) -> None:
    """A user table's model reads only that table: one entity on it, and every SQL snippet
    made of its own columns (no subquery, no other table), none of them personal data."""
    where = f"the model of {name}"
    entities = list(model.entities.values())
    if len(entities) != 1 or entities[0].table != name or not entities[0].user_table:
        raise InvalidArgument(f"{where} must have one entity, with table = {name!r} and "
                              "user_table = true")
    if not wh.has_table(name):
        raise InvalidArgument(f"there is no table {name!r} in the warehouse")
    if model.reference:
        raise InvalidArgument(f"{where} cannot set reference: 'last month' on a table counts "
                              "back from the latest date of its time dimension (entity time)")
    columns = {c.lower() for c in wh.df(f'SELECT * FROM "{name}" LIMIT 0').columns}
    personal = {c.lower() for c in privacy.personal_columns(wh, name)}
    entity = entities[0]
    snippets = [(f"dimension {d.name}", x) for d in entity.dimensions.values()
                for x in (d.expr, *d.extra)]
    snippets += [(f"measure {m.name}", x) for m in model.measures.values()
                 for x in (m.expr, m.filter)]
    snippets += [(f"filter {f.name}", f.expr) for f in model.filters.values()]
    for what, snippet in snippets:
        if not snippet:
            continue
        tree = sqlglot.parse_one(snippet, read="duckdb")
        if any(tree.find_all(exp.Select, exp.Table)) or isinstance(tree, exp.Select):
            raise InvalidArgument(f"{where}, {what}: only the table's own columns may be used "
                                  "(no subquery or other table)")
        for col in tree.find_all(exp.Column):
            if col.name.lower() not in columns:
                raise InvalidArgument(f"{where}, {what}: {name} has no column {col.name!r}")
            if col.name.lower() in personal:
                raise InvalidArgument(f"{where}, {what}: {col.name!r} holds personal data and "
                                      "cannot be used in a model")


def save_model(wh, name: str, text: str, cur=None) -> SemanticModel:
    """Validate `text` and store it as the model of user table `name` (in `cur`'s transaction
    when given, else in its own)."""
    model = read_model(text, f"the model of {name}")
    check_table_model(wh, name, model)

    def write(c) -> None:
        c.execute(f"CREATE SCHEMA IF NOT EXISTS {ASSISTANT_SCHEMA}")
        c.execute(f"CREATE TABLE IF NOT EXISTS {MODELS_TABLE} (name VARCHAR PRIMARY KEY, "
                  "source VARCHAR NOT NULL, updated_at TIMESTAMP)")
        c.execute(f"DELETE FROM {MODELS_TABLE} WHERE name = ?", [name])
        c.execute(f"INSERT INTO {MODELS_TABLE} VALUES (?, ?, ?)",
                  [name, text, datetime.now().replace(microsecond=0)])

    if cur is not None:
        write(cur)
    else:
        with wh.transaction() as c:
            write(c)
    return model


# The one definition of "the latest segmentation of the customers" (churn and value by segment,
# the planner's segment questions and the metric tool all read it): the newest clustering or
# RFM run over the warehouse customers (a user table's segmentation has its own source table).
LATEST_SEGMENTATION_SQL = (
    f"SELECT run_id FROM {ASSISTANT_SCHEMA}.runs WHERE kind IN ('segmentation', 'rfm') "
    "AND source_table = 'customers' ORDER BY created_at DESC, run_id DESC LIMIT 1")


def segment_run(wh) -> str | None:
    """The run id of the most recent segmentation of the warehouse customers, or None."""
    if wh is None or not wh.has_table("runs", ASSISTANT_SCHEMA):
        return None
    rows = wh.rows(LATEST_SEGMENTATION_SQL)
    return rows[0][0] if rows else None


def compact(model: SemanticModel, table: str | None = None, text: str | None = None) -> str:
    """The model's names in one short paragraph, for a language model's system prompt: the
    metrics (a measure's other statistics in brackets), dimensions (qualified when a name is
    on several entities), time dimensions and named filters (a parameter in brackets).

    Given `text` (a question), only the metrics, dimensions and filters it names (by name, the
    model's words, or a value word: "Germany" names country) are listed, with every count, and
    the time dimensions when it speaks of time; so a request carries what its question can use
    (describe_warehouse lists all; the definitions it names come with it)."""
    def wanted(item, values: str | None = None) -> bool:
        return text is None or names(model, item, text, values)

    dims = [d for d in model.all_dimensions if d.kind not in ("id", "time") and not d.pii]
    every = [d.name for d in model.all_dimensions]
    dim_names = [d.qualified if every.count(d.name) > 1 else d.name for d in dims
                 if wanted(d, d.values)]
    metrics = [f"{n}[{'|'.join(m.allowed)}]" if len(m.allowed) > 1 else n
               for n, m in model.measures.items() if m.agg == "count" or wanted(m)]
    metrics += [n for n, m in model.metrics.items() if wanted(m)]
    times = [d.qualified for d in model.all_dimensions if d.kind == "time"] \
        if text is None or TIME_WORDS.search(text) else []
    filters = [f"{n}({f.param})" if f.param else n for n, f in model.filters.items()
               if wanted(f)]
    head = f"table {table}: " if table else ""
    return (f"{head}metrics {', '.join(metrics) or '(none named)'}; dimensions "
            f"{', '.join(dim_names) or '(none named)'}"
            + (f"; time {', '.join(times)}" if times else "")
            + (f"; filters {', '.join(filters)}" if filters else "") + ".")


def names(model: SemanticModel, item, text: str, values: str | None = None) -> bool:
    """Whether `text` names the model's `item` (a measure, metric, dimension or filter): by its
    name, label or words, or, for a dimension, by one of its values' words."""
    phrases = {item.name.replace("_", " "), *item.words, item.label}
    for key, value in model.values.get(values or "", {}).items():
        phrases |= {key.replace("_", " "), value.label, *value.words}
    # the last word of a longer phrase names it too ("can we reach" <- "could we reach")
    phrases |= {p.split()[-1] for p in phrases if " " in p and len(p.split()[-1]) > 3}
    phrases = {p for p in phrases if p.lower() not in _GENERIC or p == item.name}
    return any(named_in(phrase, text) for phrase in phrases)


def tables_named(model: SemanticModel, text: str) -> set[str]:
    """The tables of the entities whose measures, metrics, dimensions or filters `text` names."""
    found = set()
    for entity in model.entities.values():
        items = [*(m for m in model.measures.values() if m.entity == entity.name),
                 *(f for f in model.filters.values() if f.entity == entity.name)]
        hit = any(names(model, m, text) for m in items) or any(
            names(model, d, text, d.values) for d in entity.dimensions.values()
            if d.kind != "id" and not d.pii and d.bridge is None)
        if hit:
            found |= {entity.table, *(x.table for x in entity.extends)} - {None}
            if entity.sql:               # an entity over a query: the tables it reads
                found |= set(re.findall(r"\b(?:FROM|JOIN)\s+([a-z_][a-z0-9_]*)", entity.sql,
                                        re.I))
    return found


_GENERIC = {"customers", "customer", "people", "accounts", "account", "clients", "users"}

# words that put a question in time: a period, a grain or a trend
TIME_WORDS = re.compile(
    r"\b(19|20)\d\d\b|\d+ ?(d|w|m|y)\b|\b(day|week|month|quarter|year|yr|mo|h[12]|q[1-4]|"
    r"daily|weekly|monthly|quarterly|yearly|annual|last|past|since|until|before|after|ago|"
    r"recent|recently|trend|over time|ytd|mtd|today|yesterday|january|february|march|april|"
    r"may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|"
    r"sep|sept|oct|nov|dec|opened|signed up|signup|sent|when|first|half)s?\b", re.I)


def named_in(phrase: str, text: str) -> bool:
    """Whether `phrase` (any case, a plural or past form too) occurs in `text` as whole words."""
    words = re.sub(r"[^a-z0-9%]+", " ", (phrase or "").lower()).strip()
    if not words:
        return False
    padded = " " + re.sub(r"[^a-z0-9%]+", " ", (text or "").lower()) + " "
    return re.search(rf" {re.escape(words)}(?:s|es|d|ed)? ", padded) is not None
