"""A general propensity model: train, validate, evaluate on held-out rows, explain, score.

`train(X, y, features)` splits the labelled rows into train (75%) and test (25%), stratified and
seeded; inside train, a validation split (20%) compares gradient boosting
(HistGradientBoostingClassifier) with a regularised logistic regression and keeps the better by
validation ROC AUC; the winner is refitted on all training rows and evaluated once on the test
rows: ROC AUC, precision and lift in the top decile, Brier score and a calibration table.
Global drivers are permutation importances on the test rows; per-row reasons compare the score
with the score when one driver is set to its typical (median) value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from tools.features import Feature, informative_columns
from tools.naming import fmt_value
from warehouse.errors import InvalidArgument

TEST_SIZE = 0.25
VALIDATION_SIZE = 0.2
MIN_POSITIVES = 20
REASON_DRIVERS = 8      # drivers tried for per-row reasons
IMPORTANCE_ROWS = 5_000
REASON_DECILES = 3     # rows in the top 30% of scores get reasons
# One thread for the models, whatever the size. scikit-learn's OpenMP loops (gradient boosting
# splits a node in one parallel region per feature) wait at a barrier for every thread of the
# team; when other work shares the cores, one descheduled thread stalls them all. Measured on 2
# shared cores (load 7-11), 56k rows: gradient boosting 19 s on one thread, 228 s on two. The
# fitted model is the same (each feature's histogram is summed by one thread).
MODEL_THREADS = 1
MODEL_NAMES = {"gbm": "gradient boosting", "logistic": "logistic regression"}
DOMINANCE = 5.0        # a top driver this many times the next one carries the model alone
DOMINANT_MIN = 0.02    # ... when it moves the ROC AUC at least this much
# Words of feature names often known only after the outcome (a call's duration, a closing
# date, a cancellation): a driver named so gets a leakage warning.
AFTER_WORDS = frozenset({"duration", "after", "post", "closed", "closure", "close", "cancel",
                         "cancelled", "canceled", "cancellation", "end", "ended", "exit",
                         "termination", "terminated", "outcome", "result", "recovery"})


@dataclass
class Driver:
    feature: str
    label: str
    importance: float          # drop in ROC AUC when the feature is shuffled
    direction: str             # "higher" / "lower" values raise the score, or "mixed"


@dataclass
class ModelReport:
    model: object
    model_name: str
    validation_auc: dict[str, float]
    metrics: dict[str, float]
    calibration: pd.DataFrame
    drivers: list[Driver]
    features: list[Feature]
    medians: dict[str, float] = field(default_factory=dict)
    train_rows: int = 0
    test_rows: int = 0
    positive_rate: float = 0.0
    test_index: np.ndarray | None = None   # positions (in the rows given to train) held out
    left_out: list[str] = field(default_factory=list)   # features empty or constant here
    warnings: list[str] = field(default_factory=list)   # possible leakage, in words


def _candidates(seed: int) -> dict[str, object]:
    return {
        "gbm": HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1,
                                              max_leaf_nodes=15, min_samples_leaf=40,
                                              l2_regularization=1.0, early_stopping=True,
                                              validation_fraction=0.15, n_iter_no_change=20,
                                              random_state=seed),
        "logistic": make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                                  LogisticRegression(C=0.5, max_iter=2000)),
    }


def _log_inputs(X: pd.DataFrame, features: Sequence[Feature]) -> pd.DataFrame:
    """log1p of heavy-tailed inputs (helps the linear model; trees do not care)."""
    X = X.copy()
    for f in features:
        if f.scale == "log":
            X[f.name] = np.log1p(X[f.name].clip(lower=0))
    return X


def _direction(x: pd.Series, p: np.ndarray) -> str:
    """'higher' when the mean score rises with the feature (by value or quintile), 'lower' when
    it falls, 'mixed' when it does both (e.g. churn high for 1 and for 4 products)."""
    frame = pd.DataFrame({"x": x.to_numpy(), "p": p}).dropna()
    if frame["x"].nunique() < 2:
        return "mixed"
    bins = frame["x"] if frame["x"].nunique() <= 10 else pd.qcut(
        frame["x"].rank(method="first"), 5, labels=False)
    means = frame.groupby(bins)["p"].mean().to_numpy()
    steps = np.diff(means)
    tol = 0.05 * (means.max() - means.min())
    if (steps >= -tol).all():
        return "higher"
    if (steps <= tol).all():
        return "lower"
    return "mixed"


def top_decile(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """Precision among the 10% highest scores, and its lift over the base rate."""
    n = max(int(np.ceil(len(p) * 0.1)), 1)
    order = np.argsort(-p, kind="stable")[:n]
    precision = float(np.mean(y[order]))
    base = float(np.mean(y))
    return precision, (precision / base if base else float("nan"))


def evaluation(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """ROC AUC, precision and lift in the top decile, Brier score and base rate of scores `p`
    for outcomes `y` (the held-out report of every model, and of champion vs challenger)."""
    y = np.asarray(y, dtype=int)
    precision, lift = top_decile(y, p)
    auc = roc_auc_score(y, p) if 0 < y.sum() < len(y) else float("nan")
    return {
        "roc_auc": round(float(auc), 4),
        "precision_top_decile": round(precision, 4),
        "lift_top_decile": round(lift, 2),
        "brier": round(float(brier_score_loss(y, p)), 4),
        "base_rate": round(float(y.mean()), 4),
    }


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Predicted vs observed rate in score deciles of the held-out rows."""
    frame = pd.DataFrame({"y": y, "p": p})
    frame["bin"] = pd.qcut(frame["p"].rank(method="first"), q=min(bins, len(frame)),
                           labels=False)
    table = frame.groupby("bin").agg(rows=("y", "size"), predicted=("p", "mean"),
                                     observed=("y", "mean"))
    table.index = table.index + 1
    table.index.name = "score_decile_low_to_high"
    return table.reset_index().round(4)


def informative(X: pd.DataFrame, features: Sequence[Feature]
                ) -> tuple[list[Feature], list[str]]:
    """The features that carry information in X, and the names of those that do not (every
    value missing, or one value for every row: a warehouse without app events, say). A model
    cannot learn from them, and gradient boosting fails on a column without two values."""
    kept, left_out = informative_columns(X, [f.name for f in features])
    return [f for f in features if f.name in set(kept)], left_out


def train(X: pd.DataFrame, y: np.ndarray, features: Sequence[Feature], *, seed: int = 42
          ) -> ModelReport:
    """Fit and evaluate the propensity model (see the module docstring). Features without
    information in X are left out (named in `ModelReport.left_out`)."""
    features, left_out = informative(X, features)
    if not features:
        raise InvalidArgument("every feature is empty or the same for every row here, so there "
                              "is nothing to learn from: "
                              + ", ".join(left_out[:12]) + ("..." if len(left_out) > 12 else ""))
    with threadpool_limits(MODEL_THREADS):
        report = _train(X, y, features, seed)
    report.left_out = left_out
    report.warnings = leakage_warnings(report.drivers, report.metrics.get("roc_auc"))
    return report


def _name_words(name: str) -> set[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name.split("=")[0])
    return {w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w}


def leakage_warnings(drivers: Sequence[Driver], auc: float | None) -> list[str]:
    """Warnings, in words, when the model may be learning from the outcome itself: one
    feature's importance dwarfs the rest, or a top driver is named like something known only
    after the outcome (a call's duration)."""
    out = []
    if drivers and drivers[0].importance >= DOMINANT_MIN:
        top = drivers[0]
        nxt = drivers[1].importance if len(drivers) > 1 else 0.0
        if nxt <= 0 or top.importance >= DOMINANCE * nxt:
            ratio = (f"{top.importance / nxt:.0f}x the next driver's" if nxt > 0 else
                     "with no other driver near it")
            out.append(f"one feature carries the model: {top.label} ({top.feature}) moves the "
                       f"ROC AUC by {top.importance:.2f}, {ratio}. If it is known only after "
                       "the outcome (the length of the sales call, a closing date), the "
                       f"held-out AUC{f' of {auc:.2f}' if auc else ''} is too good to be true: "
                       f"leave it out (--exclude {top.feature.split('=')[0]}) and train again")
    for d in drivers[:5]:
        if _name_words(d.feature) & AFTER_WORDS and not (out and d is drivers[0]):
            out.append(f"{d.feature} is a top driver and its name suggests it is known only "
                       "after the outcome; if so, leave it out (--exclude "
                       f"{d.feature.split('=')[0]}): a model cannot use it before the fact")
    return out


def _train(X: pd.DataFrame, y: np.ndarray, features: Sequence[Feature], seed: int
           ) -> ModelReport:
    y = np.asarray(y, dtype=int)
    positives = int(y.sum())
    if positives < MIN_POSITIVES or len(y) - positives < MIN_POSITIVES:
        raise InvalidArgument(
            f"too few examples to learn from: {positives:,} positive and {len(y) - positives:,} "
            f"negative rows (at least {MIN_POSITIVES} of each are needed)")
    Xl = _log_inputs(X[[f.name for f in features]].astype("float64"), features)
    X_tr, X_te, y_tr, y_te, _, test_index = train_test_split(
        Xl, y, np.arange(len(y)), test_size=TEST_SIZE, stratify=y, random_state=seed)
    X_fit, X_val, y_fit, y_val = train_test_split(X_tr, y_tr, test_size=VALIDATION_SIZE,
                                                  stratify=y_tr, random_state=seed)
    validation = {}
    for name, model in _candidates(seed).items():
        model.fit(X_fit, y_fit)
        validation[name] = round(float(roc_auc_score(y_val, model.predict_proba(X_val)[:, 1])), 4)
    best = max(validation, key=lambda n: (validation[n], n == "gbm"))
    model = _candidates(seed)[best].fit(X_tr, y_tr)
    p = model.predict_proba(X_te)[:, 1]
    metrics = evaluation(y_te, p)
    rows = np.arange(len(X_te))
    if len(rows) > IMPORTANCE_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(len(rows), IMPORTANCE_ROWS,
                                                          replace=False))
    imp = permutation_importance(model, X_te.iloc[rows], y_te[rows], scoring="roc_auc",
                                 n_repeats=3, random_state=seed)
    drivers = []
    for j in np.argsort(-imp.importances_mean):
        if imp.importances_mean[j] <= 0.0005 or len(drivers) == 10:
            break
        f = features[j]
        drivers.append(Driver(f.name, f.label, round(float(imp.importances_mean[j]), 4),
                              _direction(X_te.iloc[:, j], p)))
    medians = {c: float(v) for c, v in Xl.median().items() if pd.notna(v)}
    return ModelReport(model=model, model_name=best, validation_auc=validation, metrics=metrics,
                       calibration=calibration_table(y_te, p), drivers=drivers,
                       features=list(features), medians=medians, train_rows=len(X_tr),
                       test_rows=len(X_te), positive_rate=round(float(y.mean()), 4),
                       test_index=np.sort(test_index))


def _show(value: float, feature: Feature) -> str:
    if feature.scale == "flag":
        return "yes" if value >= 0.5 else "no"
    return fmt_value(value, feature.unit)


def _raw(value: float, feature: Feature) -> float:
    return float(np.expm1(value)) if feature.scale == "log" else float(value)


def decile_edges(scores: np.ndarray) -> np.ndarray:
    """The nine score thresholds between deciles of a scored population, highest first: a
    later row is in decile 1 when its score is at least edges[0] (see `score`)."""
    return np.quantile(np.asarray(scores, dtype=float), np.arange(9, 0, -1) / 10)


def predict(report: ModelReport, X: pd.DataFrame) -> np.ndarray:
    """The predicted probabilities of the rows of X (raw feature values)."""
    feats = report.features
    Xl = _log_inputs(X[[f.name for f in feats]].astype("float64"), feats)
    with threadpool_limits(MODEL_THREADS):
        return report.model.predict_proba(Xl)[:, 1]


def score(report: ModelReport, X: pd.DataFrame, *, reasons: int = 3,
          explain_deciles: int = REASON_DECILES, edges: np.ndarray | None = None
          ) -> pd.DataFrame:
    """Score rows: score, decile (1 = highest 10%), and up to `reasons` reasons in words.

    Deciles rank the rows given, or, with `edges` (from `decile_edges` of an earlier scored
    population), place each row against that population, so that one customer scored alone
    still gets a meaningful decile. A reason is a driver whose value, set to the typical
    (median) value, lowers this row's score the most: "transactions in the last 90 days: 2 vs
    typical 12". Reasons explain high scores, so only rows in the top `explain_deciles` deciles
    get them (the rest: "").
    """
    with threadpool_limits(MODEL_THREADS):
        return _score(report, X, reasons, explain_deciles, edges)


def _score(report: ModelReport, X: pd.DataFrame, reasons: int, explain_deciles: int,
           edges: np.ndarray | None) -> pd.DataFrame:
    feats = report.features
    Xl = _log_inputs(X[[f.name for f in feats]].astype("float64"), feats)
    p = report.model.predict_proba(Xl)[:, 1]
    out = pd.DataFrame({"score": p.round(4)}, index=X.index)
    if edges is not None:
        out["decile"] = 1 + (p[:, None] < np.asarray(edges)[None, :]).sum(axis=1)
    else:
        ranks = pd.Series(p).rank(method="first", ascending=False).to_numpy()
        out["decile"] = np.minimum((np.ceil(ranks / len(p) * 10)).astype(int), 10)
    by_name = {f.name: f for f in feats}
    drivers = [d for d in report.drivers if d.feature in report.medians][:REASON_DRIVERS]
    if not drivers or reasons <= 0:
        out["reasons"] = ""
        return out
    explain = np.nonzero(out["decile"].to_numpy() <= explain_deciles)[0]
    if not len(explain):
        out["reasons"] = ""
        return out
    Xe = Xl.iloc[explain]
    gains = np.zeros((len(Xe), len(drivers)))
    for j, d in enumerate(drivers):
        swapped = Xe.copy()
        swapped[d.feature] = report.medians[d.feature]
        gains[:, j] = p[explain] - report.model.predict_proba(swapped)[:, 1]
    texts = [""] * len(Xl)
    values = Xe[[d.feature for d in drivers]].to_numpy()
    for i in range(len(Xe)):
        order = np.argsort(-gains[i])
        parts = []
        for j in order[:reasons]:
            if gains[i, j] <= 0.005 or np.isnan(values[i, j]):
                break
            f = by_name[drivers[j].feature]
            parts.append(f"{f.label}: {_show(_raw(values[i, j], f), f)} vs typical "
                         f"{_show(_raw(report.medians[f.name], f), f)}")
        texts[explain[i]] = "; ".join(parts)
    out["reasons"] = texts
    return out
