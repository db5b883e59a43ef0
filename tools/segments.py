"""Segmentation: features -> clustering (or RFM) -> cards -> saved run, and the agent's tools.

`run_segmentation(wh, ...)` is the pipeline the CLI, the UI and the agent tool share. Behavioural
segmentation clusters the customers who transacted in the last 12 months on the behaviour
features of tools.features (what they pay for and how, income pattern, app use, products,
balances); RFM scores them into the classic named segments; `table=` segments a user-imported
customer-level table on its numeric and categorical columns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from tools import at_scale
from tools import rfm as rfm_mod
from tools.cards import build_cards
from tools.features import (
    BEHAVIOUR,
    FEATURES,
    FEATURES_BY_NAME,
    LEFT_OUT,
    PROTECTED,
    compute_features,
    informative_columns,
    left_out_words,
    sql_ts,
    suggest,
)
from tools.naming import compare, fmt_value
from tools.result import ChartSpec, TableResult, ToolContext, ToolResult
from tools.runs import (
    SEGMENT_KINDS,
    Run,
    compare_runs,
    list_runs,
    save_segmentation,
)
from tools.segment_card import SegmentCard, load_card
from tools.table_features import load_table_features, profile_table
from warehouse.connection import Warehouse
from warehouse.contract import ASSISTANT_SCHEMA
from warehouse.errors import EmptyResult, InvalidArgument
from warehouse.lazy import lazy

_clustering = lazy("tools.clustering")   # scikit-learn: on first use

if TYPE_CHECKING:
    from tools.clustering import Clustering

Method = Literal["behaviour", "rfm"]
Progress = Callable[[str], None]


@dataclass
class Segmentation:
    run: Run
    cards: list[SegmentCard]
    clustering: Clustering | None
    members: pd.DataFrame             # key, segment_id
    excluded: int                     # customers left out (no transactions)
    notes: list[str] = field(default_factory=list)
    sql: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def _warehouse_columns(columns: list[str] | None, include_protected: bool) -> list[str]:
    if not columns:
        return list(BEHAVIOUR) + (list(PROTECTED) if include_protected else [])
    names = [c.strip() for c in columns if c.strip()]
    usable = [f.name for f in FEATURES if f.weight > 0 or f.describe]
    for name in names:
        if name not in FEATURES_BY_NAME:
            raise InvalidArgument(f"unknown feature {name!r}{suggest(name, usable)}; features "
                                  f"include {', '.join(BEHAVIOUR[:8])}, ...")
        if FEATURES_BY_NAME[name].protected and not include_protected:
            raise InvalidArgument(f"{name} is a protected attribute; it is used only when "
                                  "include_protected is set (and the run records it)")
    return names


def _check_args(method: str, table: str | None, active_only: bool, country: str | None,
                product: str | None, seed: int) -> None:
    if method not in ("behaviour", "rfm"):
        raise InvalidArgument(f"method must be 'behaviour' or 'rfm', not {method!r}")
    if table is not None and method == "rfm":
        raise InvalidArgument("RFM needs the warehouse transactions; segment a table with "
                              "method='behaviour'")
    if table is not None and (active_only or country or product):
        raise InvalidArgument("active_only, country and product filter warehouse customers; "
                              "they do not apply to a user table")
    if seed < 0:
        raise InvalidArgument(f"seed must be 0 or more, not {seed}")


def run_segmentation(wh: Warehouse, *, k: int | None = None, method: Method = "behaviour",
                     active_only: bool = False, country: str | None = None,
                     product: str | None = None, table: str | None = None,
                     columns: list[str] | None = None, include_protected: bool = False,
                     seed: int = 42, save: bool = True, session: str = "", question: str = "",
                     progress: Progress | None = None, continues: str | None = None,
                     window_days: int | None = None) -> Segmentation:
    """Segment the customers (or a user table) and, with `save`, store the run.

    `continues` (a segmentation model id, see tools.refresh) refits that model on today's data:
    warm-started from its centres on its features, new segments matched to its segments
    (tools.identity) so that ids and names carry over where membership mostly stayed.
    """
    _check_args(method, table, active_only, country, product, seed)
    if window_days is not None and (method != "rfm" or window_days < 1):
        raise InvalidArgument("window_days is the RFM window (purchases and spend in the last "
                              "N days, N >= 1); leave it out for all history, or for "
                              "behaviour segments")
    step = progress or (lambda _msg: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    params = {"method": method, "k": k, "active_only": active_only, "country": country,
              "product": product, "table": table, "columns": columns,
              "include_protected": include_protected, "seed": seed}
    if window_days is not None:
        params["window_days"] = window_days
    notes: list[str] = []
    scaled = None          # on Spark: the features stay there, `frame` is a sample of them
    if table is not None:
        step(f"Reading table {table}")
        prof = profile_table(wh, table, columns=columns, include_protected=include_protected,
                             model_inputs=True)
        frame, feats = load_table_features(wh, prof)
        key, source, excluded = "__key", prof.table, 0
        cols = [_clustering.Column(f.name, f.scale, f.weight) for f in feats]
        describe_feats = feats
        protected_used = bool(prof.protected_used)
        notes.append(f"Columns: {prof.describe()}.")
        population = f"the rows of {prof.table}"
        sql = [frame.attrs["sql"]]
        params["key"] = prof.key
    else:
        step("Computing customer features in the warehouse")
        selection = {"active_only": active_only, "country": country, "product": product,
                     "include_protected": include_protected, "trends": False}
        with_tx = bool(wh.scalar("SELECT count(*) FROM (SELECT 1 FROM transactions LIMIT 1)"))
        if not with_tx and method == "rfm":
            raise InvalidArgument("RFM scores recency, frequency and spend of transactions, and "
                                  "this warehouse has none; segment by behaviour (accounts, "
                                  "tenure) instead, or import transactions")
        if method == "rfm":
            frame, excluded = _rfm_frame(wh, selection, window_days)
            notes.append(_rfm_note(window_days, excluded))
        elif with_tx:
            try:
                # only customers with behaviour to segment; the query counts the others
                if at_scale.in_engine(wh) and continues is None:
                    scaled = at_scale.features(wh, transacting_only=True, **selection)
                    frame = scaled.frame(at_scale.segmentation_sample(scaled, k, seed))
                else:
                    frame = compute_features(wh, transacting_only=True, **selection)
            except EmptyResult:
                compute_features(wh, **selection)  # raises EmptyResult when nobody is selected
                raise InvalidArgument("none of the customers selected has a transaction in the "
                                      "last 12 months, so there is no behaviour to segment"
                                      ) from None
            excluded = frame.attrs[LEFT_OUT]
        else:
            frame = compute_features(wh, **selection)
            excluded = 0
            notes.append("The warehouse has no transactions: the segments are made from what "
                         "there is (accounts, tenure and any app or campaign events).")
        key, source = "customer_id", "customers"
        names = _warehouse_columns(columns, include_protected) if method == "behaviour" else []
        if method == "behaviour" and not columns:
            names, empty = informative_columns(frame, names)
            if not names:
                raise InvalidArgument("every behaviour feature is empty or the same for every "
                                      "customer selected, so there is nothing to segment on")
            if empty:
                notes.append(left_out_words(empty))
        cols = [_clustering.Column(n, FEATURES_BY_NAME[n].scale, FEATURES_BY_NAME[n].weight or 1.0)
                for n in names]
        describe_feats = [f for f in FEATURES if f.describe and
                          (include_protected or not f.protected)]
        protected_used = include_protected and (method == "rfm" or any(
            FEATURES_BY_NAME[n].protected for n in names))
        if excluded and method != "rfm":
            notes.append(f"{excluded:,} selected customers without any transaction in the last "
                         "12 months were left out.")
        selected = frame.attrs["filters"].describe()
        population = (("customers with transactions" if selected == "all customers" else
                       f"{selected} with transactions") if with_tx else selected)
        sql = [frame.attrs["sql"], *frame.attrs.get("rfm_sql", [])]
    timings["features"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    if method == "rfm":
        step("Scoring recency, frequency and monetary value")
        scores = rfm_mod.rfm_scores(frame)
        labels = scores["segment_id"].to_numpy()
        result = None
        names_by_id = {rfm_mod.SEGMENT_IDS[n]: n for n, _ in rfm_mod.SEGMENTS}
        meaning = dict(rfm_mod.SEGMENTS)
        card_names = {int(s): names_by_id[int(s)] for s in set(labels)}
        card_notes = {s: meaning[n] for s, n in card_names.items()}
        metrics = {"segments": len(card_names), "method": "rfm", "window_days": window_days,
                   "frequency_scoring": scores.attrs["frequency_scoring"]}
    else:
        n_rows = scaled.n if scaled else len(frame)
        step(f"Clustering {n_rows:,} {'rows' if table else 'customers'}"
             + ("" if k else " (choosing the number of segments)"))
        if k is not None and k > n_rows:
            raise InvalidArgument(f"k={k} is more segments than the {n_rows:,} "
                                  f"{'rows' if table else 'customers'} selected; use a smaller "
                                  "k or widen the filter")
        identity = None
        if continues is not None:
            result, identity, card_names = _continue(wh, continues, frame, key, seed)
            cols = result.columns
            labels = identity.relabel(result.labels)
        else:
            at = {} if scaled is None else {
                "population": scaled.n,
                "positions": at_scale.segmentation_sample(scaled, k, seed),
                "label_all": at_scale.label_all(scaled, [c.name for c in cols])}
            result = _clustering.cluster(frame, cols, k=k, seed=seed, **at)
            labels = result.labels
            card_names = None
        card_notes = None
        metrics = {"k": result.k, "k_reason": result.k_reason, "stability": result.stability,
                   "silhouette": result.silhouette, "inertia": round(result.inertia, 2),
                   "fit_rows": result.fit_rows,
                   "features": {c.name: c.weight for c in cols}}
        if identity is not None:
            metrics["continues"] = continues
            metrics["identity"] = identity.to_dict()
    timings["clustering"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    step("Describing the segments")
    members = pd.DataFrame({key: (scaled.keys() if scaled else frame[key].to_numpy()),
                            "segment_id": labels})
    run = Run(kind="rfm" if method == "rfm" else "segmentation", source_table=source,
              params=params, metrics=metrics, protected_attributes_used=protected_used,
              row_count=len(members), as_of=frame.attrs.get("as_of"), session=session,
              question=question)
    if scaled is not None:         # the cards' traits from the sample, sizes from everyone
        labels = labels[at["positions"]]
        scaled.close()
    cards = build_cards(wh, run.run_id, frame, labels, describe_feats,
                        kind="table" if table else run.kind, source_table=source, key=key,
                        population=population, warehouse_customers=table is None,
                        protected=[f.name for f in describe_feats if f.protected],
                        protected_used=protected_used, names=card_names, leads=card_notes,
                        members=members if scaled is not None else None)
    timings["cards"] = time.perf_counter() - t2
    if table is None:
        _add_value(wh, cards, members)
    run.metrics["timings"] = {k_: round(v, 3) for k_, v in timings.items()}
    if save:
        step("Saving the run")
        t3 = time.perf_counter()
        staged = None
        if result is not None:
            staged = _stage_model(wh, run, result, cards, frame,
                                  scope=segmentation_scope(params),
                                  actor=session or "assistant", question=question)
            run.metrics["model_id"] = staged.record.model_id
        try:
            save_segmentation(wh, run, cards, members, key=key, warehouse_ids=table is None,
                              also=staged.write if staged else None)
        except BaseException:
            if staged is not None:
                staged.discard()
            raise
        timings["save"] = time.perf_counter() - t3
    return Segmentation(run=run, cards=cards, clustering=result, members=members,
                        excluded=excluded, notes=notes, sql=sql, timings=timings)


def _rfm_frame(wh: Warehouse, selection: dict, window_days: int | None
               ) -> tuple[pd.DataFrame, int]:
    """The selected customers' features (for the cards) with their RFM inputs, for every
    customer who ever bought (lapsed ones too); and how many selected never bought."""
    frame = compute_features(wh, **selection)
    rfm_sql = rfm_mod.rfm_inputs_sql(sql_ts(frame.attrs["as_of"]), window_days)
    inputs = wh.df(rfm_sql)
    merged = frame.merge(inputs, on="customer_id", how="inner")
    merged.attrs = dict(frame.attrs) | {"rfm_sql": [rfm_sql]}
    if merged.empty:
        raise InvalidArgument("none of the customers selected has ever made a purchase (a "
                              "debit outside transfers, investments and fees), so there is "
                              "nothing to score")
    return merged, len(frame) - len(merged)


def _rfm_note(window_days: int | None, excluded: int) -> str:
    window = ("all history (every customer who ever bought, lapsed ones included)"
              if window_days is None else
              f"purchases and spend in the last {window_days} days (recency since the last "
              "purchase ever, so lapsed customers score low)")
    text = f"RFM window: {window}."
    if excluded:
        text += f" {excluded:,} selected customers never made a purchase and were left out."
    return text


def _continue(wh: Warehouse, model_id: str, frame: pd.DataFrame, key: str, seed: int):
    """Refit model `model_id` on `frame` warm-started from its centres, and match the new
    segments to its own: (clustering, identity, names kept for the matched stable segments)."""
    from tools import model_registry as mr
    from tools.clustering import Column, cluster, raw_centers
    from tools.identity import match_segments

    rec = mr.get_model(wh, model_id)
    art = mr.load_artifact(wh, rec)
    cols = [Column(n, sc, w) for n, sc, w in zip(art["features"], art["scales"], art["weights"],
                                                  strict=True)]
    missing = [c.name for c in cols if c.name not in frame.columns]
    if missing:
        raise InvalidArgument(f"the features {', '.join(missing)} of model {model_id} are not "
                              "computed any more; segment afresh instead of refreshing")
    init = raw_centers(cols, art["transform"], art["centers"])
    result = cluster(frame, cols, seed=seed, init_raw=init)
    old = wh.df(f"SELECT record_key, segment_id FROM {ASSISTANT_SCHEMA}.segment_members "
                "WHERE run_id = ?", [rec.run_id])
    used = {int(r[0]) for r in wh.rows(
        f"SELECT DISTINCT s.segment_id FROM {ASSISTANT_SCHEMA}.segments s JOIN "
        f"{ASSISTANT_SCHEMA}.models m ON m.run_id = s.run_id WHERE m.kind = 'segmentation' "
        "AND m.scope = ?", [rec.scope])}
    new = pd.Series(result.labels, index=frame[key].astype(str).to_numpy())
    identity = match_segments(old.set_index("record_key")["segment_id"], new, used_ids=used,
                              old_centers=np.asarray(art["centers"]),
                              old_ids=np.asarray(art["segment_ids"]),
                              new_centers=np.asarray(result.centers, dtype=np.float64))
    old_names = {int(k): v for k, v in art["names"].items()}
    names = {m.segment_id: old_names[m.old_id] for m in identity.matches
             if m.status == "stable" and m.old_id in old_names}
    return result, identity, names


def _add_value(wh: Warehouse, cards: list[SegmentCard], members: pd.DataFrame) -> None:
    """Predicted lifetime value on each card, from the latest CLV run (when there is one)."""
    from tools.clv import segment_value, value_sentence
    from tools.segment_card import REACH_LEAD

    run_id, values = segment_value(wh, members)
    for card in cards:
        value = values.get(card.segment_id)
        if not value:
            continue
        card.value = value | {"clv_run": run_id}
        text = value_sentence(value)
        head, sep, reach = card.description.partition(f" {REACH_LEAD}")
        card.description = f"{head} {text}{sep}{reach}"


def segmentation_scope(params: dict) -> str:
    """The population a behavioural segmentation describes, as a registry scope: `customers`
    for all warehouse customers with transactions, `customers where ...` for a filtered run,
    `table:NAME` for a user table. Each scope has its own champion."""
    if params.get("table"):
        return f"table:{params['table']}"
    parts = [f"{name}={params[name]}" for name in ("country", "product") if params.get(name)]
    if params.get("active_only"):
        parts.insert(0, "active")
    return "customers" + (f" where {', '.join(parts)}" if parts else "")


def _stage_model(wh: Warehouse, run: Run, result: Clustering, cards: list[SegmentCard],
                 frame: pd.DataFrame, *, scope: str, actor: str, question: str):
    """The run's fitted segmentation, staged for the registry as the scope's champion (a
    segmentation a person asked for is the one they will talk about)."""
    from datetime import timedelta

    from tools import psi
    from tools.features import LOOKBACK_DAYS
    from tools.model_registry import segmentation_artifact, stage

    names = {c.segment_id: c.name for c in cards}
    identity = run.metrics.get("identity")
    ids = None
    if identity:   # centre i is the new label i + 1; its id comes from the matching
        by_label = {m["label"]: m["segment_id"] for m in identity["matches"]}
        ids = np.array([by_label[i + 1] for i in range(len(result.centers))])
    as_of = run.as_of
    metrics = {k: run.metrics.get(k) for k in ("k", "k_reason", "silhouette", "stability",
                                               "inertia", "fit_rows")}
    metrics["sizes"] = {str(c.segment_id): c.size for c in cards}
    reference = psi.profile(frame, [c.name for c in result.columns])
    artifact = segmentation_artifact(result, names, ids, reference)
    return stage(wh, "segmentation", artifact, scope=scope,
                 run_id=run.run_id, features=[c.name for c in result.columns], metrics=metrics,
                 params=run.params, as_of=as_of, train_to=as_of,
                 train_from=as_of - timedelta(days=LOOKBACK_DAYS) if as_of else None,
                 status="champion", actor=actor,
                 note=f"asked for: {question}" if question else "a new segmentation")


# -- views for the person and the model ------------------------------------------------------------
def _trait_brief(card: SegmentCard, n: int = 2) -> str:
    return "; ".join(f"{t.label} {compare(t)}" for t in card.traits[:n])


def segments_table(cards: list[SegmentCard]) -> pd.DataFrame:
    rows = []
    for c in cards:
        rows.append({"segment": c.segment_id, "name": c.name, "customers": c.size,
                     "share": round(c.share, 4), "key traits": _trait_brief(c, 3),
                     **{f"reach_{ch}": n for ch, n in c.reach.items()}})
    return pd.DataFrame(rows)


def _protected_note(run: Run | dict) -> str:
    used = run.protected_attributes_used if isinstance(run, Run) else \
        run["protected_attributes_used"]
    return ("Protected attributes WERE used, as requested (recorded in the run)." if used else
            "Protected attributes (gender, age) were not used.")


def silhouette_words(silhouette: float) -> str:
    """The silhouette of a clustering and the space it was measured in, in words."""
    from tools.clustering import SILHOUETTE_SAMPLE

    verdict = ("the segments are well separated" if silhouette >= 0.5 else
               "the segments are fairly distinct" if silhouette >= 0.25 else
               "the segments overlap: read them as tendencies, not clear-cut groups")
    return (f"Silhouette {silhouette:.2f} (from -1 to 1; {verdict}), measured on a sample of "
            f"up to {SILHOUETTE_SAMPLE:,} of the fitted rows in the clustering space (features "
            "log-transformed where heavy-tailed, winsorised at 1% and 99%, standardised and "
            "weighted), not in the units shown on the cards.")


def segmentation_summary(seg: Segmentation) -> str:
    run, m = seg.run, seg.run.metrics
    what = (f"{run.row_count:,} rows of table {run.source_table}" if run.source_table !=
            "customers" else f"{run.row_count:,} customers")
    if run.kind == "rfm":
        scoring = m.get("frequency_scoring", "quintiles")
        how = ("into the standard RFM segments (recency and spend quintiles, frequency "
               + ("quintiles" if scoring == "quintiles" else
                  "in fixed bins, as most customers bought once") + ")")
    else:
        how = f"into {m['k']} behavioural segments; k {m['k_reason']}"
    lines = [f"Segmentation run {run.run_id}: {what} {how}."]
    if run.kind != "rfm" and m.get("silhouette") is not None:
        lines.append(silhouette_words(m["silhouette"]))
    lines += seg.notes
    for c in seg.cards:
        lines.append(f"- {c.segment_id}. {c.name}: {c.size:,} ({c.share:.0%}); "
                     f"{_trait_brief(c)}")
    lines.append(_protected_note(run))
    return "\n".join(lines)


def segment_customers(ctx: ToolContext, k: int | None = None, method: Method = "behaviour",
                      active_only: bool = False, country: str | None = None,
                      product: str | None = None, table: str | None = None,
                      columns: list[str] | None = None, include_protected: bool = False,
                      seed: int = 42, window_days: int | None = None) -> ToolResult:
    """Segment the customers by behaviour (clusters) or RFM and describe every segment.

    Use this for "segment my customers", "what kinds of customers do we have?", "RFM
    segments", or to cluster a customer-level table the user imported. Each segment gets a
    plain-language name, its size, the traits that set it apart and its consented reach. The
    run is saved; later calls can describe, compare or target its segments.

    Args:
        k: number of segments; leave empty to choose automatically (behaviour only).
        method: "behaviour" (clusters on spending, channels, app use, products) or "rfm"
            (recency-frequency-monetary segments such as Champions, At risk, Hibernating).
        active_only: only customers with a transaction in the last 90 days.
        country: only customers living in this ISO-2 country, e.g. "DE".
        product: only customers holding this product (checking, savings, credit_card,
            personal_loan, mortgage, investment, crypto).
        table: an imported customer-level table to segment instead of the warehouse customers.
        columns: the columns (of `table`) or features to cluster on; default all usable ones.
        include_protected: use protected attributes (gender, age); only when explicitly
            asked. Recorded in the run.
        seed: random seed; the same seed gives the same segments.
        window_days: RFM only: score purchases and spend of the last N days (e.g. 365);
            default all history. Lapsed customers are scored either way.
    """
    seg = run_segmentation(ctx.wh, k=k, method=method, active_only=active_only,
                           country=country, product=product, table=table, columns=columns,
                           include_protected=include_protected, seed=seed,
                           window_days=window_days,
                           session=ctx.session, question=ctx.question)
    ctx.state["last_segment_run"] = seg.run.run_id
    table_df = segments_table(seg.cards)
    return ToolResult(
        summary=segmentation_summary(seg),
        tables=[TableResult(f"Segments of run {seg.run.run_id}", table_df)],
        sql=seg.sql,
        chart=ChartSpec(kind="bar", x="name", y=["customers"], title="Customers per segment"),
        data=seg.cards,
    )


def _run_for(ctx: ToolContext, run_id: str | None) -> str | None:
    return run_id or ctx.state.get("last_segment_run")


def describe_segment(ctx: ToolContext, segment_id: int, run_id: str | None = None
                     ) -> ToolResult:
    """Describe one segment in detail: traits with effect sizes, products, countries, reach.

    Use this after a segmentation when the marketer asks about one segment ("tell me more about
    segment 3", "what do the travellers do?").

    Args:
        segment_id: the segment number shown in the segmentation.
        run_id: the segmentation run; default the latest one of this conversation, else the
            latest saved.
    """
    card = load_card(ctx.wh, _run_for(ctx, run_id), segment_id)
    traits = pd.DataFrame([{
        "trait": t.label, "segment": fmt_value(t.segment_mean, t.unit),
        "everyone": fmt_value(t.population_mean, t.unit), "statistic": t.statistic,
        "effect size (d)": t.effect_size} for t in card.traits])
    facts = []
    if card.products:
        top = sorted(card.products.items(), key=lambda kv: -kv[1])[:4]
        facts.append("Products held: " + ", ".join(f"{p} {s:.0%}" for p, s in top) + ".")
    for label, shares, n in (("Countries", card.countries, 4), ("Languages", card.languages, 3)):
        if shares:
            top = sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
            facts.append(f"{label}: " + ", ".join(f"{c} {s:.0%}" for c, s in top) + ".")
    if card.status.get("share_churned") is not None:
        facts.append(f"Churned: {card.status['share_churned']:.0%}; active: "
                     f"{card.status.get('share_active', 0):.0%}.")
    top_traits = "; ".join(f"{t.label} {compare(t)} (d={t.effect_size:+.1f})"
                           for t in card.traits[:5])
    summary = (f"Segment {card.segment_id} of run {card.run_id}: {card.name}. "
               f"{card.description} Distinguishing traits: {top_traits}. " + " ".join(facts))
    tables = [TableResult(f"What sets segment {card.segment_id} apart", traits)]
    if card.products:
        tables.append(TableResult("Share holding each product", pd.DataFrame(
            [{"product": p, "share": s} for p, s in card.products.items()])))
    return ToolResult(summary=summary, tables=tables, sql=[card.source_sql],
                      chart=ChartSpec(kind="bar", x="trait", y=["effect size (d)"],
                                      title=f"Trait profile of segment {card.segment_id}"),
                      data=card)


def list_segment_runs(ctx: ToolContext, limit: int = 10) -> ToolResult:
    """List the saved segmentation runs, newest first.

    Use this when the marketer asks which segmentations exist or wants to pick one to compare.

    Args:
        limit: how many runs to list (default 10).
    """
    if not 1 <= limit <= 200:
        raise InvalidArgument(f"limit must be between 1 and 200, not {limit}")
    runs = list_runs(ctx.wh, kinds=SEGMENT_KINDS, limit=limit)
    if runs.empty:
        return ToolResult(summary="No segmentation runs saved yet.")
    view = runs[["run_id", "kind", "created_at", "source_table", "row_count", "segments",
                 "protected_attributes_used"]]
    lines = [f"{len(view)} segmentation runs (newest first):"]
    for r in view.itertuples():
        lines.append(f"- {r.run_id}: {r.kind} of {r.source_table}, {r.row_count:,} rows, "
                     f"{r.segments} segments, {r.created_at:%Y-%m-%d %H:%M}")
    return ToolResult(summary="\n".join(lines), tables=[TableResult("Segmentation runs", view)])


def compare_segment_runs(ctx: ToolContext, run_a: str | None = None, run_b: str | None = None
                         ) -> ToolResult:
    """Compare two segmentation runs: how segment sizes moved and where customers went.

    Use this for "how have our segments changed?" or to compare a new run with an older one.

    Args:
        run_a: the earlier run; default the second latest.
        run_b: the later run; default the latest.
    """
    cmp = compare_runs(ctx.wh, run_a, run_b)
    a, b = cmp.run_a, cmp.run_b
    lines = [f"Run A {a['run_id']} ({a['row_count']:,} rows, "
             f"{(cmp.sizes['run'] == 'A').sum()} segments) vs run B {b['run_id']} "
             f"({b['row_count']:,} rows, {(cmp.sizes['run'] == 'B').sum()} segments)."]
    if cmp.common:
        lines.append(f"{cmp.common:,} customers are in both; {cmp.stayed:.0%} stayed with "
                     "their closest matching segment.")
        for src, dst, n in cmp.moves:
            lines.append(f"- {n:,} moved from A{src} to B{dst}")
    else:
        lines.append("The runs share no customers, so there is no migration matrix.")
    by_name = cmp.sizes.pivot_table(index="name", columns="run", values="size", aggfunc="sum")
    same = by_name.dropna() if {"A", "B"} <= set(by_name.columns) else pd.DataFrame()
    for name, row in same.iterrows():
        change = row["B"] - row["A"]
        if row["A"] and abs(change) / row["A"] >= 0.05:
            lines.append(f"- '{name}': {int(row['A']):,} -> {int(row['B']):,} "
                         f"({change / row['A']:+.0%})")
    tables = [TableResult("Segment sizes in both runs", cmp.sizes)]
    if not cmp.migration.empty:
        tables.append(TableResult("Customers moving from A segments (rows) to B segments "
                                  "(columns)", cmp.migration.reset_index(names="from")))
    return ToolResult(summary="\n".join(lines), tables=tables,
                      chart=ChartSpec(kind="bar", x="name", y=["size"], series="run",
                                      title="Segment sizes, run A vs run B"),
                      data={"run_a": a["run_id"], "run_b": b["run_id"], "common": cmp.common,
                            "stayed": cmp.stayed})

