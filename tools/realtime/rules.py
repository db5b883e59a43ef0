"""Trigger rules: what they say, how they are written (TOML file or chat) and stored.

A rule, in a file (`assistant triggers add rules.toml`):

    [[trigger]]
    name = "travel card push"
    event = "Transaction"                       # the trigger event
    where = { category = "travel", is_international = true }   # on its properties
    state = { n_card_abroad = 1 }               # on the customer state after the event
    segment = 3                                 # in segment 3 of the latest segmentation
    max_churn_score = 0.8                       # score conditions (latest churn model)
    draft = "d3f9a1-a"                          # an APPROVED draft; its channel is used
    delay_minutes = 30
    exceptions = [{ event = "Consent Changed" }]   # cancel a pending send
    cap = { count = 1, days = 7 }               # at most 1 send from this rule per 7 days
    reentry_days = 30                           # a customer enters at most once per 30 days
    quiet_hours = { start = "21:00", end = "08:00", action = "defer" }   # local time

A condition value is a value (equal), a list (one of) or a table of operators
(`amount = { ">=" = 100 }`). State conditions name customer-state counters (n_tx, tx_30d,
n_card_abroad, logins_30d, ... see tools.features TX_COUNTERS / EV_COUNTERS).
"""

from __future__ import annotations

import json
import re
import secrets
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from tools.features import EV_COUNTERS, TX_COUNTERS
from tools.realtime import tables
from tools.realtime.mapping import _BY_NAME, EVENT_NAMES
from warehouse.connection import Warehouse
from warehouse.errors import InvalidArgument

OPS = ("=", "!=", ">", ">=", "<", "<=", "in", "not in")
STATE_FIELDS = tuple(c.name for c in TX_COUNTERS + EV_COUNTERS)
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class Condition(BaseModel):
    """`field op value`, e.g. amount >= 100."""

    field: str
    op: Literal["=", "!=", ">", ">=", "<", "<=", "in", "not in"] = "="
    value: Any

    def holds(self, actual: Any) -> bool:
        value = self.value
        if isinstance(actual, str) and isinstance(value, str):
            actual, value = actual.lower(), value.lower()
        try:
            if self.op in ("in", "not in"):
                items = [v.lower() if isinstance(v, str) else v for v in value]
                found = (actual.lower() if isinstance(actual, str) else actual) in items
                return found if self.op == "in" else not found
            if actual is None:
                return self.op == "!=" and value is not None
            if self.op == "=":
                return _num(actual) == _num(value)
            if self.op == "!=":
                return _num(actual) != _num(value)
            a, b = _num(actual), _num(value)
            return {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[self.op]
        except TypeError:
            return False

    def describe(self) -> str:
        value = ", ".join(map(str, self.value)) if isinstance(self.value, list) else self.value
        return f"{self.field} {self.op} {value}"


def _num(v: Any) -> Any:
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return v
    return float(v) if isinstance(v, int | float) else v


def conditions(spec: Any) -> list[Condition]:
    """Conditions from the file/chat forms: {field: value | [values] | {op: value}} or a list
    of {field, op, value}."""
    if spec is None:
        return []
    if isinstance(spec, list):
        return [Condition(**c) if isinstance(c, dict) else c for c in spec]
    if not isinstance(spec, dict):
        raise InvalidArgument("conditions must be a table such as { category = \"travel\" }")
    out = []
    for name, value in spec.items():
        if isinstance(value, dict):
            for op, v in value.items():
                if op not in OPS:
                    raise InvalidArgument(f"unknown operator {op!r} for {name}; use one of "
                                          f"{', '.join(OPS)}")
                out.append(Condition(field=name, op=op, value=v))
        elif isinstance(value, list):
            out.append(Condition(field=name, op="in", value=value))
        else:
            out.append(Condition(field=name, op="=", value=value))
    return out


class ExceptionEvent(BaseModel):
    event: str
    where: list[Condition] = Field(default_factory=list)

    @field_validator("where", mode="before")
    @classmethod
    def _where(cls, v):
        return conditions(v)


class Cap(BaseModel):
    count: int = Field(1, ge=1)
    days: float = Field(7, gt=0)


class QuietHours(BaseModel):
    start: str = "21:00"
    end: str = "08:00"
    action: Literal["defer", "skip"] = "defer"

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, v: str) -> str:
        if not _TIME.match(v.strip()):
            raise ValueError(f"{v!r} is not a time of day such as 21:00")
        return v.strip()

    def minutes(self) -> tuple[int, int]:
        def m(t: str) -> int:
            h, mm = t.split(":")
            return int(h) * 60 + int(mm)

        return m(self.start), m(self.end)


class Rule(BaseModel):
    """One trigger rule (see the module docstring)."""

    name: str = Field(min_length=1, max_length=80)
    event: str
    where: list[Condition] = Field(default_factory=list)
    state: list[Condition] = Field(default_factory=list)
    segment: int | None = None
    segment_run: str | None = None
    min_churn_score: float | None = Field(None, ge=0, le=1)
    max_churn_score: float | None = Field(None, ge=0, le=1)
    draft: str
    channel: str | None = None
    delay_minutes: float = Field(0, ge=0, le=60 * 24 * 30)
    exceptions: list[ExceptionEvent] = Field(default_factory=list)
    cap: Cap | None = Field(default_factory=Cap)
    reentry_days: float = Field(0, ge=0)
    quiet_hours: QuietHours | None = Field(default_factory=QuietHours)

    @field_validator("where", "state", mode="before")
    @classmethod
    def _conds(cls, v):
        return conditions(v)

    @field_validator("event")
    @classmethod
    def _event(cls, v: str) -> str:
        spec = _BY_NAME.get(v.strip().lower())
        if spec is None:
            raise ValueError(f"unknown event {v!r}; events: {', '.join(EVENT_NAMES)}")
        return next(n for n in spec.names if n.lower() == v.strip().lower())

    @model_validator(mode="after")
    def _fields(self) -> Rule:
        unknown = [c.field for c in self.state if c.field not in STATE_FIELDS]
        if unknown:
            raise ValueError(f"unknown state field {unknown[0]!r}; state fields: "
                             f"{', '.join(STATE_FIELDS)}")
        for e in self.exceptions:
            if e.event.strip().lower() not in _BY_NAME:
                raise ValueError(f"unknown exception event {e.event!r}")
        return self

    def describe(self) -> str:
        """The rule in one line of words."""
        parts = [f"when {self.event}"]
        if self.where:
            parts.append("with " + ", ".join(c.describe() for c in self.where))
        who = []
        if self.segment is not None:
            who.append(f"in segment {self.segment}")
        if self.state:
            who.append(", ".join(c.describe() for c in self.state))
        if self.min_churn_score is not None:
            who.append(f"churn score >= {self.min_churn_score:.0%}")
        if self.max_churn_score is not None:
            who.append(f"churn score <= {self.max_churn_score:.0%}")
        if who:
            parts.append("for customers " + "; ".join(who))
        parts.append(f"send draft {self.draft}" + (f" by {self.channel}" if self.channel
                                                   else ""))
        if self.delay_minutes:
            parts.append(f"after {self.delay_minutes:g} min")
        if self.exceptions:
            parts.append("unless " + " or ".join(e.event for e in self.exceptions))
        if self.cap:
            parts.append(f"at most {self.cap.count} per {self.cap.days:g} days")
        if self.reentry_days:
            parts.append(f"re-entry after {self.reentry_days:g} days")
        if self.quiet_hours:
            q = self.quiet_hours
            parts.append(f"quiet {q.start}-{q.end} local ({q.action})")
        return ", ".join(parts)


def parse_rule(data: dict) -> Rule:
    """A Rule from a dict, or InvalidArgument naming what is wrong."""
    try:
        return Rule(**data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "rule"
        raise InvalidArgument(f"trigger {data.get('name', '?')!r}: {where}: "
                              f"{first['msg'].removeprefix('Value error, ')}") from None


def load_file(path: Path) -> list[Rule]:
    """The rules declared in a TOML file (`[[trigger]]` tables)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidArgument(f"no file {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidArgument(f"{path} is not valid TOML: {exc}") from None
    items = data.get("trigger")
    if not isinstance(items, list) or not items:
        raise InvalidArgument(f"{path} declares no [[trigger]] table")
    return [parse_rule(item) for item in items]


# -- storage ---------------------------------------------------------------------------------------
def save(cur, rule: Rule, *, created_by: str = "", now: datetime | None = None) -> str:
    """Insert or replace (by name) a rule; returns its id."""
    now = (now or datetime.now()).replace(microsecond=0, tzinfo=None)
    tables.ensure(cur)
    existing = cur.execute(f"SELECT trigger_id FROM {tables.TRIGGERS} WHERE lower(name) = ?",
                           [rule.name.lower()]).fetchall()
    body = rule.model_dump_json()
    if existing:
        trigger_id = existing[0][0]
        cur.execute(f"UPDATE {tables.TRIGGERS} SET definition = ?, updated_at = ? "
                    "WHERE trigger_id = ?", [body, now, trigger_id])
        return trigger_id
    trigger_id = "t" + secrets.token_hex(3)
    cur.execute(f"INSERT INTO {tables.TRIGGERS} VALUES (?, ?, 'active', ?, ?, ?, ?)",
                [trigger_id, rule.name, body, now, created_by or None, now])
    return trigger_id


def set_status(cur, ref: str, status: str) -> tuple[str, str]:
    """Pause or resume a rule named by id or (part of) its name; returns (id, name)."""
    row = find(cur, ref)
    cur.execute(f"UPDATE {tables.TRIGGERS} SET status = ?, updated_at = ? WHERE trigger_id = ?",
                [status, datetime.now().replace(microsecond=0), row[0]])
    return row[0], row[1]


def find(cur, ref: str) -> tuple[str, str, str]:
    """(id, name, status) of the rule named `ref` (id, name, or a word of the name)."""
    ref = (ref or "").strip().lower()
    rows = cur.execute(f"SELECT trigger_id, name, status FROM {tables.TRIGGERS} "
                       "ORDER BY created_at").fetchall()
    if not rows:
        raise InvalidArgument("there are no triggers yet; add one with `assistant triggers add "
                              "rules.toml` or describe one in the chat")
    for exact in (lambda r: r[0] == ref, lambda r: r[1].lower() == ref,
                  lambda r: ref in r[1].lower()):
        hits = [r for r in rows if exact(r)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise InvalidArgument(f"{ref!r} matches several triggers: "
                                  f"{', '.join(r[1] for r in hits)}; name one")
    raise InvalidArgument(f"no trigger {ref!r}; triggers: {', '.join(r[1] for r in rows)}")


def load(wh_or_cur) -> list[tuple[str, str, str, Rule]]:
    """(id, name, status, rule) of every stored trigger."""
    run = wh_or_cur.execute
    if isinstance(wh_or_cur, Warehouse) and not wh_or_cur.has_table("triggers", "assistant"):
        return []
    rows = run(f"SELECT trigger_id, name, status, definition FROM {tables.TRIGGERS} "
               "ORDER BY created_at").fetchall()
    return [(r[0], r[1], r[2], Rule(**json.loads(r[3]))) for r in rows]
