"""App events of a chunk of customers: logins, product views, applications, support, push opens."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from warehouse.contract import EVENT_TYPES, PLATFORMS, PRODUCTS
from warehouse.personas import PERSONAS
from warehouse.synth.accounts import Holdings
from warehouse.synth.common import DAY, MONTH, NEVER, Calendar, Chunk, choice_rows, decay

LOGINS = np.array([p.logins_per_month for p in PERSONAS]) * 0.6 / (MONTH / DAY)
PLATFORM_P = np.array([[p.platforms[k] for k in PLATFORMS] for p in PERSONAS])
INTEREST = np.array([[p.interests.get(k, 0.3) for k in PRODUCTS] for p in PERSONAS])
ET = {name: i for i, name in enumerate(EVENT_TYPES)}
NO_PRODUCT = -1


def _thinned(rng, rate, start, end, keep_p):
    """Poisson event times per customer with rate `rate`, each kept with probability keep_p."""
    span = np.maximum(end - start, 0)
    counts = rng.poisson(rate * span / DAY)
    rows = np.repeat(np.arange(len(span)), counts)
    t = start[rows] + (rng.random(len(rows)) * span[rows]).astype(np.int64)
    keep = rng.random(len(rows)) < keep_p(rows, t)
    return rows[keep], t[keep]


def draw(rng: np.random.Generator, ch: Chunk, hold: Holdings, cal: Calendar,
         active_end: np.ndarray, push: tuple[np.ndarray, np.ndarray], push_ok: np.ndarray,
         first_id: int) -> pa.Table:
    """App events; `push` are opens of campaign pushes, `push_ok` who accepts push messages."""
    n = len(ch)
    start = np.maximum(ch.start, ch.signup)
    end = np.where(ch.dormant, start + 14 * DAY, np.minimum(active_end, cal.end))
    primary = choice_rows(rng, PLATFORM_P, ch.persona)
    mobile = np.where(primary == PLATFORMS.index("web"), rng.integers(0, 2, n), primary)
    engagement = ch.activity ** 0.7 * rng.lognormal(0, 0.4, n)
    parts: list[tuple] = []

    def add(rows, t, event, product=None):
        prod = np.full(len(rows), NO_PRODUCT) if product is None else product
        parts.append((rows, t, np.full(len(rows), ET[event]), prod))

    def fading(rows, t):
        return decay(t, ch.churn_at[rows], ch.fade[rows])

    rows, t = _thinned(rng, LOGINS[ch.persona] * engagement, start, end, fading)
    add(rows, t, "login")

    # Browsing products, most often the ones that fit the persona.
    interest = INTEREST[ch.persona]
    rows, t = _thinned(rng, interest.sum(axis=1) * 0.12 / (MONTH / DAY) * engagement, start, end,
                       fading)
    add(rows, t, "view_product", choice_rows(rng, interest, ch.persona[rows]))

    # Applications behind every account opened during the history, and some abandoned ones.
    r, j = np.nonzero((hold.opened >= start[:, None]) & (hold.opened < NEVER))
    opened = hold.opened[r, j]
    add(r, opened - rng.integers(1, 20 * DAY, len(r)), "view_product", j)
    started = opened - rng.integers(600, 3 * DAY, len(r))
    add(r, started, "start_application", j)
    add(r, opened, "complete_application", j)
    rows, t = _thinned(rng, np.full(n, 0.02 / (MONTH / DAY)), start, end, fading)
    add(rows, t, "start_application", choice_rows(rng, interest, ch.persona[rows]))

    # Support chats: a few per year, many more while a customer is drifting away.
    def support(rows, t):
        return 0.2 + 0.8 * (1 - fading(rows, t))

    rows, t = _thinned(rng, np.full(n, 0.5 / (MONTH / DAY)), start, end, support)
    add(rows, t, "support_chat")

    add(push[0], push[1], "push_open")
    # Opens of the bank's other notifications (spending insights, reminders).
    rate = np.where(push_ok, 0.8 / (MONTH / DAY) * engagement, 0.0)
    rows, t = _thinned(rng, rate, start, end, fading)
    add(rows, t, "push_open")

    rows = np.concatenate([p[0] for p in parts])
    t = np.concatenate([p[1] for p in parts])
    event = np.concatenate([p[2] for p in parts])
    product = np.concatenate([p[3] for p in parts])
    ok = t < cal.end
    rows, t, event, product = rows[ok], t[ok], event[ok], product[ok]
    order = np.argsort(t, kind="stable")
    rows, t, event, product = rows[order], t[order], event[order], product[order]
    # Mostly the customer's usual platform; push notifications are only opened on a phone.
    platform = np.where(rng.random(len(rows)) < 0.85, primary[rows],
                        rng.integers(0, len(PLATFORMS), len(rows)))
    platform = np.where(event == ET["push_open"], mobile[rows], platform)
    return pa.table({
        "event_id": np.arange(first_id, first_id + len(rows), dtype=np.int64),
        "customer_id": ch.ids[rows],
        "ts": pa.array(t.astype("datetime64[s]")),
        "event_type": pa.DictionaryArray.from_arrays(pa.array(event.astype(np.int32)),
                                                     pa.array(list(EVENT_TYPES))),
        "platform": pa.DictionaryArray.from_arrays(pa.array(platform.astype(np.int32)),
                                                   pa.array(list(PLATFORMS))),
        "product": pa.DictionaryArray.from_arrays(
            pa.array(np.maximum(product, 0).astype(np.int32), mask=product < 0),
            pa.array(list(PRODUCTS))),
    })

