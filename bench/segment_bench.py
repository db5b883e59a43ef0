"""Time the segmentation pipeline (features in SQL + clustering + cards) against its baselines.

    python bench/segment_bench.py [WAREHOUSE.duckdb ...] [--repeats 3] [--pandas-sample 10]

Default warehouses: /tmp/wh/w100k.duckdb and /tmp/wh/w1m.duckdb, opened read-only (nothing is
saved). For each it prints the median of `--repeats` runs of:

- pipeline: tools.segments.run_segmentation with k=8 (features + clustering + cards; each
  step's median is printed too), and with k chosen automatically (adds the stability search, a
  fixed cost on a 10,000-row sample);
- scan: one plain aggregate over the same transactions (count and sum per customer over the
  12-month window the features use), fetched into pandas;
- fit: the clustering step alone (tools.clustering.cluster, k=8) on the computed features;
- pandas: the same behaviour features computed in pandas (the transactions, app events and
  accounts needed pulled into DataFrames, then groupby) plus the same clustering. On warehouses
  over 200,000 customers it runs on every `--pandas-sample`-th customer and the time is scaled
  up linearly (said in the output), once.

It also checks the pandas features equal the SQL ones, so the comparison is like for like.
Goals: pipeline >= 5x faster than pandas; pipeline <= 3x (scan + fit).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from tools.cards import compute_traits
from tools.clustering import Column, cluster
from tools.features import (
    BEHAVIOUR,
    DAYS_PER_MONTH,
    EVERYDAY,
    FEATURES,
    FEATURES_BY_NAME,
    SMOOTHING,
    compute_features,
    reference_ts,
    window_starts,
)
from tools.segments import run_segmentation
from warehouse.connection import Warehouse
from warehouse.contract import NON_SPEND_CATEGORIES, PRODUCTS

DEFAULT = ("/tmp/wh/w100k.duckdb", "/tmp/wh/w1m.duckdb")
COLUMNS = [Column(n, FEATURES_BY_NAME[n].scale, FEATURES_BY_NAME[n].weight) for n in BEHAVIOUR]
DESCRIBE = [f for f in FEATURES if f.describe and not f.protected]


def timed(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def plain_scan(wh: Warehouse) -> pd.DataFrame:
    return wh.df("""SELECT customer_id, count(*) AS n, sum(amount) AS amount
                    FROM transactions, (SELECT max(ts) AS ref FROM transactions) r
                    WHERE ts > r.ref - INTERVAL 365 DAY AND ts <= r.ref
                    GROUP BY customer_id""")


# -- the pandas version of the behaviour features ----------------------------------------------
def pandas_features(wh: Warehouse, sample: int = 1) -> pd.DataFrame:
    """Every feature the segmentation pipeline computes (tools.features with trends=False),
    for the customers with a transaction in the window, from DataFrames and groupby."""
    ref = reference_ts(wh)
    since = window_starts(ref)["since"]
    keep = f"AND customer_id % {sample} = 0" if sample > 1 else ""
    window = [since, ref]
    tx = wh.df(f"""SELECT customer_id, ts, amount::DOUBLE AS amount, direction, category,
                          channel, is_international FROM transactions
                   WHERE ts >= ? AND ts <= ? {keep}""", window)
    ev = wh.df(f"SELECT customer_id, ts, event_type, platform FROM app_events "
               f"WHERE ts >= ? AND ts <= ? {keep}", window)
    acc = wh.df(f"SELECT customer_id, product, status, balance::DOUBLE AS balance, "
                f"credit_limit::DOUBLE AS credit_limit FROM accounts WHERE true {keep}")
    camp = wh.df(f"SELECT DISTINCT customer_id, campaign_id, event FROM campaign_events "
                 f"WHERE ts >= ? AND ts <= ? {keep}", window)
    cust = wh.df(f"SELECT customer_id, country, signup_date FROM customers WHERE true {keep}")

    debit = tx["direction"] == "debit"
    credit = ~debit
    everyday = debit & tx["category"].isin(EVERYDAY)
    spends = debit & ~tx["category"].isin(NON_SPEND_CATEGORIES)
    card = debit & tx["channel"].isin(["card_present", "online"]) & (tx["category"] != "crypto")
    flags = pd.DataFrame({
        "customer_id": tx["customer_id"], "everyday": everyday,
        "everyday_amount": tx["amount"].where(everyday, 0.0),
        "card": card, "card_online": card & (tx["channel"] == "online"),
        "card_abroad": card & tx["is_international"].fillna(False).astype(bool),
        "p2p_out": debit & (tx["channel"] == "p2p"), "p2p_in": credit & (tx["channel"] == "p2p"),
        "income_n": credit & (tx["category"] == "salary"),
        "income": tx["amount"].where(credit & (tx["category"] == "salary"), 0.0),
        "investment": debit & (tx["category"] == "investment"),
        "rent": debit & (tx["category"] == "rent"),
        "n_spend": spends, "spend": tx["amount"].where(spends, 0.0),
        "ts": tx["ts"],
    })
    for cat in EVERYDAY:
        flags[f"n_{cat}"] = everyday & (tx["category"] == cat)
    g = flags.groupby("customer_id")
    agg = g.sum(numeric_only=True)
    last = g["ts"].max()
    span = (last.dt.normalize() - g["ts"].min().dt.normalize()).dt.days + 1
    months = np.maximum(span, 30) / DAYS_PER_MONTH

    def smoothed(num: pd.Series, den: pd.Series, prior: float) -> pd.Series:
        return (num + SMOOTHING * prior) / (den + SMOOTHING)

    out = pd.DataFrame(index=agg.index)
    for cat in EVERYDAY:
        out[f"share_{cat}"] = smoothed(agg[f"n_{cat}"], agg["everyday"],
                                       agg[f"n_{cat}"].sum() / agg["everyday"].sum())
    out["share_international"] = smoothed(agg["card_abroad"], agg["card"],
                                          agg["card_abroad"].sum() / agg["card"].sum())
    out["share_online"] = smoothed(agg["card_online"], agg["card"],
                                   agg["card_online"].sum() / agg["card"].sum())
    p2p_den = agg["everyday"] + agg["p2p_out"]
    out["share_p2p"] = smoothed(agg["p2p_out"], p2p_den, agg["p2p_out"].sum() / p2p_den.sum())
    out["everyday_per_month"] = agg["everyday"] / months
    out["avg_ticket"] = agg["everyday_amount"] / agg["everyday"].replace(0, np.nan)
    out["payments_12m"] = agg["n_spend"]
    out["spend_12m"] = agg["spend"]
    out["spend_per_month"] = agg["spend"] / months
    out["income_credits_per_month"] = agg["income_n"] / months
    out["income_per_month"] = agg["income"] / months
    out["p2p_in_per_month"] = agg["p2p_in"] / months
    out["investing_per_month"] = agg["investment"] / months
    out["share_months_rent"] = np.minimum(agg["rent"] / months, 1)

    app = ev["event_type"] != "push_open"
    e = pd.DataFrame({"customer_id": ev["customer_id"], "ts": ev["ts"],
                      "login": ev["event_type"] == "login", "app": app,
                      "web": app & (ev["platform"] == "web"),
                      "android": app & (ev["platform"] == "android"),
                      "support": ev["event_type"] == "support_chat",
                      "view": ev["event_type"] == "view_product"})
    eg = e.groupby("customer_id")
    eall = eg.sum(numeric_only=True)
    web_prior = eall["web"].sum() / eall["app"].sum()
    android_prior = eall["android"].sum() / eall["app"].sum()
    eagg = eall.reindex(out.index)                      # customers who transacted
    first = eg["ts"].min().reindex(out.index).dt.normalize()
    espan = np.maximum((pd.Timestamp(ref).normalize() - first).dt.days + 1, 30) / DAYS_PER_MONTH
    ev_out = pd.DataFrame({
        "logins_per_month": eagg["login"] / espan,
        "share_web": smoothed(eagg["web"].fillna(0), eagg["app"].fillna(0), web_prior),
        "share_android": smoothed(eagg["android"].fillna(0), eagg["app"].fillna(0),
                                  android_prior),
        "support_per_month": eagg["support"] / espan,
        "product_views_per_month": eagg["view"] / espan})

    is_open = acc["status"] == "open"
    holds = (pd.crosstab(acc["customer_id"], acc["product"], values=is_open, aggfunc="any")
             .reindex(columns=list(PRODUCTS)).fillna(False).astype(int).add_prefix("holds_"))
    opened = acc[is_open]
    card_acc = opened[opened["product"] == "credit_card"].groupby("customer_id")[
        ["balance", "credit_limit"]].sum(min_count=1)
    accounts = pd.DataFrame({
        "products_held": opened.groupby("customer_id")["product"].nunique(),
        "deposits": opened[opened["product"].isin(["checking", "savings", "investment",
                                                    "crypto"])].groupby("customer_id")[
            "balance"].sum(),
        "card_utilisation": card_acc["balance"] / card_acc["credit_limit"].replace(0, np.nan),
    })
    has_accounts = acc.groupby("customer_id").size()
    accounts = accounts.reindex(has_accounts.index)
    accounts["deposits"] = accounts["deposits"].fillna(0.0)
    accounts["products_held"] = accounts["products_held"].fillna(0)

    c = pd.crosstab(camp["customer_id"], camp["event"])
    sent = c.get("sent", pd.Series(0, index=c.index)).replace(0, np.nan)
    campaigns = pd.DataFrame({f"campaign_{k}_rate": c.get(ev_name, 0) / sent for k, ev_name in
                              (("open", "opened"), ("click", "clicked"),
                               ("conversion", "converted"))})

    cust = cust.set_index("customer_id")
    frame = (out.join(ev_out, how="left").join(holds, how="left")
             .join(accounts, how="left").join(campaigns, how="left"))
    for col in holds.columns:
        frame[col] = frame[col].fillna(0)
    frame["products_held"] = frame["products_held"].fillna(0)
    frame["tenure_days"] = (pd.Timestamp(ref).normalize()
                            - pd.to_datetime(cust["signup_date"])).dt.days.reindex(frame.index)
    frame["days_since_last_transaction"] = (
        pd.Timestamp(ref).normalize() - last.dt.normalize()).dt.days
    frame["country"] = cust["country"].reindex(frame.index)
    return frame.reset_index()


def pandas_pipeline(wh: Warehouse, sample: int) -> pd.DataFrame:
    """Features in pandas, then the same clustering and the same trait statistics."""
    frame = pandas_features(wh, sample)
    result = cluster(frame, COLUMNS, k=8, seed=42)
    compute_traits(frame, result.labels, DESCRIBE)
    return frame


def check_same(wh: Warehouse, pandas_frame: pd.DataFrame) -> float:
    """Largest relative difference between pandas and SQL behaviour features."""
    sql = compute_features(wh, transacting_only=True, trends=False).set_index("customer_id")
    pdf = pandas_frame.set_index("customer_id")
    common = pdf.index.intersection(sql.index)
    worst = 0.0
    for name in [f.name for f in DESCRIBE]:
        a = sql.loc[common, name].astype(float).to_numpy()
        b = pdf.loc[common, name].astype(float).to_numpy()
        both = ~(np.isnan(a) | np.isnan(b))
        rel = np.abs(a[both] - b[both]) / np.maximum(np.abs(a[both]), 1e-9)
        worst = max(worst, float(rel.max()) if rel.size else 0.0)
    return worst


def bench(path: str, repeats: int, pandas_sample: int) -> dict:
    with Warehouse.open(path, read_only=True) as wh:
        customers = int(wh.scalar("SELECT count(*) FROM customers"))
        transactions = int(wh.scalar("SELECT count(*) FROM transactions"))
        runs: list = []
        t_pipe, _ = timed(lambda: runs.append(run_segmentation(wh, k=8, save=False)), repeats)
        t_auto, auto = timed(lambda: run_segmentation(wh, save=False), repeats)
        t_scan, _ = timed(lambda: plain_scan(wh), repeats)
        frame = compute_features(wh, transacting_only=True, trends=False)
        t_fit, _ = timed(lambda: cluster(frame, COLUMNS, k=8, seed=42), repeats)
        sample = pandas_sample if customers > 200_000 else 1
        pandas_repeats = 1 if sample > 1 else repeats
        t_pandas, pframe = timed(lambda: pandas_pipeline(wh, sample), pandas_repeats)
        diff = check_same(wh, pframe) if sample == 1 else float("nan")
    steps = {step: statistics.median(r.timings[step] for r in runs)
             for step in ("features", "clustering", "cards")}
    return {
        "warehouse": path, "customers": customers, "transactions": transactions,
        "pipeline k=8": t_pipe, "features": steps["features"], "clustering": steps["clustering"],
        "cards": steps["cards"], "pipeline auto k": t_auto, "auto k": auto.run.metrics["k"],
        "scan": t_scan, "fit": t_fit, "pandas": t_pandas * sample, "pandas sample": sample,
        "pandas runs": pandas_repeats, "max rel diff": diff,
    }


def report(r: dict) -> None:
    print(f"\n{r['warehouse']}: {r['customers']:,} customers, {r['transactions']:,} "
          "transactions")
    print(f"  pipeline (features + clustering + cards), k=8 : {r['pipeline k=8']:7.2f} s "
          f"(medians: features {r['features']:.2f}, clustering {r['clustering']:.2f}, cards "
          f"{r['cards']:.2f})")
    print(f"  pipeline with k chosen automatically (k={r['auto k']})  : "
          f"{r['pipeline auto k']:7.2f} s")
    print(f"  (a) plain aggregate scan of the transactions  : {r['scan']:7.2f} s")
    print(f"  (b) clustering fit alone, k=8                  : {r['fit']:7.2f} s")
    note = (f"every {r['pandas sample']}th customer, x{r['pandas sample']}, 1 run"
            if r["pandas sample"] > 1 else f"median of {r['pandas runs']}")
    print(f"  (c) pandas + scikit-learn, same features       : {r['pandas']:7.2f} s ({note})")
    if r["max rel diff"] == r["max rel diff"]:
        print(f"      pandas vs SQL features, largest relative difference: "
              f"{r['max rel diff']:.1e}")
    print(f"  pipeline vs pandas: {r['pandas'] / r['pipeline k=8']:.1f}x faster (goal >= 5x)")
    print(f"  pipeline vs scan + fit: {r['pipeline k=8'] / (r['scan'] + r['fit']):.2f}x "
          "(goal <= 3x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=list(DEFAULT))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pandas-sample", type=int, default=10)
    args = parser.parse_args()
    for path in args.paths:
        report(bench(path, args.repeats, args.pandas_sample))


if __name__ == "__main__":
    main()
