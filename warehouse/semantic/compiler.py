"""Structured query -> sqlglot expression -> SQL in a dialect.

    from warehouse.semantic import bank_model, compile_query, Query
    compiled = compile_query(Query(metrics=["customers"], dimensions=["country"]), bank_model())
    compiled.sql          # DuckDB SQL; compile_query(..., dialect="spark") for Spark
    compiled.columns      # what each output column is (dimension, metric, support), with units
    compiled.definitions  # the business definitions the query applies, in words

How a query becomes SQL:
- every metric is made of measures; each measure is aggregated over its entity's table (its
  *source*), joined many-to-one to the entities its dimensions and filters live on (a
  transaction's customer, an account's product), extensions (customer_status) joined on the key;
- base filters go into WHERE; a measure's own filter, a ratio's numerator filter, a metric's
  filters and the subgroup go into FILTER (WHERE ...) of its aggregate (or WHERE when every
  aggregate of the source shares them);
- a multi-valued dimension (the products a customer holds) is a join to its bridge when it
  splits the result, an EXISTS when it filters;
- `per` aggregates a measure per entity first ("average over customers of each one's spend");
- measures of different sources (an opt-in rate: opted-in customers over all customers) are
  computed in one CTE per source and joined on the dimensions they share; a filter or dimension
  that does not apply to a source (the consent channel, for all customers) is not applied to it.

Generated SQL avoids engine-only forms (no GROUP BY ALL, no list functions, explicit GROUP BY
expressions, FILTER clauses, CASE): sqlglot renders it for DuckDB or Spark.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

import sqlglot
from sqlglot import exp

from warehouse.errors import InvalidArgument
from warehouse.semantic.model import (
    Dimension,
    Entity,
    Measure,
    Metric,
    NamedFilter,
    SemanticModel,
    parse_sql,
)
from warehouse.semantic.query import Condition, MetricRef, Query, TimeRange


class CompileError(InvalidArgument):
    """The query asks for something the model does not have or cannot combine."""


@dataclass(frozen=True)
class Column:
    """One output column: a dimension (or a label naming its values), a metric, or a support
    figure (a count, the part and total of a ratio, a share)."""

    name: str
    role: Literal["dimension", "label", "metric", "support", "part", "total", "share"]
    label: str
    unit: str = "count"
    field: str = ""                  # the dimension or metric it comes from
    value_set: str | None = None     # dimension values: the value set for their labels
    kind: str = "category"           # dimension kind (time for a grain)


@dataclass
class Compiled:
    sql: str
    expression: exp.Expression
    columns: list[Column]
    definitions: list[str]           # templates with {ref}: see model.words_text
    dialect: str = "duckdb"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def dimensions(self) -> list[Column]:
        return [c for c in self.columns if c.role == "dimension"]


def compile_query(query: Query, model: SemanticModel, dialect: str = "duckdb", *,
                  params: dict | None = None, pretty: bool = True) -> Compiled:
    """Compile `query` against `model` for `dialect` (any sqlglot dialect: duckdb, spark).
    `params` fills the model's parameters (run_id: the segmentation run for segments)."""
    compiler = _Compiler(model, query, params or {})
    tree = compiler.build()
    try:
        sql = tree.sql(dialect=dialect, pretty=pretty,
                       unsupported_level=sqlglot.ErrorLevel.RAISE)
    except sqlglot.errors.UnsupportedError as exc:
        raise CompileError(f"this query cannot be written for {dialect}: {exc}") from None
    return Compiled(sql, tree, compiler.columns, compiler.definitions, dialect)


# -- resolving names on a source ------------------------------------------------------------
def _outer_aliases(tree: exp.Expression) -> set[str]:
    """Table aliases a snippet refers to that it does not define itself."""
    local = {t.alias_or_name for t in tree.find_all(exp.Table)}
    local |= {s.alias for s in tree.find_all(exp.Subquery) if s.alias}
    return {c.table for c in tree.find_all(exp.Column) if c.table} - local


def _and(parts: list[exp.Expression]) -> exp.Expression | None:
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = exp.and_(out, p, copy=False)
    return out


def _lit(value) -> exp.Expression:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


class _Source:
    """The FROM side of one aggregation: an entity's table and the joins its expressions need."""

    def __init__(self, compiler: _Compiler, entity: Entity) -> None:
        self.c = compiler
        self.m = compiler.model
        self.entity = entity
        self.joins: dict[str, tuple[exp.Expression, exp.Expression, bool]] = {}
        self.fan_out = False

    # -- paths -------------------------------------------------------------------------
    def path(self, target: str) -> list[tuple[Entity, Entity, str]] | None:
        """Many-to-one hops from this source to entity `target`, shortest first."""
        if target == self.entity.name:
            return []
        seen = {self.entity.name}
        queue = deque([(self.entity, [])])
        while queue:
            here, hops = queue.popleft()
            for other, how in here.joins.items():
                if other in seen:
                    continue
                step = [*hops, (here, self.m.entities[other], how)]
                if other == target:
                    return step
                seen.add(other)
                queue.append((self.m.entities[other], step))
        return None

    def reaches(self, entity: str) -> bool:
        return self.path(entity) is not None

    def _table(self, entity: Entity) -> exp.Expression:
        if entity.sql:
            return exp.Subquery(this=parse_sql(entity.sql, **self.c.params),
                                alias=exp.TableAlias(this=exp.to_identifier(entity.alias)))
        return exp.to_table(entity.table).as_(entity.alias)

    def _join_entity(self, target: Entity, aliases: set[str]) -> None:
        """Join the tables of `target` that `aliases` names, along the path to it."""
        hops = self.path(target.name)
        if hops is None:
            raise CompileError(f"{target.label or target.name} cannot be reached from "
                               f"{self.entity.label or self.entity.name}")
        for i, (here, there, how) in enumerate(hops):
            last = i == len(hops) - 1
            need = set(there.aliases) & aliases if last else {there.alias}
            fk = None if " " in how else how
            if not last or there.alias in need or fk is None:
                need.add(there.alias)
            for ext in [None, *there.extends]:
                alias = there.alias if ext is None else ext.alias
                if alias not in need or alias in self.joins:
                    continue
                if ext is None:
                    table = self._table(there)
                    on = (parse_sql(how, **self.c.params) if fk is None else
                          exp.EQ(this=exp.column(there.keys[0], there.alias),
                                 expression=exp.column(fk, here.alias)))
                    self.joins[alias] = (table, on, False)
                elif ext.on:
                    self._need_alias(there.alias)
                    self.joins[alias] = (exp.to_table(ext.table).as_(alias),
                                         parse_sql(ext.on, **self.c.params), ext.optional)
                else:
                    src = (exp.column(fk, here.alias) if fk else
                           exp.column(there.keys[0], there.alias))
                    if fk is None:
                        self._need_alias(there.alias)
                    self.joins[alias] = (exp.to_table(ext.table).as_(alias),
                                         exp.EQ(this=exp.column(there.keys[0], alias),
                                                expression=src), ext.optional)

    def _need_alias(self, alias: str) -> None:
        if alias in self.entity.aliases:
            self._own_extension(alias)
            return
        for e in self.m.entities.values():
            if alias in e.aliases:
                self._join_entity(e, {alias})
                return
        raise CompileError(f"the model refers to an unknown table alias {alias!r}")

    def _own_extension(self, alias: str) -> None:
        if alias == self.entity.alias or alias in self.joins:
            return
        ext = next(x for x in self.entity.extends if x.alias == alias)
        on = (parse_sql(ext.on, **self.c.params) if ext.on else
              exp.EQ(this=exp.column(self.entity.keys[0], alias),
                     expression=exp.column(self.entity.keys[0], self.entity.alias)))
        self.joins[alias] = (exp.to_table(ext.table).as_(alias), on, ext.optional)

    def sql(self, snippet: str, **params) -> exp.Expression:
        """A model snippet as an expression, with the joins its aliases need."""
        tree = parse_sql(snippet, **(self.c.params | params))
        for alias in sorted(_outer_aliases(tree)):
            self._need_alias(alias)
        return tree

    # -- dimensions --------------------------------------------------------------------
    def dimension(self, name: str) -> Dimension | None:
        """The dimension called `name` as seen from this source: its own first, then the
        nearest entity it reaches."""
        best = None
        for d in self.m.dimensions_named(name):
            hops = self.path(d.entity)
            if hops is not None and (best is None or len(hops) < best[0]):
                best = (len(hops), d)
        return best[1] if best else None

    def dim_select(self, d: Dimension) -> exp.Expression:
        if d.bridge is None:
            return self.sql(d.expr)
        b = d.bridge
        self._need_alias(self.m.entities[d.entity].alias)
        alias = f"{b.alias}_{d.name}" if b.alias in self.joins else b.alias
        if alias not in self.joins:
            inner = exp.select(exp.column(b.key, b.alias), exp.column(b.column, b.alias)) \
                .distinct().from_(exp.to_table(b.table).as_(b.alias))
            if b.where:
                inner = inner.where(parse_sql(b.where, **self.c.params))
            kept = self.c.kept_values(self, d)
            if kept:        # "churn rate of iOS vs Android users": only those rows split
                inner = inner.where(_in(exp.column(b.column, b.alias), kept))
            owner = self.m.entities[d.entity]
            self.joins[alias] = (
                exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias))),
                exp.EQ(this=exp.column(b.key, alias),
                       expression=exp.column(owner.keys[0], owner.alias)), False)
            self.fan_out = True
        return exp.column(b.column, alias)

    def time_expr(self, d: Dimension, grain: str) -> exp.Expression:
        col = self.sql(d.expr)
        text = {"day": "CAST({x} AS DATE)", "week": "CAST(date_trunc('week', {x}) AS DATE)",
                "month": "strftime({x}, '%Y-%m')",
                "quarter": "strftime({x}, '%Y') || '-Q' || CAST(quarter({x}) AS VARCHAR)",
                "year": "year({x})", "weekday": "strftime({x}, '%A')"}[grain]
        tree = sqlglot.parse_one(text.replace("{x}", "__x__"), read="duckdb")
        return tree.transform(lambda n: col.copy() if isinstance(n, exp.Column) and
                              n.name == "__x__" else n)

    # -- conditions --------------------------------------------------------------------
    def applies(self, cond: Condition) -> bool:
        f = self.m.filters.get(cond.field)
        if f is not None:
            return self.reaches(f.entity)
        d = self.dimension(cond.field)
        return d is not None

    def condition(self, cond: Condition) -> exp.Expression:
        f = self.m.filters.get(cond.field)
        if f is not None:
            return self._named(f, cond)
        d = self.dimension(cond.field)
        if d is None:
            raise self.c.unknown_field(cond.field, self.entity)
        self.c.define(d.definition)
        if cond.time is not None:
            if d.kind != "time":
                raise CompileError(f"{cond.field} is not a time dimension")
            return self.time_condition(d, cond.time)
        if d.bridge is not None:
            return self._bridge_condition(d, cond)
        return _compare(self.sql(d.expr), cond, d)

    def _bridge_condition(self, d: Dimension, cond: Condition) -> exp.Expression:
        b = d.bridge
        owner = self.m.entities[d.entity]
        self._need_alias(owner.alias)

        def exists(values) -> exp.Expression:
            where = [exp.EQ(this=exp.column(b.key, b.alias),
                            expression=exp.column(owner.keys[0], owner.alias))]
            if b.where:
                where.append(parse_sql(b.where, **self.c.params))
            if values:
                where.append(_in(exp.column(b.column, b.alias), values))
            sub = exp.select(exp.Literal.number(1)).from_(
                exp.to_table(b.table).as_(b.alias)).where(_and(where))
            return exp.Exists(this=sub)

        if cond.op == "all":
            return _and([exists([v]) for v in cond.values])
        if cond.op in ("in", "not_null"):
            tree = exists(cond.values)
            return tree
        if cond.op in ("not_in", "is_null"):
            return exp.Not(this=exists(cond.values))
        raise CompileError(f"{cond.field} takes in, not_in or all, not {cond.op}")

    def _named(self, f: NamedFilter, cond: Condition) -> exp.Expression:
        if not self.reaches(f.entity):
            raise CompileError(f"the filter {f.name} is about {f.entity}, which "
                               f"{self.entity.label or self.entity.name} do not lead to")
        self.c.define(f.definition)
        if cond.op not in ("in", "not_in", "all"):
            raise CompileError(f"the filter {f.name} takes in, not_in or all, not {cond.op}")
        if f.exists is not None:
            tree = self._exists(f, cond.time)
        elif f.param is not None:
            values = cond.values or []
            known = self.m.values[f.param]
            bad = [v for v in values if str(v) not in known]
            if not values or bad:
                raise CompileError(f"the filter {f.name} needs one or more of "
                                   f"{', '.join(known)}" + (f", not {bad[0]!r}" if bad else ""))
            parts = [self.sql(f.condition(str(v)), **{"channel": str(v), f.param: str(v)})
                     for v in values]
            if cond.op == "all":
                return _and(parts)
            tree = parts[0]
            for p in parts[1:]:
                tree = exp.or_(tree, p, copy=False)
            tree = exp.Paren(this=tree) if len(parts) > 1 else tree
        else:
            if cond.values and cond.values != [True]:
                raise CompileError(f"the filter {f.name} takes no values")
            tree = self.sql(f.condition())
        return exp.Not(this=exp.Paren(this=tree)) if cond.op == "not_in" else tree

    def _exists(self, f: NamedFilter, window: TimeRange | None) -> exp.Expression:
        target = self.m.entities[f.exists]
        owner = self.m.entities[f.entity]
        self._need_alias(owner.alias)
        how = target.joins.get(f.entity)
        if how is None:
            raise CompileError(f"{f.exists} does not join to {f.entity}")
        on = (parse_sql(how, **self.c.params) if " " in how else
              exp.EQ(this=exp.column(how, target.alias),
                     expression=exp.column(owner.keys[0], owner.alias)))
        where = [on]
        if window is not None:
            d = target.dimensions[target.time]
            where.append(self.c.time_condition(parse_sql(d.expr), d, window))
        sub = exp.select(exp.Literal.number(1)).from_(self._table(target)).where(_and(where))
        return exp.Exists(this=sub)

    def time_condition(self, d: Dimension, window: TimeRange) -> exp.Expression:
        return self.c.time_condition(self.sql(d.expr), d, window)

    def from_(self, select: exp.Select) -> exp.Select:
        select = select.from_(self._table(self.entity))
        for table, on, optional in self.joins.values():
            select = select.join(table, on=on, join_type="left" if optional else None)
        return select


def _in(column: exp.Expression, values) -> exp.Expression:
    if len(values) == 1:
        return exp.EQ(this=column, expression=_lit(values[0]))
    return exp.In(this=column, expressions=[_lit(v) for v in values])


def _compare(column: exp.Expression, cond: Condition, d: Dimension) -> exp.Expression:
    op, values = cond.op, cond.values
    if d.kind == "boolean" and op in ("in", "not_in"):
        wanted = {bool(v) for v in values} if values else {True}
        if len(wanted) > 1:
            return exp.Not(this=exp.Is(this=column, expression=exp.Null())) if op == "in" \
                else exp.Is(this=column, expression=exp.Null())
        positive = (True in wanted) == (op == "in")
        return column if positive else exp.Not(this=column)
    if op == "in":
        if not values:
            raise CompileError(f"{cond.field}: give the values to keep")
        return _in(column, values)
    if op == "not_in":
        if len(values) == 1:
            return exp.NullSafeNEQ(this=column, expression=_lit(values[0]))
        return exp.Not(this=exp.Coalesce(this=_in(column, values),
                                         expressions=[exp.false()]))
    if op == "is_null":
        return exp.Is(this=column, expression=exp.Null())
    if op == "not_null":
        return exp.Not(this=exp.Is(this=column, expression=exp.Null()))
    if op == "between":
        return exp.Between(this=column, low=_lit(values[0]), high=_lit(values[1]))
    if op == "all":
        raise CompileError(f"{cond.field} has one value per row: 'all' of several values "
                           "cannot hold")
    cls = {"lt": exp.LT, "le": exp.LTE, "gt": exp.GT, "ge": exp.GTE}[op]
    return cls(this=column, expression=_lit(values[0]))


# -- aggregates -----------------------------------------------------------------------------
@dataclass
class _Agg:
    """One aggregate computed over a source: a measure with a statistic and its filters."""

    key: str
    measure: Measure
    agg: str
    named: list[str] = field(default_factory=list)         # named filters of a ratio part
    conditions: list[Condition] = field(default_factory=list)
    subgroup: bool = False
    lenient: bool = False       # a ratio's part: conditions its source cannot reach are skipped

    def filters(self, src: _Source, subgroup: list[Condition]) -> list[exp.Expression]:
        out = []
        if self.measure.filter:
            out.append(src.sql(self.measure.filter))
        for name in self.named:
            out.append(src.condition(Condition(field=name)))
        out += [src.condition(c) for c in self.conditions
                if not self.lenient or src.applies(c)]
        if self.subgroup:
            out += [src.condition(c) for c in subgroup]
        return out

    def signature(self) -> tuple:
        return (self.measure.filter, tuple(self.named),
                tuple(c.model_dump_json() for c in self.conditions), self.subgroup)


def _aggregate(agg: str, value: exp.Expression | None, *, distinct: bool = False
               ) -> exp.Expression:
    if agg == "count":
        return exp.Count(this=value if value is not None else exp.Star())
    if agg == "count_distinct":
        return exp.Count(this=exp.Distinct(expressions=[value]))
    cls = {"sum": exp.Sum, "avg": exp.Avg, "median": exp.Median, "min": exp.Min,
           "max": exp.Max}[agg]
    return cls(this=value)


def _with_filter(agg: exp.Expression, conds: list[exp.Expression]) -> exp.Expression:
    cond = _and(conds)
    if cond is None:
        return agg
    return exp.Filter(this=agg, expression=exp.Where(this=cond))


def _round(value: exp.Expression, places: int | None) -> exp.Expression:
    if places is None:
        return value
    inner = value.this if isinstance(value, exp.Filter) else value
    if isinstance(inner, exp.Avg):
        # An average is a DOUBLE; one that falls on a half (1780.30 / 380 = 4.685, stored as
        # 4.68499...) rounded down in DuckDB (the binary value) and up in Spark (its decimal
        # string). Rounded as a DECIMAL of 6 places, both engines say 4.69, as a person would.
        value = exp.Cast(this=value, to=exp.DataType.build("DECIMAL(38, 6)"))
        return exp.Cast(this=exp.Round(this=value, decimals=exp.Literal.number(places)),
                        to=exp.DataType.build("DOUBLE"))
    return exp.Round(this=value, decimals=exp.Literal.number(places))


def _ratio(num: exp.Expression, den: exp.Expression, percent: bool) -> exp.Expression:
    top = exp.Mul(this=exp.Literal.number("100.0"), expression=num) if percent else \
        exp.Mul(this=exp.Literal.number("1.0"), expression=num)
    return exp.Div(this=top, expression=exp.Nullif(this=den, expression=exp.Literal.number(0)))


@dataclass
class _Output:
    """One metric of the query: its aggregates and how its columns are computed from them."""

    ref: MetricRef
    name: str
    kind: Literal["measure", "ratio"]
    aggs: list[_Agg]
    places: int | None
    unit: str
    label: str
    percent: bool = False


class _Compiler:
    def __init__(self, model: SemanticModel, query: Query, params: dict) -> None:
        self.model = model
        self.q = query
        self.params = {k: v for k, v in params.items() if v is not None}
        self.params.setdefault("run_id", "none")
        self.columns: list[Column] = []
        self.definitions: list[str] = []
        self._n = 0

    # -- helpers ---------------------------------------------------------------------------
    def define(self, text: str | None) -> None:
        if text and text not in self.definitions:
            self.definitions.append(text)

    def unknown_field(self, name: str, entity: Entity) -> CompileError:
        if not self.model.dimensions_named(name) and name not in self.model.filters:
            known = sorted({d.name for d in self.model.all_dimensions} | set(self.model.filters))
            return CompileError(f"unknown dimension or filter {name!r}; known: "
                                f"{', '.join(known)}")
        return CompileError(f"{entity.label or entity.name} cannot be split or filtered by "
                            f"{name}")

    def _key(self) -> str:
        self._n += 1
        return f"m{self._n}"

    def reference(self, date_only: bool) -> exp.Expression:
        sql = "SELECT reference_date FROM reference_period" if date_only else \
            "SELECT reference_ts FROM reference_period"
        ref = getattr(self.model, "reference", None)
        user = next((e for e in self.model.entities.values() if e.user_table and e.time), None)
        if not ref and user is not None and user.time in user.dimensions:
            # a user table's reference: the latest date of its own time dimension
            ref = (f"SELECT max({user.dimensions[user.time].expr}) FROM "
                   f'"{user.table}" {user.alias}')
        if ref:
            sql = f"SELECT CAST(({ref}) AS DATE)" if date_only else ref
        return exp.Subquery(this=parse_sql(sql))

    def time_condition(self, col: exp.Expression, d: Dimension, window: TimeRange
                       ) -> exp.Expression:
        is_date = d.type == "date"
        kw = "DATE" if is_date else "TIMESTAMP"

        def at(day) -> exp.Expression:
            return exp.cast(exp.Literal.string(f"{day:%Y-%m-%d}"), kw)

        if window.last is not None:
            interval = exp.Interval(this=exp.Literal.string(str(window.last)),
                                    unit=exp.var(window.unit.upper()))
            return exp.GT(this=col, expression=exp.Sub(this=self.reference(is_date),
                                                       expression=interval))
        if window.ranges:
            parts = [exp.Paren(this=exp.and_(exp.GTE(this=col.copy(), expression=at(a)),
                                             exp.LT(this=col.copy(), expression=at(b))))
                     for a, b in window.ranges]
            tree = parts[0]
            for p in parts[1:]:
                tree = exp.or_(tree, p, copy=False)
            return exp.Paren(this=tree)
        parts = []
        if window.start:
            parts.append(exp.GTE(this=col.copy(), expression=at(window.start)))
        if window.end:
            parts.append(exp.LT(this=col.copy(), expression=at(window.end)))
        return _and(parts)

    # -- metrics ---------------------------------------------------------------------------
    def _outputs(self) -> list[_Output]:
        outs = []
        for ref in self.q.metrics:
            if ref.name in self.model.metrics:
                outs.append(self._ratio_output(ref, self.model.metrics[ref.name]))
            elif ref.name in self.model.measures:
                outs.append(self._measure_output(ref, self.model.measures[ref.name]))
            else:
                known = sorted({*self.model.measures, *self.model.metrics})
                raise CompileError(f"unknown metric {ref.name!r}; the metrics are "
                                   f"{', '.join(known)}")
        if self.q.subgroup and any(o.kind == "ratio" or o.aggs[0].agg not in
                                   ("count", "count_distinct", "sum") for o in outs):
            raise CompileError("a subgroup share needs a count or a total (a share of a rate "
                               "or an average has no meaning)")
        return outs

    def _measure_output(self, ref: MetricRef, m: Measure) -> _Output:
        agg = ref.agg or m.agg
        if agg == "count" and m.agg == "count_distinct":
            agg = m.agg
        if agg != m.agg and agg not in m.allowed and not (agg == "count" and m.agg == "count"):
            raise CompileError(f"{m.label or m.name}: the {agg} is not available; ask for "
                               f"{' or '.join(m.allowed)}")
        # a measure of a dimension's value (products held) has that dimension's definition
        self.define(m.definition or next(
            (d.definition for d in self.model.entity(m.entity).dimensions.values()
             if d.expr is not None and d.expr == m.expr), None))
        name = ref.label or (m.name if agg == m.agg else f"{agg}_{m.name}")
        if ref.per:
            name = ref.label or f"{agg}_{m.name}_per_{self._entity_word(ref.per)}"
            agg_inner = m.agg
        else:
            agg_inner = agg
        places = m.decimals if agg not in ("count", "count_distinct") else None
        if agg in ("avg", "median") and places is None:
            places = 2
        a = _Agg(self._key(), m, agg_inner, conditions=list(ref.filters),
                 subgroup=bool(self.q.subgroup))
        return _Output(ref, name, "measure", [a], places, m.unit, m.label)

    def _entity_word(self, name: str) -> str:
        e = self.model.entity(name)
        return e.singular or e.name

    def _ratio_output(self, ref: MetricRef, mt: Metric) -> _Output:
        if ref.agg and not ref.per:
            raise CompileError(f"{mt.label or mt.name} is a ratio; ask for it as it is, or "
                               "per entity (e.g. the average over campaigns)")
        self.define(mt.definition)
        aggs = []
        for part in (mt.numerator, mt.denominator):
            m = self.model.measure(part.measure)
            self.define(m.definition)
            if part.filter:
                self.define(self.model.filters[part.filter].definition)
            aggs.append(_Agg(self._key(), m, m.agg, named=[part.filter] if part.filter else [],
                             conditions=list(ref.filters), lenient=True))
        for c in ref.filters:       # each filter of the metric must apply to one of its parts
            if not any(_Source(self, self.model.entity(a.measure.entity)).applies(c)
                       for a in aggs):
                raise CompileError(f"{mt.label or mt.name} cannot be filtered by {c.field}")
        name = ref.label or mt.name
        if ref.per:
            name = ref.label or f"{ref.agg or 'avg'}_{mt.name}_per_{self._entity_word(ref.per)}"
        unit = "percent" if mt.percent else "ratio"
        return _Output(ref, name, "ratio", aggs, mt.places, unit, mt.label, mt.percent)

    # -- the query -------------------------------------------------------------------------
    def build(self) -> exp.Expression:
        outs = self._outputs()
        groups: dict[tuple[str, str | None], list[_Agg]] = {}
        for o in outs:
            for a in o.aggs:
                groups.setdefault((a.measure.entity, o.ref.per), []).append(a)
        if len({per for _, per in groups}) > 1 and any(per for _, per in groups):
            raise CompileError("metrics computed per entity cannot be mixed with others in "
                               "one query; ask for them separately")
        dims = self._dimension_names()
        if len(groups) == 1:
            (entity, per), aggs = next(iter(groups.items()))
            return self._single(entity, per, aggs, outs, dims)
        return self._joined(groups, outs, dims)

    def _dimension_names(self) -> list[str]:
        names = list(dict.fromkeys(self.q.dimensions))
        if len(names) != len(self.q.dimensions):
            raise CompileError("a dimension is listed twice")
        return names

    def _time_dim(self, src: _Source) -> Dimension | None:
        """The time dimension the period and the grain apply to, as seen from `src` (None
        when `src` does not reach it): the query's, or the first metric's entity's own."""
        name = self.q.time_dimension
        if name is None:
            first = self.q.metrics[0].name
            measure = self.model.measures.get(first) or self.model.measures.get(
                self.model.metrics[first].numerator.measure if first in self.model.metrics
                else "")
            owner = self.model.entities[measure.entity] if measure else src.entity
            if owner.time is None:
                return None
            name = owner.time if "." in owner.time else f"{owner.name}.{owner.time}"
        d = src.dimension(name)
        if d is not None and d.kind != "time":
            raise CompileError(f"{name} is not a time dimension")
        return d

    def _select_dims(self, src: _Source, dims: list[str], *, required: bool
                     ) -> list[tuple[str, exp.Expression, Column]]:
        """(output name, expression, column) of the dimensions (and the grain) on `src`;
        with `required`, a dimension the source cannot reach is an error."""
        out = []
        for name in dims:
            d = src.dimension(name)
            if d is None:
                if required:
                    raise self.unknown_field(name, src.entity)
                continue
            if d.kind == "time":
                raise CompileError(f"{name} is a time dimension: ask for it with a grain "
                                   "(month, quarter, year, ...)")
            if d.pii:
                raise CompileError(f"{name} is personal data: results are never split by it")
            self.define(d.definition)
            col = Column(d.name, "dimension", d.label, field=d.qualified,
                         value_set=d.values if d.values != "data" else None, kind=d.kind)
            out.append((d.name, src.dim_select(d), col))
            for extra in d.extra:
                tree = src.sql(extra)
                alias = tree.alias if isinstance(tree, exp.Alias) else None
                if alias:
                    role = "label" if alias.endswith("_name") else "support"
                    out.append((alias, tree.this, Column(alias, role, alias.replace(
                        "_", " "), unit="", field=d.qualified)))
        if self.q.grain:
            d = self._time_dim(src)
            if d is None:
                if required:
                    raise CompileError(f"{self.q.time_dimension or 'that metric'} has no time "
                                       "dimension to split by")
            else:
                name = f"{d.prefix}{self.q.grain}"
                col = Column(name, "dimension", f"{d.label} {self.q.grain}".strip(),
                             field=d.qualified, kind="time")
                out.append((name, src.time_expr(d, self.q.grain), col))
        return out

    def kept_values(self, src: _Source, d: Dimension) -> list | None:
        """The values a base filter keeps of a multi-valued dimension that also splits the
        result: the split is limited to them (and the filter is then met by the join)."""
        for c in self.q.filters:
            if c.op == "in" and c.values and c.time is None and \
                    c.field not in self.model.filters and src.dimension(c.field) == d:
                return c.values
        return None

    def _met_by_split(self, src: _Source, c: Condition) -> bool:
        if c.op != "in" or not c.values or c.field in self.model.filters:
            return False
        d = src.dimension(c.field)
        return d is not None and d.bridge is not None and any(
            src.dimension(name) == d for name in self.q.dimensions)

    def _where(self, src: _Source, *, required: bool) -> list[exp.Expression]:
        conds = []
        for c in self.q.filters:
            if self._met_by_split(src, c):
                continue
            if src.applies(c):
                conds.append(src.condition(c))
            elif required:
                conds.append(src.condition(c))      # raises with the reason
        if self.q.time is not None:
            d = self._time_dim(src)
            if d is not None:
                conds.append(src.time_condition(d, self.q.time))
                if self.q.time.last is not None:
                    self.define(self.model.concepts[0].definition if self.model.concepts
                                else None)
            elif required:
                raise CompileError("that metric has no time dimension for a period")
        return conds

    def _aggregates(self, src: _Source, aggs: list[_Agg], shared: list[exp.Expression] | None
                    ) -> dict[str, exp.Expression]:
        """Aggregate expressions by key; filters common to all go to `shared` (WHERE)."""
        common = None
        if shared is not None and len({a.signature() for a in aggs}) == 1:
            common = aggs[0].filters(src, self.q.subgroup)
            if not aggs[0].subgroup:
                shared += common
        out = {}
        for a in aggs:
            value = src.sql(a.measure.expr) if a.measure.expr else None
            if a.agg == "count_distinct" and not src.fan_out and a.measure.expr and \
                    value == exp.column(src.entity.keys[0], src.entity.alias):
                tree = exp.Count(this=exp.Star())
            else:
                tree = _aggregate(a.agg, value)
            filters = a.filters(src, self.q.subgroup)
            if common is not None and not a.subgroup:
                filters = []
            out[a.key] = _with_filter(tree, filters)
            if a.subgroup:
                base = [src.sql(a.measure.filter)] if a.measure.filter else []
                base += [src.condition(c) for c in a.conditions
                         if not a.lenient or src.applies(c)]
                out[a.key + "_total"] = _with_filter(tree.copy(), base)
        return out

    def _single(self, entity: str, per: str | None, aggs: list[_Agg], outs: list[_Output],
                dims: list[str]) -> exp.Expression:
        src = _Source(self, self.model.entity(entity))
        selected = self._select_dims(src, dims, required=True)
        where = self._where(src, required=True)
        if per:
            return self._per_entity(src, per, aggs, outs, selected, where)
        values = self._aggregates(src, aggs, where)
        select = exp.select(*[e.as_(n) for n, e, _ in selected])
        self.columns = [c for _, _, c in selected]
        raw = self._metric_columns(outs, values, select)
        select = src.from_(select)
        if where:
            select = select.where(_and(where))
        if selected:
            select = select.group_by(*[e.copy() for _, e, _ in selected])
        return self._order(select, selected, raw)

    def _metric_columns(self, outs: list[_Output], values: dict[str, exp.Expression],
                        select: exp.Select) -> dict[str, exp.Expression]:
        """Add every metric's columns to `select`; return {column: unrounded expression}."""
        raw: dict[str, exp.Expression] = {}
        used = {c.name for c in self.columns}

        def add(name, tree, places, column):
            if name in used:
                return
            used.add(name)
            raw[name] = tree
            select.select(_round(tree.copy(), places).as_(name), copy=False)
            self.columns.append(column)

        for o in outs:
            if o.kind == "ratio":
                num, den = (values[a.key] for a in o.aggs)
                add(o.name, _ratio(num, den, o.percent), o.places,
                    Column(o.name, "metric", o.label, o.unit, o.ref.name))
                for a, role in zip(o.aggs, ("part", "total"), strict=True):
                    add(a.measure.name if not a.named else f"{a.measure.name}_{a.named[0]}",
                        values[a.key], None, Column(
                            a.measure.name if not a.named else f"{a.measure.name}_{a.named[0]}",
                            role, a.measure.label, a.measure.unit, a.measure.name))
                continue
            a = o.aggs[0]
            value = values[a.key]
            add(o.name, value, o.places, Column(o.name, "metric", o.label, o.unit, o.ref.name))
            if a.subgroup:
                total = values[a.key + "_total"]
                add(f"{o.name}_total", total, o.places,
                    Column(f"{o.name}_total", "total", o.label, o.unit, o.ref.name))
                add(f"{o.name}_pct", _ratio(value, total, True), 1,
                    Column(f"{o.name}_pct", "share", o.label, "percent", o.ref.name))
            if o.ref.of_total:
                window = exp.Window(this=exp.Sum(this=value.copy()))
                add(f"pct_of_{o.name}", _ratio(value, window, True), 1,
                    Column(f"pct_of_{o.name}", "share", o.label, "percent", o.ref.name))
        return raw

    def _per_entity(self, src: _Source, per: str, aggs: list[_Agg], outs: list[_Output],
                    selected, where) -> exp.Expression:
        """Aggregate per entity (`per`) first, then the statistic across entities."""
        target = self.model.entity(per)
        hops = src.path(per)
        if hops is None:
            raise CompileError(f"{src.entity.label} cannot be counted per {per}")
        if not hops:
            keys = [exp.column(k, src.entity.alias) for k in target.keys]
        else:
            how = hops[0][2]
            if len(hops) > 1 or " " in how:
                raise CompileError(f"{src.entity.label} cannot be counted per {per}")
            keys = [exp.column(how, src.entity.alias)]
        inner_values = self._aggregates(src, aggs, where)
        inner = exp.select(*[k.as_(f"__key{i}") for i, k in enumerate(keys)],
                           *[e.as_(n) for n, e, _ in selected],
                           *[v.as_(k) for k, v in inner_values.items()])
        inner = src.from_(inner)
        if where:
            inner = inner.where(_and(where))
        inner = inner.group_by(*[k.copy() for k in keys], *[e.copy() for _, e, _ in selected])
        sub = exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("per")))
        dims = [(n, exp.column(n, "per"), c) for n, _, c in selected]
        self.columns = [c for _, _, c in dims]
        count_name = target.label or per
        select = exp.select(*[e.as_(n) for n, e, _ in dims])
        raw: dict[str, exp.Expression] = {}
        select.select(exp.Count(this=exp.Star()).as_(_ident(count_name)), copy=False)
        self.columns.append(Column(_ident(count_name), "support", count_name))
        for o in outs:
            stat = o.ref.agg or ("avg" if o.kind == "ratio" else o.aggs[0].agg)
            if o.kind == "ratio":
                num, den = (exp.column(a.key, "per") for a in o.aggs)
                value = _ratio(num, den, o.percent)
            else:
                value = exp.column(o.aggs[0].key, "per")
            if stat == "count_distinct":
                stat = "count"
            tree = _aggregate(stat, value)
            raw[o.name] = tree
            select.select(_round(tree.copy(), o.places if stat not in ("count",) else None)
                          .as_(o.name), copy=False)
            self.columns.append(Column(o.name, "metric", o.label, o.unit, o.ref.name))
        select = select.from_(sub)
        if dims:
            select = select.group_by(*[e.copy() for _, e, _ in dims])
        return self._order(select, dims, raw)

    def _joined(self, groups: dict, outs: list[_Output], dims: list[str]) -> exp.Expression:
        """Measures of several sources: one CTE each, joined on the dimensions they share."""
        ctes = []
        for i, ((entity, _), aggs) in enumerate(groups.items()):
            src = _Source(self, self.model.entity(entity))
            selected = self._select_dims(src, dims, required=False)
            where = self._where(src, required=False)
            values = self._aggregates(src, aggs, where)
            select = exp.select(*[e.as_(n) for n, e, _ in selected],
                                *[v.as_(k) for k, v in values.items()])
            select = src.from_(select)
            if where:
                select = select.where(_and(where))
            if selected:
                select = select.group_by(*[e.copy() for _, e, _ in selected])
            ctes.append((f"g{i + 1}", select, selected, list(values)))
        wanted = len(dims) + (1 if self.q.grain else 0)
        driver = max(range(len(ctes)), key=lambda i: (len(ctes[i][2]), -i))
        if len([c for _, _, c in ctes[driver][2] if c.role == "dimension"]) < wanted:
            missing = next((d for d in dims if all(n != d for n, _, _ in ctes[driver][2])),
                           self.q.grain)
            raise CompileError(f"the metrics cannot all be split by {missing}; ask for them "
                               "separately")
        lead, _, lead_dims, _ = ctes[driver]
        dim_cols = {n: exp.column(n, lead) for n, _, _ in lead_dims}
        select = exp.select(*[dim_cols[n].as_(n) for n, _, _ in lead_dims])
        self.columns = [c for _, _, c in lead_dims]
        refs: dict[str, exp.Expression] = {}
        for alias, _, _, keys in ctes:
            for k in keys:
                ref = exp.column(k, alias)
                refs[k] = ref if alias == lead else exp.Coalesce(
                    this=ref, expressions=[exp.Literal.number(0)])
        raw = self._metric_columns(outs, refs, select)
        select = select.from_(exp.to_table(lead))
        for i, (alias, _, selected, _) in enumerate(ctes):
            if i == driver:
                continue
            shared = [n for n, _, _ in selected]
            if shared:
                on = _and([exp.NullSafeEQ(this=exp.column(n, alias),
                                          expression=dim_cols[n].copy()) for n in shared])
                select = select.join(exp.to_table(alias), on=on, join_type="left")
            else:
                select = select.join(exp.to_table(alias), join_type="cross")
        for alias, body, _, _ in ctes:
            select = select.with_(alias, as_=body)
        return self._order(select, [(n, dim_cols[n], c) for n, _, c in lead_dims], raw)

    def _order(self, select: exp.Select, selected, raw: dict[str, exp.Expression]
               ) -> exp.Expression:
        order: list[exp.Ordered] = []
        dims = [(n, e, c) for n, e, c in selected if c.role == "dimension"]
        metric_names = [c.name for c in self.columns if c.role == "metric"]
        for o in self.q.order:
            key = o.by if o.by in raw else next(
                (c.name for c in self.columns if c.role == "metric" and c.field == o.by), None)
            if key in raw:
                order.append(exp.Ordered(this=raw[key].copy(), desc=o.desc, nulls_first=False))
                continue
            dim = next((e for n, e, c in selected if n == o.by or c.field.endswith(o.by)), None)
            if dim is None:
                raise CompileError(f"cannot order by {o.by}: it is not in the result")
            order.append(exp.Ordered(this=dim.copy(), desc=o.desc, nulls_first=False))
        if not order and dims:
            timelike = [e for _, e, c in dims if c.kind == "time" or self._ordered(c)]
            if timelike and not self.q.limit:
                order = [exp.Ordered(this=e.copy()) for _, e, _ in dims]
            elif metric_names:
                order = [exp.Ordered(this=raw[metric_names[0]].copy(), desc=True,
                                     nulls_first=False)]
        elif not order and self.q.limit and metric_names:
            order = [exp.Ordered(this=raw[metric_names[0]].copy(), desc=True, nulls_first=False)]
        if order and dims:
            used = {o.this.sql() for o in order}
            order += [exp.Ordered(this=e.copy()) for _, e, _ in dims if e.sql() not in used]
        if order:
            select = select.order_by(*order)
        if self.q.limit:
            select = select.limit(self.q.limit)
        return select

    def _ordered(self, col: Column) -> bool:
        d = next(iter(self.model.dimensions_named(col.field)), None)
        return bool(d and d.ordered)


def _ident(text: str) -> str:
    return "_".join(text.split()).replace("-", "_")


__all__ = ["Column", "CompileError", "Compiled", "compile_query"]
