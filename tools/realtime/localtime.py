"""A customer's local time, from their country of residence (quiet hours, event timestamps).

One time zone per country: the capital's. For countries that span several zones (US, CA) this is
an approximation (Eastern time), said wherever quiet hours are explained.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

COUNTRY_TZ = {
    "DE": "Europe/Berlin", "FR": "Europe/Paris", "ES": "Europe/Madrid", "IT": "Europe/Rome",
    "NL": "Europe/Amsterdam", "GB": "Europe/London", "US": "America/New_York",
    "CA": "America/Toronto", "AT": "Europe/Vienna", "BE": "Europe/Brussels",
    "CH": "Europe/Zurich", "IE": "Europe/Dublin", "PT": "Europe/Lisbon", "PL": "Europe/Warsaw",
    "SE": "Europe/Stockholm", "DK": "Europe/Copenhagen", "NO": "Europe/Oslo",
    "FI": "Europe/Helsinki", "AU": "Australia/Sydney",
}
_ZONES: dict[str, ZoneInfo] = {}


def zone(country: str | None) -> ZoneInfo:
    """The time zone of a country (UTC when unknown)."""
    name = COUNTRY_TZ.get((country or "").upper(), "UTC")
    if name not in _ZONES:
        _ZONES[name] = ZoneInfo(name)
    return _ZONES[name]


def local(t: datetime, country: str | None) -> datetime:
    """`t` (aware, or naive UTC) as the customer's local wall time, without tzinfo."""
    aware = t if t.tzinfo else t.replace(tzinfo=UTC)
    return aware.astimezone(zone(country)).replace(tzinfo=None)


def to_utc(local_time: datetime, country: str | None) -> datetime:
    """A customer's naive local wall time as an aware UTC datetime."""
    return local_time.replace(tzinfo=zone(country)).astimezone(UTC)
