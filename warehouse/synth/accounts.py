"""Accounts of a chunk of customers: which products they open and close, balances, limits, rates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from warehouse import reference_data as ref
from warehouse.contract import ACCOUNT_STATUSES, COUNTRIES, KYC_STATUSES, PRODUCTS
from warehouse.personas import PERSONA_INDEX, PERSONAS
from warehouse.synth.common import DAY, NEVER, Calendar, Chunk, decay

P = {name: i for i, name in enumerate(PRODUCTS)}
PRODUCT_P = np.array([[p.products.get(name, 0.0) for name in PRODUCTS] for p in PERSONAS])
BALANCE_SCALE = np.array([p.balance_scale for p in PERSONAS])
CURRENCIES = np.array([ref.CURRENCY[c] for c in COUNTRIES], dtype=object)
FX = np.array([ref.FX_PER_EUR[ref.CURRENCY[c]] for c in COUNTRIES])
CARD_LIMIT_BY_INCOME = np.array([1000, 2500, 5000, 10000, 20000], dtype=float)
# (median balance in EUR, log-spread) of deposit-like products, scaled by persona wealth.
DEPOSITS = {"checking": (1400, 1.0), "savings": (7000, 1.2), "investment": (14000, 1.3),
            "crypto": (2200, 1.5)}
RATES = {"savings": (1.5, 3.5), "credit_card": (14.9, 23.9), "personal_loan": (4.9, 11.9),
         "mortgage": (2.6, 4.8)}


@dataclass
class Holdings:
    """When each customer opened and closed each product (n x products, seconds)."""

    opened: np.ndarray
    closed: np.ndarray

    def active(self, rows: np.ndarray, product: str, t: np.ndarray) -> np.ndarray:
        j = P[product]
        return (self.opened[rows, j] <= t) & (t < self.closed[rows, j])


def draw(rng: np.random.Generator, ch: Chunk, cal: Calendar) -> tuple[Holdings, pa.Table]:
    n, k = len(ch), len(PRODUCTS)
    has = rng.random((n, k)) < PRODUCT_P[ch.persona]
    has[:, P["checking"]] = rng.random(n) < 0.975
    pending = ch.kyc == KYC_STATUSES.index("pending")
    rejected = ch.kyc == KYC_STATUSES.index("rejected")
    has[pending] = False
    has[rejected, 1:] = False
    # a few dormant customers never opened anything at all
    has[ch.dormant & (rng.random(n) < 0.3)] = False

    life = np.maximum(cal.end - ch.signup, DAY)
    opened = ch.signup[:, None] + (rng.random((n, k)) * life[:, None]).astype(np.int64)
    opened[:, P["checking"]] = ch.signup + rng.integers(0, 3 * DAY, n)
    # Nobody opens a product after they have started to leave.
    latest = np.minimum(ch.churn_at - 150 * DAY, cal.end)
    has &= (opened < latest[:, None]) | (np.arange(k) == P["checking"])[None, :]

    closed = np.full((n, k), NEVER, dtype=np.int64)
    # Ordinary closures of secondary products.
    ordinary = has & (rng.random((n, k)) < 0.06)
    ordinary[:, P["checking"]] = False
    when = opened + (rng.random((n, k)) * np.maximum(cal.end - opened, DAY)).astype(np.int64)
    closed[ordinary] = when[ordinary]
    # Most customers who left well before the end close everything a few weeks later.
    gone = (ch.churn_at < cal.end - 90 * DAY) & (rng.random(n) < 0.6)
    close_at = ch.churn_at + rng.integers(5 * DAY, 60 * DAY, n)
    gone &= close_at < cal.end
    closed[gone] = np.minimum(closed[gone], close_at[gone, None])
    closed[~has] = NEVER
    opened[~has] = NEVER

    rows, cols = np.nonzero(has)
    m = len(rows)
    persona = ch.persona[rows]
    is_closed = closed[rows, cols] < NEVER
    frozen = (rejected[rows] | (rng.random(m) < 0.004)) & ~is_closed
    status = np.where(is_closed, ACCOUNT_STATUSES.index("closed"),
                      np.where(frozen, ACCOUNT_STATUSES.index("frozen"),
                               ACCOUNT_STATUSES.index("open")))

    balance = np.zeros(m)
    wealth = BALANCE_SCALE[persona] * (0.6 + 0.2 * ch.income[rows])
    fading = decay(np.full(m, cal.end), ch.churn_at[rows], ch.fade[rows])
    for name, (median, spread) in DEPOSITS.items():
        sel = cols == P[name]
        balance[sel] = rng.lognormal(np.log(median * wealth[sel]), spread)
    balance *= np.where(fading > 0, fading, 0.05)  # leavers move their money out first
    limit = np.full(m, np.nan)
    card = cols == P["credit_card"]
    limit[card] = np.round(CARD_LIMIT_BY_INCOME[ch.income[rows[card]]]
                           * rng.uniform(0.8, 1.3, card.sum()), -2)
    # families and gig workers use more of their limit
    tight = np.isin(persona[card], [PERSONA_INDEX["family_budget"], PERSONA_INDEX["gig_worker"]])
    balance[card] = limit[card] * np.where(tight, rng.beta(3, 3, card.sum()),
                                           rng.beta(1.5, 5, card.sum()))
    loan = cols == P["personal_loan"]
    balance[loan] = rng.lognormal(np.log(9000), 0.6, loan.sum()) * rng.uniform(0.1, 1, loan.sum())
    mortgage = cols == P["mortgage"]
    balance[mortgage] = rng.lognormal(np.log(190_000), 0.5, mortgage.sum()) * rng.uniform(
        0.3, 1, mortgage.sum())
    balance[is_closed] = 0.0
    fx = FX[ch.country[rows]]
    balance *= fx
    limit *= fx

    rate = np.full(m, np.nan)
    for name, (lo, hi) in RATES.items():
        sel = cols == P[name]
        rate[sel] = np.round(rng.uniform(lo, hi, sel.sum()) * 20) / 20

    def day(t):
        return pa.array((t // DAY).astype("datetime64[D]"), mask=t >= NEVER)

    table = pa.table({
        "account_id": account_ids(ch.ids[rows], cols),
        "customer_id": ch.ids[rows],
        "product": pa.array(np.array(PRODUCTS, dtype=object)[cols], pa.string()),
        "opened_at": day(opened[rows, cols]),
        "closed_at": day(closed[rows, cols]),
        "status": pa.array(np.array(ACCOUNT_STATUSES, dtype=object)[status], pa.string()),
        "balance": np.round(balance, 2),
        "credit_limit": pa.array(limit, mask=np.isnan(limit)),
        "interest_rate": pa.array(rate, mask=np.isnan(rate)),
        "currency": pa.array(CURRENCIES[ch.country[rows]], pa.string()),
    })
    return Holdings(opened=opened, closed=closed), table


def account_ids(customer_ids: np.ndarray, products: np.ndarray) -> np.ndarray:
    """Account keys: one account per customer and product, so the key derives from both."""
    return customer_ids * 10 + products + 1
