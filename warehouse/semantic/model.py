"""The semantic model as strict objects: entities, dimensions, measures, metrics, named filters.

A model is read from a TOML file (`bank.toml` for the warehouse contract; one drafted per user
table) and validated here: unknown keys, unknown references (an entity, value set, measure or
filter that is not declared) and SQL that does not parse are errors that name the place. The
objects also render what other parts read from the model: definitions in words, the phrases of
values, SQL snippets with their parameters filled in.
"""

from __future__ import annotations

import re
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Literal

import sqlglot
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlglot import exp

from warehouse import contract
from warehouse.errors import InvalidArgument

BANK_MODEL = Path(__file__).with_name("bank.toml")

Agg = Literal["count", "count_distinct", "sum", "avg", "median", "min", "max"]
Kind = Literal["category", "number", "boolean", "time", "id"]
Unit = Literal["count", "amount", "years", "days", "percent"]
Better = Literal["higher", "lower"]
GRAINS = ("day", "week", "month", "quarter", "year", "weekday")

# Values of the rule parameters, from the contract (one place for the numbers).
PARAMETERS = {
    "active_window_days": str(contract.ACTIVE_WINDOW_DAYS),
    "non_spend_categories": "(" + ", ".join(f"'{c}'" for c in contract.NON_SPEND_CATEGORIES)
    + ")",
}


class ModelError(InvalidArgument):
    """The semantic model file is not valid (the message says where)."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def literal(value) -> str:
    """A SQL literal for a parameter value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def fill(template: str, **params) -> str:
    """`template` with {active_window_days}, {non_spend_categories} and `params` (as SQL
    literals) filled in; unknown placeholders are left for the next step."""
    values = PARAMETERS | {k: literal(v) for k, v in params.items()}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


def words_text(template: str, ref: str | None = None) -> str:
    """A definition or label in words, with the parameters (and the reference date) filled."""
    values = {"active_window_days": PARAMETERS["active_window_days"],
              "non_spend_categories": ", ".join(contract.NON_SPEND_CATEGORIES)}
    if ref is not None:
        values["ref"] = ref
    text = re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)
    return text.replace(" {ref}", "").replace("{ref}", "")


_PARSED: dict[str, exp.Expression] = {}
_DUMMY = {"run_id": "run", "channel": "email"}


def parse_sql(snippet: str, **params) -> exp.Expression:
    """A SQL snippet of the model (DuckDB dialect) as a sqlglot expression (a fresh copy)."""
    text = fill(snippet, **params)
    tree = _PARSED.get(text)
    if tree is None:
        tree = sqlglot.parse_one(text, read="duckdb")
        if len(_PARSED) < 4096:
            _PARSED[text] = tree
    return tree.copy()


class Value(Strict):
    label: str
    words: tuple[str, ...] = ()


class Bridge(Strict):
    """A multi-valued dimension: rows of `table` keyed by `key`, the value in `column`."""

    table: str
    alias: str
    key: str
    column: str
    where: str | None = None


class Dimension(Strict):
    name: str = ""
    entity: str = ""
    expr: str | None = None
    bridge: Bridge | None = None
    kind: Kind = "category"
    type: Literal["timestamp", "date"] = "timestamp"
    values: str | None = None
    label: str = ""
    words: tuple[str, ...] = ()
    phrase: str = ""
    negated: str = ""
    before: bool = False
    protected: bool = False
    pii: bool = False
    ordered: bool = False
    prefix: str = ""
    unit: Unit | None = None
    extra: tuple[str, ...] = ()
    definition: str | None = None
    # data it is derived from, beyond its own expression: "table" (has rows) or "table.column"
    # (has a non-null value); "a|b": either one (the planner never answers from missing data)
    needs: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one_source(self) -> Dimension:
        if (self.expr is None) == (self.bridge is None):
            raise ValueError("give either expr or bridge")
        return self

    @property
    def qualified(self) -> str:
        return f"{self.entity}.{self.name}"

    def filter_phrase(self, values: str, negate: bool = False) -> str:
        """How a filter on this dimension reads: 'in Germany', 'outside France'."""
        template = (self.negated or f"not {self.phrase or '{values}'}") if negate else \
            (self.phrase or f"with {self.label} {{values}}")
        return template.replace("{values}", values)


class Extension(Strict):
    """A table with the same key as its entity, joined whenever one of its columns is used."""

    table: str
    alias: str
    on: str | None = None
    optional: bool = False


class Entity(Strict):
    name: str = ""
    table: str | None = None
    sql: str | None = None
    alias: str
    key: str
    label: str = ""
    singular: str = ""
    words: tuple[str, ...] = ()
    time: str | None = None
    definition: str | None = None
    extends: tuple[Extension, ...] = ()
    joins: dict[str, str] = Field(default_factory=dict)
    dimensions: dict[str, Dimension] = Field(default_factory=dict)
    user_table: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> Entity:
        if (self.table is None) == (self.sql is None):
            raise ValueError("give either table or sql")
        return self

    @property
    def keys(self) -> list[str]:
        return [k.strip() for k in self.key.split(",")]

    @property
    def aliases(self) -> tuple[str, ...]:
        return (self.alias, *(x.alias for x in self.extends))


class Measure(Strict):
    name: str = ""
    entity: str
    agg: Agg
    expr: str | None = None
    filter: str | None = None
    stats: tuple[Agg, ...] = ()
    unit: Unit = "count"
    decimals: int | None = None
    label: str = ""
    words: tuple[str, ...] = ()
    definition: str | None = None
    # data it is derived from (see Dimension.needs)
    needs: tuple[str, ...] = ()

    @property
    def allowed(self) -> tuple[str, ...]:
        return self.stats or (self.agg,)


class Part(Strict):
    """The numerator or denominator of a metric: a measure, optionally under a named filter."""

    measure: str
    filter: str | None = None


class Metric(Strict):
    name: str = ""
    numerator: Part
    denominator: Part
    percent: bool = False
    decimals: int | None = None
    label: str = ""
    words: tuple[str, ...] = ()
    definition: str | None = None
    better: Better = "higher"       # which way is good ("the best campaign by unsubscribe rate")

    @field_validator("numerator", "denominator", mode="before")
    @classmethod
    def _part(cls, value):
        return {"measure": value} if isinstance(value, str) else value

    @property
    def places(self) -> int:
        return self.decimals if self.decimals is not None else (1 if self.percent else 2)


class Rule(Strict):
    """One condition of a filter made of rules (the reach rule): `expr`, or one per parameter
    value (`by_param`)."""

    reason: str
    label: str
    expr: str | None = None
    by_param: dict[str, str] = Field(default_factory=dict)

    def sql(self, param: str | None) -> str:
        if self.expr is not None:
            return self.expr
        if param not in self.by_param:
            raise ModelError(f"rule {self.reason} has no condition for {param!r}")
        return self.by_param[param]


class NamedFilter(Strict):
    name: str = ""
    entity: str
    expr: str | None = None
    exists: str | None = None
    rules: tuple[Rule, ...] = ()
    param: str | None = None
    label: str = ""
    negated_label: str = ""
    before: bool = False
    words: tuple[str, ...] = ()
    definition: str | None = None
    better: Better = "higher"       # a larger share of customers under it is good (churned: no)
    needs: tuple[str, ...] = ()     # data it is derived from (see Dimension.needs)

    @model_validator(mode="after")
    def _one_form(self) -> NamedFilter:
        if sum(x is not None and x != () for x in (self.expr, self.exists, self.rules)) != 1:
            raise ValueError("give exactly one of expr, exists, rules")
        return self

    def condition(self, param: str | None = None) -> str:
        """The filter as one SQL condition (rules joined with AND)."""
        if self.expr is not None:
            return self.expr
        if self.rules:
            return " AND ".join(f"({r.sql(param)})" for r in self.rules)
        raise ModelError(f"filter {self.name} is an existence test, not a condition")


class Concept(Strict):
    name: str
    definition: str


class Headline(Strict):
    """One headline figure of the overview ("how's business looking?"): a measure or metric,
    optionally under filters (query conditions, as the query_metrics tool takes them;
    "{active_window_days}" stands for the contract's number), with the words of its line."""

    title: str
    metric: str
    label: str | None = None
    filters: tuple[dict, ...] = ()
    definition: str | None = None

    @property
    def column(self) -> str:
        return words_text(self.label) if self.label else self.metric

    def conditions(self) -> list[dict]:
        """The filters with the contract's parameters filled in (as numbers where whole)."""
        def filled(value):
            if isinstance(value, dict):
                return {k: filled(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [filled(v) for v in value]
            if isinstance(value, str) and re.fullmatch(r"\{(\w+)\}", value):
                text = PARAMETERS.get(value[1:-1], value)
                return int(text) if text.isdigit() else text
            return value

        return [filled(dict(c)) for c in self.filters]


class SemanticModel(Strict):
    """The whole model: look-ups by name, and the texts rendered from it."""

    name: str
    description: str = ""
    reference: str | None = None     # SQL for the reference timestamp (default: reference_period)
    concepts: tuple[Concept, ...] = ()
    values: dict[str, dict[str, Value]] = Field(default_factory=dict)
    entities: dict[str, Entity] = Field(default_factory=dict)
    measures: dict[str, Measure] = Field(default_factory=dict)
    metrics: dict[str, Metric] = Field(default_factory=dict)
    filters: dict[str, NamedFilter] = Field(default_factory=dict)
    headline: tuple[Headline, ...] = ()

    # -- reading ---------------------------------------------------------------------------
    @field_validator("values", mode="before")
    @classmethod
    def _values(cls, sets):
        out = {}
        for set_name, members in (sets or {}).items():
            out[set_name] = {}
            for key, spec in members.items():
                if isinstance(spec, list | tuple):
                    if not spec:
                        raise ValueError(f"value {set_name}.{key} needs a label")
                    spec = {"label": spec[0], "words": tuple(spec[1:])}
                out[set_name][key] = spec
        return out

    @model_validator(mode="before")
    @classmethod
    def _names(cls, data):
        """Each entry knows its own name (and a dimension its entity)."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for section in ("entities", "measures", "metrics", "filters"):
            items = {}
            for name, spec in (data.get(section) or {}).items():
                spec = dict(spec) if isinstance(spec, dict) else spec
                if isinstance(spec, dict):
                    spec.setdefault("name", name)
                    if section == "entities":
                        spec["dimensions"] = {
                            d: (dict(v) | {"name": d, "entity": name}) if isinstance(v, dict)
                            else v for d, v in (spec.get("dimensions") or {}).items()}
                items[name] = spec
            data[section] = items
        return data

    @model_validator(mode="after")
    def _references(self) -> SemanticModel:
        problems = []
        for e in self.entities.values():
            for other in e.joins:
                if other not in self.entities:
                    problems.append(f"entity {e.name}: join to unknown entity {other!r}")
            if e.time and not self._known_time(e):
                problems.append(f"entity {e.name}: time dimension {e.time!r} is not declared")
            for d in e.dimensions.values():
                if d.values and d.values != "data" and d.values not in self.values:
                    problems.append(f"dimension {d.qualified}: unknown value set {d.values!r}")
        for m in self.measures.values():
            if m.entity not in self.entities:
                problems.append(f"measure {m.name}: unknown entity {m.entity!r}")
        for mt in self.metrics.values():
            for part in (mt.numerator, mt.denominator):
                if part.measure not in self.measures:
                    problems.append(f"metric {mt.name}: unknown measure {part.measure!r}")
                if part.filter and part.filter not in self.filters:
                    problems.append(f"metric {mt.name}: unknown filter {part.filter!r}")
        for f in self.filters.values():
            if f.entity not in self.entities:
                problems.append(f"filter {f.name}: unknown entity {f.entity!r}")
            if f.exists and f.exists not in self.entities:
                problems.append(f"filter {f.name}: unknown entity {f.exists!r}")
            if f.param and f.param not in self.values:
                problems.append(f"filter {f.name}: unknown value set {f.param!r}")
        for h in self.headline:
            if h.metric not in self.measures and h.metric not in self.metrics:
                problems.append(f"headline {h.title!r}: unknown measure or metric {h.metric!r}")
        aliases = [a for e in self.entities.values() for a in e.aliases]
        if len(aliases) != len(set(aliases)):
            problems.append("entity aliases must be unique: " + ", ".join(sorted(aliases)))
        problems += self._bad_sql()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _known_time(self, e: Entity) -> bool:
        owner, _, name = e.time.rpartition(".")
        entity = self.entities.get(owner) if owner else e
        return entity is not None and name in entity.dimensions

    def _bad_sql(self) -> list[str]:
        """Every SQL snippet must parse (parameters filled with sample values)."""
        snippets = []
        for e in self.entities.values():
            snippets += [(f"entity {e.name}", e.sql), *((f"entity {e.name} join {k}", v)
                                                        for k, v in e.joins.items() if " " in v)]
            snippets += [(f"entity {e.name} extension {x.alias}", x.on) for x in e.extends]
            for d in e.dimensions.values():
                snippets += [(f"dimension {d.qualified}", d.expr)]
                snippets += [(f"dimension {d.qualified}", x) for x in d.extra]
                if d.bridge:
                    snippets.append((f"dimension {d.qualified}", d.bridge.where))
        for m in self.measures.values():
            snippets += [(f"measure {m.name}", m.expr), (f"measure {m.name}", m.filter)]
        for f in self.filters.values():
            snippets.append((f"filter {f.name}", f.expr))
            for r in f.rules:
                snippets += [(f"filter {f.name} rule {r.reason}", r.expr)]
                snippets += [(f"filter {f.name} rule {r.reason}", x)
                             for x in r.by_param.values()]
        bad = []
        for where, snippet in snippets:
            if not snippet:
                continue
            try:
                parse_sql(snippet, **_DUMMY)
            except sqlglot.errors.SqlglotError as exc:
                bad.append(f"{where}: SQL does not parse ({str(exc).splitlines()[0]})")
        return bad

    # -- look-ups --------------------------------------------------------------------------
    def entity(self, name: str) -> Entity:
        try:
            return self.entities[name]
        except KeyError:
            raise ModelError(f"unknown entity {name!r}; the model has "
                             f"{', '.join(self.entities)}") from None

    def measure(self, name: str) -> Measure:
        try:
            return self.measures[name]
        except KeyError:
            raise ModelError(f"unknown measure {name!r}") from None

    def value_label(self, value_set: str | None, value) -> str:
        """How a value reads in an answer ('DE' -> 'Germany'; unknown values as they are)."""
        if value_set and value_set in self.values and str(value) in self.values[value_set]:
            return self.values[value_set][str(value)].label
        return str(value).replace("_", " ") if isinstance(value, str) else str(value)

    @cached_property
    def all_dimensions(self) -> list[Dimension]:
        return [d for e in self.entities.values() for d in e.dimensions.values()]

    def dimensions_named(self, name: str) -> list[Dimension]:
        """Dimensions called `name` ('country'), or the one qualified name ('customers.product')."""
        entity, _, dim = name.rpartition(".")
        if entity:
            found = self.entities.get(entity)
            return [found.dimensions[dim]] if found and dim in found.dimensions else []
        return [d for d in self.all_dimensions if d.name == name]

    # -- texts -----------------------------------------------------------------------------
    def headline_definition(self, h: Headline) -> str | None:
        """What a headline figure means: its own definition, else its metric's (a ratio's:
        the filter of its numerator), else its measure's."""
        if h.definition:
            return h.definition
        metric = self.metrics.get(h.metric)
        if metric is not None:
            part = metric.numerator
            return metric.definition or (self.filters[part.filter].definition if part.filter
                                         else None) or self.measures[part.measure].definition
        return self.measures[h.metric].definition

    def definitions(self, ref: str | None = None) -> dict[str, str]:
        """Every business definition in words, once each: {concept: 'concept = ...'}."""
        out: dict[str, str] = {}
        for c in self.concepts:
            out[c.name] = words_text(c.definition, ref)
        sources = [*self.filters.values(), *self.measures.values(), *self.metrics.values(),
                   *self.all_dimensions, *self.headline]
        for item in sources:
            if item.definition:
                text = words_text(item.definition, ref)
                term = text.split(" = ", 1)[0]
                out.setdefault(term, text)
        return out


def read_model(text: str, where: str = "semantic model") -> SemanticModel:
    """Parse and validate a model from TOML text; ModelError says what is wrong and where."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"{where} is not valid TOML: {exc}") from None
    try:
        return SemanticModel.model_validate(data)
    except ValueError as exc:
        raise ModelError(f"{where} is not a valid semantic model: {_short(exc)}") from None


def _short(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = []
        for err in errors()[:5]:
            loc = ".".join(str(x) for x in err.get("loc", ()))
            parts.append(f"{loc}: {err.get('msg', '')}".strip(": "))
        return "; ".join(parts)
    return str(exc)


_BANK: SemanticModel | None = None


def bank_model() -> SemanticModel:
    """The model of the warehouse contract (read once)."""
    global _BANK
    if _BANK is None:
        _BANK = read_model(BANK_MODEL.read_text(encoding="utf-8"), BANK_MODEL.name)
    return _BANK
