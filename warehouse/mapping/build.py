"""Turn a mapping's loads into rows for the importer: one SELECT per load, in the sandbox.

For a load into a warehouse table the SELECT reads its source (joined with others), drops the
rows a skip rule names (counted per reason), groups them when asked, and computes every target
column as text (c0..cN), plus the line number and any bad source value (__pre_key/__pre_reason).
The importer then applies the same checks as to a plain file (types, value sets, keys, parents),
in the warehouse's one transaction. A load into a table of the user's own keeps the computed
types and becomes a table like `assistant import --as`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from warehouse.connection import Warehouse
from warehouse.contract import TABLES_BY_NAME, Column
from warehouse.errors import ConfigError, ImportFileError
from warehouse.import_checks import sql_literal
from warehouse.import_read import LINE, Plan
from warehouse.import_spec import ImportSpec
from warehouse.importer import PRE_KEY, PRE_REASON, Prepared
from warehouse.mapping.sources import SRC_KEY, SRC_REASON, SourceData, Workspace, quote_ident
from warehouse.mapping.spec import LINE_COLUMN, ColumnSpec, Load, Mapping

_INTERNAL = (LINE, SRC_KEY, SRC_REASON)


@dataclass
class OwnLoad:
    """A load into a table of the user's own: the rows (typed) and where they came from."""

    load: Load
    rows: Callable[[], pa.Table]
    skipped: dict[str, int] = field(default_factory=dict)
    description: str = ""
    personal: list[str] = field(default_factory=list)


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP '{value:%Y-%m-%d %H:%M:%S}'"
    if isinstance(value, dt.date):
        return f"DATE '{value:%Y-%m-%d}'"
    if isinstance(value, dt.time):
        return f"TIME '{value:%H:%M:%S}'"
    return sql_literal(str(value))


def _norm(sql: str) -> str:
    try:
        return sqlglot.parse_one(sql, read="duckdb").sql("duckdb").lower()
    except sqlglot.errors.SqlglotError:
        return sql.strip().lower()


def _with_line(sql: str, line: str) -> str:
    """`_line` (the source row's line number) in an expression, as the internal column."""
    if LINE_COLUMN not in sql:
        return sql
    tree = sqlglot.parse_one(sql, read="duckdb")

    def swap(node):
        if isinstance(node, exp.Column) and node.name == LINE_COLUMN and not node.table:
            return sqlglot.parse_one(line, read="duckdb")
        return node

    return tree.transform(swap).sql("duckdb")


class LoadBuilder:
    """The SQL of one load over the sources in the sandbox."""

    def __init__(self, ws: Workspace, mapping: Mapping, load: Load) -> None:
        self.ws, self.mapping, self.load = ws, mapping, load
        self.data: dict[str, SourceData] = {}
        for name in [load.source, *(j.source for j in load.joins)]:
            self.data[name] = ws.load(mapping.sources[name])
        self.main = self.data[load.source]
        self.alias = load.source
        self.line = f"{quote_ident(self.alias)}.{LINE}"
        self.grouped = bool(load.group_by)
        self.skips = [(s.where, s.reason) for s in load.skips]
        for j in load.joins:
            if j.how == "inner":
                self.skips.append((f"{quote_ident(j.alias)}.{LINE} IS NULL",
                                   f"no matching row in {j.source} (inner join)"))

    # -- pieces --------------------------------------------------------------------------------
    @property
    def relation(self) -> str:
        parts = [f"{quote_ident(self.load.source)} AS {quote_ident(self.alias)}"]
        for j in self.load.joins:
            parts.append(f"LEFT JOIN {quote_ident(j.source)} AS {quote_ident(j.alias)} ON "
                         f"({_with_line(j.on, self.line)})")
        return "\n    ".join(parts)

    def _where(self) -> str:
        if not self.skips:
            return ""
        kept = " AND ".join(f"NOT coalesce(({_with_line(w, self.line)}), false)"
                            for w, _ in self.skips)
        return f"\nWHERE {kept}"

    def where_text(self, what: str) -> str:
        return f"mapping {self.mapping.path.name}, {self.load.where}, {what}"

    def check(self, sql: str, what: str) -> None:
        """Bind `sql` over the load's relation now, so a wrong name is said where it is."""
        try:
            self.ws.sandbox.execute(f"SELECT {sql} FROM {self.relation} LIMIT 0").fetchall()
        except duckdb.Error as exc:
            raise ConfigError(self.where_text(f"{what}: {self._explain(exc, sql)}")) from None

    def _explain(self, exc: duckdb.Error, sql: str) -> str:
        text = str(exc).strip().splitlines()[0]
        text = re.sub(r"^[A-Za-z ]*Error: ", "", text)
        for internal in _INTERNAL:
            text = re.sub(rf'"?[A-Za-z_]*\.?"?{internal}"?,? ?', "", text)
        m = re.search(r'Referenced column "([^"]+)" not found', text)
        hint = ""
        if m:
            cols = {n: d.columns for n, d in self.data.items()}
            listed = "; ".join(f"{n}: {', '.join(c)}" for n, c in cols.items())
            hint = (f". The source columns are {listed}. For a constant text write "
                    f"{{ value = \"{m.group(1)}\" }}; a column name with spaces or capitals "
                    f"goes in double quotes: '\"{m.group(1)}\"'")
        return f"{sql!r}: {text}{hint}"

    def skipped(self) -> dict[str, int]:
        """Rows each skip rule leaves out (a row counts for the first rule it meets)."""
        if not self.skips:
            return {}
        parts, before = [], []
        for w, _ in self.skips:
            cond = f"coalesce(({_with_line(w, self.line)}), false)"
            parts.append("count_if(" + " AND ".join([*(f"NOT {b}" for b in before), cond]) + ")")
            before.append(cond)
        for w, _ in self.skips:
            self.check(f"coalesce(({_with_line(w, self.line)}), false)", f"skip where {w!r}")
        row = self.ws.sandbox.execute(f"SELECT {', '.join(parts)} FROM {self.relation}"
                                      ).fetchall()[0]
        out: dict[str, int] = {}
        for (_, reason), n in zip(self.skips, row, strict=True):
            if n:
                out[reason] = out.get(reason, 0) + int(n)
        return out

    def value(self, col: ColumnSpec, offset: str = "0") -> str:
        """The SQL of one target column (before any cast to text)."""
        if col.generate:
            order = f"min({self.line})" if self.grouped else self.line
            return f"(row_number() OVER (ORDER BY {order}) + {offset})"
        if col.sql is not None:
            sql = _with_line(col.sql, f"min({self.line})" if self.grouped else self.line)
            self.check(_with_line(col.sql, self.line) if self.grouped else sql,
                       f"column {col.name}")
            if self.grouped and not col.aggregate and _norm(col.sql) not in \
                    {_norm(g) for g in self.load.group_by}:
                # not an aggregate and not a group key: the value of the group's first row
                sql = f"arg_min({_with_line(col.sql, self.line)}, {self.line})"
        else:
            sql = _literal(col.value)
        if col.recode:
            cases = []
            other = None
            for key, target in col.recode.items():
                if key == "*":
                    other = _literal(target if target != "" else None)
                    continue
                cases.append(f"WHEN {sql_literal(str(key))} THEN "
                             f"{_literal(target if target != '' else None)}")
            text = f"CAST(({sql}) AS VARCHAR)"
            fallback = other if other is not None else text
            sql = (f"CASE WHEN ({sql}) IS NULL THEN NULL ELSE CASE {text} "
                   f"{' '.join(cases)} ELSE {fallback} END END")
        if col.default is not None:
            sql = f"coalesce({sql}, {_literal(col.default)})"
        return sql

    def pre(self) -> tuple[str, str]:
        """SQL of the first bad source value of a row (key, reason); grouped: of a group that
        has only bad rows."""
        keys = [f"{quote_ident(a)}.{SRC_KEY}" for a in [self.alias, *(j.alias for j in
                                                                      self.load.joins)]]
        reasons = [k.replace(SRC_KEY, SRC_REASON) for k in keys]
        key = f"coalesce({', '.join(keys)})" if len(keys) > 1 else keys[0]
        reason = f"coalesce({', '.join(reasons)})" if len(reasons) > 1 else reasons[0]
        if self.grouped:
            return (f"CASE WHEN count_if({key} IS NULL) = 0 THEN min({key}) END",
                    f"CASE WHEN count_if({key} IS NULL) = 0 THEN min({reason}) END")
        return key, reason

    def select(self, outputs: list[tuple[str, str]], *, extra: list[str] = ()) -> str:
        cols = [f"{sql} AS {quote_ident(name)}" for name, sql in outputs]
        line = f"min({self.line})" if self.grouped else self.line
        body = ",\n       ".join([*cols, f"{line} AS {LINE}", *extra])
        group = ""
        if self.grouped:
            group = "\nGROUP BY " + ", ".join(_with_line(g, self.line)
                                               for g in self.load.group_by)
            for g in self.load.group_by:
                self.check(_with_line(g, self.line), f"group_by {g!r}")
        return f"SELECT {body}\nFROM {self.relation}{self._where()}{group}\nORDER BY {LINE}"

    def check_fan_out(self) -> None:
        """A join that gives a row several matches would repeat it: say so with an example."""
        if self.grouped or not self.load.joins:
            return
        rows = self.ws.sandbox.execute(
            f"SELECT {self.line}, count(*) FROM {self.relation}{self._where()} GROUP BY 1 "
            "HAVING count(*) > 1 ORDER BY 1 LIMIT 1").fetchall()
        if rows:
            line, n = rows[0]
            joins = ", ".join(j.source for j in self.load.joins)
            raise ImportFileError(
                f"{self.load.where}: joining {joins} gives line {line} of "
                f"{self.main.file_label} {n} matching rows, so it would load {n} times; make "
                "the join's on condition match at most one row (for example AND "
                "disp.type = 'OWNER'), or use group_by",
                file=str(self.main.files[0]), row=int(line))


# -- loads into warehouse tables -------------------------------------------------------------------
def prepare(ws: Workspace, mapping: Mapping, load: Load, wh: Warehouse) -> Prepared:
    """The importer's Prepared rows for a load into a warehouse table."""
    table = TABLES_BY_NAME[load.into]
    b = LoadBuilder(ws, mapping, load)
    contract = set(table.column_names)
    needed = [c.name for c in table.columns if c.required or c.name in table.key]
    missing = [c for c in needed if c not in load.columns]
    if missing:
        examples = {"direction": '{ value = "debit" }', "category": '{ value = "shopping" }',
                    "transaction_id": '{ generate = "row_number" }',
                    "event_id": '{ generate = "row_number" }'}
        hint = "; ".join(f"{m} = {examples.get(m, chr(34) + 'source_column' + chr(34))}"
                         for m in missing)
        raise ConfigError(b.where_text(f"table {table.name} needs the column"
                                       f"{'s' if len(missing) > 1 else ''} "
                                       f"{', '.join(missing)}; add for example: {hint}"))
    extra: list[Column] = []
    for name, col in load.columns.items():
        if name in contract:
            if col.type is not None:
                raise ConfigError(b.where_text(f"column {name}: {name} is a warehouse column, "
                                               "its type is fixed; leave out type"))
            continue
        if col.type is None:
            from warehouse.import_read import suggest

            hint = suggest(name, sorted(contract - set(load.columns)))
            raise ConfigError(b.where_text(
                f"table {table.name} has no column {name}{' (' + hint + ')' if hint else ''}; "
                f"to add a column of your own, give its type: {name} = {{ sql = \"...\", type = "
                "\"VARCHAR\", comment = \"what it means\" }}"))
        words = col.comment or f"Added by the mapping {mapping.path.name}."
        if col.personal:
            words = f"Personal data: {words}"
        extra.append(Column(name, col.type, words, pii=col.personal))
    if any(c.generate for c in load.columns.values()) and len(table.key) != 1:
        raise ConfigError(b.where_text("generate = \"row_number\" makes the key of a table with "
                                       "a one-column key"))
    skipped = b.skipped()
    b.check_fan_out()
    names = list(load.columns)
    pre_key, pre_reason = b.pre()
    templates = []
    types = {c.name: c.type for c in table.columns} | {c.name: c.type for c in extra}
    for i, name in enumerate(names):
        col = load.columns[name]
        value = b.value(col, "{offset}" if col.generate else "0")
        templates.append((f"c{i}", _as_text(value, types.get(name, "VARCHAR")), col))
    spec = ImportSpec(path=mapping.sources[load.source].files[0], table=table.name)
    plan = Plan(spec=spec, table=table, fmt=mapping.sources[load.source].format,
                delimiter=b.main.delimiter, columns=names,
                assign={n: i for i, n in enumerate(names) if n in contract or
                        n in {c.name for c in extra}},
                ignored=[], null_columns=[c for c in table.column_names if c not in names],
                pre_checked=True)
    plan.pre_columns = {k: c for k in b.main.bad for c in [_column_of(k)] if c}
    for j in load.joins:
        plan.pre_columns |= {k: c for k in b.data[j.source].bad for c in [_column_of(k)] if c}

    def rows() -> pa.Table:
        outputs = []
        for out, sql, col in templates:
            if col.generate:
                key = col.name
                offset = wh.scalar(f"SELECT coalesce(max({key}), 0) FROM {table.name}")
                sql = sql.replace("{offset}", str(int(offset or 0)))
            outputs.append((out, sql))
        query = b.select(outputs, extra=[f"{pre_key} AS {PRE_KEY}",
                                          f"{pre_reason} AS {PRE_REASON}"])
        try:
            return ws.sandbox.sql(query).to_arrow_table()
        except duckdb.Error as exc:
            raise ImportFileError(f"{load.where}: {b._explain(exc, 'the load')}",
                                  file=str(spec.path)) from None

    label = b.main.file_label if not load.joins else \
        f"{b.main.file_label} + {', '.join(b.data[j.source].file_label for j in load.joins)}"
    grouped = None
    if b.grouped:
        grouped = b.main.rows - sum(skipped.values())
        label += f", grouped by {', '.join(load.group_by)}"
    return Prepared(plan=plan, rows=rows, extra=tuple(extra), skipped=skipped,
                    source=f"load {load.index}: {label}", grouped_from=grouped)


def _as_text(value: str, target: str) -> str:
    """The value as the text the importer checks; a timestamp into a DATE column keeps its day
    (so min(InvoiceDate) can fill signup_date)."""
    if target == "DATE":
        ts = f"TRY_CAST(({value}) AS TIMESTAMP)"
        return (f"CASE WHEN {ts} IS NOT NULL THEN CAST(CAST({ts} AS DATE) AS VARCHAR) "
                f"ELSE CAST(({value}) AS VARCHAR) END")
    return f"CAST(({value}) AS VARCHAR)"


def _column_of(key: str) -> str | None:
    m = re.search(r"column '([^']+)'", key)
    return m.group(1) if m else None


# -- loads into tables of the user's own ---------------------------------------------------------
def prepare_own(ws: Workspace, mapping: Mapping, load: Load, max_rejects: int) -> OwnLoad:
    """The typed rows of a load into a table of the user's own."""
    b = LoadBuilder(ws, mapping, load)
    skipped = b.skipped()
    b.check_fan_out()
    if load.columns:
        outputs = [(name, b.value(col)) for name, col in load.columns.items()]
    else:   # every column of the source, as typed
        outputs = [(c, f"{quote_ident(b.alias)}.{quote_ident(c)}") for c in b.main.columns]
        if b.grouped:
            raise ConfigError(b.where_text("with group_by, list the columns to make"))
    pre_key, pre_reason = b.pre()
    query = b.select(outputs, extra=[f"{pre_key} AS {PRE_KEY}", f"{pre_reason} AS {PRE_REASON}"])
    file = str(mapping.sources[load.source].files[0])

    def rows() -> pa.Table:
        try:
            data = ws.sandbox.sql(query).to_arrow_table()
        except duckdb.Error as exc:
            raise ImportFileError(f"{load.where}: {b._explain(exc, 'the load')}",
                                  file=file) from None
        keys = data.column(PRE_KEY).to_pylist()
        bad = [i for i, k in enumerate(keys) if k is not None]
        if len(bad) > max_rejects:
            first = bad[0]
            line = data.column(LINE)[first].as_py()
            raise ImportFileError(f"{data.column(PRE_REASON)[first].as_py()} (line {line})"
                                  + (f"; {len(bad):,} rows are bad, more than the "
                                     f"{max_rejects:,} allowed" if max_rejects else ""),
                                  file=file, row=line, column=_column_of(keys[first]))
        if bad:
            keep = pa.array([k is None for k in keys])
            data = data.filter(keep)
            skipped[f"bad values (within --max-rejects {max_rejects})"] = len(bad)
        return data.drop_columns([LINE, PRE_KEY, PRE_REASON])

    personal = [n for n, c in load.columns.items() if c.personal]
    return OwnLoad(load, rows, skipped, load.comment or "", personal)
