"""What the planner understood from a question: a frame (metric, filters, grouping, period)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date


@dataclass(frozen=True)
class Filter:
    """A condition on customers, transactions, accounts, campaigns or app events.

    `field` names an entry of sqlgen.FILTERS; `values` are contract values (or numbers for
    `op` lt/le/gt/ge/between); `label` is how the answer describes it ("in Germany").
    """

    field: str
    values: tuple = ()
    op: str = "in"
    negate: bool = False
    label: str = ""
    pos: int = 0          # where it was found in the question (share: base vs condition)

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
    metric: str = "customers"        # see sqlgen.METRICS
    agg: str = ""                    # count / sum / avg / median / min / max ('' = default)
    filters: list[Filter] = field(default_factory=list)
    condition: list[Filter] = field(default_factory=list)   # numerator of a share
    group: list[str] = field(default_factory=list)
    period: Period | None = None
    top: int | None = None
    order: str = "desc"
    notes: list[str] = field(default_factory=list)

    def copy(self) -> Frame:
        return Frame(self.metric, self.agg, list(self.filters), list(self.condition),
                     list(self.group), self.period, self.top, self.order, list(self.notes))


@dataclass
class ToolIntent:
    """A question answered by a tool other than run_sql (segments, churn, audiences, copy)."""

    tool: str
    args: dict = field(default_factory=dict)
    then_sql: Frame | None = None   # a follow-up SQL step once the tool has run
    label: str = ""


@dataclass
class Reply:
    """An answer the planner gives without tools: capabilities, refusals, clarifications."""

    text: str
    refused: bool = True


@dataclass
class Parsed:
    """The result of parsing one question in its conversation."""

    kind: str                          # "frame", "tool", "reply"
    frame: Frame | None = None
    tool: ToolIntent | None = None
    reply: Reply | None = None
    steps: list[ToolIntent] = field(default_factory=list)
