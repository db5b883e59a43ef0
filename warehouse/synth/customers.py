"""Draw a chunk of customers: hidden state (persona, churn, activity) and the customers rows."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from warehouse import reference_data as ref
from warehouse.contract import (
    ACQUISITION_CHANNELS,
    COUNTRIES,
    EMPLOYMENT_STATUSES,
    GENDERS,
    INCOME_BANDS,
    KYC_STATUSES,
)
from warehouse.personas import PERSONAS
from warehouse.synth.common import (
    ABRUPT_SHARE,
    DAY,
    NEVER,
    Calendar,
    Chunk,
    choice,
    choice_rows,
)

YEAR = 365.25 * DAY


def _matrix(dicts, keys) -> np.ndarray:
    return np.array([[d.get(k, 0.0) for k in keys] for d in dicts], dtype=float)


PERSONA_WEIGHTS = np.array([p.weight for p in PERSONAS])
EMPLOYMENT_P = _matrix([p.employment for p in PERSONAS], EMPLOYMENT_STATUSES)
INCOME_P = _matrix([p.income for p in PERSONAS], INCOME_BANDS)
ACQUISITION_P = _matrix([p.acquisition for p in PERSONAS], ACQUISITION_CHANNELS)
CHURN_P = np.array([p.churn for p in PERSONAS])
AGE_LO = np.array([p.age[0] for p in PERSONAS], dtype=float)
AGE_HI = np.array([p.age[1] for p in PERSONAS], dtype=float)
# Typical tenure in years: long-standing retirees and investors, new students.
TENURE_YEARS = {
    "young_digital": 1.6, "affluent_investor": 4.0, "family_budget": 3.0, "gig_worker": 1.5,
    "retiree": 6.0, "student": 0.9, "crypto_enthusiast": 1.4, "globetrotter": 2.5,
}
TENURE_SCALE = np.array([TENURE_YEARS[p.key] for p in PERSONAS]) * YEAR


def _flat(groups):
    """Concatenate lists and return (values, offsets, lengths) for vectorised indexing."""
    values, offsets, lengths = [], [], []
    for g in groups:
        offsets.append(len(values))
        lengths.append(len(g))
        values.extend(g)
    return np.array(values, dtype=object), np.array(offsets), np.array(lengths)


# first names per (country, gender) with gender 0 = female, 1 = male
_FIRST, _FIRST_OFF, _FIRST_LEN = _flat(
    [ref.FIRST_NAMES[c][g] for c in COUNTRIES for g in (0, 1)]
)
_LAST, _LAST_OFF, _LAST_LEN = _flat([ref.LAST_NAMES[c] for c in COUNTRIES])
_PLACES = [ref.PLACES[c] for c in COUNTRIES]


def draw(rng: np.random.Generator, first_id: int, n: int, cal: Calendar) -> Chunk:
    """The hidden state of customers first_id .. first_id + n - 1."""
    persona = choice(rng, PERSONA_WEIGHTS, n).astype(np.int8)
    country = choice(rng, [ref.COUNTRY_WEIGHTS[c] for c in COUNTRIES], n).astype(np.int8)
    age_years = AGE_LO[persona] + rng.random(n) * (AGE_HI[persona] - AGE_LO[persona] + 1)
    birth = (cal.end - age_years * YEAR).astype(np.int64)
    employment = choice_rows(rng, EMPLOYMENT_P, persona).astype(np.int8)
    income = choice_rows(rng, INCOME_P, persona).astype(np.int8)

    # Signup: more recent signups than old ones (the bank grows), never before age 18.
    tenure = np.minimum(rng.exponential(TENURE_SCALE[persona]), 12 * YEAR)
    tenure = np.minimum(tenure, np.maximum(age_years - 18, 0.1) * YEAR)
    signup = (cal.end - tenure - rng.integers(0, DAY, n)).astype(np.int64)

    kyc = choice(rng, [0.955, 0.03, 0.015], n).astype(np.int8)
    pending = kyc == KYC_STATUSES.index("pending")
    signup[pending] = cal.end - rng.integers(1, 45, pending.sum()) * DAY  # still onboarding

    activity = rng.gamma(2.5, 1 / 2.5, n)
    dormant = (rng.random(n) < 0.03) | (kyc != KYC_STATUSES.index("verified"))

    start = np.maximum(signup, cal.start)
    leaves = (rng.random(n) < CHURN_P[persona]) & ~dormant
    lo = start + 60 * DAY
    hi = np.full(n, cal.end + 120 * DAY)
    churn_at = np.where(leaves & (lo < hi), lo + rng.random(n) * (hi - lo), NEVER).astype(np.int64)
    # Most leavers drift away over months; some stop almost at once, with little to predict.
    abrupt = rng.random(n) < ABRUPT_SHARE
    fade = np.where(abrupt, rng.uniform(0, 20, n), rng.uniform(60, 180, n)) * DAY

    region_idx = np.zeros(n, dtype=np.int16)
    for ci, places in enumerate(_PLACES):
        rows = np.nonzero(country == ci)[0]
        region_idx[rows] = choice(rng, [w for _, _, w in places], len(rows))
    california = np.zeros(n, dtype=bool)
    us = np.nonzero(country == COUNTRIES.index("US"))[0]
    us_places = _PLACES[COUNTRIES.index("US")]
    california[us] = [us_places[i][0] == "California" for i in region_idx[us]]

    return Chunk(
        ids=np.arange(first_id, first_id + n, dtype=np.int64), persona=persona, country=country,
        signup=signup, birth=birth, employment=employment, income=income, kyc=kyc,
        activity=activity, dormant=dormant, churn_at=churn_at, fade=fade, start=start,
        region_idx=region_idx, california=california,
    )


def _dict(idx: np.ndarray, values, null: np.ndarray | None = None) -> pa.Array:
    indices = pa.array(idx.astype(np.int32), mask=null)
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(values), pa.string()))


def table(rng: np.random.Generator, ch: Chunk) -> pa.Table:
    """The customers rows of a chunk, with some optional fields missing as in real data.

    email and phone are assembled by the INSERT statement from the parts given here.
    """
    n = len(ch)
    gender = choice(rng, [0.49, 0.475, 0.01, 0.025], n)
    name_gender = np.where(gender < 2, gender, rng.integers(0, 2, n))
    block = ch.country.astype(np.int64) * 2 + name_gender
    first = _FIRST[_FIRST_OFF[block] + (rng.random(n) * _FIRST_LEN[block]).astype(np.int64)]
    last = _LAST[_LAST_OFF[ch.country] + (rng.random(n) * _LAST_LEN[ch.country]).astype(np.int64)]

    regions = np.empty(n, dtype=object)
    cities = np.empty(n, dtype=object)
    for ci, places in enumerate(_PLACES):
        rows = np.nonzero(ch.country == ci)[0]
        picked = ch.region_idx[rows]
        regions[rows] = np.array([p[0] for p in places], dtype=object)[picked]
        cities[rows] = np.array([p[1] for p in places], dtype=object)[picked]
    regions[rng.random(n) < 0.03] = None
    cities[rng.random(n) < 0.015] = None

    lang_main = np.array([ref.LANGUAGE[c][0] for c in COUNTRIES], dtype=object)
    lang_alt = np.array([ref.LANGUAGE[c][1][0] for c in COUNTRIES], dtype=object)
    alt_share = np.array([ref.LANGUAGE[c][1][1] for c in COUNTRIES])
    language = np.where(rng.random(n) < alt_share[ch.country], lang_alt[ch.country],
                        lang_main[ch.country])

    prefixes = np.array([ref.PHONE_PREFIX[c] for c in COUNTRIES], dtype=object)
    digits = np.where(np.isin(ch.country, [COUNTRIES.index("US"), COUNTRIES.index("CA")]), 10, 8)
    area = rng.integers(201, 990, n) * 10**7  # North American area code + 7 digits
    number = np.where(digits == 10, area + rng.integers(0, 10**7, n),
                      rng.integers(10**7, 10**8, n))

    acquisition = choice_rows(rng, ACQUISITION_P, ch.persona)
    return pa.table({
        "customer_id": ch.ids,
        "first_name": pa.array(first, pa.string()),
        "last_name": pa.array(last, pa.string()),
        "email_domain": _dict(rng.integers(0, len(ref.EMAIL_DOMAINS), n), ref.EMAIL_DOMAINS),
        "phone_prefix": pa.array(prefixes[ch.country], pa.string()),
        "phone_number": pa.array(number, mask=rng.random(n) < 0.06),
        "birth_date": pa.array((ch.birth // DAY).astype("datetime64[D]")),
        "gender": _dict(np.minimum(gender, 2), GENDERS, null=gender == 3),
        "country": _dict(ch.country, COUNTRIES),
        "region": pa.array(regions, pa.string()),
        "city": pa.array(cities, pa.string()),
        "signup_date": pa.array((ch.signup // DAY).astype("datetime64[D]")),
        "acquisition_channel": _dict(acquisition, ACQUISITION_CHANNELS),
        "income_band": _dict(ch.income, INCOME_BANDS, null=rng.random(n) < 0.06),
        "employment_status": _dict(ch.employment, EMPLOYMENT_STATUSES, null=rng.random(n) < 0.03),
        "preferred_language": pa.array(language, pa.string()),
        "kyc_status": _dict(ch.kyc, KYC_STATUSES),
    })
