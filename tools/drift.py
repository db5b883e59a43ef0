"""Drift: has the customer base moved away from what the champion models learned?

Segmentation (the champion of a warehouse scope), against its training population:
- PSI per model feature (tools.psi; bands < 0.1 stable, 0.1-0.25 moderate, > 0.25
  significant), today's customers against the summary kept in the artifact;
- segment sizes: today's customers assigned by the champion vs the sizes at training;
- the migration matrix: where the customers of the training run are assigned today;
- stability: a refit on today's data warm-started from the champion, compared with the
  champion's assignment of the same customers: adjusted Rand index and per-segment Jaccard
  (>= 0.75 stable, < 0.6 not trustworthy).
Churn (the champion): PSI of its features and of its score distribution (today's active
customers vs its training population), and its quality on the newest labelled window (features
at today's cutoff, outcomes since) against its quality when it was trained.

Every report ends in one verdict, said in words: stable, moderate (watch), significant
(refresh recommended).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pandas as pd

from tools import psi
from tools.features import FEATURES_BY_NAME, compute_features, reference_ts
from tools.result import TableResult, ToolContext, ToolResult
from warehouse.connection import Warehouse
from warehouse.contract import ACTIVE_WINDOW_DAYS, ASSISTANT_SCHEMA
from warehouse.errors import InvalidArgument, ModelNotFound
from warehouse.lazy import lazy

mr = lazy("tools.model_registry")      # scikit-learn, skops, scipy: on first use
propensity = lazy("tools.propensity")

SIZE_POINTS = 1.0         # a segment "grew" or "shrank" when its share moved by >= 1 point ...
SIZE_RELATIVE = 0.10      # ... and by >= 10% of itself
SIZE_SIGNIFICANT = 0.25   # a move of >= 25% of itself (and >= 2 points) is significant
SIZE_Z = 3.0              # and every move must be beyond sampling noise
UNTRUSTWORTHY = 0.6       # per-segment Jaccard below this: the segment is not reproducible
AUC_DROP = 0.02           # churn quality: a drop beyond these means the model degraded
PRECISION_DROP = 0.05
LEVELS = ("stable", "moderate", "significant")


@dataclass
class DriftReport:
    kind: str
    model_id: str
    scope: str
    verdict: str                               # stable, moderate, significant
    sentences: list[str]
    tables: list[TableResult] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)


def _worst(*levels: str) -> str:
    return max(levels, key=LEVELS.index) if levels else "stable"


def _label(name: str) -> str:
    f = FEATURES_BY_NAME.get(name)
    return f.label if f else name


def _psi_words(table: pd.DataFrame, n: int = 3) -> tuple[str, str]:
    if table.empty:
        return "stable", "No feature summary was kept with this model, so PSI is not available."
    sig = table[table["band"] == "significant"]
    mod = table[table["band"] == "moderate"]
    top = table.iloc[0]
    if sig.empty and mod.empty:
        return "stable", (f"All {len(table)} features are stable (largest PSI "
                          f"{top['psi']:.3f}, {top['label']}).")
    parts = []
    if not sig.empty:
        parts.append(f"{len(sig)} shifted significantly (PSI > {psi.SIGNIFICANT}): " + ", ".join(
            f"{r.label} {r.psi:.2f}" for r in sig.head(n).itertuples()))
    if not mod.empty:
        parts.append(f"{len(mod)} moderately: " + ", ".join(
            f"{r.label} {r.psi:.2f}" for r in mod.head(n).itertuples()))
    return ("significant" if not sig.empty else "moderate"), (
        f"Of {len(table)} features, " + "; ".join(parts) + ".")


# -- segmentation ------------------------------------------------------------------------------
def segmentation_drift(wh: Warehouse, scope: str = "customers", *, refit: bool = True
                       ) -> DriftReport:
    """The segmentation champion of `scope` against today's customers (module docstring)."""
    champ = mr.require_champion(wh, "segmentation", scope)
    p = champ.params
    if p.get("table"):
        raise InvalidArgument("drift is measured for segmentations of the warehouse customers; "
                              f"{champ.model_id} segments table {p['table']}")
    art = mr.load_artifact(wh, champ)
    frame = compute_features(wh, transacting_only=True, trends=False,
                             active_only=bool(p.get("active_only")), country=p.get("country"),
                             product=p.get("product"),
                             include_protected=bool(p.get("include_protected")))
    now_as_of = frame.attrs["as_of"]
    names = {int(k): v for k, v in art["names"].items()}
    sentences = [f"Segmentation {champ.model_id} (trained on data to "
                 f"{champ.as_of:%Y-%m-%d}) against {len(frame):,} customers as of "
                 f"{now_as_of:%Y-%m-%d}."]
    table = psi.psi_table(art.get("reference", {}), frame, {n: _label(n) for n in frame})
    level_psi, words = _psi_words(table)
    sentences.append(words)
    # sizes: today's customers assigned by the champion vs the sizes it was trained with
    now = mr.assign_segments(art, frame)["segment_id"].to_numpy()
    then = {int(k): v for k, v in champ.metrics.get("sizes", {}).items()}
    total_then, total_now = max(sum(then.values()), 1), max(len(now), 1)
    counts = pd.Series(now).value_counts()
    rows = []
    for sid in sorted(set(then) | set(counts.index.astype(int))):
        a, b = then.get(sid, 0) / total_then * 100, counts.get(sid, 0) / total_now * 100
        rows.append({"segment": sid, "name": names.get(sid, ""), "share_then_pct": round(a, 2),
                     "share_now_pct": round(b, 2), "change_points": round(b - a, 2),
                     "customers_now": int(counts.get(sid, 0))})
    sizes = pd.DataFrame(rows)
    level_size = "stable"
    moves = []
    for r in sizes.sort_values("change_points", key=np.abs, ascending=False).itertuples():
        rel = abs(r.change_points) / max(r.share_then_pct, 1e-9)
        # a move must also be beyond sampling noise (two-proportion z >= SIZE_Z)
        a, b = r.share_then_pct / 100, r.share_now_pct / 100
        pooled = (a * total_then + b * total_now) / (total_then + total_now)
        se = np.sqrt(max(pooled * (1 - pooled), 1e-12) * (1 / total_then + 1 / total_now))
        if abs(r.change_points) >= SIZE_POINTS and rel >= SIZE_RELATIVE and \
                abs(b - a) / se >= SIZE_Z:
            verb = "grew" if r.change_points > 0 else "shrank"
            moves.append(f"segment {r.segment} '{r.name}' {verb} from {r.share_then_pct:.1f}% "
                         f"to {r.share_now_pct:.1f}% of customers")
            level_size = _worst(level_size, "significant" if rel >= SIZE_SIGNIFICANT and
                                abs(r.change_points) >= 2 else "moderate")
    sentences.append(("Segment sizes: " + "; ".join(moves) + ".") if moves else
                     f"No segment's share moved by {SIZE_POINTS:.0f} point or more.")
    tables = [TableResult("Features: population stability index (PSI) vs training", table),
              TableResult("Segment sizes at training and today (champion's assignment)",
                          sizes)]
    metrics = {"psi_max": float(table["psi"].max()) if len(table) else None,
               "psi_significant": int((table["band"] == "significant").sum()),
               "psi_moderate": int((table["band"] == "moderate").sum())}
    # migration of the training run's customers
    members = wh.df(f"SELECT customer_id, segment_id FROM {ASSISTANT_SCHEMA}.segment_members "
                    "WHERE run_id = ?", [champ.run_id])
    today = pd.Series(now, index=frame["customer_id"].to_numpy())
    both = members.set_index("customer_id")["segment_id"]
    common = today.index.intersection(both.index)
    if len(common):
        mig = pd.crosstab(both.loc[common].rename("then"), today.loc[common].rename("now"))
        moved = float((both.loc[common].to_numpy() != today.loc[common].to_numpy()).mean())
        flows = mig.stack()
        flows = flows[[a != b for a, b in flows.index]].sort_values(ascending=False)
        flow = (f" (largest flow: {int(flows.iloc[0]):,} from segment {flows.index[0][0]} to "
                f"{flows.index[0][1]})") if len(flows) and flows.iloc[0] > 0 else ""
        sentences.append(f"{moved:.0%} of the {len(common):,} customers segmented then are "
                         f"now nearest another segment{flow}.")
        metrics["moved_share"] = round(float(moved), 4)
        mig.index = [f"then {i}" for i in mig.index]
        mig.columns = [f"now {j}" for j in mig.columns]
        tables.append(TableResult("Migration: customers by segment at training (rows) and "
                                  "today (columns)", mig.reset_index(names="segment")))
    level_stab = "stable"
    if refit:
        from sklearn.metrics import adjusted_rand_score

        from tools.clustering import Column, cluster, raw_centers
        from tools.identity import STABLE, jaccard_matrix

        cols = [Column(n, s, w) for n, s, w in zip(art["features"], art["scales"],
                                                    art["weights"], strict=True)]
        init = raw_centers(cols, art["transform"], art["centers"])
        fit = cluster(frame, cols, seed=int(p.get("seed", 42)), init_raw=init)
        ari = adjusted_rand_score(now, fit.labels)
        jac, _ = jaccard_matrix(pd.Series(now), pd.Series(fit.labels))
        best = jac.max(axis=1)
        weak = best[best < STABLE]
        metrics["refit_ari"] = round(float(ari), 4)
        metrics["jaccard"] = {str(int(k)): round(float(v), 4) for k, v in best.items()}
        if weak.empty:
            sentences.append(f"A refit on today's data agrees with the champion (adjusted Rand "
                             f"index {ari:.2f}; every segment's Jaccard >= {STABLE}).")
        else:
            level_stab = "significant" if (weak < UNTRUSTWORTHY).any() else "moderate"
            sentences.append(f"A refit on today's data agrees with the champion on the whole "
                             f"(adjusted Rand index {ari:.2f}) but not for " + ", ".join(
                                 f"segment {int(k)} (Jaccard {v:.2f})" for k, v in weak.items())
                             + ".")
        tables.append(TableResult("Stability: best Jaccard of each champion segment with a "
                                  "refit on today's data", pd.DataFrame(
                                      {"segment": best.index.astype(int),
                                       "name": [names.get(int(i), "") for i in best.index],
                                       "jaccard": best.round(3).to_numpy()})))
    verdict = _worst(level_psi, level_size, level_stab)
    sentences.append({
        "stable": "Verdict: nothing significant has changed; the segments still describe the "
                  "customers.",
        "moderate": "Verdict: a moderate shift; worth watching, a refresh is optional "
                    "(`assistant refresh` keeps the segment ids).",
        "significant": "Verdict: a significant shift; refresh recommended (`assistant "
                       "refresh` refits and keeps the ids of segments that stayed)."}[verdict])
    metrics["verdict"] = verdict
    return DriftReport("segmentation", champ.model_id, scope, verdict, sentences, tables,
                       metrics)


# -- churn -------------------------------------------------------------------------------------
def churn_drift(wh: Warehouse, scope: str = "customers") -> DriftReport:
    """The churn champion: feature and score PSI, and quality on the newest labelled window."""
    champ = mr.require_champion(wh, "churn", scope)
    art = mr.load_artifact(wh, champ)
    include_protected = scope != "customers"
    now = compute_features(wh, active_only=True, include_protected=include_protected)
    ref = reference_ts(wh)
    sentences = [f"Churn model {champ.model_id} (version {champ.version}, trained on customers "
                 f"active at {champ.train_to:%Y-%m-%d}) against {len(now):,} customers active "
                 f"at {ref:%Y-%m-%d}."]
    reference = dict(art.get("reference", {}))
    score_ref = reference.pop("__score__", None)
    table = psi.psi_table(reference, now, {n: _label(n) for n in now})
    level_psi, words = _psi_words(table)
    sentences.append(words)
    metrics = {"psi_max": float(table["psi"].max()) if len(table) else None}
    if score_ref is not None:
        scores = propensity.predict(mr.propensity_report(art), now)
        s_psi = psi.psi(score_ref, scores)
        metrics["score_psi"] = round(s_psi, 4)
        sentences.append(f"The score distribution is {psi.band(s_psi)} (PSI {s_psi:.3f}) "
                         "compared with its training population.")
        level_psi = _worst(level_psi, psi.band(s_psi))
    cutoff = ref - timedelta(days=ACTIVE_WINDOW_DAYS)
    level_q = "stable"
    if cutoff <= champ.train_to:
        sentences.append("No outcomes newer than its training window exist yet, so its "
                         f"quality stands as measured: ROC AUC {champ.metrics['roc_auc']:.3f}, "
                         f"top-decile precision {champ.metrics['precision_top_decile']:.0%}.")
    else:
        past = compute_features(wh, as_of=cutoff, active_only=True,
                                include_protected=include_protected)
        labels = wh.df("SELECT customer_id, is_churned FROM customer_status")
        past = past.merge(labels, on="customer_id", suffixes=("", "_after"))
        y = past["is_churned_after"].astype(bool).to_numpy()
        latest = propensity.evaluation(y, propensity.predict(mr.propensity_report(art), past))
        then = champ.metrics
        d_auc = latest["roc_auc"] - then["roc_auc"]
        d_prec = latest["precision_top_decile"] - then["precision_top_decile"]
        metrics |= {"latest": latest, "auc_change": round(d_auc, 4)}
        good = d_auc > -AUC_DROP and d_prec > -PRECISION_DROP
        level_q = "stable" if good else "significant"
        sentences.append(
            f"On the newest window (customers active at {cutoff:%Y-%m-%d}, churn since) it "
            f"scores ROC AUC {latest['roc_auc']:.3f} (at training {then['roc_auc']:.3f}), "
            f"top-decile precision {latest['precision_top_decile']:.0%} (at training "
            f"{then['precision_top_decile']:.0%}), Brier {latest['brier']:.4f}: "
            + ("still good." if good else "it has degraded; retrain it (`assistant refresh` "
                                          "trains a challenger and promotes it if better)."))
    # the verdict is about the model: its quality on new outcomes when there are any; a shift
    # in its inputs alone is reported, and makes it "moderate" at most
    verdict = level_q if "latest" in metrics else (
        "moderate" if level_psi != "stable" else "stable")
    if verdict == "significant":
        sentences.append("Verdict: retrain recommended.")
    elif level_psi != "stable":
        sentences.append("Verdict: the customers have shifted, but the model "
                         + ("still ranks them well; a retrain is optional." if "latest" in
                            metrics else "cannot be judged on new outcomes yet; watch it."))
    else:
        sentences.append("Verdict: the churn model is still good.")
    metrics["verdict"] = verdict
    return DriftReport("churn", champ.model_id, scope, verdict, sentences,
                       [TableResult("Churn model features: PSI vs training", table)], metrics)


# -- the agent tool ----------------------------------------------------------------------------
def check_model_drift(ctx: ToolContext, model: str = "all") -> ToolResult:
    """Check whether the customers have changed since the models were trained (drift).

    Use this for "has anything changed since last month?", "which segments grew?", "is the
    churn model still good?", "are the segments still valid?". Compares today's customers
    with each champion model's training population (PSI per feature), segment sizes and
    movement, a refit's agreement, and the churn model's quality on the newest outcomes.

    Args:
        model: "all" (default), "segmentation" or "churn".
    """
    if model not in ("all", "segmentation", "churn"):
        raise InvalidArgument(f"model is all, segmentation or churn, not {model!r}")
    reports, missing = [], []
    for kind, fn in (("segmentation", segmentation_drift), ("churn", churn_drift)):
        if model in ("all", kind):
            try:
                reports.append(fn(ctx.wh))
            except ModelNotFound as exc:
                missing.append(str(exc))
    if not reports:
        raise ModelNotFound("; ".join(missing))
    lines = []
    for r in reports:
        lines += r.sentences
    lines += [m[0].upper() + m[1:] + "." for m in missing]
    tables = [t for r in reports for t in r.tables]
    return ToolResult(summary="\n".join(lines), tables=tables,
                      data={r.kind: {"model_id": r.model_id, "verdict": r.verdict,
                                     **r.metrics} for r in reports})
