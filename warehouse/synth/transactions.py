"""Transactions of a chunk of customers: everyday card spend, regular payments and income.

Everyday spend is a Poisson process per customer, thinned by category seasonality, day of week and
the fading activity of customers about to leave. Income and bills recur monthly. Every array here
has one entry per transaction; nothing loops over rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from warehouse import reference_data as ref
from warehouse.contract import CATEGORIES, COUNTRIES, DIRECTIONS, EMPLOYMENT_STATUSES, TX_CHANNELS
from warehouse.personas import PERSONA_INDEX, PERSONAS
from warehouse.synth.accounts import FX, Holdings, account_ids
from warehouse.synth.accounts import P as PRODUCT
from warehouse.synth.common import (
    DAY,
    MONTH,
    NEVER,
    Calendar,
    Chunk,
    day_of_week,
    day_start,
    decay,
    month_index,
    month_rows,
    poisson_times,
)

C = {name: i for i, name in enumerate(CATEGORIES)}
CH = {name: i for i, name in enumerate(TX_CHANNELS)}
E = {name: i for i, name in enumerate(EMPLOYMENT_STATUSES)}
DEBIT, CREDIT = DIRECTIONS.index("debit"), DIRECTIONS.index("credit")

# Everyday categories and the scale of all everyday activity (tuned to ~50 rows per customer).
EVERYDAY = ("groceries", "dining", "travel", "shopping", "entertainment", "cash", "crypto",
            "transfer")
ACTIVITY_SCALE = 0.7
MIX = np.array([[p.mix.get(c, 0.0) for c in EVERYDAY] for p in PERSONAS])
MIX_CONCENTRATION = 30.0
TX_RATE = np.array([p.tx_per_month for p in PERSONAS]) * ACTIVITY_SCALE / (MONTH / DAY)
SPEND_SCALE = np.array([p.spend_scale for p in PERSONAS])
ONLINE = np.array([p.online_share for p in PERSONAS])
ABROAD = np.array([p.international for p in PERSONAS])
CASH_HEAVY = np.array([p.cash_heavy for p in PERSONAS])
RENTER = np.array([p.renter for p in PERSONAS])
SUBSCRIPTIONS = np.array([p.subscriptions for p in PERSONAS])
INVEST_PLAN = np.array([p.extra.get("invest_plan", 0.45) for p in PERSONAS])

# (median EUR, log-spread) of an everyday debit.
AMOUNT = {"groceries": (30, 0.65), "dining": (21, 0.6), "travel": (130, 1.0),
          "shopping": (40, 0.95), "entertainment": (19, 0.7), "cash": (60, 0.5),
          "crypto": (110, 1.2), "transfer": (55, 0.9)}

# Month-of-year multipliers (Jan..Dec), normalised to mean 1 below.
SEASON = {
    "groceries": [0.95, 0.9, 0.95, 1.0, 1.0, 0.95, 0.95, 0.95, 1.0, 1.0, 1.05, 1.3],
    "dining": [0.8, 0.85, 0.95, 1.0, 1.05, 1.1, 1.1, 1.05, 1.0, 0.95, 0.95, 1.3],
    "travel": [0.6, 0.6, 0.8, 1.0, 1.0, 1.4, 1.8, 1.8, 1.0, 0.8, 0.6, 1.1],
    "shopping": [0.85, 0.75, 0.85, 0.9, 0.95, 0.9, 0.9, 0.9, 1.0, 1.0, 1.5, 1.9],
    "entertainment": [0.9, 0.9, 0.95, 1.0, 1.0, 1.0, 1.05, 1.05, 0.95, 1.0, 1.0, 1.3],
    "cash": [0.9, 0.9, 0.95, 1.0, 1.0, 1.05, 1.1, 1.1, 1.0, 0.95, 0.95, 1.2],
    "crypto": [1.2, 1.1, 1.0, 1.0, 0.95, 0.9, 0.9, 0.9, 0.95, 1.0, 1.1, 1.1],
    "transfer": [1.0] * 12,
}
# Day-of-week multipliers (Mon..Sun).
WEEK = {
    "groceries": [0.9, 0.9, 0.95, 0.95, 1.1, 1.5, 0.3],
    "dining": [0.75, 0.8, 0.85, 0.95, 1.3, 1.45, 1.0],
    "entertainment": [0.7, 0.7, 0.8, 0.9, 1.2, 1.6, 1.3],
    "shopping": [0.9, 0.9, 0.9, 1.0, 1.1, 1.4, 0.6],
}
# Hour-of-day weights (0..23) by category.
_DAYTIME = [0, 0, 0, 0, 0, 0, 1, 2, 4, 6, 7, 8, 8, 7, 7, 7, 8, 9, 8, 6, 4, 2, 1, 0]
_EVENING = [1, 0, 0, 0, 0, 0, 1, 2, 2, 2, 3, 6, 9, 7, 3, 2, 3, 5, 9, 10, 8, 5, 3, 2]
_ANYTIME = [2, 1, 1, 0, 0, 1, 2, 3, 4, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 8, 7, 5, 3]
HOURS = {"groceries": _DAYTIME, "dining": _EVENING, "entertainment": _EVENING,
         "travel": _ANYTIME, "shopping": _ANYTIME, "cash": _DAYTIME, "crypto": _ANYTIME,
         "transfer": _ANYTIME}


def _normalised(table, default):
    rows = np.array([table.get(c, default) for c in EVERYDAY], dtype=float)
    return rows / rows.mean(axis=1, keepdims=True)


SEASON_M = _normalised(SEASON, [1.0] * 12)
WEEK_M = _normalised(WEEK, [1.0] * 7)
PEAK = SEASON_M.max() * WEEK_M.max()
HOUR_P = np.array([HOURS[c] for c in EVERYDAY], dtype=float)
HOUR_P /= HOUR_P.sum(axis=1, keepdims=True)


class Merchants:
    """All merchant names as one vocabulary; transactions carry an index (-1 for none)."""

    def __init__(self) -> None:
        names: list[str] = []
        for group in (*ref.MERCHANTS.values(), *ref.GROCERS.values(), ref.EMPLOYERS,
                      ref.GIG_PLATFORMS, ref.PENSION_PAYERS.values(), ref.BENEFIT_PAYERS.values(),
                      ref.ENERGY.values(), ref.TELECOM.values(),
                      [s for s, _ in ref.SUBSCRIPTIONS]):
            for name in group:
                if name not in names:
                    names.append(name)
        self.names = names
        self.index = {name: i for i, name in enumerate(names)}

    def codes(self, names) -> np.ndarray:
        return np.array([self.index[n] for n in names], dtype=np.int32)


MERCHANTS = Merchants()
_CATEGORY_MERCHANTS = {c: MERCHANTS.codes(ref.MERCHANTS[c]) for c in EVERYDAY}
_GROCERS = np.stack([MERCHANTS.codes(ref.GROCERS[c]) for c in COUNTRIES])


@dataclass
class Rows:
    """Columns of a batch of transactions (codes, not strings)."""

    row: np.ndarray
    t: np.ndarray
    amount: np.ndarray
    category: np.ndarray
    direction: np.ndarray
    channel: np.ndarray
    merchant: np.ndarray
    product: np.ndarray  # "checking", "credit_card", ... as index into the account id offset
    abroad: np.ndarray

    @staticmethod
    def concat(parts: list[Rows]) -> Rows:
        return Rows(*(np.concatenate([getattr(p, f) for p in parts])
                      for f in Rows.__dataclass_fields__))


def _rows(row, t, amount, category, direction, channel, merchant, product="checking",
          abroad=None) -> Rows:
    n = len(row)

    def full(v, dt):
        return np.full(n, v, dtype=dt) if np.isscalar(v) else np.asarray(v, dtype=dt)

    product_code = PRODUCT[product] if isinstance(product, str) else product
    return Rows(row=np.asarray(row), t=np.asarray(t, dtype=np.int64), amount=full(amount, float),
                category=full(category, np.int8), direction=full(direction, np.int8),
                channel=full(channel, np.int8), merchant=full(merchant, np.int32),
                product=full(product_code, np.int8),
                abroad=np.zeros(n, bool) if abroad is None else abroad)


@dataclass
class Profile:
    """Per-customer spending traits drawn once per chunk."""

    start: np.ndarray
    end: np.ndarray
    income_month: np.ndarray  # gross monthly income in local currency
    scale: np.ndarray         # spend multiplier in local currency
    online: np.ndarray
    abroad: np.ndarray
    card_share: np.ndarray


def _profile(rng: np.random.Generator, ch: Chunk, hold: Holdings, cal: Calendar) -> Profile:
    n = len(ch)
    chk = PRODUCT["checking"]
    start = np.maximum(ch.start, hold.opened[:, chk])
    end = np.minimum(np.minimum(cal.end, ch.churn_at), hold.closed[:, chk])
    transacts = (hold.opened[:, chk] < NEVER) & ~ch.dormant
    end = np.where(transacts, end, start)
    fx = FX[ch.country]
    income = np.array(ref.INCOME_EUR)[ch.income] * rng.lognormal(0, 0.15, n) / 12 * fx
    wealth = 0.75 + 0.12 * ch.income
    scale = SPEND_SCALE[ch.persona] * wealth * rng.lognormal(0, 0.25, n) * fx
    online = np.clip(ONLINE[ch.persona] + rng.normal(0, 0.1, n), 0.02, 0.98)
    abroad = np.clip(ABROAD[ch.persona] * rng.lognormal(0, 0.4, n), 0, 0.85)
    return Profile(start, end, income, scale, online, abroad, rng.uniform(0.3, 0.9, n))


def _everyday(rng: np.random.Generator, ch: Chunk, hold: Holdings, pr: Profile) -> Rows:
    mix = rng.gamma(MIX[ch.persona] * MIX_CONCENTRATION + 1e-3)
    mix[:, EVERYDAY.index("cash")] *= CASH_HEAVY[ch.persona]
    mix /= mix.sum(axis=1, keepdims=True)
    rate = TX_RATE[ch.persona] * ch.activity * PEAK
    row, t = poisson_times(rng, rate, pr.start, pr.end)
    cum = np.cumsum(mix, axis=1)
    cat = (rng.random(len(row))[:, None] > cum[row]).sum(axis=1)
    cat = np.minimum(cat, len(EVERYDAY) - 1)
    rate_now = SEASON_M[cat, month_index(t)] * WEEK_M[cat, day_of_week(t)]
    keep = rng.random(len(row)) * PEAK < rate_now * decay(t, ch.churn_at[row], ch.fade[row])
    row, t, cat = row[keep], t[keep], cat[keep]
    m = len(row)

    hour = np.empty(m, dtype=np.int64)
    for k in range(len(EVERYDAY)):
        sel = np.nonzero(cat == k)[0]
        hour[sel] = rng.choice(24, size=len(sel), p=HOUR_P[k])
    t = day_start(t) + hour * 3600 + rng.integers(0, 3600, m)

    median = np.array([AMOUNT[c][0] for c in EVERYDAY])
    spread = np.array([AMOUNT[c][1] for c in EVERYDAY])
    z = rng.standard_normal(m)
    amount = median[cat] * np.exp(spread[cat] * z) * pr.scale[row]
    big = np.isin(cat, [EVERYDAY.index("travel"), EVERYDAY.index("shopping")]) & (
        rng.random(m) < 0.01)
    amount[big] *= 1 + rng.pareto(1.6, big.sum()) * 3
    is_cash = cat == EVERYDAY.index("cash")
    amount[is_cash] = np.maximum(np.round(amount[is_cash] / 20) * 20, 20)
    amount = np.maximum(np.round(amount, 2), 0.5)

    # Channel: card categories split between card_present and online by the customer's habits.
    online_p = pr.online[row] * np.select(
        [cat == EVERYDAY.index(c) for c in ("groceries", "dining", "entertainment", "travel")],
        [0.25, 0.45, 0.9, 1.0], 1.0)
    online_p = np.where(cat == EVERYDAY.index("travel"), np.maximum(online_p, 0.65), online_p)
    channel = np.where(rng.random(m) < online_p, CH["online"], CH["card_present"])
    channel[is_cash] = CH["atm"]
    is_transfer = cat == EVERYDAY.index("transfer")
    channel[is_transfer] = np.where(rng.random(is_transfer.sum()) < 0.8, CH["p2p"],
                                    CH["bank_transfer"])
    is_crypto = cat == EVERYDAY.index("crypto")
    channel[is_crypto] = np.where(rng.random(is_crypto.sum()) < 0.5, CH["bank_transfer"],
                                  CH["online"])

    is_card = np.isin(channel, [CH["online"], CH["card_present"]]) & ~is_crypto
    boost = np.select([cat == EVERYDAY.index("travel"), cat == EVERYDAY.index("dining")],
                      [2.5, 1.4], 0.6)
    abroad = is_card & (rng.random(m) < np.minimum(pr.abroad[row] * boost, 0.95))
    abroad |= is_cash & (rng.random(m) < pr.abroad[row] * 0.8)

    merchant = np.full(m, -1, dtype=np.int32)
    tier = np.clip(0.5 + 0.22 * z + rng.normal(0, 0.2, m), 0, 0.999)
    for k, c in enumerate(EVERYDAY):
        sel = np.nonzero(cat == k)[0]
        if c == "groceries":
            idx = (tier[sel] * _GROCERS.shape[1]).astype(int)
            merchant[sel] = _GROCERS[ch.country[row[sel]], idx]
        elif c == "transfer":
            names = MERCHANTS.codes(["Friend (P2P)", "Family (P2P)"])
            merchant[sel] = names[rng.integers(0, 2, len(sel))]
        else:
            codes = _CATEGORY_MERCHANTS[c]
            merchant[sel] = codes[(tier[sel] * len(codes)).astype(int)]

    product = np.zeros(m, dtype=np.int8)
    on_card = is_card & hold.active(row, "credit_card", t) & (rng.random(m) < pr.card_share[row])
    product[on_card] = PRODUCT["credit_card"]
    on_crypto = is_crypto & hold.active(row, "crypto", t)
    product[on_crypto] = PRODUCT["crypto"]
    category = np.array([C[c] for c in EVERYDAY], dtype=np.int8)[cat]
    return _rows(row, t, amount, category, DEBIT, channel, merchant, product, abroad)


def _income(rng: np.random.Generator, ch: Chunk, pr: Profile, cal: Calendar) -> list[Rows]:
    n = len(ch)
    out: list[Rows] = []
    # Salaries stop a little before a customer leaves: moving the salary is the first sign.
    moved = (rng.random(n) * np.minimum(ch.fade, 60 * DAY)).astype(np.int64)
    pay_end = np.minimum(pr.end, ch.churn_at - moved)
    emp = ch.employment

    def monthly(mask, day, end=pay_end):
        rows, t = month_rows(rng, pr.start[mask], end[mask], cal.month_starts, day[mask])
        return np.nonzero(mask)[0][rows], t

    payday = np.where(rng.random(n) < 0.8, rng.integers(25, 29, n), 1)
    employer = MERCHANTS.codes(ref.EMPLOYERS)[rng.integers(0, len(ref.EMPLOYERS), n)]
    # A quarter of employees have their salary paid into another bank.
    rows, t = monthly((emp == E["employed"]) & (rng.random(n) < 0.75), payday)
    net = pr.income_month[rows] * 0.66 * rng.normal(1, 0.02, len(rows))
    thirteenth = (rng.random(n) < 0.4)[rows] & (month_index(t) == 10)  # November bonus
    net[thirteenth] *= 1.9
    out.append(_rows(rows, t, np.round(net, 2), C["salary"], CREDIT, CH["bank_transfer"],
                     employer[rows]))

    pension = MERCHANTS.codes([ref.PENSION_PAYERS[c] for c in COUNTRIES])
    rows, t = monthly(emp == E["retired"], rng.integers(1, 4, n))
    out.append(_rows(rows, t, np.round(pr.income_month[rows] * 0.7, 2), C["salary"], CREDIT,
                     CH["bank_transfer"], pension[ch.country[rows]]))

    benefits = MERCHANTS.codes([ref.BENEFIT_PAYERS[c] for c in COUNTRIES])
    rows, t = monthly(emp == E["unemployed"], rng.integers(1, 10, n))
    out.append(_rows(rows, t, np.round(rng.uniform(650, 1100, len(rows)) * FX[ch.country[rows]],
                                       2), C["transfer"], CREDIT, CH["bank_transfer"],
                     benefits[ch.country[rows]]))

    family = MERCHANTS.index["Family (P2P)"]
    rows, t = monthly(emp == E["student"], rng.integers(1, 29, n))
    out.append(_rows(rows, t, np.round(rng.uniform(150, 650, len(rows)) * FX[ch.country[rows]]),
                     C["transfer"], CREDIT, CH["p2p"], family))

    # Self-employed and gig income arrives irregularly, several payouts a month.
    gig = emp == E["self_employed"]
    rate = np.where(gig, 4.5 / (MONTH / DAY), 0.0)
    rows, t = poisson_times(rng, rate, pr.start, pay_end)
    platform = MERCHANTS.codes(ref.GIG_PLATFORMS)[rng.integers(0, len(ref.GIG_PLATFORMS), n)]
    amount = pr.income_month[rows] * 0.8 / 4.5 * rng.lognormal(-0.18, 0.6, len(rows))
    out.append(_rows(rows, t, np.round(amount, 2), C["salary"], CREDIT, CH["bank_transfer"],
                     platform[rows]))
    return out


def _bills(rng: np.random.Generator, ch: Chunk, hold: Holdings, pr: Profile,
           cal: Calendar) -> list[Rows]:
    n = len(ch)
    out: list[Rows] = []
    fx = FX[ch.country]

    def monthly(mask, day, start=pr.start, end=pr.end):
        rows, t = month_rows(rng, start[mask], end[mask], cal.month_starts, day[mask])
        return np.nonzero(mask)[0][rows], t

    def during(product):
        j = PRODUCT[product]
        return np.maximum(pr.start, hold.opened[:, j]), np.minimum(pr.end, hold.closed[:, j])

    m_start, m_end = during("mortgage")
    owner = hold.opened[:, PRODUCT["mortgage"]] < NEVER
    renter = (rng.random(n) < RENTER[ch.persona]) & ~owner
    student = ch.persona == PERSONA_INDEX["student"]
    rent = np.where(student, rng.uniform(280, 650, n) * fx,
                    np.maximum(pr.income_month * rng.uniform(0.22, 0.34, n), 380 * fx))
    landlord = MERCHANTS.codes(ref.MERCHANTS["rent"])[rng.integers(0, 3, n)]
    rows, t = monthly(renter, rng.integers(1, 4, n))
    out.append(_rows(rows, t, np.round(rent[rows], 2), C["rent"], DEBIT, CH["bank_transfer"],
                     landlord[rows]))

    rows, t = monthly(owner, rng.integers(1, 6, n), m_start, m_end)
    out.append(_rows(rows, t, np.round(rng.uniform(550, 1600, n)[rows] * fx[rows], 2),
                     C["transfer"], DEBIT, CH["direct_debit"],
                     MERCHANTS.index["Mortgage repayment"]))
    l_start, l_end = during("personal_loan")
    borrower = hold.opened[:, PRODUCT["personal_loan"]] < NEVER
    rows, t = monthly(borrower, rng.integers(1, 29, n), l_start, l_end)
    out.append(_rows(rows, t, np.round(rng.uniform(120, 480, n)[rows] * fx[rows], 2),
                     C["transfer"], DEBIT, CH["direct_debit"], MERCHANTS.index["Loan repayment"]))

    energy = MERCHANTS.codes([ref.ENERGY[c] for c in COUNTRIES])
    rows, t = monthly(rng.random(n) < 0.35, rng.integers(1, 29, n))
    winter = np.isin(month_index(t), [0, 1, 10, 11])
    amount = rng.uniform(45, 150, n)[rows] * np.where(winter, 1.35, 1.0) * fx[rows]
    out.append(_rows(rows, t, np.round(amount, 2), C["utilities"], DEBIT, CH["direct_debit"],
                     energy[ch.country[rows]]))
    telecom = MERCHANTS.codes([ref.TELECOM[c] for c in COUNTRIES])
    rows, t = monthly(rng.random(n) < 0.2, rng.integers(1, 29, n))
    out.append(_rows(rows, t, np.round(rng.uniform(20, 75, n)[rows] * fx[rows], 2),
                     C["utilities"], DEBIT, CH["direct_debit"], telecom[ch.country[rows]]))

    count = rng.poisson(SUBSCRIPTIONS[ch.persona] * 0.4)
    for k in range(int(count.max(initial=0))):
        pick = rng.integers(0, len(ref.SUBSCRIPTIONS), n)
        price = np.array([p for _, p in ref.SUBSCRIPTIONS])[pick] * fx
        names = MERCHANTS.codes([s for s, _ in ref.SUBSCRIPTIONS])[pick]
        stop = np.where(rng.random(n) < 0.25, pr.start + (rng.random(n) * (pr.end - pr.start))
                        .astype(np.int64), pr.end)  # some cancel along the way
        rows, t = monthly(count > k, rng.integers(1, 29, n), pr.start, stop)
        out.append(_rows(rows, t, np.round(price[rows], 2), C["entertainment"], DEBIT,
                         CH["online"], names[rows]))

    s_start, s_end = during("savings")
    saver = (hold.opened[:, PRODUCT["savings"]] < NEVER) & (rng.random(n) < 0.55)
    rows, t = monthly(saver, rng.integers(1, 29, n), s_start, s_end)
    amount = rng.uniform(0.03, 0.12, n)[rows] * pr.income_month[rows]
    out.append(_rows(rows, t, np.round(amount, -1) + 0.0, C["transfer"], DEBIT,
                     CH["bank_transfer"], MERCHANTS.index["Own savings account"]))

    i_start, i_end = during("investment")
    plan = INVEST_PLAN[ch.persona]
    investor = (hold.opened[:, PRODUCT["investment"]] < NEVER) & (rng.random(n) < plan)
    rows, t = monthly(investor, rng.integers(1, 29, n), i_start, i_end)
    amount = rng.uniform(0.04, 0.15, n)[rows] * pr.income_month[rows]
    out.append(_rows(rows, t, np.maximum(np.round(amount, -1), 25.0), C["investment"], DEBIT,
                     CH["bank_transfer"], MERCHANTS.index["Savings plan ETF"]))

    fee_payer = rng.random(n) < 0.2
    rows, t = monthly(fee_payer, np.full(n, 28))
    out.append(_rows(rows, t, np.round(4.9 * fx[rows], 2), C["fees"], DEBIT, CH["direct_debit"],
                     MERCHANTS.index["Account fee"]))
    return out


def _derived(rng: np.random.Generator, ch: Chunk, pr: Profile, spend: Rows) -> list[Rows]:
    """Refunds of online purchases and foreign-exchange fees on payments abroad."""
    shop = np.nonzero((spend.category == C["shopping"]) & (spend.channel == CH["online"])
                      & (rng.random(len(spend.row)) < 0.04))[0]
    t = spend.t[shop] + rng.integers(3, 21, len(shop)) * DAY
    ok = t < pr.end[spend.row[shop]]
    shop, t = shop[ok], t[ok]
    refunds = _rows(spend.row[shop], t, spend.amount[shop], C["shopping"], CREDIT, CH["online"],
                    spend.merchant[shop], spend.product[shop])
    on_checking = spend.product == PRODUCT["checking"]
    fx = np.nonzero(spend.abroad & on_checking & (rng.random(len(spend.row)) < 0.3))[0]
    fees = _rows(spend.row[fx], spend.t[fx] + 60,
                 np.maximum(np.round(spend.amount[fx] * 0.0175, 2), 0.5), C["fees"], DEBIT,
                 CH["direct_debit"], MERCHANTS.index["Foreign exchange fee"])
    return [refunds, fees]


def draw(rng: np.random.Generator, ch: Chunk, hold: Holdings, cal: Calendar,
         first_id: int) -> pa.Table:
    pr = _profile(rng, ch, hold, cal)
    spend = _everyday(rng, ch, hold, pr)
    rows = Rows.concat([spend, *_income(rng, ch, pr, cal), *_bills(rng, ch, hold, pr, cal),
                        *_derived(rng, ch, pr, spend)])
    order = np.argsort(rows.t, kind="stable")
    r = rows.row[order]
    own = ch.country[r]
    foreign = np.array([COUNTRIES.index(c) if c in COUNTRIES else -1
                        for c in ref.FOREIGN_COUNTRIES])
    abroad = rows.abroad[order]
    where = rng.integers(0, len(ref.FOREIGN_COUNTRIES), len(r))
    where = np.where(foreign[where] == own, (where + 1) % len(ref.FOREIGN_COUNTRIES), where)
    all_countries = np.array(list(COUNTRIES) + list(ref.FOREIGN_COUNTRIES), dtype=object)
    merchant_country = np.where(abroad, len(COUNTRIES) + where, own)
    merchant = rows.merchant[order]
    currency = np.array([ref.CURRENCY[c] for c in COUNTRIES], dtype=object)

    def codes(idx, values, null=None):
        return pa.DictionaryArray.from_arrays(pa.array(idx.astype(np.int32), mask=null),
                                              pa.array(list(values), pa.string()))

    return pa.table({
        "transaction_id": np.arange(first_id, first_id + len(r), dtype=np.int64),
        "account_id": account_ids(ch.ids[r], rows.product[order]),
        "customer_id": ch.ids[r],
        "ts": pa.array(rows.t[order].astype("datetime64[s]")),
        "amount": rows.amount[order],
        "direction": codes(rows.direction[order], DIRECTIONS),
        "category": codes(rows.category[order], CATEGORIES),
        "merchant": codes(np.maximum(merchant, 0), MERCHANTS.names, null=merchant < 0),
        "channel": codes(rows.channel[order], TX_CHANNELS),
        "currency": codes(ch.country[r], currency),
        "is_international": abroad,
        "merchant_country": codes(merchant_country, all_countries),
    })

