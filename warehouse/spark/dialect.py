"""DuckDB SQL (the project's canonical dialect) rendered as Spark SQL that means the same thing.

sqlglot translates the syntax. Where its Spark rendering would run but answer differently, or
not run at all, the tree is rewritten first, each rule measured on DuckDB 2.0 and Spark 4.3 and
checked by tests/fixtures/spark_dialect.toml, which runs every case on both engines:

- `date_diff('day', a, b)` counts day boundaries in DuckDB, 24-hour periods in Spark: both sides
  are cast to DATE; month, quarter, year, week and hour differences count boundaries the same way;
- `a / b` is DOUBLE division in DuckDB (IEEE: 1/0 is inf, 0/0 NaN), DECIMAL division or an ANSI
  error in Spark: the dividend is cast to DOUBLE, and a divisor that can be zero gives DuckDB's
  infinities instead of an error; `//` on non-integers is plain division in DuckDB;
- `avg(decimal)` is DOUBLE in DuckDB, DECIMAL in Spark: cast to DOUBLE;
- CAST(x AS INTEGER) rounds in DuckDB (half to even for DOUBLE, half away from zero for
  DECIMAL) and truncates in Spark: rounded first;
- `list(x ORDER BY k)` loses its order in Spark's collect_list (and drops NULLs): rendered as a
  sorted array of structs; `list_has_any` renders as `&&`: rendered as arrays_overlap;
  `list_has_all` and `len(list)` (Spark's length is for text) get Spark's array functions;
- `quantile_cont`, `percentile_cont ... WITHIN GROUP` (which sqlglot makes approximate) and
  `median` become Spark's exact `percentile`;
- QUALIFY with ORDER BY and LIMIT: sqlglot moves it into a subquery below the LIMIT and drops
  rows, and Spark's own QUALIFY rejects an aggregate inside the window: the query is wrapped
  here, the window filtered in the outer query, ORDER BY and LIMIT applied after the filter;
- GROUP BY ALL next to QUALIFY confuses Spark's analyzer: the grouping keys are spelled out;
- day and month names (Spark abbreviates them),
- day of week (DuckDB Sunday = 0, Spark Sunday = 1), ISO day of week, epoch (DOUBLE seconds in
  DuckDB, whole seconds in Spark), date - date (days in DuckDB, an interval in Spark), sum/avg of
  booleans, and full years of `age()`;
- functions sqlglot does not know (passed through by name, so DuckDB's `hash`, `age` or
  `yearweek` would run as whatever Spark has by that name) are refused unless listed in
  `SAME_IN_SPARK`.

Types come from sqlglot's optimizer (qualify + annotate_types over the catalog's schema); when a
query cannot be qualified the type-dependent rules take the safe side (documented per rule).
Output column names and types are matched to DuckDB's by the Spark handle (warehouse/spark/
shadow.py), not here.
"""

from __future__ import annotations

import logging
from typing import ClassVar

import sqlglot
from sqlglot import exp, transforms
from sqlglot.dialects.spark import Spark
from sqlglot.errors import ErrorLevel, SqlglotError
from sqlglot.generators.spark import SparkGenerator
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from warehouse.errors import SqlRefused

log = logging.getLogger(__name__)

T = exp.DataType.Type
INTEGERS = exp.DataType.INTEGER_TYPES | {T.BOOLEAN}
REALS = {T.DOUBLE, T.FLOAT}
STRINGS = exp.DataType.TEXT_TYPES

# Functions sqlglot passes through by name whose DuckDB and Spark meanings agree.
SAME_IN_SPARK = frozenset({
    "array_position", "nullif", "coalesce", "greatest", "least", "abs", "sign", "floor", "ceil",
    "ceiling", "round", "sqrt", "exp", "ln", "log10", "log2", "lower", "upper", "trim", "ltrim",
    "rtrim", "length", "replace", "reverse", "lpad", "rpad", "left", "right", "concat_ws",
    "starts_with", "ends_with", "contains", "bool_and", "bool_or", "count_if", "array_distinct",
    "array_contains", "cardinality", "isnan", "isinf", "nvl", "ifnull", "radians", "degrees",
    "sin", "cos", "tan", "pi", "mod", "translate", "initcap", "repeat", "split_part", "ascii",
    "chr", "md5", "sha1", "unix_micros", "arrays_overlap", "dayofweek", "weekday", "unix_date",
    "make_date", "any_value", "first", "last", "e",
})
# date_part / extract fields and the Spark function giving DuckDB's value (None: rewritten).
DATE_PARTS = {
    "year": "year", "month": "month", "day": "day", "hour": "hour", "minute": "minute",
    "second": "second", "quarter": "quarter", "week": "weekofyear", "doy": "dayofyear",
    "dayofyear": "dayofyear", "dayofmonth": "day", "dow": None, "dayofweek": None,
    "isodow": None, "epoch": None, "years": "year", "months": "month", "days": "day",
    "hours": "hour", "minutes": "minute",
}
_INF = exp.cast(exp.Literal.string("Infinity"), "DOUBLE")


class Spark4(Spark):
    """Spark 4 as sqlglot renders it, without its QUALIFY rewrite (which drops rows under
    ORDER BY ... LIMIT; `_qualified` does it right) and with arrays_overlap instead of `&&`."""

    class Generator(SparkGenerator):
        TRANSFORMS: ClassVar[dict] = {
            **SparkGenerator.TRANSFORMS,
            exp.Select: transforms.preprocess([   # QUALIFY: rewritten before (see _qualified)
                transforms.eliminate_distinct_on,
                transforms.unnest_to_explode,
                transforms.any_to_exists,
            ]),
            exp.ArrayOverlaps: lambda self, e: self.func("ARRAYS_OVERLAP", e.this, e.expression),
        }


def _type(node: exp.Expression) -> exp.DataType.Type | None:
    t = node.type
    return None if t is None or t.this == T.UNKNOWN else t.this


def _cast(node: exp.Expression, to: str) -> exp.Expression:
    return exp.Cast(this=node, to=exp.DataType.build(to))


def _fn(name: str, *args: exp.Expression) -> exp.Anonymous:
    """A Spark function by name (not re-interpreted by sqlglot or by these rules)."""
    return exp.Anonymous(this=name, expressions=list(args))


def _refuse(what: str, hint: str) -> SqlRefused:
    return SqlRefused(f"{what} cannot run on the Spark engine with DuckDB's meaning; {hint}")


# -- the rules -------------------------------------------------------------------------------------
def _as_date(node: exp.Expression) -> exp.Expression:
    return node if _type(node) == T.DATE else _cast(node, "DATE")


def _date_diff(node: exp.DateDiff) -> exp.Expression:
    """DuckDB counts boundaries crossed between start and end."""
    unit = (node.text("unit") or "day").lower().rstrip("s")
    end, start = node.this, node.expression
    if unit == "day":
        return _fn("datediff", _as_date(end), _as_date(start))
    if unit == "week":     # DuckDB: whole weeks of day boundaries, truncated
        return exp.Paren(this=exp.IntDiv(this=_fn("datediff", _as_date(end), _as_date(start)),
                                         expression=exp.Literal.number(7)))
    if unit in ("month", "quarter", "year"):
        def ordinal(x: exp.Expression) -> exp.Expression:
            year = _fn("year", x)
            if unit == "year":
                return year
            per, part = (12, "month") if unit == "month" else (4, "quarter")
            return exp.Add(this=exp.Mul(this=year, expression=exp.Literal.number(per)),
                           expression=_fn(part, x))
        return exp.Paren(this=exp.Sub(this=ordinal(end), expression=exp.Paren(
            this=ordinal(start))))
    if unit in ("hour", "minute", "second"):
        seconds = {"hour": 3600, "minute": 60, "second": 1}[unit]
        def boundary(x: exp.Expression) -> exp.Expression:
            micros = _fn("unix_micros", _cast(_fn("date_trunc", exp.Literal.string(unit.upper()),
                                                  x), "TIMESTAMP"))
            return exp.Div(this=micros, expression=exp.Literal.number(seconds * 1_000_000))
        return exp.Paren(this=_cast(exp.Sub(this=boundary(end), expression=boundary(start)),
                                    "BIGINT"))
    raise _refuse(f"date_diff('{unit}', ...)", "use day, week, month, quarter, year, hour, "
                  "minute or second")


def _never_zero(node: exp.Expression) -> bool:
    """True when a divisor cannot be 0: a non-zero number, or nullif(x, 0)."""
    if isinstance(node, exp.Paren):
        return _never_zero(node.this)
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return float(node.this) != 0
        except ValueError:
            return False
    if isinstance(node, exp.Nullif):
        zero = node.expression
        return isinstance(zero, exp.Literal) and not zero.is_string and float(zero.this) == 0
    return False


def _divide(node: exp.Div | exp.IntDiv) -> exp.Expression:
    num, den = node.this, node.expression
    if isinstance(node, exp.IntDiv):
        kinds = {_type(num), _type(den)}
        if kinds <= INTEGERS or None in kinds:
            return node  # integer division (DIV); division by zero errors in both engines
    quotient = exp.Div(this=_cast(num, "DOUBLE"), expression=den)
    if _never_zero(den):
        return exp.Paren(this=quotient)
    # DuckDB divides like IEEE doubles: x/0 is +-inf, 0/0 NaN (Spark would raise).
    ieee = exp.Mul(this=_fn("sign", _cast(num.copy(), "DOUBLE")), expression=_INF.copy())
    return exp.Paren(this=exp.Case(ifs=[exp.If(this=exp.EQ(this=den.copy(),
                                                           expression=exp.Literal.number(0)),
                                               true=ieee)], default=quotient))


def _cast_to_integer(node: exp.Cast) -> exp.Expression:
    target = node.to.this
    if target not in exp.DataType.INTEGER_TYPES:
        return node
    kind = _type(node.this)
    number = node.this.this if isinstance(node.this, exp.Neg) else node.this
    if isinstance(number, exp.Literal) and not number.is_string and "." in number.this:
        kind = T.DECIMAL                # DuckDB types 2.5 as DECIMAL(2,1)
    if kind in INTEGERS or kind in STRINGS or kind in (T.DATE, T.TIMESTAMP):
        return node
    if kind == T.DECIMAL:
        node.set("this", _fn("round", node.this))           # half away from zero, as DuckDB
    else:
        # DOUBLE, FLOAT or not known: DuckDB rounds half to even (nearbyint); so does rint
        node.set("this", _fn("rint", _cast(node.this, "DOUBLE")))
    return node


_WRAPPERS = (exp.Filter, exp.Window, exp.IgnoreNulls)


def _is_wrapped(node: exp.Expression) -> bool:
    return isinstance(node.parent, _WRAPPERS) and node.parent.this is node


def _innermost(unit: exp.Expression) -> exp.Expression:
    """The aggregate under a chain of FILTER / OVER / IGNORE NULLS wrappers."""
    while isinstance(unit, _WRAPPERS):
        unit = unit.this
    return unit


def _average(unit: exp.Expression, agg: exp.Avg) -> exp.Expression:
    """avg(x) as DuckDB computes it: the exact sum over the count, in DOUBLE (Spark's avg of a
    DECIMAL is a DECIMAL rounded to 6 places). FILTER and OVER wrappers apply to both parts."""
    def part(fn: exp.Expression) -> exp.Expression:
        if unit is agg:
            return fn
        copy = unit.copy()
        _innermost(copy).replace(fn)
        return copy

    total = part(exp.Sum(this=agg.this.copy()))
    count = part(exp.Count(this=agg.this.copy()))
    return exp.Paren(this=exp.Div(this=_cast(total, "DOUBLE"),
                                  expression=exp.Nullif(this=count,
                                                        expression=exp.Literal.number(0))))


def _numeric_arg(node: exp.Expression) -> None:
    """sum/avg of a boolean: DuckDB counts trues, Spark refuses."""
    if _type(node.this) == T.BOOLEAN:
        node.set("this", _cast(node.this, "INT"))


def _toward_zero(value: exp.Expression, scale: int) -> exp.Expression:
    """`value` (DOUBLE) cut to `scale` decimals toward zero, as DuckDB interpolates DECIMALs
    (rounded at scale + 6 first, so 1.03 computed as 1.0299999... stays 1.03)."""
    near = _fn("round", value, exp.Literal.number(scale + 6))
    return exp.Case(ifs=[exp.If(this=exp.GTE(this=near, expression=exp.Literal.number(0)),
                                true=_fn("floor", near.copy(), exp.Literal.number(scale)))],
                    default=_fn("ceil", near.copy(), exp.Literal.number(scale)))


def _percentile(value: exp.Expression, q: exp.Expression, desc: bool = False) -> exp.Expression:
    """DuckDB's quantile_cont: exact, interpolated; of a DECIMAL, a DECIMAL cut toward zero."""
    if desc:
        if isinstance(q, exp.Array):
            q = exp.Array(expressions=[exp.Sub(this=exp.Literal.number(1), expression=v)
                                       for v in q.expressions])
        else:
            q = exp.Sub(this=exp.Literal.number(1), expression=q)
    result = _fn("percentile", value, q)
    params = value.type.expressions if _type(value) == T.DECIMAL else []
    if len(params) != 2:
        return result
    scale = int(str(params[1].this.this))
    if isinstance(q, exp.Array):
        return _fn("transform", result, exp.Lambda(
            this=_toward_zero(exp.to_identifier("p"), scale), expressions=[exp.to_identifier("p")]))
    return _toward_zero(result, scale)


def _sorted_list(unit: exp.Expression, agg: exp.ArrayAgg) -> exp.Expression:
    """list(x ORDER BY k...) (with its FILTER / OVER wrappers, `unit`) as
    transform(array_sort(collect_list(struct(k0, ..., v)), cmp), s -> s.v): sorted as DuckDB
    sorts (NULLS LAST unless asked), NULL values kept as DuckDB keeps them."""
    if agg.args.get("distinct") or isinstance(agg.this, exp.Distinct):
        return unit                     # collect_set: no order to keep
    order = agg.this if isinstance(agg.this, exp.Order) else None
    value = order.this if order is not None else agg.this
    keys = list(order.expressions) if order is not None else []
    fields = [exp.alias_(k.this.copy(), f"k{i}") for i, k in enumerate(keys)]
    fields.append(exp.alias_(value.copy(), "v"))
    structs = exp.ArrayAgg(this=exp.Struct(expressions=fields))
    if unit is agg:
        collected = structs
    else:
        agg.replace(structs)
        collected = unit
    args: list[exp.Expression] = [collected]
    if keys:
        ifs = []
        for i, k in enumerate(keys):
            left, right = (exp.Dot.build([exp.to_identifier(side), exp.to_identifier(f"k{i}")])
                           for side in ("l", "r"))
            desc = bool(k.args.get("desc"))
            nulls_first = bool(k.args.get("nulls_first"))
            before, after = exp.Literal.number(-1), exp.Literal.number(1)
            ifs += [
                exp.If(this=exp.and_(left.is_(exp.null()), right.copy().is_(exp.null()).not_()),
                       true=before if nulls_first else after),
                exp.If(this=exp.and_(left.copy().is_(exp.null()).not_(),
                                     right.copy().is_(exp.null())),
                       true=after.copy() if nulls_first else before.copy()),
                exp.If(this=exp.LT(this=left.copy(), expression=right.copy()),
                       true=after.copy() if desc else before.copy()),
                exp.If(this=exp.GT(this=left.copy(), expression=right.copy()),
                       true=before.copy() if desc else after.copy()),
            ]
        args.append(exp.Lambda(this=exp.Case(ifs=ifs, default=exp.Literal.number(0)),
                               expressions=[exp.to_identifier("l"), exp.to_identifier("r")]))
    pick = exp.Lambda(this=exp.Dot.build([exp.to_identifier("s"), exp.to_identifier("v")]),
                      expressions=[exp.to_identifier("s")])
    inner = _fn("array_sort", *args) if keys else args[0]
    return _fn("transform", inner, pick)


def _date_part(part: str, value: exp.Expression, whole: exp.Expression) -> exp.Expression:
    part = part.lower()
    if isinstance(value, exp.Anonymous) and value.name.lower() == "age":
        if part not in ("year", "years") or len(value.expressions) not in (1, 2):
            raise _refuse(f"{whole.sql('duckdb')}", "ages are available in whole years: "
                          "date_part('year', age(later, earlier))")
        later, earlier = value.expressions if len(value.expressions) == 2 else \
            (exp.CurrentDate(), value.expressions[0])
        before = exp.or_(
            exp.LT(this=_fn("month", later), expression=_fn("month", earlier)),
            exp.and_(exp.EQ(this=_fn("month", later.copy()),
                            expression=_fn("month", earlier.copy())),
                     exp.LT(this=_fn("day", later.copy()), expression=_fn("day", earlier.copy()))))
        return exp.Paren(this=exp.Sub(
            this=exp.Sub(this=_fn("year", later.copy()), expression=_fn("year", earlier.copy())),
            expression=exp.Case(ifs=[exp.If(this=before, true=exp.Literal.number(1))],
                                default=exp.Literal.number(0))))
    if part not in DATE_PARTS:
        raise _refuse(f"the date part {part!r}", "use year, quarter, month, week, day, dow, "
                      "isodow, doy, hour, minute, second or epoch")
    name = DATE_PARTS[part]
    if name:
        return _fn(name, value)
    if part in ("dow", "dayofweek"):
        return exp.Paren(this=exp.Sub(this=_fn("dayofweek", value),
                                      expression=exp.Literal.number(1)))
    if part == "isodow":
        return exp.Paren(this=exp.Add(this=_fn("weekday", value),
                                      expression=exp.Literal.number(1)))
    return _epoch(value)


def _epoch(value: exp.Expression) -> exp.Expression:
    micros = _fn("unix_micros", _cast(value, "TIMESTAMP"))
    return exp.Paren(this=exp.Div(this=_cast(micros, "DOUBLE"),
                                  expression=exp.Literal.number(1_000_000)))


def _anonymous(node: exp.Anonymous) -> exp.Expression:
    name = node.name.lower()
    args = node.expressions
    if name in ("date_part", "datepart") and len(args) == 2 and isinstance(args[0], exp.Literal):
        return _date_part(args[0].name, args[1], node)
    if name in ("list_has_all", "array_has_all") and len(args) == 2:
        # every element of the second list is in the first
        return exp.EQ(this=_fn("cardinality", _fn("array_except", args[1], args[0])),
                      expression=exp.Literal.number(0))
    if name in SAME_IN_SPARK:
        return node
    if name == "age" and isinstance(node.parent, exp.Anonymous | exp.Extract):
        return node                     # date_part('year', age(...)): the parent rewrites it
    raise _refuse(f"the function {name}()", "rewrite it with standard SQL functions")


def _rewrite(node: exp.Expression) -> exp.Expression:
    """One node, its children already rewritten; returns its replacement (or itself)."""
    if isinstance(node, exp.DateDiff):
        return _date_diff(node)
    if isinstance(node, exp.Div | exp.IntDiv):
        kinds = {_type(node.this), _type(node.expression)}
        if kinds & {T.INTERVAL, T.DATE, T.TIMESTAMP}:
            return node
        return _divide(node)
    if isinstance(node, exp.Cast) and not isinstance(node, exp.TryCast):
        return _cast_to_integer(node)
    if isinstance(node, exp.Sub) and _type(node.this) == T.DATE and \
            _type(node.expression) == T.DATE:
        return _fn("datediff", node.this, node.expression)
    if isinstance(node, exp.Sum):
        _numeric_arg(node)
        return node
    if isinstance(node, exp.Avg):
        _numeric_arg(node)
    if isinstance(node, (exp.Avg, exp.ArrayAgg, *_WRAPPERS)) and not _is_wrapped(node):
        agg = _innermost(node)
        if isinstance(agg, exp.Avg):
            return _average(node, agg)
        if isinstance(agg, exp.ArrayAgg):
            return _sorted_list(node, agg)
        return node
    if isinstance(node, exp.Median):
        return _fn("percentile", node.this, exp.Literal.number(0.5))
    if isinstance(node, exp.PercentileCont | exp.Quantile) and node.expression is not None:
        return _percentile(node.this, node.expression)
    if isinstance(node, exp.WithinGroup) and isinstance(node.this, exp.PercentileCont):
        ordered = node.expression.expressions[0]
        return _percentile(ordered.this, node.this.this, bool(ordered.args.get("desc")))
    if isinstance(node, exp.DayOfWeek):
        return exp.Paren(this=exp.Sub(this=_fn("dayofweek", node.this),
                                      expression=exp.Literal.number(1)))
    if isinstance(node, exp.DayOfWeekIso):
        return exp.Paren(this=exp.Add(this=_fn("weekday", node.this),
                                      expression=exp.Literal.number(1)))
    if isinstance(node, exp.Extract):
        return _date_part(node.this.name, node.expression, node)
    if isinstance(node, exp.TimeToUnix):
        return _epoch(node.this)
    if isinstance(node, exp.Length) and _type(node.this) == T.ARRAY:
        return _fn("cardinality", node.this)            # len(list): Spark's length is for text
    if isinstance(node, exp.Dayname | exp.Monthname):   # Spark: 'Fri', 'Jan'; DuckDB in full
        pattern = "EEEE" if isinstance(node, exp.Dayname) else "MMMM"
        return _fn("date_format", node.this, exp.Literal.string(pattern))
    if isinstance(node, exp.Anonymous):
        return _anonymous(node)
    if isinstance(node, exp.Slice):
        raise _refuse("list slicing (x[a:b])", "use list_extract or list positions one by one")
    if isinstance(node, exp.Select) and node.args.get("qualify"):
        return _qualified(node)
    if isinstance(node, exp.Table) and isinstance(node.this, exp.GenerateSeries):
        return _series(node)
    if isinstance(node, exp.Select) and node.args.get("order"):
        return _ordered_by_aggregate(node)
    return node


def _ordered_by_aggregate(select: exp.Select) -> exp.Expression:
    """`SELECT ..., sum(x) OVER () ... GROUP BY ... ORDER BY sum(y)`: Spark cannot sort a
    grouped query with window functions by an aggregate its select list does not name
    ("t.amount cannot be resolved"); sort an outer query by it as a hidden column instead."""
    order = select.args["order"]
    windowed = any(True for e in select.expressions for _ in e.find_all(exp.Window))
    hidden = [o for o in order.expressions
              if any(a.find_ancestor(exp.Window) is None for a in o.this.find_all(exp.AggFunc))]
    names = [e.alias_or_name for e in select.expressions]
    if not windowed or not hidden or select.args.get("distinct") or \
            any(isinstance(e, exp.Star) or not n for e, n in zip(select.expressions, names,
                                                                  strict=True)) or \
            len(set(names)) != len(names):
        return select
    terms = []
    for o in order.expressions:
        if o in hidden:
            this: exp.Expression = exp.column(f"__order_{len(terms)}")
        elif isinstance(o.this, exp.Column) and o.this.name in names:
            this = exp.column(o.this.name)
        else:
            return select            # a term the outer query cannot name: leave it to Spark
        terms.append(exp.Ordered(this=this, desc=o.args.get("desc"),
                                 nulls_first=o.args.get("nulls_first")))
    inner = select.copy()
    for key in ("order", "limit", "offset"):
        inner.set(key, None)
    for i, o in enumerate(hidden):
        inner.append("expressions", exp.alias_(o.this.copy(), f"__order_{i}"))
    outer = exp.select(*[exp.column(n) for n in names]).from_(inner.subquery("__ordered"))
    outer.set("order", exp.Order(expressions=terms))
    for key in ("limit", "offset"):
        if select.args.get(key) is not None:
            outer.set(key, select.args[key].copy())
    return outer


def _series(table: exp.Table) -> exp.Expression:
    """FROM generate_series(a, b[, step]) t(x) / range(...) as explode(sequence(...)) t(x)
    (sqlglot renders a broken EXPLODE(SEQUENCE(...), _u(t)) there); range() excludes b."""
    series = table.this
    start, end, step = series.args["start"], series.args["end"], series.args.get("step")
    args = [start, end] + ([step] if step is not None else [])
    values = _fn("sequence", *args)
    if series.args.get("is_end_exclusive"):
        v = exp.to_identifier("v")
        values = _fn("filter", values, exp.Lambda(
            this=exp.NEQ(this=exp.column(v), expression=end.copy()), expressions=[v]))
    alias = table.args.get("alias") or exp.TableAlias(
        this=exp.to_identifier("generate_series"),
        columns=[exp.to_identifier("generate_series")])
    return exp.Unnest(expressions=[values], alias=alias)


def _group_by_all(select: exp.Select) -> None:
    """GROUP BY ALL as the projections that hold no aggregate (DuckDB's meaning)."""
    group = select.args.get("group")
    if group is None or not group.args.get("all"):
        return
    keys = [p.unalias().copy() for p in select.selects
            if not p.find(exp.AggFunc) and not p.find(exp.Window)]
    select.set("group", exp.Group(expressions=keys) if keys else None)


def _qualified(select: exp.Select) -> exp.Expression:
    """SELECT ... QUALIFY w ORDER BY o LIMIT n as a filter on a subquery, ordered and limited
    after the filter (DuckDB's order of operations)."""
    _group_by_all(select)
    tail = {key: select.args.get(key) for key in ("order", "limit", "offset")}
    for value in tail.values():
        if value is not None:
            value.pop()
    names = {p.unalias().sql(): p.alias_or_name for p in select.selects}
    outer = transforms.eliminate_qualify(select)
    if tail["order"] is not None:
        for ordered in tail["order"].expressions:
            alias = names.get(ordered.this.sql())
            if alias:                        # ORDER BY count(*) -> the projection's name
                ordered.set("this", exp.column(alias))
            elif isinstance(ordered.this, exp.Column):
                ordered.this.set("table", None)
    for key, value in tail.items():
        if value is not None:
            outer.set(key, value)
    return outer


def _typed(tree: exp.Expression, schema: dict | None) -> exp.Expression:
    """`tree` qualified and annotated with types where sqlglot can; else annotated as is."""
    if schema:
        try:
            return annotate_types(qualify(tree.copy(), schema=schema, dialect="duckdb",
                                          quote_identifiers=False, identify=False),
                                  schema=schema, dialect="duckdb")
        except (SqlglotError, KeyError, ValueError, AttributeError, TypeError) as exc:
            log.debug("could not qualify for types: %s", exc)
    try:
        return annotate_types(tree.copy(), dialect="duckdb")
    except (SqlglotError, KeyError, ValueError, AttributeError, TypeError):
        return tree.copy()


def rewrite(tree: exp.Expression, schema: dict | None = None) -> exp.Expression:
    """A copy of `tree` (DuckDB semantics) rewritten so that Spark computes the same values."""
    tree = _typed(tree, schema)
    for node in reversed(list(tree.walk())):
        parent, key, index = node.parent, node.arg_key, node.index
        new = _rewrite(node)            # may wrap `node` (and so change its parent)
        if new is not node:
            if parent is None:
                tree = new
            else:
                parent.set(key, new, index=index)
    return tree


def to_spark(tree: exp.Expression, schema: dict | None = None) -> str:
    """Spark SQL for a DuckDB-dialect tree; SqlRefused for what has no faithful rendering."""
    rewritten = rewrite(tree, schema)
    try:
        return rewritten.sql(dialect=Spark4, unsupported_level=ErrorLevel.RAISE)
    except sqlglot.errors.UnsupportedError as exc:
        raise _refuse("part of this query", f"{exc}") from None
