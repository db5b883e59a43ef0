"""Churn risk on the warehouse, and propensity on a user's own table with a target column.

Warehouse churn, with a proper time split:
- cutoff = reference date - 90 days; features are computed as of the cutoff (nothing after it,
  and no balances, which the warehouse only holds as of today);
- the rows are the customers active at the cutoff (a transaction in the 90 days before it);
- the label is the contract's definition of churned at the reference date: no transaction in
  the 90 days after the cutoff, or all accounts closed (view customer_status);
- tools.propensity trains, validates and evaluates on held-out customers;
- the currently active customers are then scored with features as of the reference date.

A run is reused instead of retrained when one exists for the same data (same reference date and
row counts), code version and settings, made in the last 7 days.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from tools import at_scale
from tools import features as feature_words
from tools.features import (
    FEATURES,
    FEATURES_BY_NAME,
    LOOKBACK_DAYS,
    compute_features,
    reference_ts,
    suggest,
)
from tools.result import ChartSpec, TableResult, ToolContext, ToolResult
from tools.runs import (
    Run,
    code_version,
    get_run,
    has_tables,
    latest_segmentation,
    latest_segmentation_cte,
    save_scores,
)
from tools.table_features import (
    flag_values,
    load_table_features,
    positive_value,
    profile_table,
    quote_ident,
)
from warehouse.connection import Warehouse
from warehouse.contract import ACTIVE_WINDOW_DAYS, ASSISTANT_SCHEMA
from warehouse.errors import InvalidArgument
from warehouse.lazy import lazy

model_registry = lazy("tools.model_registry")   # scikit-learn and skops: on first use
propensity = lazy("tools.propensity")

REUSE_DAYS = 7
# At most this many customers (a seeded sample of those in the training population) fit the
# churn model: at a million customers the fit on all 745k active ones took most of the refresh,
# and 250k rows (some 6,700 churners) leave nothing to learn; every active customer is scored.
TRAIN_ROWS = 250_000
Progress = Callable[[str], None]


@dataclass
class ScoringResult:
    run: dict                 # the runs row (params and metrics parsed)
    reused: bool
    at_risk: pd.DataFrame     # top rows for the person (no personal data)
    sql: list[str]


def _churn_features(include_protected: bool, columns: list[str] | None = None,
                    exclude: list[str] | None = None):
    """The churn model's features: every one known at the cutoff, or only `columns`, without
    `exclude` (InvalidArgument for an unknown name, a protected one without include_protected,
    or a balance, which the warehouse only holds as of today)."""
    usable = {f.name: f for f in FEATURES if not f.current_only}
    for name in [*(columns or []), *(exclude or [])]:
        f = FEATURES_BY_NAME.get(name)
        if f is None:
            raise InvalidArgument(f"unknown feature {name!r}{suggest(name, list(usable))}; "
                                  "the features are " + ", ".join(list(usable)[:12]) + ", ...")
        if f.current_only:
            raise InvalidArgument(f"{name} is known only as of today (a balance), so the churn "
                                  "model, trained as of a past cutoff, cannot use it")
        if f.protected and not include_protected and name in (columns or []):
            raise InvalidArgument(f"{name} is a protected attribute; it is used only with "
                                  "include_protected (recorded in the run)")
    chosen = [usable[n] for n in columns] if columns else list(usable.values())
    chosen = [f for f in chosen if (include_protected or not f.protected)
              and f.name not in set(exclude or [])]
    if not chosen:
        raise InvalidArgument("no features are left to learn from; name fewer in exclude")
    return chosen


def feature_choice(columns: list[str] | None, exclude: list[str] | None) -> str:
    """'' for the default features, else words for the registry scope ('without duration')."""
    parts = []
    if columns:
        parts.append("only " + ", ".join(columns))
    if exclude:
        parts.append("without " + ", ".join(exclude))
    return "; ".join(parts)


def _fingerprint(wh: Warehouse) -> dict[str, int]:
    return {t: int(wh.scalar(f"SELECT count(*) FROM {t}"))
            for t in ("customers", "accounts", "transactions", "app_events", "campaign_events")}


def _reusable(wh: Warehouse, params: dict) -> dict | None:
    if not has_tables(wh):
        return None
    since = datetime.now() - timedelta(days=REUSE_DAYS)
    rows = wh.rows(f"SELECT run_id, params FROM {ASSISTANT_SCHEMA}.runs WHERE kind = 'churn' "
                   "AND code_version = ? AND created_at >= ? ORDER BY created_at DESC",
                   [code_version(), since])
    for run_id, stored in rows:
        if json.loads(stored) == json.loads(json.dumps(params, default=str)):
            return get_run(wh, run_id, kinds=("churn",))
    return None


def _at_risk_sql(run_id: str, top_n: int, segment_id: int | None = None) -> str:
    s = ASSISTANT_SCHEMA
    only = "" if segment_id is None else f"\n  AND m.segment_id = {int(segment_id)}"
    return f"""WITH {latest_segmentation_cte()}
SELECT sc.customer_id, sc.score, sc.decile,
       seg.segment_id || ': ' || seg.name AS segment,
       array_to_string(cs.products_held, ', ') AS products_held,
       cs.days_since_last_transaction,
       round(cs.spend_90d, 2) AS spend_90d,
       cs.tenure_days,
       sc.reasons
FROM {s}.scores sc
JOIN customer_status cs ON cs.customer_id = sc.customer_id
LEFT JOIN {s}.segment_members m ON m.customer_id = sc.customer_id
     AND m.run_id = (SELECT run_id FROM latest_segmentation)
LEFT JOIN {s}.segments seg ON seg.run_id = m.run_id AND seg.segment_id = m.segment_id
WHERE sc.run_id = '{run_id}'{only}
ORDER BY sc.score DESC, sc.customer_id
LIMIT {int(top_n)}"""


def _by_segment_sql(run_id: str) -> str:
    """The churn run's scores per segment of the latest segmentation of the customers: how many
    were scored, their average predicted risk, how many are in the top decile."""
    s = ASSISTANT_SCHEMA
    return f"""WITH {latest_segmentation_cte()}
SELECT m.segment_id AS segment, seg.name AS segment_name, count(*) AS scored,
       round(100 * avg(sc.score), 2) AS average_risk_pct,
       CAST(sum(CASE WHEN sc.decile = 1 THEN 1 ELSE 0 END) AS BIGINT) AS top_decile,
       round(100 * sum(CASE WHEN sc.decile = 1 THEN 1 ELSE 0 END) / count(*), 1)
           AS top_decile_pct
FROM {s}.scores sc
LEFT JOIN {s}.segment_members m ON m.customer_id = sc.customer_id
     AND m.run_id = (SELECT run_id FROM latest_segmentation)
LEFT JOIN {s}.segments seg ON seg.run_id = m.run_id AND seg.segment_id = m.segment_id
WHERE sc.run_id = '{run_id}'
GROUP BY m.segment_id, seg.name
ORDER BY avg(sc.score) DESC, segment"""


def _pct(x: float) -> str:
    return f"{x:.1%}" if x >= 0.001 or x == 0 else f"{x:.2%}"


def segment_risk(wh: Warehouse, res: ScoringResult, seg: tuple[str, dict[int, str]],
                 segment_id: int | None) -> tuple[str, pd.DataFrame]:
    """The words and the per-segment table of a churn run read per segment."""
    seg_run, names = seg
    sql = _by_segment_sql(res.run["run_id"])
    table = wh.df(sql)
    res.sql.append(sql)
    scored = int(table["scored"].sum())
    overall = float(wh.rows(f"SELECT avg(score) FROM {ASSISTANT_SCHEMA}.scores WHERE run_id = ?",
                            [res.run["run_id"]])[0][0] or 0.0)
    known = table[table["segment"].notna()]
    outside = int(table.loc[table["segment"].isna(), "scored"].sum())
    def said(r) -> str:
        return (f"segment {int(r.segment)} ({r.segment_name}): average predicted churn risk "
                f"{r.average_risk_pct:.1f}%, {int(r.top_decile):,} of {int(r.scored):,} scored "
                f"customers in the top decile ({r.top_decile_pct:.1f}%)")
    where = (f"risk = the predicted probability of churning in the next 90 days; segmentation "
             f"run {seg_run}; overall average {_pct(overall)} over {scored:,} scored customers")
    if outside:
        where += f", {outside:,} of them in no segment of that run"
    if segment_id is not None:
        row = known[known["segment"] == segment_id]
        if row.empty:
            return (f"Segment {segment_id} ({names[segment_id]}) of {seg_run}: none of its "
                    "customers were scored (only customers active today are scored).", table)
        return f"Churn risk of {said(next(row.itertuples()))}; {where}.", table
    if known.empty:
        return (f"None of the scored customers are in a segment of {seg_run}.", table)
    ranked = list(known.itertuples())
    text = f"Churn risk by segment ({where}). Highest: {said(ranked[0])}."
    if len(ranked) > 1:
        if ranked[0].average_risk_pct == ranked[1].average_risk_pct:
            text += " (Tied with the next one.)"
        text += f" Lowest: {said(ranked[-1])}."
    return text, table


def _metrics(report: propensity.ModelReport) -> dict:
    return {
        **report.metrics,
        "model": report.model_name,
        "validation_auc": report.validation_auc,
        "calibration": report.calibration.to_dict(orient="records"),
        "drivers": [{"feature": d.feature, "label": d.label, "importance": d.importance,
                     "direction": d.direction} for d in report.drivers],
        "train_rows": report.train_rows,
        "test_rows": report.test_rows,
        "positive_rate": report.positive_rate,
        "left_out": list(report.left_out),
        "warnings": list(report.warnings),
    }


def churn_scope(include_protected: bool, columns: list[str] | None = None,
                exclude: list[str] | None = None) -> str:
    """The registry scope of a warehouse churn model: protected attributes, or another choice
    of features, make another model."""
    scope = "customers" if not include_protected else "customers (with protected attributes)"
    choice = feature_choice(columns, exclude)
    return f"{scope} [features: {choice}]" if choice else scope


# Who a churn model learns from and scores: customers active at the time (a transaction in the
# 90 days before), or, in a warehouse without transactions, customers holding an open account.
POPULATION = {"transactions": "customers active", "accounts": "customers holding an open account"}


def population(basis: str) -> dict[str, bool]:
    """compute_features' filter for the churn population of `basis` (see POPULATION)."""
    return {"active_only": True} if basis == "transactions" else {"holding_only": True}


@dataclass
class Trained:
    """A churn model trained on the latest time split, with the rows it was judged on."""

    report: propensity.ModelReport
    past: pd.DataFrame        # features as of the cutoff, customers active then
    y: np.ndarray             # churned in the 90 days after the cutoff
    cutoff: datetime
    sql: str

    @property
    def held_out(self) -> tuple[pd.DataFrame, np.ndarray]:
        idx = self.report.test_index
        return self.past.iloc[idx], self.y[idx]


def train_latest(wh: Warehouse, *, include_protected: bool = False, seed: int = 42,
                 progress: Progress | None = None, columns: list[str] | None = None,
                 exclude: list[str] | None = None) -> Trained:
    """Train the churn model on the latest time split (see the module docstring)."""
    step = progress or (lambda _msg: None)
    ref = reference_ts(wh)
    cutoff = ref - timedelta(days=ACTIVE_WINDOW_DAYS)
    step(f"Features as of the cutoff {cutoff:%Y-%m-%d}")
    basis = feature_words.churn_basis(wh)
    past = compute_features(wh, as_of=cutoff, include_protected=include_protected,
                            **population(basis))
    past_sql = past.attrs["sql"]
    labels = wh.df("SELECT customer_id, is_churned FROM customer_status")
    past = past.merge(labels, on="customer_id", suffixes=("", "_after"))
    population_n = len(past)
    if population_n > TRAIN_ROWS:
        keep = np.sort(np.random.default_rng(seed).choice(population_n, TRAIN_ROWS,
                                                          replace=False))
        past = past.iloc[keep].reset_index(drop=True)
    y = past["is_churned_after"].astype(bool).to_numpy()
    sampled = f"a seeded sample of {len(past):,} of " if len(past) < population_n else ""
    step(f"Training on {sampled}{population_n:,} {POPULATION[basis]} at the cutoff "
         f"({y.mean():.1%} churned since)")
    report = propensity.train(past, y, _churn_features(include_protected, columns, exclude),
                              seed=seed)
    return Trained(report, past, y, cutoff, past_sql)


def register_trained(wh: Warehouse, trained: Trained, *, include_protected: bool, seed: int,
                     actor: str = "assistant", status: str | None = None,
                     scope: str | None = None) -> model_registry.ModelRecord:
    """Put a trained churn model in the registry (champion if it is the first)."""
    from tools import psi

    report = trained.report
    X_te, _ = trained.held_out
    held_out_scores = propensity.predict(report, X_te)
    reference = psi.profile(trained.past, [f.name for f in report.features])
    reference["__score__"] = psi.profile(pd.DataFrame({"s": held_out_scores}), ["s"])["s"]
    artifact = model_registry.propensity_artifact(report, held_out_scores, reference)
    ref = reference_ts(wh)
    return model_registry.register(
        wh, "churn", artifact, scope=scope or churn_scope(include_protected),
        features=[f.name for f in report.features], metrics=_metrics(report),
        params={"include_protected": include_protected, "seed": seed,
                "label": "churned in the 90 days after the cutoff"},
        train_from=trained.cutoff - timedelta(days=LOOKBACK_DAYS), train_to=trained.cutoff,
        as_of=ref, actor=actor, status=status)


def score_churn(wh: Warehouse, *, top_n: int = 20, include_protected: bool = False,
                seed: int = 42, retrain: bool = False, session: str = "", question: str = "",
                progress: Progress | None = None, columns: list[str] | None = None,
                exclude: list[str] | None = None) -> ScoringResult:
    """Score the active customers with the champion churn model, training one when there is
    none; `retrain` trains a challenger on the latest time split first, promoted only when it
    beats the champion on the same held-out customers (tools.champions)."""
    from tools import champions

    step = progress or (lambda _msg: None)
    ref = reference_ts(wh)
    _churn_features(include_protected, columns, exclude)     # names checked before any work
    scope = churn_scope(include_protected, columns, exclude)
    base = {"reference_ts": ref.isoformat(), "include_protected": include_protected,
            "seed": seed, "data": _fingerprint(wh)}
    if columns or exclude:
        base["features"] = {"columns": columns, "exclude": exclude}
    champ = model_registry.champion(wh, "churn", scope)
    decision = None
    if champ is not None and not retrain:
        params = base | {"cutoff": champ.train_to.isoformat(), "model_id": champ.model_id}
        cached = _reusable(wh, params)
        if cached is not None:
            return ScoringResult(cached, True, wh.df(_at_risk_sql(cached["run_id"], top_n)),
                                 [_at_risk_sql(cached["run_id"], top_n)])
        sql = []
    else:
        trained = train_latest(wh, include_protected=include_protected, seed=seed,
                               progress=step, columns=columns, exclude=exclude)
        sql = [trained.sql]
        new = register_trained(wh, trained, include_protected=include_protected, seed=seed,
                               actor=session or "assistant", scope=scope)
        if champ is not None:
            step("Comparing the new model with the champion on the same held-out customers")
            decision = champions.challenge(wh, champ, new, trained)
        champ = model_registry.require_champion(wh, "churn", scope)
        params = base | {"cutoff": champ.train_to.isoformat(), "model_id": champ.model_id}
    artifact = model_registry.load_artifact(wh, champ)
    basis = feature_words.churn_basis(wh)
    step(f"Scoring the {POPULATION[basis]} today")
    report = model_registry.propensity_report(artifact)
    if at_scale.in_engine(wh) and basis == "transactions":   # Spark: scored on the executors
        now = at_scale.features(wh, include_protected=include_protected, **population(basis))
        scores, now_sql = at_scale.score(now, report), now.sql
        now.close()
    else:
        now = compute_features(wh, include_protected=include_protected, **population(basis))
        scores, now_sql = propensity.score(report, now), now.attrs["sql"]
        scores.insert(0, "customer_id", now["customer_id"].to_numpy())
    threshold = float(scores.loc[scores["decile"] == 1, "score"].min())
    metrics = champ.metrics | {"scored": len(scores), "top_decile_threshold": threshold,
                               "population": POPULATION[basis],
                               "scored_top_decile": int((scores["decile"] == 1).sum()),
                               "model_id": champ.model_id, "model_version": champ.version}
    if decision is not None:
        metrics["challenge"] = decision.to_dict()
    run = Run(kind="churn", source_table="customers", params=params, metrics=metrics,
              protected_attributes_used=include_protected, row_count=len(scores), as_of=ref,
              session=session, question=question)
    save_scores(wh, run, scores)
    stored = get_run(wh, run.run_id, kinds=("churn",))
    sql += [now_sql, _at_risk_sql(run.run_id, top_n)]
    return ScoringResult(stored, False, wh.df(_at_risk_sql(run.run_id, top_n)), sql)


def score_table(wh: Warehouse, table: str, target: str, *, top_n: int = 20,
                include_protected: bool = False, seed: int = 42, session: str = "",
                question: str = "", progress: Progress | None = None,
                columns: list[str] | None = None, exclude: list[str] | None = None,
                positive: str | None = None) -> ScoringResult:
    """Train a propensity model for `target` on a user table and score every row (on
    `columns` only, or without `exclude`); the event predicted is the target's `positive`
    value, or the one that says so (attrited, churned, yes, 1: positive_value)."""
    step = progress or (lambda _msg: None)
    prof = profile_table(wh, table, target=target, include_protected=include_protected,
                         columns=columns, exclude=exclude, model_inputs=True)
    target_col = next(c for c, r in prof.ignored.items() if r == "target")
    step(f"Loading {prof.table}: {prof.rows:,} rows, {prof.describe()}")
    frame, feats = load_table_features(wh, prof, extra=(target_col,))
    event = positive_value(frame[target_col], target_col, positive)
    y_all = flag_values(frame[target_col], event)
    labelled = ~np.isnan(y_all)
    step(f"Training on {labelled.sum():,} labelled rows ({np.nanmean(y_all):.1%} with "
         f"{target_col} = {event!r}, the outcome predicted)")
    report = propensity.train(frame[labelled], y_all[labelled].astype(int), feats, seed=seed)
    step("Scoring every row")
    scores = propensity.score(report, frame)
    scores.insert(0, "__key", frame["__key"].to_numpy())
    metrics = _metrics(report) | {"scored": len(scores), "profile": prof.describe(),
                                  "positive_share": round(float(np.nanmean(y_all)), 4),
                                  "ignored_columns": prof.ignored}
    params = {"table": prof.table, "target": target_col, "positive": event, "key": prof.key,
              "include_protected": include_protected, "seed": seed,
              "features": [f.name for f in feats]}
    run = Run(kind="propensity", source_table=prof.table, params=params, metrics=metrics,
              protected_attributes_used=bool(prof.protected_used), row_count=len(scores),
              session=session, question=question)
    save_scores(wh, run, scores, key="__key", warehouse_ids=False)
    stored = get_run(wh, run.run_id, kinds=("propensity",))
    # The person's list: highest scores among rows without the outcome yet, with non-PII
    # context columns (the features as they are in the table).
    context = [c for c in prof.numeric if c not in prof.protected_used][:5] + \
        [c for c in prof.categorical if c not in prof.protected_used][:2]
    view = pd.DataFrame({prof.key or "row": frame["__key"].to_numpy()})
    raw = wh.df(f"SELECT {quote_ident(prof.key) if prof.key else 'rowid'} AS __key, "
                + ", ".join(quote_ident(c) for c in context)
                + f" FROM {quote_ident(prof.table)} ORDER BY __key") if context else None
    if raw is not None:
        for c in context:
            view[c] = raw[c].to_numpy()
    view["score"] = scores["score"].to_numpy()
    view["decile"] = scores["decile"].to_numpy()
    view["reasons"] = scores["reasons"].to_numpy()
    open_rows = view[y_all != 1] if (y_all != 1).any() else view
    at_risk = open_rows.sort_values(["score"], ascending=False, kind="stable").head(top_n)
    return ScoringResult(stored, False, at_risk.reset_index(drop=True), [frame.attrs["sql"]])


def _drivers_text(metrics: dict, n: int = 4) -> str:
    drivers = metrics.get("drivers", [])[:n]
    if not drivers:
        return "no single feature stands out"
    words = {"higher": "high {}", "lower": "low {}", "mixed": "{} (not in one direction)"}
    return "; ".join(words[d["direction"]].format(d["label"]) for d in drivers)


def summary(res: ScoringResult, *, table: str | None, target: str | None) -> str:
    """The run in words: what was trained on what, how good it is, what drives the scores."""
    run, m = res.run, res.run["metrics"]
    other = "logistic" if m["model"] == "gbm" else "gbm"
    model = (f"{propensity.MODEL_NAMES[m['model']]} (validation ROC AUC "
             f"{m['validation_auc'][m['model']]:.2f} vs {m['validation_auc'][other]:.2f} for "
             f"{propensity.MODEL_NAMES[other]})")
    quality = (f"held-out ROC AUC {m['roc_auc']:.2f}, precision in the top decile "
               f"{m['precision_top_decile']:.0%} (lift {m['lift_top_decile']:.1f}x over the "
               f"base rate {m['base_rate']:.0%}), Brier score {m['brier']:.3f}")
    if table is None:
        who = m.get("population", POPULATION["transactions"])
        label = ("churned in the 90 days after" if who == POPULATION["transactions"] else
                 "every account closed in the 90 days after (the warehouse has no "
                 "transactions)")
        which = (f"the champion churn model {m['model_id']} (version {m['model_version']}), "
                 if m.get("model_id") else "model ")
        head = (f"Churn run {run['run_id']}{' (reused, same data)' if res.reused else ''}: "
                f"{which}trained on {who} at {run['params']['cutoff'][:10]}, label "
                f"= {label}; {model}; {quality}. Scored "
                f"{m['scored']:,} {who} today; {m['scored_top_decile']:,} in the top "
                f"decile (score >= {m['top_decile_threshold']:.2f}).")
        if m.get("challenge"):
            from tools.champions import Decision, words

            head += " " + words(Decision(**m["challenge"]))
    else:
        event = run["params"].get("positive")
        share = m.get("positive_share", m["base_rate"])
        predicts = (f", predicting {run['params']['target']} = {event!r} ({share:.1%} of "
                    "rows; another value with --positive)" if event is not None else "")
        head = (f"Propensity run {run['run_id']} on table {table}, target {target}"
                f"{predicts}: {model}; {quality}. Scored {m['scored']:,} rows. Columns: "
                f"{m['profile']}.")
    protected = ("Protected attributes WERE used, as requested (recorded in the run)."
                 if run["protected_attributes_used"] else
                 "Protected attributes were not used as features.")
    warn = " ".join(f"WARNING: {w[0].upper()}{w[1:]}." for w in m.get("warnings", []))
    left = feature_words.left_out_words(m.get("left_out", []),
                                        "customer" if table is None else "row")
    text = f"{head} Top drivers: {_drivers_text(m)}. {protected}" + (f" {left}" if left else "")
    return f"{text} {warn}" if warn else text


def predict_churn(ctx: ToolContext, top_n: int = 20, table: str | None = None,
                  target: str | None = None, include_protected: bool = False,
                  columns: list[str] | None = None, exclude: list[str] | None = None,
                  positive: str | None = None, by_segment: bool = False,
                  segment_id: int | None = None) -> ToolResult:
    """Predict who is likely to churn (or, on an imported table, who has a target outcome).

    Use this for "who is likely to churn?", "churn risk", "which customers might leave?", or
    for a propensity model on a table the user imported ("score bank_churn on Exited"). On the
    warehouse it trains with a time split (features before a cutoff, churn after it) or reuses
    a recent model, scores the active customers and saves the scores.

    Args:
        top_n: how many highest-risk customers to list for the person (default 20).
        table: an imported customer-level table to model instead of the warehouse.
        target: the table's yes/no outcome column to predict (required with `table`).
        include_protected: use protected attributes (gender, age) as features; only when the
            marketer explicitly asks. Recorded in the run.
        columns: train on these features (or columns of `table`) only.
        exclude: leave these features (or columns of `table`) out, e.g. one known only after
            the outcome (a call's duration).
        positive: the value of `target` that is the outcome to predict ("Attrited Customer");
            by default the one that says so (churned, attrited, yes, 1).
        by_segment: also give the churn risk per segment of the latest segmentation ("churn
            risk by segment", "which segment is most likely to churn?").
        segment_id: the churn risk of one segment of the latest segmentation, and its
            highest-risk customers ("churn risk of segment 3").
    """
    if top_n < 1 or top_n > 1000:
        raise InvalidArgument(f"top_n must be between 1 and 1000, not {top_n}")
    if (table is None) != (target is None):
        raise InvalidArgument("a propensity model on a table needs both table and target "
                              "(the yes/no column to predict)")
    if positive is not None and table is None:
        raise InvalidArgument("positive goes with table and target (the value of the target "
                              "to predict)")
    if (by_segment or segment_id is not None) and table is not None:
        raise InvalidArgument("churn risk by segment is for the warehouse's customers, not an "
                              "imported table")
    if by_segment and segment_id is not None:
        raise InvalidArgument("give by_segment or segment_id, not both")
    per_segment = by_segment or segment_id is not None
    if table is None:
        seg = latest_segmentation(ctx.wh, segment_id) if per_segment else None
        res = score_churn(ctx.wh, top_n=top_n, include_protected=include_protected,
                          session=ctx.session, question=ctx.question, columns=columns,
                          exclude=exclude)
        ctx.state["last_churn_run"] = res.run["run_id"]
        title = f"Top {len(res.at_risk)} customers at risk of churning"
        if segment_id is not None:
            sql = _at_risk_sql(res.run["run_id"], top_n, segment_id)
            res.at_risk = ctx.wh.df(sql)
            res.sql.append(sql)
            title = f"Top {len(res.at_risk)} customers of segment {segment_id} at risk of churning"
    else:
        res = score_table(ctx.wh, table, target, top_n=top_n,
                          include_protected=include_protected, session=ctx.session,
                          question=ctx.question, columns=columns, exclude=exclude,
                          positive=positive)
        ctx.state["last_propensity_run"] = res.run["run_id"]
        title = (f"Top {len(res.at_risk)} rows by predicted {target} (among rows without "
                 "it yet)")
    m = res.run["metrics"]
    calibration = pd.DataFrame(m["calibration"])
    drivers = pd.DataFrame(m["drivers"])
    tables = [TableResult(title, res.at_risk),
              TableResult("Top drivers (drop in ROC AUC when shuffled)", drivers),
              TableResult("Calibration on held-out rows", calibration)]
    chart = ChartSpec(kind="bar", x="label", y=["importance"], title="Top drivers")
    text = (f"{summary(res, table=table, target=target)} The {len(res.at_risk)} "
            "highest-risk rows, with reasons, are in the result table.")
    if table is None and per_segment:
        said, by_seg = segment_risk(ctx.wh, res, seg, segment_id)
        text = f"{said}\n\n{text}"
        if by_segment:
            tables.insert(0, TableResult("Churn risk by segment", by_seg))
            chart = ChartSpec(kind="bar", x="segment_name", y=["average_risk_pct"],
                              title="Average predicted churn risk by segment (%)")
    return ToolResult(
        summary=text,
        tables=tables,
        sql=res.sql,
        chart=chart,
        data={"run_id": res.run["run_id"], "metrics": {k: v for k, v in m.items()
                                                       if k not in ("calibration",)}},
    )
