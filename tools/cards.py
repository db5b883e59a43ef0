"""Segment cards: what sets each segment apart (effect sizes), in numbers and in words.

A trait's effect size is the standardised mean difference (Cohen's d) between the segment and
everybody else, computed on the same transformed scale clustering uses (log1p for counts and
amounts, winsorised at 1% / 99%; above BOUNDS_SAMPLE rows the two bounds are estimated on a
seeded sample), so one big spender does not make a segment "high spend".
What a card shows beside it is the segment's mean (shares, flags) or median (counts, amounts:
`Trait.statistic`) against the whole population's.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from tools import naming
from tools.audience import reach_sql
from tools.features import Feature
from tools.segment_card import REACH_LEAD, SegmentCard, Trait
from warehouse.connection import Warehouse
from warehouse.contract import ASSISTANT_SCHEMA, PRODUCTS

MAX_TRAITS = 8
MIN_TRAITS = 3
TRAIT_EFFECT = 0.2  # smaller standardised differences are not worth a line on a card
# One long-lived worker for the warehouse facts of the cards, so it keeps one cursor per warehouse.
_FACTS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="card-facts")
# Winsorising bounds (1% / 99% quantiles) are estimated on a seeded sample of this many rows: at
# a million customers exact quantiles of every feature were a third of the time the cards took,
# and a 100,000-row sample puts the bounds within a fraction of a percentile of the exact ones.
# Effect sizes, means and medians are still computed over every row; below this many rows
# everything is exact.
BOUNDS_SAMPLE = 100_000


def _transform(x: np.ndarray, scale: str, sample: np.ndarray | None = None) -> np.ndarray:
    """Clustering's scale: log1p for counts and amounts, winsorised at the 1% / 99% quantiles
    (of the rows in `sample` when given)."""
    x = np.asarray(x, dtype=np.float64)
    if scale == "log":
        x = np.log1p(np.clip(x, 0, None))
    if scale in ("log", "linear") and np.isfinite(x).any():
        ref = x if sample is None else x[sample]
        if not np.isfinite(ref).any():
            ref = x
        lo, hi = np.nanquantile(ref, [0.01, 0.99])
        x = np.clip(x, lo, hi)
    return x


def _group_medians(raw: np.ndarray, order: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The median of `raw` (NaN skipped) within each label, from rows sorted by label."""
    ordered = raw[order]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN group's median is NaN
        return np.array([np.nanmedian(ordered[a:b]) if b > a else np.nan
                         for a, b in itertools.pairwise(starts)])


def compute_traits(frame: pd.DataFrame, labels: np.ndarray, features: Sequence[Feature]
                   ) -> dict[int, list[Trait]]:
    """Per segment, every feature as a Trait, strongest first (by |effect size|)."""
    labels = np.asarray(labels)
    segments = np.unique(labels)
    k = int(labels.max()) + 1
    out: dict[int, list[Trait]] = {int(s): [] for s in segments}
    n_rows = len(labels)
    n_all = np.bincount(labels, minlength=k).astype(float)
    sample = (np.sort(np.random.default_rng(0).choice(n_rows, BOUNDS_SAMPLE, replace=False))
              if n_rows > BOUNDS_SAMPLE else None)
    order = np.argsort(labels, kind="stable")
    starts = np.concatenate(([0], np.cumsum(n_all.astype(np.int64))))
    for f in features:
        raw = frame[f.name].to_numpy(dtype=np.float64, na_value=np.nan)
        t = _transform(raw, f.scale, sample)
        ok = np.isfinite(t)
        if ok.all():
            lab, tv, n = labels, t, n_all
        elif ok.any():
            lab, tv = labels[ok], t[ok]
            n = np.bincount(lab, minlength=k).astype(float)
        else:
            continue
        s1 = np.bincount(lab, weights=tv, minlength=k)
        s2 = np.bincount(lab, weights=tv * tv, minlength=k)
        N, S1, S2 = n.sum(), s1.sum(), s2.sum()
        # Counts and amounts are summarised by medians, unless most customers have none
        # (median 0): then by the mean, which still says how much the segment has of it.
        pop_median = np.nan
        if f.scale == "log":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                pop_median = float(np.nanmedian(raw))
        if pop_median > 0:
            seg_stat = _group_medians(raw, order, starts)
            pop_stat = pop_median
            statistic = "median"
        else:
            rv = raw if ok.all() else raw[ok]
            if f.scale == "log":
                rv = np.clip(rv, None, np.quantile(rv, 0.99))
            seg_stat = np.bincount(lab, weights=rv, minlength=k) / np.maximum(n, 1)
            pop_stat = float(rv.mean())
            statistic = "mean"
        for s in segments:
            ns, nr = n[s], N - n[s]
            if ns < 2 or nr < 2:
                continue
            ms, mr = s1[s] / ns, (S1 - s1[s]) / nr
            vs = max((s2[s] - ns * ms * ms) / (ns - 1), 0.0)
            vr = max((S2 - s2[s] - nr * mr * mr) / (nr - 1), 0.0)
            pooled = np.sqrt(((ns - 1) * vs + (nr - 1) * vr) / (ns + nr - 2))
            d = 0.0 if pooled < 1e-12 else (ms - mr) / pooled
            out[int(s)].append(Trait(
                feature=f.name, label=f.label, segment_mean=round(float(seg_stat[s]), 4),
                population_mean=round(pop_stat, 4), effect_size=round(float(d), 3),
                unit=f.unit, statistic=statistic))
    for s in out:
        out[s].sort(key=lambda t: (-abs(t.effect_size), t.feature))
    return out


def _top(traits: list[Trait]) -> list[Trait]:
    strong = [t for t in traits if abs(t.effect_size) >= TRAIT_EFFECT][:MAX_TRAITS]
    return strong if len(strong) >= MIN_TRAITS else traits[:MIN_TRAITS]


def _shares(df: pd.DataFrame, col: str) -> dict[int, dict[str, float]]:
    out: dict[int, dict[str, float]] = {}
    for r in df.itertuples(index=False):
        out.setdefault(int(r.segment_id), {})[str(getattr(r, col))] = round(float(r.share), 4)
    return out


def _warehouse_facts(wh: Warehouse, members: pd.DataFrame) -> tuple[dict, dict, dict]:
    """Country and language shares and consented reach per segment, computed in SQL (with the
    customer state up to date, the contact rules over app events read its counters instead)."""
    from tools.realtime import state  # it imports tools.features, which cards' callers load

    answers = state.RULES if state.current(wh) else None
    wh.register("__card_members", members[["customer_id", "segment_id"]])
    try:
        shares = """SELECT m.segment_id, coalesce(c.{col}, 'unknown') AS {col},
                           count(*) / sum(count(*)) OVER (PARTITION BY m.segment_id) AS share
                    FROM __card_members m JOIN customers c USING (customer_id)
                    GROUP BY m.segment_id, 2 ORDER BY m.segment_id, share DESC, 2"""
        countries = _shares(wh.df(shares.format(col="country")), "country")
        languages = _shares(wh.df(shares.format(col="preferred_language")), "preferred_language")
        reach = {int(r.segment_id): {"email": int(r.email), "sms": int(r.sms),
                                     "push": int(r.push)}
                 for r in wh.df(reach_sql("__card_members", answers=answers)
                                ).itertuples(index=False)}
    finally:
        wh.unregister("__card_members")
    return countries, languages, reach


def _reach_sentence(reach: dict[str, int]) -> str:
    if not reach:
        return ""
    return (f"{REACH_LEAD} " + ", ".join(
        f"{n:,} by {ch if ch != 'sms' else 'SMS'}" for ch, n in reach.items()) + ".")


def _status(frame: pd.DataFrame, labels: np.ndarray) -> dict[int, dict[str, float]]:
    cols = [c for c in ("is_active", "is_churned") if c in frame.columns]
    out: dict[int, dict[str, float]] = {int(s): {} for s in np.unique(labels)}
    if cols:
        means = frame[cols].astype(float).groupby(labels).mean()
        for s, row in means.iterrows():
            out[int(s)].update({f"share_{c[3:]}": round(float(v), 4) for c, v in row.items()})
    if "days_since_last_transaction" in frame.columns:
        med = frame["days_since_last_transaction"].astype(float).groupby(labels).median()
        for s, v in med.items():
            out[int(s)]["median_days_since_last_transaction"] = (
                None if pd.isna(v) else round(float(v), 1))
    return out


def build_cards(wh: Warehouse, run_id: str, frame: pd.DataFrame, labels: np.ndarray,
                features: Sequence[Feature], *, kind: str = "segmentation",
                source_table: str = "customers", key: str = "customer_id",
                population: str = "customers segmented", warehouse_customers: bool = True,
                protected: Sequence[str] = (), protected_used: bool = False,
                names: dict[int, str] | None = None, leads: dict[int, str] | None = None,
                members: pd.DataFrame | None = None) -> list[SegmentCard]:
    """One card per segment (labels 1..k), named and described deterministically.

    `features` are the columns traits are drawn from; `protected` features never name or
    describe a segment unless `protected_used`. `names` overrides the derived names (RFM, or
    the kept names of a refresh: segments it leaves out get derived names); `notes` adds a
    sentence to a segment's description. `members` (key, segment_id of every customer) says
    that `frame` and `labels` are a sample of them (the features stayed in Spark): sizes,
    shares and the warehouse facts then come from `members`.
    """
    labels = np.asarray(labels)
    facts = None
    if warehouse_customers:
        # The warehouse facts (one query, mostly the consent rules' pass over app events) run on
        # the worker's own cursor while the traits are computed here: DuckDB releases the GIL.
        if members is None:
            members = pd.DataFrame({"customer_id": frame[key].to_numpy(), "segment_id": labels})
        facts = _FACTS.submit(_warehouse_facts, wh, members.rename(columns={key: "customer_id"}))
    traits = compute_traits(frame, labels, features)
    segments = sorted(traits)
    hide = set() if protected_used else set(protected)
    tops = {s: _top([t for t in traits[s] if t.feature not in hide]) for s in segments}
    if names is None or set(names) < set(segments):
        # derived names for the segments `names` does not name (a refresh keeps the names of
        # stable segments); a derived name never repeats a kept one
        kept = dict(names or {})
        derived = [naming.segment_name(tops[s], protected=hide) for s in segments]
        derived = naming.unique_names(derived, [tops[s] for s in segments], protected=hide)
        names = {}
        for s, name in zip(segments, derived, strict=True):
            if s in kept:
                names[s] = kept[s]
            else:
                names[s] = name if name not in kept.values() else f"{name} (new)"
    everyone = labels if members is None else members["segment_id"].to_numpy()
    sizes = pd.Series(everyone).value_counts()
    total = len(everyone)
    products: dict[int, dict[str, float]] = {s: {} for s in segments}
    holds = [f"holds_{p}" for p in PRODUCTS if f"holds_{p}" in frame.columns]
    if holds:
        means = frame[holds].astype(float).groupby(labels).mean()
        for s, row in means.iterrows():
            products[int(s)] = {c[6:]: round(float(v), 4) for c, v in row.items()}
    status = _status(frame, labels)
    countries: dict = {}
    languages: dict = {}
    reach: dict = {}
    if facts is not None:
        countries, languages, reach = facts.result()
    cards = []
    for s in segments:
        size = int(sizes[s])
        extra = _reach_sentence(reach.get(s, {}))
        cards.append(SegmentCard(
            run_id=run_id, segment_id=int(s), name=names[s],
            description=naming.describe(names[s], size, size / total, tops[s],
                                        population=population, protected=hide,
                                        lead=(leads or {}).get(s, ""), extra=extra),
            size=size, share=round(size / total, 4), traits=tops[s], products=products[s],
            reach=reach.get(s, {}), languages=dict(list(languages.get(s, {}).items())[:6]),
            countries=dict(list(countries.get(s, {}).items())[:8]),
            source_sql=(f"SELECT {'customer_id' if warehouse_customers else 'record_key'} FROM "
                        f"{ASSISTANT_SCHEMA}.segment_members WHERE run_id = '{run_id}' "
                        f"AND segment_id = {s}"),
            kind=kind, source_table=source_table, status=status.get(s, {}),
            protected_attributes_used=protected_used,
        ))
    return cards
