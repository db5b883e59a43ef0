"""Look-alikes of five public datasets, written as the files their users download.

Nothing is downloaded: each function draws data with the same columns, delimiters, quoting,
encodings, date formats and quirks as the public file, with realistic sizes and distributions,
and writes it to a folder. The mapping files in tests/fixtures/mappings/ import them; the tests
and bench/own_data.py take them through every analytic tool.

- `cc_general`: Kaggle's CC GENERAL (CUST_ID C10001..., 17 numeric columns, MINIMUM_PAYMENTS and
  one CREDIT_LIMIT empty), comma-separated;
- `churn_modelling`: Churn_Modelling.csv (RowNumber, CustomerId, Surname, ..., Exited);
- `bank_marketing`: UCI bank-full.csv: semicolon-separated, every text quoted, y yes/no, the
  call `duration` (known only after the call, so it leaks the outcome), pdays -1, "unknown";
- `online_retail`: UCI Online Retail as the CSV most people have (ISO-8859-1): InvoiceNo,
  StockCode, Description, Quantity, InvoiceDate (M/D/YYYY H:MM), UnitPrice, CustomerID,
  Country; cancellations ('C' + invoice, negative quantity), adjustments without a customer,
  free items (price 0), a quarter of the rows without CustomerID, two years so that many
  customers lapsed and many bought once;
- `bank_churners`: Kaggle's BankChurners.csv (CLIENTNUM, Attrition_Flag 'Attrited Customer' /
  'Existing Customer', Total_Trans_Ct, Months_Inactive_12_mon, Avg_Utilization_Ratio...);
- `messy`: any of them with a few category values re-spelled ('france', 'GERMANY', ' Spain');
- `telco`: Kaggle's WA_Fn-UseC_-Telco-Customer-Churn.csv (customerID '7590-VHVEG', Yes/No
  flags, SeniorCitizen 0/1, 'No internet service' / 'No phone service' levels, Contract
  'Month-to-month', TotalCharges as text with a blank ' ' for the new customers, Churn Yes/No);
- `berka`: the PKDD'99 Czech bank export: account, client, disp, trans, loan, card, district
  (.asc, semicolon-separated, texts quoted, dates YYMMDD, card.issued 'YYMMDD 00:00:00',
  birth_number YYMMDD with women's month + 50, Czech codes PRIJEM/VYDAJ, k_symbol blanks).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
from lookalikes import bank_churn, credit_cards

DATASETS = ("cc_general", "churn_modelling", "bank_marketing", "online_retail", "berka")


def cc_general(folder: Path, n: int = 8950, seed: int = 1) -> Path:
    frame, _ = credit_cards(n, seed)
    path = folder / "CC GENERAL.csv"
    frame.to_csv(path, index=False)
    return path


def churn_modelling(folder: Path, n: int = 10000, seed: int = 2) -> Path:
    path = folder / "Churn_Modelling.csv"
    bank_churn(n, seed).to_csv(path, index=False)
    return path


def bank_churners_frame(n: int = 2500, seed: int = 6) -> pd.DataFrame:
    """Kaggle's BankChurners.csv: CLIENTNUM (a unique 9-digit number, not dense), Attrition_Flag
    'Attrited Customer' (about 16%) / 'Existing Customer', demographic texts with 'Unknown',
    income bands as text, and the abbreviated activity columns (Total_Trans_Ct,
    Months_Inactive_12_mon, Avg_Utilization_Ratio...)."""
    rng = np.random.default_rng(seed)
    months_inactive = rng.choice(range(7), n, p=[0.01, 0.22, 0.32, 0.38, 0.04, 0.02, 0.01])
    trans_ct = np.clip(rng.normal(65, 23, n), 10, 139).round().astype(int)
    contacts = rng.choice(range(7), n, p=[0.04, 0.15, 0.32, 0.33, 0.14, 0.017, 0.003])
    logit = -1.2 + 0.45 * (months_inactive - 2) + 0.35 * (contacts - 2) - 0.04 * (trans_ct - 65)
    attrited = rng.random(n) < 1 / (1 + np.exp(-logit))
    limit = np.clip(rng.lognormal(8.6, 0.75, n), 1438.3, 34516).round(1)
    revolving = np.where(rng.random(n) < 0.25, 0, rng.integers(100, 2517, n))
    return pd.DataFrame({
        "CLIENTNUM": 708_000_000 + rng.choice(120_000_000, n, replace=False),
        "Attrition_Flag": np.where(attrited, "Attrited Customer", "Existing Customer"),
        "Customer_Age": np.clip(rng.normal(46, 8, n), 26, 73).round().astype(int),
        "Gender": rng.choice(["F", "M"], n, p=[0.53, 0.47]),
        "Dependent_count": rng.choice(range(6), n, p=[0.09, 0.18, 0.26, 0.27, 0.15, 0.05]),
        "Education_Level": rng.choice(["Graduate", "High School", "Unknown", "Uneducated",
                                       "College", "Post-Graduate", "Doctorate"], n,
                                      p=[0.31, 0.2, 0.15, 0.15, 0.1, 0.05, 0.04]),
        "Marital_Status": rng.choice(["Married", "Single", "Unknown", "Divorced"], n,
                                     p=[0.46, 0.39, 0.08, 0.07]),
        "Income_Category": rng.choice(["Less than $40K", "$40K - $60K", "$80K - $120K",
                                       "$60K - $80K", "Unknown", "$120K +"], n,
                                      p=[0.35, 0.18, 0.15, 0.14, 0.11, 0.07]),
        "Card_Category": rng.choice(["Blue", "Silver", "Gold", "Platinum"], n,
                                    p=[0.93, 0.055, 0.012, 0.003]),
        "Months_on_book": np.clip(rng.normal(36, 8, n), 13, 56).round().astype(int),
        "Total_Relationship_Count": rng.integers(1, 7, n),
        "Months_Inactive_12_mon": months_inactive,
        "Contacts_Count_12_mon": contacts,
        "Credit_Limit": limit,
        "Total_Revolving_Bal": revolving,
        "Total_Trans_Amt": (trans_ct * rng.normal(60, 12, n)).round().astype(int),
        "Total_Trans_Ct": trans_ct,
        "Avg_Utilization_Ratio": np.clip(revolving / limit, 0, 0.999).round(3),
    })


def bank_churners(folder: Path, n: int = 2500, seed: int = 6) -> Path:
    path = folder / "BankChurners.csv"
    bank_churners_frame(n, seed).to_csv(path, index=False)
    return path


def messy(frame: pd.DataFrame, columns: tuple[str, ...], share: float = 0.02,
          seed: int = 8) -> pd.DataFrame:
    """A copy of `frame` with a `share` of each text column's values re-spelled the way hand
    edits and merged exports do: lower case, UPPER CASE, a space before or after; each column's
    most common spelling stays the most common."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    spell = (str.lower, str.upper, lambda v: " " + v, lambda v: v + " ")
    for col in columns:
        values = out[col].astype(object).to_numpy()
        picked = rng.random(len(values)) < share
        how = rng.integers(0, len(spell), len(values))
        out[col] = [spell[h](v) if p and isinstance(v, str) else v
                    for v, p, h in zip(values, picked, how, strict=True)]
    return out


# -- bank marketing --------------------------------------------------------------------------------
JOBS = ("admin.", "blue-collar", "technician", "services", "management", "retired",
        "self-employed", "entrepreneur", "unemployed", "housemaid", "student", "unknown")
_JOB_P = (0.114, 0.215, 0.168, 0.092, 0.209, 0.05, 0.035, 0.033, 0.029, 0.027, 0.021, 0.007)
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_P = (0.031, 0.059, 0.011, 0.065, 0.304, 0.118, 0.153, 0.138, 0.013, 0.016, 0.088, 0.004)
_MONTH_EFFECT = (-0.3, 0.0, 1.6, 0.3, -0.6, -0.2, -0.3, -0.1, 1.5, 1.4, -0.2, 1.3)


def bank_marketing_frame(n: int = 45211, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    job = rng.choice(JOBS, n, p=np.array(_JOB_P) / sum(_JOB_P))
    age = np.where(job == "retired", rng.normal(62, 7, n),
                   np.where(job == "student", rng.normal(25, 4, n), rng.normal(40, 9, n)))
    age = np.clip(age, 18, 95).round().astype(int)
    marital = rng.choice(["married", "single", "divorced"], n, p=[0.6, 0.28, 0.12])
    education = rng.choice(["secondary", "tertiary", "primary", "unknown"], n,
                           p=[0.51, 0.29, 0.15, 0.05])
    default = rng.choice(["no", "yes"], n, p=[0.982, 0.018])
    balance = np.round(rng.lognormal(6.5, 1.5, n) - 300).astype(int)
    housing = rng.choice(["yes", "no"], n, p=[0.56, 0.44])
    loan = rng.choice(["no", "yes"], n, p=[0.84, 0.16])
    contact = rng.choice(["cellular", "unknown", "telephone"], n, p=[0.65, 0.29, 0.06])
    day = rng.integers(1, 32, n)
    month_i = rng.choice(12, n, p=np.array(_MONTH_P) / sum(_MONTH_P))
    campaign = np.clip(rng.geometric(0.38, n), 1, 63)
    contacted = rng.random(n) < 0.18
    pdays = np.where(contacted, rng.integers(1, 871, n), -1)
    previous = np.where(contacted, np.clip(rng.geometric(0.35, n), 1, 275), 0)
    poutcome = np.where(contacted, rng.choice(["failure", "other", "success"], n,
                                              p=[0.6, 0.23, 0.17]), "unknown")
    # the outcome: a propensity the call's length then reveals
    base = (-2.6 + 0.9 * (contact == "cellular") - 0.8 * (contact == "unknown")
            + np.array(_MONTH_EFFECT)[month_i] - 0.6 * (housing == "yes") - 0.4 * (loan == "yes")
            + 2.2 * (poutcome == "success") + 0.5 * (job == "student") + 0.5 * (job == "retired")
            + 0.25 * (education == "tertiary") - 0.12 * (campaign - 1)
            + 0.00004 * np.clip(balance, -2000, 20000) + 0.02 * np.abs(age - 40) * (age > 60))
    y = rng.random(n) < 1 / (1 + np.exp(-base))
    # calls that end in a yes last long: duration is known only once the call is over
    duration = np.where(y, rng.lognormal(6.2, 0.55, n), rng.lognormal(5.1, 0.7, n))
    duration = np.clip(duration, 0, 4918).round().astype(int)
    return pd.DataFrame({
        "age": age, "job": job, "marital": marital, "education": education,
        "default": default, "balance": balance, "housing": housing, "loan": loan,
        "contact": contact, "day": day, "month": np.array(MONTHS)[month_i],
        "duration": duration, "campaign": campaign, "pdays": pdays, "previous": previous,
        "poutcome": poutcome, "y": np.where(y, "yes", "no"),
    })


def bank_marketing(folder: Path, n: int = 45211, seed: int = 3) -> Path:
    path = folder / "bank-full.csv"
    frame = bank_marketing_frame(n, seed)
    # the UCI file quotes every text (and every header name), numbers are bare
    frame.to_csv(path, sep=";", index=False, quoting=csv.QUOTE_NONNUMERIC)
    return path


# -- Telco customer churn --------------------------------------------------------------------------
_INTERNET_ADDONS = ("OnlineSecurity", "OnlineBackup", "DeviceProtection", "TechSupport",
                    "StreamingTV", "StreamingMovies")


def telco_frame(n: int = 7043, seed: int = 7) -> pd.DataFrame:
    """One row per subscriber, as the Kaggle file has it: every flag a 'Yes'/'No' text except
    SeniorCitizen (0/1); the internet add-ons say 'No internet service' and MultipleLines 'No
    phone service' where there is none; TotalCharges is text, a single space for the
    subscribers in their first month (tenure 0); about 26.5% churned."""
    rng = np.random.default_rng(seed)
    yes_no = lambda p: np.where(rng.random(n) < p, "Yes", "No")  # noqa: E731
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.55, 0.21, 0.24])
    tenure = np.where(contract == "Month-to-month", rng.integers(1, 40, n),
                      rng.integers(1, 73, n))
    tenure[rng.random(n) < 0.0016] = 0
    internet = rng.choice(["Fiber optic", "DSL", "No"], n, p=[0.44, 0.34, 0.22])
    phone = yes_no(0.9)
    letters = list("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    out = {"customerID": [f"{rng.integers(1000, 9999)}-{''.join(rng.choice(letters, 5))}"
                          for _ in range(n)],
           "gender": rng.choice(["Female", "Male"], n), "SeniorCitizen": (rng.random(n) < 0.16)
           .astype(int), "Partner": yes_no(0.48), "Dependents": yes_no(0.3), "tenure": tenure,
           "PhoneService": phone,
           "MultipleLines": np.where(phone == "No", "No phone service", yes_no(0.47))}
    out["InternetService"] = internet
    for col in _INTERNET_ADDONS:
        out[col] = np.where(internet == "No", "No internet service", yes_no(0.4))
    out["Contract"] = contract
    out["PaperlessBilling"] = yes_no(0.59)
    out["PaymentMethod"] = rng.choice(["Electronic check", "Mailed check",
                                       "Bank transfer (automatic)", "Credit card (automatic)"], n,
                                      p=[0.34, 0.23, 0.22, 0.21])
    monthly = np.where(internet == "Fiber optic", rng.normal(91, 12, n),
                       np.where(internet == "DSL", rng.normal(58, 12, n), rng.normal(21, 2, n)))
    monthly = np.clip(monthly, 18.25, 118.75).round(2)
    out["MonthlyCharges"] = monthly
    total = (monthly * tenure * rng.uniform(0.95, 1.05, n)).round(2)
    out["TotalCharges"] = np.where(tenure == 0, " ", total.astype(str))
    logit = (-1.1 + 1.3 * (contract == "Month-to-month") - 0.9 * (contract == "Two year")
             + 0.8 * (internet == "Fiber optic") - 0.04 * tenure
             + 0.4 * (out["PaymentMethod"] == "Electronic check"))
    out["Churn"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "Yes", "No")
    return pd.DataFrame(out)


def telco(folder: Path, n: int = 7043, seed: int = 7) -> Path:
    path = folder / "WA_Fn-UseC_-Telco-Customer-Churn.csv"
    telco_frame(n, seed).to_csv(path, index=False)
    return path


# -- online retail ---------------------------------------------------------------------------------
COUNTRIES = ("United Kingdom", "Germany", "France", "EIRE", "Spain", "Netherlands", "Belgium",
             "Switzerland", "Portugal", "Australia", "Norway", "Italy", "Channel Islands")
_COUNTRY_P = (0.905, 0.022, 0.02, 0.008, 0.007, 0.007, 0.006, 0.006, 0.004, 0.004, 0.004,
              0.004, 0.003)
PRODUCTS = ("WHITE HANGING HEART T-LIGHT HOLDER", "REGENCY CAKESTAND 3 TIER", "JUMBO BAG RED "
            "RETROSPOT", "PARTY BUNTING", "LUNCH BAG RED RETROSPOT", "ASSORTED COLOUR BIRD "
            "ORNAMENT", "SET OF 3 CAKE TINS PANTRY DESIGN", "PACK OF 72 RETROSPOT CAKE CASES",
            "NATURAL SLATE HEART CHALKBOARD", "CAFÉ MUG CRÈME", "HEART OF WICKER SMALL",
            "PAPER CHAIN KIT 50'S CHRISTMAS", "SPOTTY BUNTING", "GIN + TONIC DIET METAL SIGN")


def online_retail_frame(customers: int = 5900, seed: int = 4,
                        start: str = "2009-12-01", end: str = "2011-12-09") -> pd.DataFrame:
    """Invoice lines over two years; customers' purchase rates are heterogeneous (some buy once,
    many stop), as in a real shop's log."""
    rng = np.random.default_rng(seed)
    t0, t1 = np.datetime64(start), np.datetime64(end)
    days = int((t1 - t0) / np.timedelta64(1, "D"))
    ids = 12346 + rng.choice(6000, customers, replace=False)
    country = rng.choice(COUNTRIES, customers, p=np.array(_COUNTRY_P) / sum(_COUNTRY_P))
    first = rng.integers(0, days, customers) ** 1 * (rng.random(customers) < 0.55) + \
        rng.integers(0, days // 3, customers) * (rng.random(customers) >= 0.55)
    first = np.minimum(first, days - 1)
    rate = rng.gamma(0.55, 1 / 40, customers)          # purchases per day while alive
    life = rng.exponential(260, customers)             # days until they stop buying
    one_off = rng.random(customers) < 0.3
    spend_scale = rng.lognormal(np.log(14), 0.7, customers)
    rows = []
    invoice = 489434
    for i in range(customers):
        horizon = min(days - first[i], life[i])
        n_extra = 0 if one_off[i] else rng.poisson(rate[i] * horizon)
        when = np.sort(np.concatenate([[first[i]], first[i] + rng.uniform(0, horizon, n_extra)]))
        for d in when:
            invoice += 1
            lines = 1 + rng.poisson(9)
            ts = t0 + np.timedelta64(int(d * 86400) // 60 * 60, "s")
            ts = ts.astype("datetime64[D]") + np.timedelta64(int(rng.integers(7 * 60, 20 * 60)),
                                                              "m")
            for _ in range(lines):
                p = rng.integers(len(PRODUCTS))
                qty = int(max(1, rng.lognormal(np.log(6), 0.9)))
                price = round(float(np.clip(rng.lognormal(np.log(2.5), 0.7), 0.1, 300))
                              * spend_scale[i] / 14, 2)
                if rng.random() < 0.004:
                    price = 0.0                          # free items
                rows.append((str(invoice), f"{84000 + p * 7}{'ABCDE'[p % 5]}", PRODUCTS[p], qty,
                             ts, price, ids[i], country[i]))
            if rng.random() < 0.06:                      # a cancellation of one line
                invoice += 1
                qty = int(max(1, rng.lognormal(np.log(3), 0.7)))
                rows.append((f"C{invoice}", f"{84000 + 7}B", PRODUCTS[1], -qty,
                             ts + np.timedelta64(int(rng.integers(60, 20000)), "m"),
                             round(float(rng.lognormal(np.log(3), 0.6)), 2), ids[i],
                             country[i]))
    frame = pd.DataFrame(rows, columns=["InvoiceNo", "StockCode", "Description", "Quantity",
                                        "InvoiceDate", "UnitPrice", "CustomerID", "Country"])
    # guest checkouts (no CustomerID) and stock adjustments
    n = len(frame)
    guests = frame.sample(int(n * 0.33), random_state=seed, replace=True).copy()
    guests["CustomerID"] = pd.NA
    guests["InvoiceNo"] = [str(600000 + k) for k in range(len(guests))]
    adjust = guests.head(max(1, n // 400)).copy()
    adjust["Quantity"] = -adjust["Quantity"].abs()
    adjust["UnitPrice"] = 0.0
    adjust["Description"] = "?"
    frame = pd.concat([frame, guests, adjust], ignore_index=True)
    frame = frame[(frame["InvoiceDate"] < t1 + np.timedelta64(1, "D"))]
    frame = frame.sort_values(["InvoiceDate", "InvoiceNo"], kind="stable").reset_index(drop=True)
    frame["CustomerID"] = frame["CustomerID"].astype("Int64")
    return frame


def online_retail(folder: Path, customers: int = 5900, seed: int = 4) -> Path:
    frame = online_retail_frame(customers, seed)
    stamp = pd.to_datetime(frame["InvoiceDate"])
    frame["InvoiceDate"] = (stamp.dt.month.astype(str) + "/" + stamp.dt.day.astype(str) + "/"
                            + stamp.dt.year.astype(str) + " " + stamp.dt.hour.astype(str) + ":"
                            + stamp.dt.minute.astype(str).str.zfill(2))
    path = folder / "Online Retail.csv"
    frame.to_csv(path, index=False, encoding="latin-1")
    return path


# -- Berka (PKDD'99) -------------------------------------------------------------------------------
REGIONS = ("Prague", "central Bohemia", "south Bohemia", "west Bohemia", "north Bohemia",
           "east Bohemia", "south Moravia", "north Moravia")
_FREQ = ("POPLATEK MESICNE", "POPLATEK TYDNE", "POPLATEK PO OBRATU")


def _yymmdd(days: np.ndarray) -> np.ndarray:
    d = pd.to_datetime("1993-01-01") + pd.to_timedelta(days, unit="D")
    return ((d.year % 100) * 10000 + d.month * 100 + d.day).to_numpy()


def berka(folder: Path, accounts: int = 4500, seed: int = 5, months: int = 71) -> dict[str, Path]:
    """The seven tables of the export (order.asc left out: the tools do not read it)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    span = months * 30
    district = pd.DataFrame({
        "A1": np.arange(1, 78),
        "A2": [f"District {i}" if i > 1 else "Hl.m. Praha" for i in range(1, 78)],
        "A3": [REGIONS[0]] + [REGIONS[1 + (i % 7)] for i in range(1, 77)],
        "A4": rng.integers(40000, 1200000, 77),
        "A11": rng.integers(8100, 12600, 77),
        "A12": np.round(rng.uniform(0.2, 7.3, 77), 1).astype(str),
        "A16": rng.integers(800, 99000, 77),
    })
    district.loc[rng.integers(0, 77), "A12"] = "?"        # the known missing value
    acc_district = rng.integers(1, 78, accounts)
    opened = np.sort(rng.integers(0, span - 300, accounts))
    account = pd.DataFrame({"account_id": np.sort(rng.choice(np.arange(1, 12000), accounts,
                                                             replace=False)),
                            "district_id": acc_district,
                            "frequency": rng.choice(_FREQ, accounts, p=[0.92, 0.06, 0.02]),
                            "date": _yymmdd(opened)})
    # one owner per account; some accounts also have a disponent (a second, joint user)
    n_disp = int(accounts * 0.19)
    owners = np.arange(1, accounts + 1)
    joint = np.sort(rng.choice(accounts, n_disp, replace=False))
    clients_n = accounts + n_disp
    year = rng.integers(11, 88, clients_n)
    month = rng.integers(1, 13, clients_n)
    dayn = rng.integers(1, 29, clients_n)
    female = rng.random(clients_n) < 0.49
    client = pd.DataFrame({"client_id": np.arange(1, clients_n + 1),
                           "birth_number": year * 10000 + (month + 50 * female) * 100 + dayn,
                           "district_id": np.concatenate([acc_district,
                                                          acc_district[joint]])})
    disp = pd.DataFrame({
        "disp_id": np.arange(1, clients_n + 1),
        "client_id": np.concatenate([owners, accounts + 1 + np.arange(n_disp)]),
        "account_id": np.concatenate([account["account_id"].to_numpy(),
                                      account["account_id"].to_numpy()[joint]]),
        "type": ["OWNER"] * accounts + ["DISPONENT"] * n_disp,
    })
    # transactions: salary/pension in, household, card and cash out; some accounts go quiet
    rows = []
    tid = 1
    leave = np.where(rng.random(accounts) < 0.18, opened + rng.integers(200, span, accounts),
                     span + 1)
    for a in range(accounts):
        acc = int(account["account_id"][a])
        income = float(rng.lognormal(np.log(15000), 0.5))
        pension = rng.random() < 0.15
        end = min(span, leave[a])
        balance = float(rng.uniform(500, 3000))
        rows.append((tid, acc, opened[a], "PRIJEM", "VKLAD", round(balance, 1), round(balance, 1),
                     "", "", ""))
        tid += 1
        for m in range(int(opened[a] // 30) + 1, int(end // 30) + 1):
            day = m * 30 + int(rng.integers(0, 5))
            if day > end:
                break
            events = [("PRIJEM", "PREVOD Z UCTU", income * rng.uniform(0.9, 1.1),
                       "DUCHOD" if pension else "", "ST", int(rng.integers(1e7, 9e7)))]
            events.append(("VYDAJ", "PREVOD NA UCET", income * rng.uniform(0.1, 0.3), "SIPO",
                           "AB", int(rng.integers(1e7, 9e7))))
            for _ in range(int(rng.poisson(2.5))):
                events.append(("VYDAJ", "VYBER", income * rng.uniform(0.05, 0.3), "", "", ""))
            if rng.random() < 0.4:
                events.append(("VYDAJ", "VYBER KARTOU", income * rng.uniform(0.01, 0.1), "",
                               "", ""))
            if rng.random() < 0.3:
                events.append(("VYDAJ", "", 14.6, "SLUZBY", "", ""))
            events.append(("PRIJEM", "", balance * 0.001 + 5, "UROK", "", ""))
            for k, (typ, op, amount, sym, bank, other) in enumerate(events):
                amount = round(float(amount), 1)
                balance += amount if typ == "PRIJEM" else -amount
                rows.append((tid, acc, day + min(k, 27), typ, op, amount, round(balance, 1), sym,
                             bank, other))
                tid += 1
    trans = pd.DataFrame(rows, columns=["trans_id", "account_id", "day", "type", "operation",
                                        "amount", "balance", "k_symbol", "bank", "account"])
    trans = trans.sort_values(["day", "trans_id"], kind="stable")
    trans.insert(2, "date", _yymmdd(trans.pop("day").to_numpy()))
    # loans on some accounts: status A/B finished (B unpaid), C/D running (D in debt)
    with_loan = np.sort(rng.choice(accounts, int(accounts * 0.15), replace=False))
    loan_day = opened[with_loan] + rng.integers(60, 400, len(with_loan))
    duration = rng.choice([12, 24, 36, 48, 60], len(with_loan))
    amount = (rng.lognormal(np.log(120000), 0.6, len(with_loan)) // 12 * 12).astype(int)
    finished = loan_day + duration * 30 < span
    bad = rng.random(len(with_loan)) < np.where(leave[with_loan] <= span, 0.35, 0.07)
    status = np.where(finished, np.where(bad, "B", "A"), np.where(bad, "D", "C"))
    loan = pd.DataFrame({"loan_id": 4959 + np.arange(len(with_loan)) * 3,
                         "account_id": account["account_id"].to_numpy()[with_loan],
                         "date": _yymmdd(loan_day), "amount": amount, "duration": duration,
                         "payments": np.round(amount / duration, 1), "status": status})
    # cards on some dispositions
    with_card = np.sort(rng.choice(clients_n, int(clients_n * 0.17), replace=False))
    issued = opened[np.minimum(with_card, accounts - 1) % accounts] + rng.integers(30, 500,
                                                                                 len(with_card))
    card = pd.DataFrame({"card_id": np.arange(1, len(with_card) + 1),
                         "disp_id": disp["disp_id"].to_numpy()[with_card],
                         "type": rng.choice(["classic", "junior", "gold"], len(with_card),
                                            p=[0.74, 0.16, 0.10]),
                         "issued": [f"{d} 00:00:00" for d in _yymmdd(np.minimum(issued,
                                                                                span))]})
    tables = {"account": account, "client": client, "disp": disp, "trans": trans,
              "loan": loan, "card": card, "district": district}
    paths = {}
    for name, frame in tables.items():
        path = folder / f"{name}.asc"
        frame.to_csv(path, sep=";", index=False, quoting=csv.QUOTE_NONNUMERIC)
        paths[name] = path
    return paths


def write_all(folder: Path, *, small: bool = True) -> dict[str, Path]:
    """Every dataset in its own sub-folder; small sizes for tests, full sizes for bench/."""
    folder.mkdir(parents=True, exist_ok=True)
    sizes = dict(cc=1500, churn=3000, marketing=6000, retail=700, berka=400) if small else \
        dict(cc=8950, churn=10000, marketing=45211, retail=5900, berka=4500)
    out = {}
    for name in DATASETS:
        (folder / name).mkdir(exist_ok=True)
    out["cc_general"] = cc_general(folder / "cc_general", sizes["cc"])
    out["churn_modelling"] = churn_modelling(folder / "churn_modelling", sizes["churn"])
    out["bank_marketing"] = bank_marketing(folder / "bank_marketing", sizes["marketing"])
    out["online_retail"] = online_retail(folder / "online_retail", sizes["retail"])
    out["berka"] = berka(folder / "berka", sizes["berka"])["account"].parent
    return out


# -- three more public shapes (UCI Statlog German credit, UCI/Kaggle Taiwan card default, Kaggle
# bank_transactions.csv): coded values, 0/1 targets, headers with units and dotted names ----------
def _pick(rng, values, p, n):
    p = np.array(p, float)
    return rng.choice(np.array(values, dtype=object), n, p=p / p.sum())


GERMAN_COLUMNS = (
    "checking_status", "duration", "credit_history", "purpose", "credit_amount", "savings_status",
    "employment", "installment_commitment", "personal_status", "other_parties",
    "residence_since", "property_magnitude", "age", "other_payment_plans", "housing",
    "existing_credits", "job", "num_dependents", "own_telephone", "foreign_worker", "class")


def german_credit_frame(n: int = 1000, seed: int = 11) -> pd.DataFrame:
    """UCI Statlog German credit as OpenML's credit-g names its columns, with the file's codes:
    checking_status A11 (< 0 DM) .. A14 (no checking account), purpose A40..A410, savings
    A61..A65, personal_status A91..A94, own_telephone A191/A192, class 1 good / 2 bad (30%)."""
    rng = np.random.default_rng(seed)
    bad = rng.random(n) < 0.3
    chk = np.where(bad, _pick(rng, ["A11", "A12", "A13", "A14"], [45, 30, 7, 18], n),
                   _pick(rng, ["A11", "A12", "A13", "A14"], [20, 25, 7, 48], n))
    return pd.DataFrame({
        "checking_status": chk,
        "duration": np.clip(rng.gamma(3.5, np.where(bad, 7, 5.5)), 4, 72).astype(int),
        "credit_history": _pick(rng, ["A30", "A31", "A32", "A33", "A34"], [4, 5, 53, 9, 29], n),
        "purpose": _pick(rng, ["A40", "A41", "A42", "A43", "A44", "A45", "A46", "A48", "A49",
                               "A410"], [234, 103, 181, 280, 12, 22, 50, 9, 97, 12], n),
        "credit_amount": np.clip(rng.lognormal(np.where(bad, 8.1, 7.9), 0.75), 250,
                                 18424).astype(int),
        "savings_status": _pick(rng, ["A61", "A62", "A63", "A64", "A65"], [60, 10, 6, 5, 19], n),
        "employment": _pick(rng, ["A71", "A72", "A73", "A74", "A75"], [6, 17, 34, 17, 26], n),
        "installment_commitment": rng.integers(1, 5, n),
        "personal_status": _pick(rng, ["A91", "A92", "A93", "A94"], [5, 31, 55, 9], n),
        "other_parties": _pick(rng, ["A101", "A102", "A103"], [91, 4, 5], n),
        "residence_since": rng.integers(1, 5, n),
        "property_magnitude": _pick(rng, ["A121", "A122", "A123", "A124"], [28, 23, 33, 16], n),
        "age": np.clip(rng.gamma(6, 6, n) + np.where(bad, 0, 2), 19, 75).astype(int),
        "other_payment_plans": _pick(rng, ["A141", "A142", "A143"], [14, 5, 81], n),
        "housing": _pick(rng, ["A151", "A152", "A153"], [18, 71, 11], n),
        "existing_credits": _pick(rng, [1, 2, 3, 4], [63, 33, 3, 1], n).astype(int),
        "job": _pick(rng, ["A171", "A172", "A173", "A174"], [2, 20, 63, 15], n),
        "num_dependents": _pick(rng, [1, 2], [85, 15], n).astype(int),
        "own_telephone": _pick(rng, ["A191", "A192"], [60, 40], n),
        "foreign_worker": _pick(rng, ["A201", "A202"], [963, 37], n),
        "class": np.where(bad, 2, 1),
    }, columns=list(GERMAN_COLUMNS))


def german_credit(folder: Path, n: int = 1000, seed: int = 11) -> Path:
    path = folder / "german_credit.csv"
    german_credit_frame(n, seed).to_csv(path, index=False)
    return path


def taiwan_default_frame(n: int = 3000, seed: int = 12) -> pd.DataFrame:
    """UCI 'default of credit card clients' (Taiwan) as Kaggle's UCI_Credit_Card.csv: ID,
    LIMIT_BAL (whole NT dollars as floats, 10,000 .. 1,000,000), SEX 1 male / 2 female, EDUCATION
    1 graduate school, 2 university, 3 high school, 4 others, 0/5/6 unknown, MARRIAGE 1 married /
    2 single / 3 others / 0, AGE, PAY_0, PAY_2..PAY_6 (-2..8), BILL_AMT1..6, PAY_AMT1..6 (floats)
    and the 0/1 target default.payment.next.month (about 22%)."""
    rng = np.random.default_rng(seed)
    limit = (np.clip(rng.lognormal(11.8, 0.8, n), 10000, 1000000) // 10000 * 10000).astype(float)
    out = {"ID": np.arange(1, n + 1), "LIMIT_BAL": limit,
           "SEX": _pick(rng, [1, 2], [40, 60], n).astype(int),
           "EDUCATION": _pick(rng, [0, 1, 2, 3, 4, 5, 6], [1, 353, 467, 164, 4, 9, 2], n)
           .astype(int),
           "MARRIAGE": _pick(rng, [0, 1, 2, 3], [2, 455, 532, 11], n).astype(int),
           "AGE": np.clip(rng.gamma(9, 4, n), 21, 79).astype(int)}
    risky = rng.random(n) >= 0.7
    for k in ("PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"):
        out[k] = np.where(risky, _pick(rng, [-1, 0, 1, 2, 3, 4], [10, 30, 20, 30, 7, 3], n),
                          _pick(rng, [-2, -1, 0], [15, 25, 60], n)).astype(int)
    bills = [np.round(np.maximum(-5000, rng.normal(0.45, 0.3, n)) * limit * rng.random(n), 0)
             for _ in range(6)]
    for k, b in enumerate(bills, 1):
        out[f"BILL_AMT{k}"] = b
    for k, b in enumerate(bills, 1):
        out[f"PAY_AMT{k}"] = np.round(np.maximum(0.0, b) * rng.uniform(0, 0.4, n), 0)
    p = 0.12 + 0.25 * (out["PAY_0"] >= 1) + 0.2 * (out["PAY_0"] >= 2) - 0.03 * (limit > 200000)
    out["default.payment.next.month"] = (rng.random(n) < p).astype(int)
    return pd.DataFrame(out)


def taiwan_default(folder: Path, n: int = 3000, seed: int = 12) -> Path:
    path = folder / "UCI_Credit_Card.csv"
    taiwan_default_frame(n, seed).to_csv(path, index=False)
    return path


BANK_CITIES = ("MUMBAI", "NEW DELHI", "BANGALORE", "GURGAON", "DELHI", "NOIDA", "CHENNAI", "PUNE",
               "HYDERABAD", "THANE", "KOLKATA", "AHMEDABAD", "JAIPUR", "NAVI MUMBAI",
               "CHANDIGARH", "LUCKNOW", "JAMSHEDPUR")
_CITY_P = (16, 11, 10, 9, 7, 4, 4, 4, 4, 3, 3, 2.5, 2, 2, 1.5, 1.5, 1)


def _dmy(days: np.ndarray, start: str) -> list[str]:
    d = pd.to_datetime(start) + pd.to_timedelta(days, unit="D")
    return [f"{x.day}/{x.month}/{x.year % 100:02d}" for x in d]


def bank_transactions_frame(n: int = 4000, customers: int = 2800, seed: int = 13,
                            placeholder: bool = False) -> pd.DataFrame:
    """Kaggle's bank customer segmentation log (bank_transactions.csv): TransactionID T1..,
    CustomerID C1234567 (a customer's later rows repeat their details), CustomerDOB d/m/yy
    (some blank, with `placeholder` some 1/1/1800), CustGender M/F (a few blank), CustLocation
    upper-case cities (a few blank), CustAccountBalance (a few blank), TransactionDate d/m/yy
    (August to October 2016), TransactionTime HHMMSS without leading zeros and
    'TransactionAmount (INR)'."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"C{x}" for x in rng.choice(np.arange(1000000, 9099999), customers,
                                                 replace=False)], dtype=object)
    born = rng.integers(0, 365, customers)
    years = np.clip(rng.normal(1988, 8, customers), 1950, 2000).astype(int)
    dob = np.array([f"{d.day}/{d.month}/{d.year % 100:02d}" for d in
                    (pd.Timestamp(int(y), 1, 1) + pd.Timedelta(days=int(b))
                     for y, b in zip(years, born, strict=True))], dtype=object)
    r = rng.random(customers)
    dob[r < 0.02] = ""
    if placeholder:
        dob[(r >= 0.02) & (r < 0.07)] = "1/1/1800"
    gender = _pick(rng, ["M", "F", ""], [72, 27, 1], customers)
    city = _pick(rng, BANK_CITIES, _CITY_P, customers)
    city[rng.random(customers) < 0.004] = ""
    balance = np.round(rng.lognormal(10.0, 1.7, customers), 2).astype(object)
    balance[rng.random(customers) < 0.01] = ""
    who = np.concatenate([np.arange(customers), rng.integers(0, customers, n - customers)]) \
        if n > customers else np.arange(n)
    hours = _pick(rng, list(range(24)), [0.5] * 7 + [3.5] * 15 + [1.5] * 2, n).astype(int)
    times = hours * 10000 + rng.integers(0, 60, n) * 100 + rng.integers(0, 60, n)
    return pd.DataFrame({
        "TransactionID": [f"T{i}" for i in range(1, n + 1)],
        "CustomerID": ids[who], "CustomerDOB": dob[who], "CustGender": gender[who],
        "CustLocation": city[who], "CustAccountBalance": balance[who],
        "TransactionDate": _dmy(rng.integers(0, 92, n), "2016-08-01"),
        "TransactionTime": times,
        "TransactionAmount (INR)": np.round(np.clip(rng.lognormal(6.5, 1.4, n), 0,
                                                    1560034.99), 2),
    })


def bank_transactions(folder: Path, n: int = 4000, seed: int = 13,
                      placeholder: bool = False) -> Path:
    path = folder / "bank_transactions.csv"
    bank_transactions_frame(n, seed=seed, placeholder=placeholder).to_csv(path, index=False)
    return path


def lending_club_frame(n: int = 2000, seed: int = 21) -> pd.DataFrame:
    """Lending Club's accepted loans as on Kaggle (a subset of its columns): id, loan_amnt,
    term ' 36 months' / ' 60 months' (a leading space), int_rate and revol_util as text
    percentages ('13.56%', a few revol_util blank), grade A-G, emp_length '10+ years',
    home_ownership RENT/MORTGAGE/OWN, annual_inc, issue_d 'Dec-2018', loan_status 'Fully Paid'
    / 'Charged Off' / 'Current' / 'Late (31-120 days)', purpose debt_consolidation..., dti."""
    rng = np.random.default_rng(seed)
    grade = _pick(rng, list("ABCDEFG"), [19, 29, 28, 14, 7, 2, 1], n)
    base = pd.Series(grade).map({"A": 7, "B": 11, "C": 14, "D": 18, "E": 22, "F": 26,
                                 "G": 29}).to_numpy()
    rate = np.round(base + rng.normal(0, 1, n), 2)
    month = rng.integers(0, 36, n)
    names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    revol = np.array([f"{v:.1f}%" for v in rng.uniform(0, 100, n)], dtype=object)
    revol[rng.random(n) < 0.01] = ""
    return pd.DataFrame({
        "id": np.arange(100000, 100000 + n),
        "loan_amnt": rng.choice(np.arange(1000, 40001, 25), n),
        "term": _pick(rng, [" 36 months", " 60 months"], [70, 30], n),
        "int_rate": [f"{r:.2f}%" for r in rate],
        "grade": grade,
        "emp_length": _pick(rng, ["< 1 year", "1 year", "2 years", "5 years", "10+ years"],
                            [8, 7, 9, 6, 33], n),
        "home_ownership": _pick(rng, ["MORTGAGE", "RENT", "OWN"], [49, 40, 11], n),
        "annual_inc": np.round(np.clip(rng.lognormal(11.1, 0.5, n), 4000, 2e6), 2),
        "issue_d": [f"{names[m % 12]}-{2016 + m // 12}" for m in month],
        "loan_status": _pick(rng, ["Fully Paid", "Charged Off", "Current",
                                   "Late (31-120 days)"], [48, 13, 36, 3], n),
        "purpose": _pick(rng, ["debt_consolidation", "credit_card", "home_improvement",
                               "other", "car"], [56, 22, 9, 9, 4], n),
        "dti": np.round(rng.uniform(0, 40, n), 2),
        "revol_util": revol,
    })


def lending_club(folder: Path, n: int = 2000, seed: int = 21) -> Path:
    path = folder / "loan.csv"
    lending_club_frame(n, seed).to_csv(path, index=False)
    return path


def paysim_frame(n: int = 6000, accounts: int = 4000, seed: int = 22) -> pd.DataFrame:
    """PaySim's synthetic mobile-money log: step (hour 1-743), type CASH_OUT/PAYMENT/CASH_IN/
    TRANSFER/DEBIT, amount, nameOrig 'C1231006815' (an account, repeated), oldbalanceOrg,
    newbalanceOrig, nameDest ('M...' merchants), isFraud 0/1 (only transfers and cash-outs),
    isFlaggedFraud 0/1; no key."""
    rng = np.random.default_rng(seed)
    origs = np.array([f"C{x}" for x in rng.integers(10 ** 8, 2 * 10 ** 9, accounts)],
                     dtype=object)
    kind = _pick(rng, ["CASH_OUT", "PAYMENT", "CASH_IN", "TRANSFER", "DEBIT"],
                 [35, 34, 22, 8, 1], n)
    amount = np.round(rng.lognormal(10.5, 1.3, n), 2)
    old = np.round(np.maximum(0, rng.lognormal(10, 2, n) - 20000), 2)
    fraud = (np.isin(kind, ["TRANSFER", "CASH_OUT"]) & (rng.random(n) < 0.03)).astype(int)
    return pd.DataFrame({
        "step": rng.integers(1, 744, n), "type": kind, "amount": amount,
        "nameOrig": origs[rng.integers(0, accounts, n)], "oldbalanceOrg": old,
        "newbalanceOrig": np.where(fraud == 1, 0.0, np.round(np.maximum(0, old - amount), 2)),
        "nameDest": [("M" if k == "PAYMENT" else "C") + str(x) for k, x in
                     zip(kind, rng.integers(10 ** 8, 2 * 10 ** 9, n), strict=True)],
        "isFraud": fraud, "isFlaggedFraud": (fraud == 1) & (amount > 200000),
    }).astype({"isFlaggedFraud": int})


def paysim(folder: Path, n: int = 6000, seed: int = 22) -> Path:
    path = folder / "PS_20174392719_1491204439457_log.csv"
    paysim_frame(n, seed=seed).to_csv(path, index=False)
    return path


MNT = ("MntWines", "MntFruits", "MntMeatProducts", "MntFishProducts", "MntSweetProducts",
       "MntGoldProds")


def personality_frame(n: int = 2240, seed: int = 23) -> pd.DataFrame:
    """Kaggle's Customer Personality Analysis (marketing_campaign.csv): ID, Year_Birth,
    Education ('2n Cycle', 'Graduation'...), Marital_Status ('Together', 'YOLO'...), Income (a
    few blank), Kidhome, Teenhome, Dt_Customer dd-mm-yyyy, Recency, Mnt* spend by product,
    Num*Purchases, AcceptedCmp1..5 and Response 0/1, Complain, constant Z_CostContact and
    Z_Revenue."""
    rng = np.random.default_rng(seed)
    income = np.clip(rng.normal(52000, 21000, n), 1730, 666666).astype(int).astype(object)
    income[rng.random(n) < 0.011] = ""
    joined = pd.Timestamp("2012-07-30") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    out = {"ID": rng.choice(11200, n, replace=False),
           "Year_Birth": np.clip(rng.normal(1969, 12, n), 1893, 1996).astype(int),
           "Education": _pick(rng, ["Graduation", "PhD", "Master", "2n Cycle", "Basic"],
                              [50, 22, 17, 9, 2], n),
           "Marital_Status": _pick(rng, ["Married", "Together", "Single", "Divorced", "Widow",
                                         "Alone", "YOLO"], [386, 259, 214, 104, 34, 2, 1], n),
           "Income": income, "Kidhome": rng.integers(0, 3, n), "Teenhome": rng.integers(0, 3, n),
           "Dt_Customer": joined.strftime("%d-%m-%Y"), "Recency": rng.integers(0, 100, n)}
    for col, scale in zip(MNT, (380, 33, 210, 47, 34, 55), strict=True):
        out[col] = rng.gamma(0.8, scale, n).astype(int)
    for col in ("NumDealsPurchases", "NumWebPurchases", "NumCatalogPurchases",
                "NumStorePurchases"):
        out[col] = rng.integers(0, 16, n)
    out["NumWebVisitsMonth"] = rng.integers(0, 20, n)
    for col, p in (("AcceptedCmp3", .073), ("AcceptedCmp4", .075), ("AcceptedCmp5", .073),
                   ("AcceptedCmp1", .064), ("AcceptedCmp2", .013), ("Complain", .009)):
        out[col] = (rng.random(n) < p).astype(int)
    out["Z_CostContact"], out["Z_Revenue"] = 3, 11
    out["Response"] = (rng.random(n) < 0.149).astype(int)
    return pd.DataFrame(out)


def personality(folder: Path, n: int = 2240, seed: int = 23) -> Path:
    path = folder / "marketing_campaign.csv"
    personality_frame(n, seed).to_csv(path, index=False, sep="\t")
    return path
