"""Wall-clock time for decisions (delays, caps, quiet hours), replaceable in tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """The system clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock(Clock):
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        self.current = start if start.tzinfo else start.replace(tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


def naive_utc(t: datetime) -> datetime:
    """A UTC datetime without tzinfo, as the warehouse stores it."""
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t
