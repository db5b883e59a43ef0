"""Consents and past campaigns of a chunk of customers.

Campaigns only ever went to customers who had consented to the channel at the time; an
unsubscribe withdraws the consent, so the consents table and campaign_events agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from warehouse import reference_data as ref
from warehouse.contract import (
    CAMPAIGN_EVENTS,
    CONSENT_PURPOSES,
    CONSENT_SOURCES,
    COUNTRIES,
    JURISDICTIONS,
    KYC_STATUSES,
    PRODUCTS,
)
from warehouse.personas import PERSONAS
from warehouse.synth.accounts import Holdings
from warehouse.synth.accounts import P as PRODUCT
from warehouse.synth.common import DAY, NEVER, Calendar, Chunk, decay

CONSENT_P = np.array([[p.consent[k] for k in CONSENT_PURPOSES] for p in PERSONAS])
RESPONSE = np.array([p.response for p in PERSONAS])
INTEREST = np.array([[p.interests.get(k, 0.4) for k in PRODUCTS] for p in PERSONAS])
EU_GB = [COUNTRIES.index(c) for c in ("DE", "FR", "ES", "IT", "NL", "GB")]
SRC = {name: i for i, name in enumerate(CONSENT_SOURCES)}
EV = {name: i for i, name in enumerate(CAMPAIGN_EVENTS)}

# Per channel: delivery rate, open rate, click rate (given an open; for SMS given delivery),
# unsubscribe rate given delivery.
CHANNEL_RATES = {"email": (0.97, 0.22, 0.16, 0.004), "sms": (0.985, 0.0, 0.035, 0.003),
                 "push": (0.93, 0.09, 0.45, 0.0)}


@dataclass(frozen=True)
class Campaign:
    campaign_id: int
    name: str
    channel: str
    product: str | None
    sent_at: int  # seconds


def campaigns(cal: Calendar) -> list[Campaign]:
    out = []
    for name, channel, product, month, day in ref.CAMPAIGNS:
        if month >= len(cal.month_starts):
            continue
        sent = int(cal.month_starts[month]) + (day - 1) * DAY + 10 * 3600
        if sent < cal.end:
            out.append(Campaign(len(out) + 1, name, channel, product, sent))
    return out


def campaigns_table(items: list[Campaign]) -> pa.Table:
    return pa.table({
        "campaign_id": pa.array([c.campaign_id for c in items], pa.int64()),
        "name": [c.name for c in items],
        "channel": [c.channel for c in items],
        "product": pa.array([c.product for c in items], pa.string()),
        "sent_at": pa.array(np.array([c.sent_at for c in items], dtype="datetime64[s]")),
    })


@dataclass
class Consents:
    """Per customer and purpose: granted at signup?, when, and when withdrawn (NEVER if not)."""

    granted: np.ndarray      # bool n x 4, as given at or after signup
    given_at: np.ndarray     # seconds n x 4
    withdrawn_at: np.ndarray  # seconds n x 4
    source: np.ndarray       # source code of the latest change
    jurisdiction: np.ndarray  # code per customer

    def at(self, purpose: str, t: int) -> np.ndarray:
        j = CONSENT_PURPOSES.index(purpose)
        return self.granted[:, j] & (self.given_at[:, j] <= t) & (self.withdrawn_at[:, j] > t)


def draw_consents(rng: np.random.Generator, ch: Chunk, cal: Calendar) -> Consents:
    n, k = len(ch), len(CONSENT_PURPOSES)
    gdpr = np.isin(ch.country, EU_GB)
    jurisdiction = np.where(gdpr, JURISDICTIONS.index("GDPR"),
                            np.where(ch.california, JURISDICTIONS.index("CCPA"),
                                     JURISDICTIONS.index("OTHER")))
    # Opt-in under GDPR yields fewer permissions than opt-out regimes.
    factor = np.where(gdpr, 0.9, 1.08)[:, None]
    granted = rng.random((n, k)) < np.minimum(CONSENT_P[ch.persona] * factor, 0.98)
    later = rng.random((n, k)) < 0.2
    given_at = ch.signup[:, None] + np.where(
        later, (rng.random((n, k)) * np.maximum(cal.end - ch.signup, DAY)[:, None]),
        rng.integers(0, 3600, (n, k))).astype(np.int64)
    source = np.where(later, SRC["app_settings"], SRC["signup_form"])
    source[rng.random((n, k)) < 0.04] = SRC["branch"]

    leaving = ch.churn_at < NEVER
    withdraw = granted & (rng.random((n, k)) < np.where(leaving, 0.2, 0.04)[:, None])
    span = np.maximum(cal.end - given_at, DAY)
    when = given_at + (rng.random((n, k)) * span).astype(np.int64)
    near_exit = np.clip(ch.churn_at[:, None] + rng.normal(0, 30, (n, k)) * DAY,
                        given_at, cal.end - 1).astype(np.int64)
    when = np.where(leaving[:, None], near_exit, when)
    withdrawn_at = np.where(withdraw, when, NEVER).astype(np.int64)
    source = np.where(withdraw, np.where(rng.random((n, k)) < 0.5, SRC["preference_center"],
                                         SRC["app_settings"]), source)
    return Consents(granted, given_at, withdrawn_at, source, jurisdiction)


def draw_campaign_events(rng: np.random.Generator, ch: Chunk, hold: Holdings, cons: Consents,
                         items: list[Campaign], active_end: np.ndarray
                         ) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """campaign_events rows; also (customer row, time) of push opens for the app events."""
    verified = ch.kyc == KYC_STATUSES.index("verified")
    parts = []
    push_rows, push_t = [], []
    for c in items:
        deliver, open_p, click_p, unsub_p = CHANNEL_RATES[c.channel]
        has_checking = hold.opened[:, PRODUCT["checking"]] < c.sent_at
        eligible = (verified & (ch.signup < c.sent_at) & (active_end > c.sent_at)
                    & has_checking & cons.at(c.channel, c.sent_at))
        if c.product is not None:
            eligible &= cons.at("profiling", c.sent_at)
        rows = np.nonzero(eligible & (rng.random(len(ch)) < 0.4))[0]
        m = len(rows)
        engaged = decay(np.full(m, c.sent_at), ch.churn_at[rows], ch.fade[rows])
        response = RESPONSE[ch.persona[rows]] * engaged
        sent = c.sent_at + rng.integers(0, 7200, m)
        delivered = rng.random(m) < deliver
        t_deliv = sent + rng.integers(1, 120, m)
        opened = delivered & (rng.random(m) < open_p * response)
        t_open = t_deliv + rng.exponential(5 * 3600, m).astype(np.int64)
        if c.channel == "sms":
            clicked = delivered & (rng.random(m) < click_p * response)
            t_click = t_deliv + rng.exponential(2 * 3600, m).astype(np.int64)
        else:
            clicked = opened & (rng.random(m) < click_p * response)
            t_click = t_open + rng.exponential(180, m).astype(np.int64)
        if c.product is None:
            convert_p = np.full(m, 0.15)
        else:
            j = PRODUCTS.index(c.product)
            holds = (hold.opened[rows, j] <= c.sent_at) & (hold.closed[rows, j] > c.sent_at)
            convert_p = 0.1 * INTEREST[ch.persona[rows], j] * np.where(holds, 0.2, 1.0)
        converted = clicked & (rng.random(m) < convert_p)
        t_conv = t_click + rng.exponential(20 * 3600, m).astype(np.int64)
        unsub = delivered & (rng.random(m) < unsub_p + 0.03 * (1 - engaged) * (unsub_p > 0))
        t_unsub = np.where(opened, t_open, t_deliv) + rng.exponential(600, m).astype(np.int64)

        for mask, t, event in ((np.ones(m, bool), sent, "sent"), (delivered, t_deliv, "delivered"),
                               (opened, t_open, "opened"), (clicked, t_click, "clicked"),
                               (converted, t_conv, "converted"), (unsub, t_unsub, "unsubscribed")):
            parts.append((np.full(mask.sum(), c.campaign_id), rows[mask], t[mask], EV[event]))
        if c.channel == "push":
            push_rows.append(rows[opened])
            push_t.append(t_open[opened])
        if unsub.any() and c.channel in CONSENT_PURPOSES:
            j = CONSENT_PURPOSES.index(c.channel)
            r = rows[unsub]
            earlier = t_unsub[unsub] < cons.withdrawn_at[r, j]
            cons.withdrawn_at[r[earlier], j] = t_unsub[unsub][earlier]
            cons.source[r[earlier], j] = SRC["unsubscribe_link"]

    campaign = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    rows = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    t = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.int64)
    event = np.concatenate([np.full(len(p[1]), p[3]) for p in parts]) if parts else np.zeros(0)
    table = pa.table({
        "campaign_id": campaign.astype(np.int64),
        "customer_id": ch.ids[rows],
        "event": pa.DictionaryArray.from_arrays(pa.array(event.astype(np.int32)),
                                                pa.array(list(CAMPAIGN_EVENTS))),
        "ts": pa.array(t.astype("datetime64[s]")),
    })
    cat = (np.concatenate(push_rows) if push_rows else np.zeros(0, np.int64),
           np.concatenate(push_t) if push_t else np.zeros(0, np.int64))
    return table, cat[0], cat[1]


def consents_table(ch: Chunk, cons: Consents, cal: Calendar) -> pa.Table:
    n, k = cons.granted.shape
    withdrawn = cons.withdrawn_at < NEVER
    granted = cons.granted & ~withdrawn & (cons.given_at <= cal.end)
    updated = np.where(withdrawn, cons.withdrawn_at, np.minimum(cons.given_at, cal.end))
    updated = np.where(cons.granted, updated, ch.signup[:, None])
    source = np.where(cons.granted | withdrawn, cons.source, SRC["signup_form"])
    return pa.table({
        "customer_id": np.repeat(ch.ids, k),
        "purpose": pa.DictionaryArray.from_arrays(
            pa.array(np.tile(np.arange(k, dtype=np.int32), n)), pa.array(list(CONSENT_PURPOSES))),
        "granted": granted.ravel(),
        "updated_at": pa.array(updated.ravel().astype("datetime64[s]")),
        "source": pa.DictionaryArray.from_arrays(pa.array(source.ravel().astype(np.int32)),
                                                 pa.array(list(CONSENT_SOURCES))),
        "jurisdiction": pa.DictionaryArray.from_arrays(
            pa.array(np.repeat(cons.jurisdiction, k).astype(np.int32)),
            pa.array(list(JURISDICTIONS))),
    })

