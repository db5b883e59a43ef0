"""describe_warehouse: a compact map of the warehouse with the business definitions.

The overview (one line per table) is also put into the system prompt, so it is kept short: the
first model request stays small even when users import many tables. Column meanings come from the
COMMENTs in the warehouse, one table at a time, on request.
"""

from __future__ import annotations

import re

import pandas as pd

from tools.result import TableResult, ToolContext, ToolResult
from tools.sql_guard import MODEL_READABLE
from warehouse import privacy
from warehouse.contract import ASSISTANT_SCHEMA, COUNTRIES, TABLES_BY_NAME
from warehouse.errors import InvalidArgument
from warehouse.schema import VIEW_NAMES, reference_note
from warehouse.semantic import bank_model

MANY_TABLES = 40   # beyond this, the overview lists table names only


def describe_warehouse(ctx: ToolContext, table: str | None = None) -> ToolResult:
    """Describe the warehouse: tables, columns, allowed values and the business definitions.

    Call it without arguments for the overview, or with a table name for the meaning of each of
    its columns (from the warehouse comments). Columns marked * hold personal data: never select
    them, you would not see them anyway.

    Args:
        table: a table or view name such as "transactions" or "customer_status"; omit it for the
            overview of all tables.
    """
    if table:
        return _describe_table(ctx.wh, table.strip())
    text = overview(ctx.wh)
    return ToolResult(summary=text, data={"overview": text})


def _catalog(wh) -> list[tuple[str, str, str, list[str], str]]:
    """(schema, name, kind, columns, comment) of every table and view the model may read (of
    the assistant's own tables, those on the SQL guard's allow-list, with their readable
    columns), from the engine's catalog."""
    readable = []
    for t in wh.catalog():
        columns = list(t.column_names)
        if t.schema == ASSISTANT_SCHEMA:
            if t.name not in MODEL_READABLE:
                continue
            allowed = MODEL_READABLE[t.name]
            columns = [c for c in columns if allowed is None or c in allowed]
        readable.append((t.schema, t.name, t.kind, columns, t.comment))
    return readable


def _rows(wh) -> dict[tuple[str, str], int]:
    return {(t.schema, t.name): int(t.rows or 0) for t in wh.catalog() if t.kind == "table"}


def _user_label(column: str, index: int, personal: dict[str, str]) -> str:
    """A column of the user's own table as the model reads it: names from a file are data, not
    instructions, so a name that is not a short plain name (an email used as a header, a
    sentence) is withheld, and names with spaces or symbols are quoted."""
    mark = "*" if column in personal else ""
    safe = privacy.safe_name(column)
    if safe is None:
        return f"#{index + 1}{mark} (name withheld: not a plain column name)"
    return (column if _IDENTIFIER.fullmatch(column) else f'"{column}"') + mark


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _column_label(table: str, column: str) -> str:
    spec = TABLES_BY_NAME.get(table)
    if spec is None or column not in spec.column_names:
        return column
    col = spec.column(column)
    mark = "*" if col.pii else ("†" if col.protected else "")
    if col.values:
        return f"{column}{mark} [{' '.join(col.values)}]"
    if column == "country" and table == "customers":
        return f"{column} [ISO-2: {' '.join(COUNTRIES)}]"
    return column + mark


# always in the system prompt; the other contract tables come with the questions naming them
CORE_TABLES = ("customers", *VIEW_NAMES)


def overview(wh, own_tables: bool = True, definitions: bool = True,
             metrics: bool = True, routed: bool = False) -> str:
    """The compact overview: reference date, definitions, one line per table, the names of
    query_metrics. Without `own_tables`, the assistant's own tables (schema assistant) are
    named in one line only, and without `definitions` / `metrics` those are left out: the
    system prompt of each request adds what its question needs (`own_tables_overview`,
    `definitions_line`, `metrics_overview(wh, question)`). With `routed`, the contract's tables
    beyond customers and the views are named in one line, their columns left to
    `tables_overview(wh, question)`."""
    period = wh.reference_period() if wh.has_table("transactions") else {}
    lines = []
    if period.get("reference_date"):
        lines.append(
            f"Reference date {period['reference_date']:%Y-%m-%d} (data from "
            f"{period['data_start']:%Y-%m-%d}); 'last month', 'last 90 days', ages count back "
            "from it, never from today." + (f" {reference_note(period)}"
                                           if reference_note(period) else "")
        )
    if definitions:
        lines.append(definitions_line())
    catalog = _catalog(wh)
    lines.append("Tables (rows): columns. * personal data (hidden from you), † protected "
                 "attribute (not for targeting).")
    shown = catalog if own_tables else [t for t in catalog if t[0] != ASSISTANT_SCHEMA]
    later = [t for t in shown if _routed_table(t)] if routed else []
    lines += _table_lines(wh, [t for t in shown if t not in later],
                          many=len(catalog) > MANY_TABLES)
    if later:
        lines.append("Also " + ", ".join(t[1] for t in later) + " (columns sent with the "
                     "questions that need them; describe_warehouse(table=...) gives each "
                     "column's meaning).")
    if not own_tables:
        lines.append(f"Schema {ASSISTANT_SCHEMA}: what the assistant saves (segment runs and "
                     "members, scores; drafts through their tools; audiences and the audit log "
                     "are not readable).")
    views = [v for v in VIEW_NAMES if any(n == v for _, n, *_ in catalog)]
    if views:
        lines.append(f"Views {' and '.join(views)} apply the definitions; join customer_status "
                     "on customer_id instead of re-deriving active/churned/spend_90d/age.")
    if not later:                 # else the line naming the other tables says it
        lines.append("describe_warehouse(table=...) gives each column's meaning.")
    if metrics:
        lines.append(metrics_overview(wh))
    return "\n".join(lines)


def _routed_table(entry) -> bool:
    schema, name = entry[0], entry[1]
    return schema == "main" and name in TABLES_BY_NAME and name not in CORE_TABLES


def tables_overview(wh, text: str) -> str:
    """The lines of the contract tables left out of a routed overview that `text` (the
    conversation's questions) names: by a semantic-model name, word or value, or by a word
    of the table's name, columns or values."""
    from warehouse.semantic.models import tables_named

    catalog = [t for t in _catalog(wh) if _routed_table(t)]
    named = tables_named(bank_model(), text)
    words = _stems(text)
    lines = _table_lines(wh, catalog, many=False)
    chosen = [entry for entry, line in zip(catalog, lines, strict=True)
              if entry[1] in named or words & (_stems(line) - _GENERIC_WORDS)]
    return "\n".join(_table_lines(wh, chosen, many=False))   # "[as T]" only for T shown


_GENERIC_WORDS = {"id", "customer", "at", "ts", "as", "name", "type", "status", "date",
                  "event", "app", "account"}


def _stems(text: str) -> set[str]:
    """Lower-case words of `text` (three letters or more: "in" of in_app names nothing) with a
    plural or past ending taken off."""
    words = re.findall(r"[a-z0-9]+", (text or "").lower().replace("_", " "))
    return {re.sub(r"(?<=[a-z]{3})(es|s|ed|ing)$", "", w) for w in words if len(w) > 2}


def metrics_overview(wh, text: str | None = None) -> str:
    """The semantic model's names for query_metrics: the warehouse's, then each imported
    table's (asked with table=NAME). Given `text` (a question), only the names it can use
    (see `compact`), with a pointer to the full list."""
    from warehouse.semantic.models import compact, user_models

    head = ("query_metrics names (the definitions are applied for you): " if text is None
            else "query_metrics names for this question (all: describe_warehouse()): ")
    lines = [head + compact(bank_model(), text=text)]
    for name, model in user_models(wh).items():
        if wh.has_table(name):
            lines.append("query_metrics(table=...) on an imported "
                         + compact(model, name, text=text))
    return "\n".join(lines)


def definitions_line(text: str | None = None) -> str:
    """'Definitions: ...': every business definition, or (given `text`) those whose words or
    name occur in the text (a question), so a request carries only the ones it may need."""
    every = {k: v for k, v in bank_model().definitions().items() if k != "reference date"}
    if text is None:
        return "Definitions: " + "; ".join(every.values()) + "."
    wanted = _terms_named_in(text)
    chosen = [v for k, v in every.items() if k in wanted]
    rest = "describe_warehouse() lists all" if chosen else \
        "none named here; describe_warehouse() lists them all"
    return f"Definitions ({rest}): " + "; ".join(chosen) + ("." if chosen else "")


def _terms_named_in(text: str) -> set[str]:
    """The defined terms ('spend', 'active', ...) whose words or name occur in `text`."""
    text = " " + re.sub(r"[^a-z0-9%]+", " ", (text or "").lower()) + " "
    model = bank_model()
    found = set()
    for item in [*model.filters.values(), *model.measures.values(), *model.metrics.values(),
                 *model.all_dimensions]:
        if not item.definition:
            continue
        term = item.definition.split(" = ", 1)[0].strip()
        phrases = {*item.words, term, getattr(item, "name", "").replace("_", " ")}
        value_set = model.values.get(getattr(item, "values", None) or "", {})
        for key, value in value_set.items():     # "credit card" names the product dimension
            phrases |= {key.replace("_", " "), value.label, *value.words}
        for phrase in phrases:
            words = re.sub(r"[^a-z0-9%]+", " ", phrase.lower()).strip()
            if words and re.search(rf" {re.escape(words)}(?:s|es|d|ed)? ", text):
                found.add(term)
                break
    return found


def own_tables_overview(wh) -> str:
    """One line per table of the assistant's own schema (empty when there are none)."""
    catalog = _catalog(wh)
    own = [t for t in catalog if t[0] == ASSISTANT_SCHEMA]
    return "\n".join(_table_lines(wh, own, many=len(catalog) > MANY_TABLES))


def _table_lines(wh, tables, many: bool) -> list[str]:
    counts = _rows(wh) if tables else {}
    lines = []
    first: dict[tuple[str, str], str] = {}   # (column, value list) -> table that showed it
    for schema, name, kind, columns, _ in tables:
        full = name if schema == "main" else f"{schema}.{name}"
        user = schema == "main" and name not in TABLES_BY_NAME and name not in VIEW_NAMES
        if user and privacy.safe_name(name) is None:
            lines.append(f"(a table whose name is withheld: not a plain table name; "
                         f"{len(columns)} columns)")
            continue
        if many:
            lines.append(f"{full} ({len(columns)} columns)")
            continue
        size = "view" if kind == "view" else f"{counts.get((schema, name), 0):,}"
        personal = privacy.personal_columns(wh, name) if user else {}
        labels = []
        for index, column in enumerate(columns):
            if user:
                labels.append(_user_label(column, index, personal))
                continue
            label = _column_label(name, column)
            values = label[len(column):]
            if values.endswith("]") and (column, values) in first:
                label = f"{column} [as {first[column, values]}]"   # the same values again
            elif values.endswith("]"):
                first[column, values] = name
            labels.append(label)
        lines.append(f"{full} ({size}): {', '.join(labels)}")
    return lines


def _describe_table(wh, name: str) -> ToolResult:
    schema, _, table = name.rpartition(".")
    schema = schema or "main"
    if schema == ASSISTANT_SCHEMA and table not in MODEL_READABLE:
        rows = []                       # not readable by the model: as if it did not exist
    else:
        info = next((t for t in wh.catalog() if t.schema == schema and t.name == table), None)
        rows = [(c.name, c.type, c.comment) for c in info.columns] if info else []
    if not rows:
        known = [n if s == "main" else f"{s}.{n}" for s, n, *_ in _catalog(wh)]
        raise InvalidArgument(f"unknown table {name!r}; the tables are {', '.join(known)}")
    comment = next((c for s, n, _, _, c in _catalog(wh) if s == schema and n == table), "")
    lines = [f"{name}: {comment}".rstrip(": ")]
    user = schema == "main" and table not in TABLES_BY_NAME and table not in VIEW_NAMES
    personal = privacy.personal_columns(wh, table) if user else {}
    for index, (column, dtype, text) in enumerate(rows):
        label = _user_label(column, index, personal) if user else _column_label(table, column)
        lines.append(f"- {label} {dtype}: {text}".rstrip(": "))
    df = pd.DataFrame(rows, columns=["column", "type", "meaning"])
    return ToolResult(summary="\n".join(lines), tables=[TableResult(f"Columns of {name}", df)])
