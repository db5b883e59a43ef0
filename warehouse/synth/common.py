"""Shared pieces of the synthetic generator: the calendar, the customer chunk, vector helpers.

Times are int64 seconds since the epoch throughout; they become TIMESTAMP/DATE only when a chunk
is written. Nothing here loops over rows in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DAY = 86_400
MONTH = 30.44 * DAY
DECAY_DAYS = 120          # typical days over which activity fades before a customer leaves
DECAY_FLOOR = 0.15        # ...down to this share of their usual activity
ABRUPT_SHARE = 0.35       # leavers who stop with little warning (moved, switched bank overnight)


@dataclass(frozen=True)
class Calendar:
    """The generated history: `months` months of data ending at `end`."""

    start: int            # seconds, first moment of the history
    end: int              # seconds, last moment of the history
    month_starts: np.ndarray  # seconds, first day of each calendar month overlapping the window

    @classmethod
    def ending(cls, end_date: np.datetime64, months: int = 18) -> Calendar:
        end_day = np.datetime64(end_date, "D")
        end = int((end_day + 1).astype("datetime64[s]").astype(np.int64)) - 1
        first_month = end_day.astype("datetime64[M]") - (months - 1)
        start = int(first_month.astype("datetime64[s]").astype(np.int64))
        month_starts = np.arange(first_month, end_day.astype("datetime64[M]") + 1)
        return cls(start, end, month_starts.astype("datetime64[s]").astype(np.int64))


@dataclass
class Chunk:
    """A block of customers and everything the later steps need to know about them."""

    ids: np.ndarray           # customer_id
    persona: np.ndarray       # index into PERSONAS
    country: np.ndarray       # index into COUNTRIES
    signup: np.ndarray        # seconds
    birth: np.ndarray         # seconds
    employment: np.ndarray    # true employment, index into EMPLOYMENT_STATUSES
    income: np.ndarray        # true income band, index into INCOME_BANDS
    kyc: np.ndarray           # index into KYC_STATUSES
    activity: np.ndarray      # individual multiplier on all activity, mean 1
    dormant: np.ndarray       # bool: never used the account
    churn_at: np.ndarray      # seconds; a far-future value for customers who stay
    fade: np.ndarray          # seconds over which a leaver's activity fades (short: abrupt)
    start: np.ndarray         # seconds, when activity in the history starts
    region_idx: np.ndarray    # index into PLACES of the customer's country
    california: np.ndarray    # True for US customers in California (CCPA applies)

    def __len__(self) -> int:
        return len(self.ids)


NEVER = np.int64(2**62)


def decay(t: np.ndarray, churn_at: np.ndarray, fade: np.ndarray | float = DECAY_DAYS * DAY
          ) -> np.ndarray:
    """Activity multiplier at time t for a customer leaving at churn_at: 1, fading, then 0."""
    fade = np.maximum(fade, 1)
    fade_start = churn_at - fade
    frac = (churn_at - t) / fade
    m = np.where(t < fade_start, 1.0, DECAY_FLOOR + (1 - DECAY_FLOOR) * np.clip(frac, 0, 1))
    return np.where(t >= churn_at, 0.0, m)


def choice_rows(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each entry of `rows`, draw a column index from the distribution probs[row]."""
    cum = np.cumsum(probs, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(len(rows))
    return (u[:, None] > cum[rows]).sum(axis=1).astype(np.int16)


def choice(rng: np.random.Generator, weights, size: int) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=size, p=w / w.sum())


def poisson_times(rng: np.random.Generator, rate_per_day: np.ndarray, start: np.ndarray,
                  end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Event times of a homogeneous Poisson process per customer on [start, end).

    Returns (row index into the customer arrays, time in seconds). Callers thin the result with
    seasonality or decay to make it inhomogeneous.
    """
    span = np.maximum(end - start, 0)
    counts = rng.poisson(rate_per_day * span / DAY)
    rows = np.repeat(np.arange(len(span)), counts)
    t = start[rows] + (rng.random(len(rows)) * span[rows]).astype(np.int64)
    return rows, t


def day_of_week(t: np.ndarray) -> np.ndarray:
    """0 = Monday ... 6 = Sunday."""
    return ((t // DAY) + 3) % 7


def month_index(t: np.ndarray) -> np.ndarray:
    """0 = January ... 11 = December."""
    return (t.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)) % 12


def day_start(t: np.ndarray) -> np.ndarray:
    return (t // DAY) * DAY


def month_rows(rng: np.random.Generator, chunk_start: np.ndarray, chunk_end: np.ndarray,
               month_starts: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One event per customer per calendar month on that customer's day of the month.

    `day` is 1-based per customer (clipped to 28). Returns (row, time) for the months whose event
    falls inside [chunk_start, chunk_end).
    """
    n, m = len(chunk_start), len(month_starts)
    t = month_starts[None, :] + ((np.clip(day, 1, 28) - 1) * DAY)[:, None]
    t = t + rng.integers(6 * 3600, 20 * 3600, size=(n, m))
    ok = (t >= chunk_start[:, None]) & (t < chunk_end[:, None])
    rows, cols = np.nonzero(ok)
    return rows, t[rows, cols]
