"""Which semantic model answers: the warehouse's (bank.toml), or an imported table's own.

A user table imported with `assistant import FILE --as NAME` gets a drafted model stored in the
warehouse (schema assistant, table semantic_models: name, TOML text, when it changed), so it
travels with the file and every process reads the same one; `assistant model show/edit NAME`
shows and changes it.
"""

from __future__ import annotations

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


def segment_run(wh) -> str | None:
    """The run id of the most recent segmentation of the warehouse customers, or None."""
    if wh is None or not wh.has_table("segment_members", ASSISTANT_SCHEMA):
        return None
    members = (f"SELECT DISTINCT run_id FROM {ASSISTANT_SCHEMA}.segment_members "
               "WHERE customer_id IS NOT NULL")
    if wh.has_table("runs", ASSISTANT_SCHEMA):
        rows = wh.rows(f"SELECT run_id FROM {ASSISTANT_SCHEMA}.runs WHERE run_id IN ({members})"
                       " ORDER BY created_at DESC, run_id DESC LIMIT 1")
    else:
        rows = wh.rows(f"{members} ORDER BY run_id DESC LIMIT 1")
    return rows[0][0] if rows else None


def compact(model: SemanticModel, table: str | None = None) -> str:
    """The model's names in one short paragraph, for a language model's system prompt: the
    metrics (a measure's other statistics in brackets), dimensions (qualified when a name is
    on several entities), time dimensions and named filters (a parameter in brackets)."""
    dims = [d for d in model.all_dimensions if d.kind not in ("id", "time") and not d.pii]
    names = [d.name for d in model.all_dimensions]
    dim_names = [d.qualified if names.count(d.name) > 1 else d.name for d in dims]
    metrics = [f"{n}[{'|'.join(m.allowed)}]" if len(m.allowed) > 1 else n
               for n, m in model.measures.items()] + list(model.metrics)
    times = [d.qualified for d in model.all_dimensions if d.kind == "time"]
    filters = [f"{n}({f.param})" if f.param else n for n, f in model.filters.items()]
    head = f"table {table}: " if table else ""
    return (f"{head}metrics {', '.join(metrics)}; dimensions {', '.join(dim_names)}"
            + (f"; time {', '.join(times)}" if times else "")
            + (f"; filters {', '.join(filters)}" if filters else "") + ".")
