"""The hidden personas the synthetic generator draws customers from.

A persona drives products, balances, spend mix and channels, international use, app engagement,
consent, campaign response and churn. The persona of each customer is written only to a separate
ground-truth file, never to a warehouse table, so segmentation can be scored against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Persona:
    key: str
    label: str
    weight: float
    age: tuple[int, int]
    income: dict[str, float]          # income band -> probability
    employment: dict[str, float]      # employment status -> probability
    products: dict[str, float]        # product -> probability of ever opening it (besides checking)
    mix: dict[str, float]             # discretionary debit category -> weight
    tx_per_month: float               # discretionary debits per active month
    spend_scale: float                # multiplier on typical amounts
    online_share: float               # share of card spend made online
    international: float              # share of card spend abroad
    logins_per_month: float
    platforms: dict[str, float]
    consent: dict[str, float]         # purpose -> probability granted at signup
    response: float                   # multiplier on campaign open and click rates
    interests: dict[str, float]       # product -> conversion and browsing affinity
    churn: float                      # probability of leaving during the 18 months
    acquisition: dict[str, float]
    renter: float                     # probability of paying rent from the account
    subscriptions: float              # expected monthly subscriptions (streaming, gym)
    balance_scale: float              # multiplier on deposit balances
    cash_heavy: float = 1.0
    extra: dict[str, float] = field(default_factory=dict)


PERSONAS: tuple[Persona, ...] = (
    Persona(
        key="young_digital", label="Young digital spenders", weight=0.17, age=(22, 34),
        income={"<25k": 0.2, "25-50k": 0.55, "50-100k": 0.23, "100-200k": 0.02},
        employment={"employed": 0.88, "self_employed": 0.06, "student": 0.04, "unemployed": 0.02},
        products={"savings": 0.25, "credit_card": 0.55, "personal_loan": 0.08, "investment": 0.12,
                  "crypto": 0.10},
        mix={"dining": 0.25, "shopping": 0.25, "entertainment": 0.16, "groceries": 0.16,
             "travel": 0.06, "transfer": 0.08, "cash": 0.02, "crypto": 0.02},
        tx_per_month=4.0, spend_scale=0.9, online_share=0.75, international=0.05,
        logins_per_month=7.0, platforms={"ios": 0.6, "android": 0.35, "web": 0.05},
        consent={"email": 0.55, "sms": 0.25, "push": 0.8, "profiling": 0.88},
        response=1.2, interests={"credit_card": 2.0, "investment": 1.2, "savings": 1.0,
                                 "crypto": 1.2},
        churn=0.22, acquisition={"paid_social": 0.4, "app_store": 0.25, "referral": 0.2,
                                 "organic": 0.1, "paid_search": 0.05},
        renter=0.65, subscriptions=1.8, balance_scale=0.6,
    ),
    Persona(
        key="affluent_investor", label="Affluent investors", weight=0.10, age=(42, 66),
        income={"50-100k": 0.15, "100-200k": 0.55, "200k+": 0.30},
        employment={"employed": 0.75, "self_employed": 0.22, "retired": 0.03},
        products={"savings": 0.8, "credit_card": 0.7, "mortgage": 0.45, "investment": 0.9,
                  "crypto": 0.05},
        mix={"dining": 0.18, "shopping": 0.18, "groceries": 0.18, "travel": 0.14,
             "entertainment": 0.07, "cash": 0.03},
        tx_per_month=2.6, spend_scale=2.6, online_share=0.45, international=0.10,
        logins_per_month=3.0, platforms={"ios": 0.45, "android": 0.1, "web": 0.45},
        consent={"email": 0.8, "sms": 0.35, "push": 0.35, "profiling": 0.82},
        response=0.9, interests={"investment": 3.0, "savings": 1.5, "mortgage": 1.5},
        churn=0.07, acquisition={"referral": 0.35, "partner": 0.25, "organic": 0.25,
                                 "paid_search": 0.15},
        renter=0.1, subscriptions=1.0, balance_scale=8.0,
        extra={"invest_plan": 0.8},
    ),
    Persona(
        key="family_budget", label="Families on a budget", weight=0.17, age=(30, 52),
        income={"25-50k": 0.5, "50-100k": 0.45, "100-200k": 0.05},
        employment={"employed": 0.85, "self_employed": 0.07, "unemployed": 0.08},
        products={"savings": 0.45, "credit_card": 0.35, "personal_loan": 0.35, "mortgage": 0.3},
        mix={"groceries": 0.46, "shopping": 0.16, "dining": 0.07, "entertainment": 0.05,
             "travel": 0.03, "cash": 0.08, "transfer": 0.05},
        tx_per_month=3.8, spend_scale=1.1, online_share=0.25, international=0.01,
        logins_per_month=2.5, platforms={"ios": 0.25, "android": 0.65, "web": 0.10},
        consent={"email": 0.65, "sms": 0.55, "push": 0.45, "profiling": 0.88},
        response=1.0, interests={"personal_loan": 2.5, "savings": 1.3, "mortgage": 1.2,
                                 "credit_card": 0.8},
        churn=0.10, acquisition={"organic": 0.3, "paid_search": 0.3, "partner": 0.15,
                                 "referral": 0.15, "paid_social": 0.1},
        renter=0.55, subscriptions=0.8, balance_scale=0.8,
    ),
    Persona(
        key="gig_worker", label="Gig workers", weight=0.10, age=(21, 45),
        income={"<25k": 0.35, "25-50k": 0.55, "50-100k": 0.10},
        employment={"self_employed": 0.85, "employed": 0.10, "unemployed": 0.05},
        products={"savings": 0.1, "credit_card": 0.2, "personal_loan": 0.22},
        mix={"groceries": 0.22, "dining": 0.12, "transfer": 0.24, "cash": 0.2, "shopping": 0.08,
             "entertainment": 0.04, "travel": 0.02},
        tx_per_month=3.2, spend_scale=0.8, online_share=0.3, international=0.02,
        logins_per_month=6.0, platforms={"ios": 0.15, "android": 0.8, "web": 0.05},
        consent={"email": 0.45, "sms": 0.6, "push": 0.6, "profiling": 0.85},
        response=0.8, interests={"personal_loan": 2.0, "credit_card": 1.3},
        churn=0.32, acquisition={"paid_social": 0.3, "app_store": 0.3, "partner": 0.25,
                                 "organic": 0.15},
        renter=0.7, subscriptions=0.5, balance_scale=0.4, cash_heavy=1.5,
    ),
    Persona(
        key="retiree", label="Retirees", weight=0.14, age=(64, 88),
        income={"<25k": 0.3, "25-50k": 0.5, "50-100k": 0.18, "100-200k": 0.02},
        employment={"retired": 0.97, "self_employed": 0.03},
        products={"savings": 0.75, "investment": 0.2, "credit_card": 0.25},
        mix={"groceries": 0.42, "dining": 0.1, "shopping": 0.12, "cash": 0.2, "travel": 0.05,
             "entertainment": 0.03},
        tx_per_month=2.2, spend_scale=1.0, online_share=0.08, international=0.02,
        logins_per_month=0.5, platforms={"ios": 0.1, "android": 0.1, "web": 0.8},
        consent={"email": 0.55, "sms": 0.55, "push": 0.08, "profiling": 0.8},
        response=0.7, interests={"savings": 2.0, "investment": 1.0},
        churn=0.04, acquisition={"organic": 0.35, "partner": 0.4, "referral": 0.25},
        renter=0.2, subscriptions=0.3, balance_scale=3.0,
    ),
    Persona(
        key="student", label="Students", weight=0.12, age=(18, 25),
        income={"<25k": 0.95, "25-50k": 0.05},
        employment={"student": 0.92, "employed": 0.05, "unemployed": 0.03},
        products={"savings": 0.15, "credit_card": 0.08, "crypto": 0.05},
        mix={"dining": 0.26, "entertainment": 0.16, "groceries": 0.22, "shopping": 0.12,
             "transfer": 0.16, "travel": 0.03, "cash": 0.03, "crypto": 0.02},
        tx_per_month=3.8, spend_scale=0.45, online_share=0.55, international=0.03,
        logins_per_month=6.0, platforms={"ios": 0.5, "android": 0.48, "web": 0.02},
        consent={"email": 0.5, "sms": 0.3, "push": 0.75, "profiling": 0.9},
        response=1.1, interests={"credit_card": 1.5, "savings": 0.8},
        churn=0.26, acquisition={"paid_social": 0.45, "app_store": 0.25, "referral": 0.3},
        renter=0.45, subscriptions=1.5, balance_scale=0.15,
    ),
    Persona(
        key="crypto_enthusiast", label="Crypto enthusiasts", weight=0.08, age=(22, 40),
        income={"25-50k": 0.35, "50-100k": 0.5, "100-200k": 0.15},
        employment={"employed": 0.7, "self_employed": 0.25, "student": 0.05},
        products={"crypto": 0.97, "investment": 0.45, "credit_card": 0.4, "savings": 0.15},
        mix={"crypto": 0.38, "shopping": 0.15, "dining": 0.13, "entertainment": 0.12,
             "groceries": 0.12, "transfer": 0.06, "travel": 0.04},
        tx_per_month=3.6, spend_scale=1.3, online_share=0.8, international=0.05,
        logins_per_month=12.0, platforms={"ios": 0.45, "android": 0.5, "web": 0.05},
        consent={"email": 0.5, "sms": 0.15, "push": 0.85, "profiling": 0.85},
        response=1.3, interests={"crypto": 3.0, "investment": 2.0},
        churn=0.30, acquisition={"paid_social": 0.35, "app_store": 0.3, "referral": 0.25,
                                 "paid_search": 0.1},
        renter=0.6, subscriptions=1.5, balance_scale=1.0,
    ),
    Persona(
        key="globetrotter", label="Frequent international travellers", weight=0.12, age=(27, 56),
        income={"50-100k": 0.55, "100-200k": 0.38, "200k+": 0.07},
        employment={"employed": 0.85, "self_employed": 0.15},
        products={"credit_card": 0.92, "savings": 0.5, "investment": 0.25},
        mix={"travel": 0.38, "dining": 0.24, "shopping": 0.12, "groceries": 0.1,
             "entertainment": 0.08, "cash": 0.08},
        tx_per_month=3.6, spend_scale=1.7, online_share=0.5, international=0.45,
        logins_per_month=4.0, platforms={"ios": 0.65, "android": 0.25, "web": 0.1},
        consent={"email": 0.7, "sms": 0.3, "push": 0.6, "profiling": 0.85},
        response=1.0, interests={"credit_card": 2.5, "savings": 1.0, "investment": 1.0},
        churn=0.11, acquisition={"paid_search": 0.35, "organic": 0.25, "referral": 0.2,
                                 "partner": 0.2},
        renter=0.45, subscriptions=1.2, balance_scale=2.0,
    ),
)

PERSONA_KEYS = tuple(p.key for p in PERSONAS)
PERSONA_INDEX = {p.key: i for i, p in enumerate(PERSONAS)}
