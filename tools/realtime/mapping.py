"""The declared mapping from incoming events to the contract tables, and the checks on each event.

Events arrive in the shape of Segment's track call:

    {"type": "track", "userId": "1042", "event": "Transaction", "messageId": "m-1",
     "timestamp": "2026-10-31T18:02:11Z", "properties": {"amount": 42.5, "category": "travel"}}

`EVENTS` declares, for every event name we accept, the contract table it lands in and which
property fills which column (everything else in `properties` is kept in the event log, where
trigger conditions can read it). `check(raw)` turns one event into an `Event` or a `Rejection`
with a reason a person can act on; checks that need the warehouse (does the customer exist?)
happen in the writer, for a whole batch at once.

- `messageId` makes delivery idempotent; when absent it is derived from the event's content, so
  re-sending the same file twice adds nothing.
- `timestamp` (ISO 8601) defaults to the time of receipt. The warehouse keeps local times (the
  customer's): a timestamp with an offset or `Z` is converted to the customer's local time (by
  country) in the writer; one without is taken as local already.
- A campaign `unsubscribed` event also withdraws the consent for that campaign's channel, as an
  unsubscribe link does.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from warehouse.contract import (
    CAMPAIGN_EVENTS,
    CATEGORIES,
    CONSENT_PURPOSES,
    CONSENT_SOURCES,
    CURRENCIES,
    DIRECTIONS,
    EVENT_TYPES,
    JURISDICTIONS,
    PLATFORMS,
    PRODUCTS,
    TX_CHANNELS,
)

MAX_PROPERTIES_BYTES = 8_192
MAX_ID_LENGTH = 200


@dataclass(frozen=True)
class Prop:
    """One property read into a column: its name in `properties`, its kind, whether it must be
    there, its allowed values and its default."""

    column: str
    kind: str = "text"              # text, int, amount, bool, choice
    required: bool = False
    values: tuple[str, ...] = ()
    default: Any = None
    prop: str | None = None         # property name when it differs from the column

    @property
    def name(self) -> str:
        return self.prop or self.column

    @property
    def canonical(self) -> dict[str, str]:
        """Lower-case spelling -> the declared value (choices), computed once per Prop."""
        found = _CANONICAL.get(self)
        if found is None:
            found = _CANONICAL[self] = {v.lower(): v for v in self.values}
        return found


_CANONICAL: dict[Prop, dict[str, str]] = {}


@dataclass(frozen=True)
class EventMap:
    """An event name (and its aliases) -> a contract table, with fixed column values."""

    table: str
    names: tuple[str, ...]
    props: tuple[Prop, ...]
    fixed: dict[str, Any] = field(default_factory=dict)


TRANSACTION = EventMap("transactions", ("Transaction", "Transaction Booked", "Card Payment"), (
    Prop("amount", "amount", required=True),
    Prop("category", "choice", required=True, values=CATEGORIES),
    Prop("direction", "choice", values=DIRECTIONS, default="debit"),
    Prop("channel", "choice", values=TX_CHANNELS),
    Prop("merchant"),
    Prop("currency", "choice", values=CURRENCIES),
    Prop("is_international", "bool", default=False),
    Prop("merchant_country"),
    Prop("account_id", "int"),
    Prop("transaction_id", "int"),
))
_APP_PROPS = (Prop("platform", "choice", values=PLATFORMS), Prop("product", "choice",
                                                               values=PRODUCTS),
              Prop("event_id", "int"))
APP_EVENT = EventMap("app_events", ("App Event",), (
    Prop("event_type", "choice", required=True, values=EVENT_TYPES), *_APP_PROPS))
_APP_ALIASES = {
    "login": ("Login", "Logged In", "Signed In"),
    "view_product": ("Product Viewed", "View Product"),
    "start_application": ("Application Started", "Start Application"),
    "complete_application": ("Application Completed", "Complete Application"),
    "support_chat": ("Support Chat", "Support Chat Started"),
    "push_open": ("Push Opened", "Push Open"),
}
CONSENT = EventMap("consents", ("Consent Changed", "Consent Updated"), (
    Prop("purpose", "choice", required=True, values=CONSENT_PURPOSES),
    Prop("granted", "bool", required=True),
    Prop("source", "choice", values=CONSENT_SOURCES, default="app_settings"),
    Prop("jurisdiction", "choice", values=JURISDICTIONS),
))
CAMPAIGN_EVENT = EventMap("campaign_events", ("Campaign Event",), (
    Prop("campaign_id", "int", required=True),
    Prop("event", "choice", required=True, values=CAMPAIGN_EVENTS),
))
_CAMPAIGN_ALIASES = {e: (f"Campaign {e.capitalize()}", f"Message {e.capitalize()}")
                     for e in CAMPAIGN_EVENTS}

EVENTS: tuple[EventMap, ...] = (
    TRANSACTION, APP_EVENT, CONSENT, CAMPAIGN_EVENT,
    *(EventMap("app_events", names, _APP_PROPS, {"event_type": kind})
      for kind, names in _APP_ALIASES.items()),
    *(EventMap("campaign_events", names, (Prop("campaign_id", "int", required=True),),
               {"event": kind}) for kind, names in _CAMPAIGN_ALIASES.items()),
)
_BY_NAME = {n.lower(): m for m in EVENTS for n in m.names}
# per event map: (prop, property name, column, lower-case choice -> value or None), read by check
_PLANS = {id(m): tuple((p, p.name, p.column, p.canonical if p.kind == "choice" else None)
                       for p in m.props) for m in EVENTS}
EVENT_NAMES = tuple(n for m in EVENTS for n in m.names)


@dataclass
class Event:
    """One checked event, ready for the writer."""

    message_id: str
    customer_id: int
    name: str                       # the event name as declared (canonical spelling)
    table: str
    row: dict[str, Any]             # contract columns (without customer_id and ts)
    ts: datetime | None             # None: stamped with the time of receipt
    aware: bool                     # ts had an offset: convert to the customer's local time
    properties: dict[str, Any]
    index: int = 0                  # position in the request
    tag: int = 0                    # which submission of a micro-batch it came in
    source: str = ""                # which door: http, file, redis, ...
    logged: str | None = None       # `properties` as the event log's JSON (set by check)


@dataclass
class Rejection:
    index: int
    message_id: str | None
    reason: str
    tag: int = 0

    def to_dict(self) -> dict:
        return {"index": self.index, "messageId": self.message_id, "reason": self.reason}


def known_events() -> str:
    return ", ".join(m.names[0] for m in EVENTS[:4]) + " (and aliases such as " + \
        ", ".join(n for m in EVENTS[4:7] for n in m.names[:1]) + ")"


def _digest(raw: dict) -> str:
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return "h-" + hashlib.sha256(text.encode()).hexdigest()[:32]


def _value(p: Prop, value: Any) -> Any:
    """The column value of property `p`, or raise ValueError with the reason."""
    if p.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"{p.name} must be a whole number")
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"{p.name} must be a whole number, not {str(value)[:30]!r}") \
                from None
        if not 0 < number < 2**63:
            raise ValueError(f"{p.name} must be a positive whole number")
        return number
    if p.kind == "amount":
        if isinstance(value, bool):
            raise ValueError(f"{p.name} must be a number")
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f"{p.name} must be a number, not {str(value)[:30]!r}") from None
        if not amount.is_finite() or amount < 0:   # 0: a free purchase (the contract's rule)
            raise ValueError(f"{p.name} must not be negative (the sign is the direction)")
        if amount >= Decimal("1e16"):
            raise ValueError(f"{p.name} is too large")
        return amount.quantize(Decimal("0.01"))
    if p.kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise ValueError(f"{p.name} must be true or false")
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError(f"{p.name} must be text")
    text = str(value).strip()
    if p.kind == "choice":
        canonical = p.canonical.get(text.lower())
        if canonical is None:
            raise ValueError(f"{p.name} {text[:30]!r} is not one of {', '.join(p.values)}")
        return canonical
    return text[:200]


def parse_timestamp(value: Any) -> tuple[datetime, bool]:
    """(datetime, had an offset) from ISO 8601 text; raise ValueError otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("timestamp must be ISO 8601 text, e.g. 2026-10-31T18:02:11Z")
    text = value.strip()
    try:
        ts = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise ValueError(f"timestamp {text[:40]!r} is not ISO 8601 (e.g. "
                         "2026-10-31T18:02:11Z)") from None
    return ts, ts.tzinfo is not None


def check(raw: Any, index: int = 0) -> Event | Rejection:
    """Check one event; an Event ready for the writer, or a Rejection saying why not."""
    if not isinstance(raw, dict):
        return Rejection(index, None, "an event must be a JSON object")
    message_id = raw.get("messageId")
    if message_id is not None and (not isinstance(message_id, str | int) or
                                   isinstance(message_id, bool) or not str(message_id).strip()):
        return Rejection(index, None, "messageId must be a non-empty string")
    message_id = str(message_id).strip() if message_id is not None else _digest(raw)
    if len(message_id) > MAX_ID_LENGTH:
        return Rejection(index, message_id[:40], f"messageId is longer than {MAX_ID_LENGTH}")

    def reject(reason: str) -> Rejection:
        return Rejection(index, message_id, reason)

    kind = raw.get("type", "track")
    if kind != "track":
        return reject(f"only track events are accepted, not type {str(kind)[:20]!r}")
    user = raw.get("userId")
    if user is None or isinstance(user, bool):
        return reject("userId (the customer_id) is missing")
    try:
        customer_id = int(str(user).strip())
    except ValueError:
        return reject(f"userId must be a customer_id (a whole number), not {str(user)[:30]!r}")
    if not 0 < customer_id < 2**63:
        return reject("userId must be a positive customer_id")
    name = raw.get("event")
    if not isinstance(name, str) or not name.strip():
        return reject("event (the event name) is missing")
    spec = _BY_NAME.get(name.strip().lower())
    if spec is None:
        return reject(f"unknown event {name.strip()[:40]!r}; known events: {known_events()}")
    props = raw.get("properties", {})
    if props is None:
        props = {}
    if not isinstance(props, dict):
        return reject("properties must be a JSON object")
    for key, value in props.items():
        if value.__class__ is float and not math.isfinite(value):
            return reject(f"{key} must be a finite number")
    logged = log_json(props)
    if logged is None:
        return reject("properties could not be read as JSON")
    if len(logged) > MAX_PROPERTIES_BYTES:
        return reject(f"properties are larger than {MAX_PROPERTIES_BYTES:,} bytes")
    row: dict[str, Any] = dict(spec.fixed)
    for p, name, column, choices in _PLANS[id(spec)]:
        value = props.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if p.required:
                return reject(f"{spec.names[0]} events need properties.{name}")
            row[column] = p.default
            continue
        if choices is not None and value.__class__ is str:   # the common case, at once
            found = choices.get(value.strip().lower())
            if found is not None:
                row[column] = found
                continue
        try:
            row[column] = _value(p, value)
        except ValueError as exc:
            return reject(str(exc))
    ts, aware = None, False
    if raw.get("timestamp") is not None:
        try:
            ts, aware = parse_timestamp(raw["timestamp"])
        except ValueError as exc:
            return reject(str(exc))
    event = Event(message_id, customer_id, spec.names[0], spec.table, row, ts, aware,
                  props, index)
    if not any(k.startswith("_") for k in props):   # the log leaves out `_` keys
        event.logged = logged
    return event


_LONG_NUMBER = re.compile(rb"\d{19}")


def loads(data: bytes | str) -> Any:
    """JSON text -> Python, as `json.loads` reads it (raises ValueError the same way), through
    orjson (5x faster) unless the text has a 19-digit run: orjson reads integers past 64 bits
    as floats, which would change a number."""
    raw = data.encode() if isinstance(data, str) else data
    if _LONG_NUMBER.search(raw) is None:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass       # json.loads says why (and reads what orjson refuses, e.g. NaN)
    return json.loads(data)


def log_json(props: dict) -> str | None:
    """`props` as the JSON text the event log keeps (its size is what the limit counts), or
    None when it cannot be written as JSON."""
    try:
        return orjson.dumps(props, default=str).decode()
    except (TypeError, ValueError):      # e.g. keys that are not text (callers in Python)
        try:
            return json.dumps(props, default=str, separators=(",", ":"))
        except (TypeError, ValueError):
            return None


def stable_id(message_id: str) -> int:
    """A positive 63-bit id derived from the messageId (rows without an id of their own)."""
    return int.from_bytes(hashlib.sha256(message_id.encode()).digest()[:8], "big") >> 1 or 1
