"""What the planner understood from a question: a frame (measure, filters, subgroup, split,
period, ranking), typed: every detail a question can add has its own field."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date


@dataclass(frozen=True)
class Filter:
    """A condition on customers, transactions, accounts, campaigns or app events.

    `field` is one of the planner's filter names (mapped onto the semantic model in plan.py);
    `values` are the model's values (or numbers for `op` lt/le/gt/ge/between, op "all" for
    every one of several values, "any" for one concept covering several); `label` is how the
    answer describes it ("in Germany"); `pos` is where it was found in the question.
    """

    field: str
    values: tuple = ()
    op: str = "in"
    negate: bool = False
    label: str = ""
    pos: int = 0

    def with_values(self, values: tuple, label: str) -> Filter:
        return replace(self, values=values, label=label)


@dataclass(frozen=True)
class Period:
    """A time window: calendar [start, end) or rolling (the last `days`/`months` up to the
    reference timestamp). `on` is "tx" (event time) or "signup" (customers.signup_date)."""

    label: str
    start: date | None = None
    end: date | None = None
    days: int | None = None
    months: int | None = None
    on: str = "tx"
    ranges: tuple[tuple[date, date], ...] = ()   # several windows compared ("Oct vs Sep")


@dataclass
class Frame:
    metric: str = "customers"        # what is measured (plan.py maps it onto the model)
    agg: str = ""                    # count / sum / avg / median / min / max ('' = default)
    filters: list[Filter] = field(default_factory=list)     # the population
    condition: list[Filter] = field(default_factory=list)   # the measured subgroup of a share
    group: list[str] = field(default_factory=list)
    period: Period | None = None
    top: int | None = None
    order: str = "desc"
    judged: str = ""                 # "best" / "worst": ranked by which way is good (the model's)
    per: str = ""                    # "customer" (transactions per customer), "transaction"
    share_of: str = ""               # "spend" or "transactions": a part of that total
    highlight: tuple = ()            # values named in a split ("travel's share of spend")
    rates: tuple[str, ...] = ()      # campaign rates asked for: open, click, conversion, ...
    campaigns: str = ""              # each (a row per campaign), pooled, any (customers with the
    #                                  event once), reach (customers sent)
    counts: bool = False             # campaign event counts instead of rates
    customers_first: bool = False    # events: the count of customers leads the answer
    counted: str = "customers"       # who customers_first counts: customers or accounts
    needs_period: bool = False       # signups without a period or split
    refusal: str = ""                # why the question cannot be answered as asked

    def copy(self) -> Frame:
        return replace(self, filters=list(self.filters), condition=list(self.condition),
                       group=list(self.group))


@dataclass
class ToolIntent:
    """A question answered by a tool other than the metrics (segments, churn, audiences, copy)."""

    tool: str
    args: dict = field(default_factory=dict)
    label: str = ""


@dataclass
class Reply:
    """An answer the planner gives without tools: capabilities, refusals, clarifications."""

    text: str
    refused: bool = True


@dataclass
class Parsed:
    """The result of parsing one question in its conversation."""

    kind: str                          # "frame", "table", "tool", "reply"
    frame: Frame | None = None
    table: object | None = None        # a question about a user table (tables.TableAsk)
    tool: ToolIntent | None = None
    reply: Reply | None = None
