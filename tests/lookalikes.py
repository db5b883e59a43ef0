"""Small synthetic look-alikes of two public datasets the team checks the tools on.

`credit_cards(n)`: one row per credit-card holder, shaped like the public "credit card customer
segmentation" table (CUST_ID C10001..., BALANCE, PURCHASES, CASH_ADVANCE, ... MINIMUM_PAYMENTS
with NULLs), drawn from four behaviours: revolvers living on cash advances, transactors who pay
in full, instalment buyers and dormant cards. `bank_churn(n)`: shaped like the public bank churn
table (RowNumber, CustomerId, Surname, CreditScore, Geography, Gender, Age, Tenure, Balance,
NumOfProducts, HasCrCard, IsActiveMember, EstimatedSalary, Exited), where leaving depends on
activity, product count, geography and age. Nothing is downloaded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BEHAVIOURS = ("revolver", "transactor", "instalments", "dormant")


def credit_cards(n: int = 2000, seed: int = 1) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    kind = rng.choice(len(BEHAVIOURS), n, p=[0.25, 0.3, 0.25, 0.2])
    limit = np.round(rng.lognormal(np.log(4500), 0.6, n), -2)
    z = np.zeros(n)

    def by(values):
        return np.asarray(values)[kind]

    balance = limit * by([0.7, 0.15, 0.35, 0.05]) * rng.lognormal(0, 0.35, n)
    oneoff = np.where(by([0.1, 0.9, 0.15, 0.02]) > rng.random(n),
                      rng.lognormal(np.log(by([200, 2500, 150, 30])), 0.8), z)
    install = np.where(by([0.1, 0.3, 0.95, 0.02]) > rng.random(n),
                       rng.lognormal(np.log(by([100, 300, 1200, 20])), 0.7), z)
    cash = np.where(by([0.95, 0.05, 0.1, 0.05]) > rng.random(n),
                    rng.lognormal(np.log(by([2500, 200, 150, 100])), 0.8), z)
    purchases = oneoff + install
    freq = np.clip(by([0.15, 0.85, 0.9, 0.03]) + rng.normal(0, 0.08, n), 0, 1)
    payments = purchases * by([0.3, 1.0, 0.8, 1]) + cash * by([0.4, 1, 1, 1]) + \
        rng.lognormal(np.log(200), 0.5, n)
    minimum = balance * 0.03 + rng.lognormal(np.log(80), 0.5, n)
    minimum[rng.random(n) < 0.035] = np.nan
    limit_col = limit.copy()
    limit_col[rng.integers(0, n)] = np.nan
    return pd.DataFrame({
        "CUST_ID": [f"C{10001 + i}" for i in range(n)],
        "BALANCE": balance.round(2),
        "BALANCE_FREQUENCY": np.clip(by([1.0, 0.8, 0.95, 0.4]) + rng.normal(0, 0.1, n), 0, 1)
        .round(6),
        "PURCHASES": purchases.round(2),
        "ONEOFF_PURCHASES": oneoff.round(2),
        "INSTALLMENTS_PURCHASES": install.round(2),
        "CASH_ADVANCE": cash.round(2),
        "PURCHASES_FREQUENCY": freq.round(6),
        "ONEOFF_PURCHASES_FREQUENCY": (freq * (oneoff > 0) * rng.uniform(0.3, 1, n)).round(6),
        "PURCHASES_INSTALLMENTS_FREQUENCY": (freq * (install > 0) * rng.uniform(0.3, 1, n))
        .round(6),
        "CASH_ADVANCE_FREQUENCY": np.clip((cash > 0) * by([0.4, 0.05, 0.05, 0.05])
                                          + rng.normal(0, 0.05, n), 0, 1).round(6),
        "CASH_ADVANCE_TRX": np.round((cash > 0) * by([8, 1, 1, 1]) * rng.lognormal(0, 0.5, n)),
        "PURCHASES_TRX": np.round(freq * by([5, 40, 25, 1]) * rng.lognormal(0, 0.4, n)),
        "CREDIT_LIMIT": limit_col,
        "PAYMENTS": payments.round(2),
        "MINIMUM_PAYMENTS": minimum.round(2),
        "PRC_FULL_PAYMENT": np.clip(by([0.0, 0.7, 0.1, 0.2]) + rng.normal(0, 0.1, n), 0, 1)
        .round(6),
        "TENURE": np.where(rng.random(n) < 0.85, 12, rng.integers(6, 12, n)),
    }), pd.Series(np.array(BEHAVIOURS)[kind], name="behaviour")


def bank_churn(n: int = 3000, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    geography = rng.choice(["France", "Germany", "Spain"], n, p=[0.5, 0.25, 0.25])
    gender = rng.choice(["Female", "Male"], n)
    age = np.clip(rng.normal(39, 10, n), 18, 92).round()
    products = rng.choice([1, 2, 3, 4], n, p=[0.5, 0.46, 0.03, 0.01])
    active = rng.random(n) < 0.52
    balance = np.where(rng.random(n) < 0.36, 0.0, rng.normal(120000, 30000, n)).round(2)
    logit = (-2.2 + 0.06 * (age - 39) - 0.9 * active + 0.8 * (geography == "Germany")
             + np.select([products == 1, products >= 3], [0.6, 2.5], -0.8)
             + 0.000004 * balance)
    exited = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({
        "RowNumber": np.arange(1, n + 1),
        "CustomerId": 15_600_000 + rng.permutation(n) * 7 + 11,
        "Surname": rng.choice(["Hargrave", "Hill", "Onio", "Boni", "Mitchell", "Chu"], n),
        "CreditScore": np.clip(rng.normal(650, 95, n), 350, 850).round().astype(int),
        "Geography": geography,
        "Gender": gender,
        "Age": age.astype(int),
        "Tenure": rng.integers(0, 11, n),
        "Balance": balance,
        "NumOfProducts": products,
        "HasCrCard": (rng.random(n) < 0.7).astype(int),
        "IsActiveMember": active.astype(int),
        "EstimatedSalary": rng.uniform(100, 200000, n).round(2),
        "Exited": exited,
    })
