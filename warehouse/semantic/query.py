"""The structured query: what the offline planner and the language model ask the compiler for.

A query names metrics (measures or ratio metrics of the semantic model), the dimensions to split
them by, the base filters that choose the population, and, apart from those, the filters that
define a measured subgroup (each metric is then also given as a share of the base). A time range
and a grain apply to a time dimension (by default the first metric's); order and limit rank the
rows. Every name is checked against the model when the query is compiled.

Examples (as JSON, the form the query_metrics tool takes):

    {"metrics": ["customers"], "filters": [{"field": "active"}, {"field": "country",
     "values": ["DE"]}]}                                  # active customers in Germany
    {"metrics": ["customers"], "filters": [{"field": "customers.product", "values":
     ["mortgage"]}], "subgroup": [{"field": "customers.product", "values": ["credit_card"]}]}
                                                          # share of mortgage holders with a card
    {"metrics": [{"name": "spend", "agg": "avg", "per": "customers"}],
     "dimensions": ["income_band"], "time": {"last": 90}}  # average spend per customer by band
    {"metrics": ["click_rate"], "dimensions": ["campaign"], "order": [{"by": "click_rate"}],
     "limit": 1}                                          # the campaign with the best click rate
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Scalar = str | int | float | bool
Op = Literal["in", "not_in", "all", "lt", "le", "gt", "ge", "between", "is_null", "not_null"]
Grain = Literal["day", "week", "month", "quarter", "year", "weekday"]
StatName = Literal["count", "sum", "avg", "median", "min", "max"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TimeRange(Strict):
    """A window on a time dimension: [start, end) in dates, or the last N days/months up to the
    reference date, or several [start, end) windows compared side by side."""

    start: date | None = None
    end: date | None = None
    last: int | None = Field(None, gt=0)
    unit: Literal["day", "month"] = "day"
    ranges: list[tuple[date, date]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_kind(self) -> TimeRange:
        kinds = [self.start is not None or self.end is not None, self.last is not None,
                 bool(self.ranges)]
        if sum(kinds) != 1:
            raise ValueError("give start/end, last, or ranges (one of them)")
        return self


class Condition(Strict):
    """One filter: a dimension ("country") compared with values, or a named filter of the
    model ("active", "marketable" with values ["email"]). `op`: in (any of the values; a named
    filter without values holds), not_in (none of them; the named filter does not hold), all
    (every value, for multi-valued dimensions: holds both products), lt/le/gt/ge/between
    (numbers), is_null/not_null. `time` narrows an existence filter ("transacted") to a
    window."""

    field: str
    op: Op = "in"
    values: list[Any] = Field(default_factory=list)     # strings, numbers or booleans
    time: TimeRange | None = None

    @field_validator("values")
    @classmethod
    def _scalars(cls, values: list) -> list:
        bad = [v for v in values if not isinstance(v, Scalar)]
        if bad:
            raise ValueError(f"values are strings, numbers or booleans, not {bad[0]!r}")
        return values

    @model_validator(mode="after")
    def _arity(self) -> Condition:
        n = len(self.values)
        if self.op == "between" and n != 2:
            raise ValueError(f"{self.field}: between takes two values")
        if self.op in ("lt", "le", "gt", "ge") and n != 1:
            raise ValueError(f"{self.field}: {self.op} takes one value")
        if self.op in ("is_null", "not_null") and n:
            raise ValueError(f"{self.field}: {self.op} takes no values")
        if self.op == "all" and not n:
            raise ValueError(f"{self.field}: all needs values")
        return self


class MetricRef(Strict):
    """A metric of the query: a measure or metric by name, with optionally another statistic
    (`agg`: "avg spend" is the average transaction amount), computed per entity first (`per`:
    "customers" for the average over customers of each customer's spend), narrowed by its own
    filters, or as a share of the total over all rows of the result (`of_total`)."""

    name: str
    agg: StatName | None = None
    per: str | None = None

    filters: list[Condition] = Field(default_factory=list)
    of_total: bool = False
    label: str | None = None       # the output column, when the default is not wanted

    @model_validator(mode="before")
    @classmethod
    def _by_name(cls, value):
        return {"name": value} if isinstance(value, str) else value


class Order(Strict):
    by: str                        # a metric name or an output column
    desc: bool = True


class Query(Strict):
    metrics: list[MetricRef] = Field(min_length=1)
    dimensions: list[str] = Field(default_factory=list)
    filters: list[Condition] = Field(default_factory=list)
    subgroup: list[Condition] = Field(default_factory=list)
    time: TimeRange | None = None
    time_dimension: str | None = None
    grain: Grain | None = None
    order: list[Order] = Field(default_factory=list)
    limit: int | None = Field(None, gt=0)

    @field_validator("metrics", mode="before")
    @classmethod
    def _names(cls, value):
        return [{"name": v} if isinstance(v, str) else v for v in value or []]


__all__ = ["Condition", "MetricRef", "Order", "Query", "TimeRange"]
