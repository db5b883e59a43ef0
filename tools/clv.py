"""Predicted customer lifetime value on the warehouse or on a user's own transaction log.

A purchase is a day with spend: on the warehouse, spend as the contract defines it (debits
outside transfer, investment and fees); on a user table, a row with a customer, a date and a
non-negative amount (columns found by name and type, or given). Per customer, the summary
of tools.clv_model (repeat purchase days, recency, age T, mean value of the repeat days) is
computed in one SQL statement, in weeks (default) or days.

Two fits, as the published models are judged and then used:
- calibration/holdout: the models are fitted on purchases up to the calibration end (default
  the middle of the data period, with at most a year after it) and predict each customer's
  repeat purchases and spend in the holdout after it; predicted vs actual is the model's error
  report (totals, mean absolute error, the classic table by calibration frequency, and how
  much of the holdout's spend the predicted top 10% made);
- forecast: the models are refitted on every purchase up to the end of the data and predict
  per customer P(alive), expected purchases and expected spend over the next N months, saved
  with the run (assistant.clv_scores) and registered as the CLV champion.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

import numpy as np
import pandas as pd

from tools import at_scale
from tools.features import DAYS_PER_MONTH, suggest
from tools.result import ChartSpec, TableResult, ToolContext, ToolResult
from tools.runs import Run, _quote, ensure_tables, get_run, latest_segmentation, to_json
from tools.table_features import _column_types, _is_numeric, quote_ident, resolve_table, words
from warehouse.connection import Warehouse
from warehouse.contract import ASSISTANT_SCHEMA, NON_SPEND_CATEGORIES
from warehouse.errors import EmptyResult, InvalidArgument
from warehouse.lazy import lazy

cm = lazy("tools.clv_model")           # scipy: on first use
mr = lazy("tools.model_registry")      # scikit-learn, skops: on first use

S = ASSISTANT_SCHEMA
Unit = Literal["weeks", "days"]
UNIT_DAYS = {"weeks": 7.0, "days": 1.0}
MAX_HOLDOUT_DAYS = 365
PROBABLY_ALIVE = 0.5
FREQUENCY_BINS = 7        # the error table groups calibration frequencies 0..6 and 7+

SCORES_TABLE = ("clv_scores", """run_id VARCHAR NOT NULL,
    customer_id BIGINT,
    record_key VARCHAR,
    frequency INTEGER,
    recency_days INTEGER,
    age_days INTEGER,
    monetary DOUBLE,
    p_alive DOUBLE,
    expected_purchases DOUBLE,
    expected_spend DOUBLE,
    value_decile INTEGER""",
                "Predicted lifetime value per customer and CLV run (BG/NBD + Gamma-Gamma): "
                "probability still active and expected purchases and spend over the run's "
                "horizon. Join customers on customer_id.",
                {"run_id": "Run, references assistant.runs.run_id (kind clv).",
                 "customer_id": "Customer; NULL for a user table (see record_key).",
                 "record_key": "The customer key as text.",
                 "frequency": "Repeat purchase days so far (days with spend after the first).",
                 "recency_days": "Days from the first to the last purchase day.",
                 "age_days": "Days from the first purchase day to the end of the data.",
                 "monetary": "Mean spend of the repeat purchase days.",
                 "p_alive": "Probability the customer is still active (0-1).",
                 "expected_purchases": "Expected purchase days over the horizon.",
                 "expected_spend": "Expected spend over the horizon (predicted value).",
                 "value_decile": "1 = the 10% highest expected spend, 10 = the lowest."})


@dataclass(frozen=True)
class Source:
    """Where purchases come from: the warehouse transactions or a user table's columns."""

    table: str | None = None
    customer: str = "customer_id"
    date: str = "ts"
    amount: str = "amount"

    @property
    def warehouse(self) -> bool:
        return self.table is None

    def purchases_sql(self, until: date) -> str:
        """One row per customer and purchase day up to `until`: customer_id, day, value."""
        if self.warehouse:
            excluded = ", ".join(f"'{c}'" for c in NON_SPEND_CATEGORIES)
            return (f"SELECT customer_id, CAST(ts AS DATE) AS day, sum(amount) AS value\n"
                    f"    FROM transactions\n"
                    f"    WHERE direction = 'debit' AND category NOT IN ({excluded})\n"
                    f"      AND CAST(ts AS DATE) <= DATE '{until}'\n    GROUP BY ALL")
        c, d, a = (quote_ident(x) for x in (self.customer, self.date, self.amount))
        return (f"SELECT {c} AS customer_id, CAST({d} AS DATE) AS day, "
                f"sum(CAST({a} AS DOUBLE)) AS value\n    FROM {quote_ident(self.table)}\n"
                f"    WHERE {c} IS NOT NULL AND {d} IS NOT NULL AND {a} IS NOT NULL AND {a} >= 0"
                f"\n      AND CAST({d} AS DATE) <= DATE '{until}'\n    GROUP BY ALL")

    def describe(self) -> str:
        if self.warehouse:
            return "days with spend in the warehouse transactions"
        return (f"days with a purchase in table {self.table} (customer {self.customer}, date "
                f"{self.date}, amount {self.amount})")


def summary_sql(source: Source, cal_end: date, end: date, unit: Unit) -> str:
    """Per customer who purchased by `cal_end`: frequency, recency, T (in `unit`), monetary,
    and the purchases and spend in (cal_end, end] (the holdout; none when they are equal)."""
    u = UNIT_DAYS[unit]
    return f"""WITH d AS (
    {source.purchases_sql(end)}
),
cal AS (
    SELECT customer_id, min(day) AS first_day, max(day) AS last_day, count(*) AS days,
           sum(value) AS total, arg_min(value, day) AS first_value
    FROM d WHERE day <= DATE '{cal_end}'
    GROUP BY customer_id
),
hold AS (
    SELECT customer_id, count(*) AS holdout_purchases, sum(value) AS holdout_spend
    FROM d WHERE day > DATE '{cal_end}'
    GROUP BY customer_id
)
SELECT cal.customer_id,
       cal.days - 1 AS frequency,
       date_diff('day', cal.first_day, cal.last_day) / {u} AS recency,
       date_diff('day', cal.first_day, DATE '{cal_end}') / {u} AS "T",
       CASE WHEN cal.days > 1 THEN (cal.total - cal.first_value) / (cal.days - 1) ELSE 0 END
           AS monetary,
       coalesce(hold.holdout_purchases, 0) AS holdout_purchases,
       coalesce(hold.holdout_spend, 0) AS holdout_spend
FROM cal LEFT JOIN hold USING (customer_id)
ORDER BY cal.customer_id"""


def _guess(types: dict[str, str], given: str | None, what: str, test) -> str:
    if given:
        names = {n.lower(): n for n in types}
        if given.lower() not in names:
            raise InvalidArgument(f"no column {given!r} in the table{suggest(given, types)}; "
                                  f"its columns are {', '.join(types)}")
        return names[given.lower()]
    found = [n for n, t in types.items() if test(n, t)]
    if len(found) != 1:
        raise InvalidArgument(f"say which column holds the {what} (found "
                              f"{', '.join(found) if found else 'none'}); columns: "
                              f"{', '.join(types)}")
    return found[0]


def resolve_source(wh: Warehouse, table: str | None, customer: str | None = None,
                   date_column: str | None = None, amount: str | None = None) -> Source:
    """The warehouse, or a user table with its customer, date and amount columns (found by
    name and type when not given)."""
    if table is None:
        if customer or date_column or amount:
            raise InvalidArgument("customer, date and amount columns apply to a table; the "
                                  "warehouse uses its transactions")
        return Source()
    name = resolve_table(wh, table)
    types = _column_types(wh, name)
    cust = _guess(types, customer, "customer key",
                  lambda n, t: bool({"customer", "cust", "client", "user", "member", "buyer"}
                                    & set(words(n))) or words(n) in (["id"], ["customer"]))
    day = _guess(types, date_column, "purchase date",
                 lambda n, t: t.startswith(("DATE", "TIMESTAMP")))
    amt = _guess(types, amount, "purchase amount",
                 lambda n, t: _is_numeric(t) and bool(
                     {"amount", "value", "spend", "revenue", "price", "total", "sales",
                      "dollar", "dollars", "sum"} & set(words(n))))
    if not types[day].startswith(("DATE", "TIMESTAMP", "VARCHAR")):
        raise InvalidArgument(f"column {day} holds {types[day]}, not dates")
    if not _is_numeric(types[amt]):
        raise InvalidArgument(f"column {amt} holds {types[amt]}, not amounts")
    return Source(name, cust, day, amt)


def _period(wh: Warehouse, source: Source) -> tuple[date, date]:
    if source.warehouse:
        row = wh.rows("SELECT min(ts)::DATE, max(ts)::DATE FROM transactions")[0]
    else:
        d = quote_ident(source.date)
        try:
            row = wh.rows(f"SELECT min(CAST({d} AS DATE)), max(CAST({d} AS DATE)) FROM "
                          f"{quote_ident(source.table)}")[0]
        except Exception as exc:
            raise InvalidArgument(f"column {source.date} does not read as dates "
                                  f"({str(exc).splitlines()[0][:120]})") from None
    if row[0] is None:
        raise EmptyResult("there are no purchases to learn from")
    return row[0], row[1]


def default_calibration_end(start: date, end: date) -> date:
    """The middle of the period, with at most MAX_HOLDOUT_DAYS after it."""
    span = (end - start).days
    return end - timedelta(days=min(span // 2, MAX_HOLDOUT_DAYS))


def _parse_date(text: str | date | None) -> date | None:
    if text is None or isinstance(text, date):
        return text
    try:
        return datetime.strptime(str(text).strip()[:10], "%Y-%m-%d").date()
    except ValueError:
        raise InvalidArgument(f"dates are YYYY-MM-DD, not {text!r}") from None


# -- fitting ---------------------------------------------------------------------------------------
@dataclass
class Fit:
    bg: cm.BGNBD
    gg: cm.GammaGamma | None
    summary: pd.DataFrame


def fit_summary(summary: pd.DataFrame) -> Fit:
    if summary.empty:
        raise EmptyResult("no customer purchased in the period, so there is nothing to fit")
    bg = cm.fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
    repeat = summary[summary["frequency"] > 0]
    gg = None
    if len(repeat) >= 10 and (repeat["monetary"] > 0).all():
        gg = cm.fit_gamma_gamma(repeat["frequency"], repeat["monetary"])
    elif len(repeat) >= 10:
        pos = repeat[repeat["monetary"] > 0]
        gg = cm.fit_gamma_gamma(pos["frequency"], pos["monetary"]) if len(pos) >= 10 else None
    return Fit(bg, gg, summary)


def holdout_report(fit: Fit, holdout: float) -> tuple[dict, pd.DataFrame]:
    """Predicted vs actual in the holdout: figures and the table by calibration frequency."""
    s = fit.summary
    pred = cm.predict(fit.bg, fit.gg, s, holdout)
    actual, predicted = s["holdout_purchases"].to_numpy(float), \
        pred["expected_purchases"].to_numpy()
    metrics = {
        "customers": len(s),
        "actual_purchases": float(actual.sum()),
        "predicted_purchases": round(float(predicted.sum()), 1),
        "purchases_error_pct": round(float((predicted.sum() - actual.sum()) /
                                           max(actual.sum(), 1) * 100), 2),
        "mae_purchases": round(float(np.abs(predicted - actual).mean()), 4),
        "rmse_purchases": round(float(np.sqrt(((predicted - actual) ** 2).mean())), 4),
        "correlation": round(float(np.corrcoef(predicted, actual)[0, 1]), 4)
        if actual.std() and predicted.std() else None,
        "alive_then_active_share": None,
    }
    if "expected_spend" in pred:
        spend_a, spend_p = s["holdout_spend"].to_numpy(float), pred["expected_spend"].to_numpy()
        top = np.argsort(-spend_p, kind="stable")[: max(len(s) // 10, 1)]
        metrics |= {
            "actual_spend": round(float(spend_a.sum()), 2),
            "predicted_spend": round(float(spend_p.sum()), 2),
            "spend_error_pct": round(float((spend_p.sum() - spend_a.sum()) /
                                           max(spend_a.sum(), 1e-9) * 100), 2),
            "mae_spend": round(float(np.abs(spend_p - spend_a).mean()), 2),
            "top_decile_spend_share": round(float(spend_a[top].sum() /
                                                  max(spend_a.sum(), 1e-9)), 4),
        }
    alive = pred["p_alive"].to_numpy() >= PROBABLY_ALIVE
    if alive.any():
        metrics["alive_then_active_share"] = round(float((actual[alive] > 0).mean()), 4)
        metrics["dead_then_active_share"] = (round(float((actual[~alive] > 0).mean()), 4)
                                             if (~alive).any() else None)
    bins = np.minimum(s["frequency"].to_numpy(int), FREQUENCY_BINS)
    table = pd.DataFrame({"bin": bins, "actual": actual, "predicted": predicted}).groupby(
        "bin").agg(customers=("actual", "size"), actual=("actual", "mean"),
                   predicted=("predicted", "mean")).reset_index()
    table["calibration repeat purchases"] = [f"{b}+" if b == FREQUENCY_BINS else str(b)
                                             for b in table["bin"]]
    table = table[["calibration repeat purchases", "customers", "actual", "predicted"]].round(3)
    return metrics, table


@dataclass
class ClvResult:
    run: dict
    calibration: Fit | None
    holdout: dict
    by_frequency: pd.DataFrame
    forecast: Fit
    scores: pd.DataFrame           # key, summary, predictions, value_decile
    top: pd.DataFrame
    sql: list[str] = field(default_factory=list)
    reused: bool = False


def _deciles(values: np.ndarray) -> np.ndarray:
    ranks = pd.Series(values).rank(method="first", ascending=False).to_numpy()
    return np.minimum(np.ceil(ranks / max(len(values), 1) * 10), 10).astype(int)


def artifact(fit: Fit, unit: Unit, horizon_months: int) -> dict:
    return {"bgnbd": {k: float(v) for k, v in fit.bg.to_dict().items()},
            "gamma_gamma": ({k: float(v) for k, v in fit.gg.to_dict().items()}
                            if fit.gg else {}),
            "unit": unit, "horizon_months": int(horizon_months),
            "features": ["frequency", "recency", "T", "monetary"]}


def predict_from_artifact(art: dict, summary: pd.DataFrame, horizon_months: int | None = None
                          ) -> pd.DataFrame:
    """Per customer predictions from a CLV artifact and summaries in the artifact's unit
    (pure; columns frequency, recency, T, monetary)."""
    bg = cm.BGNBD(**art["bgnbd"])
    gg = cm.GammaGamma(**art["gamma_gamma"]) if art.get("gamma_gamma") else None
    months = horizon_months or art["horizon_months"]
    return cm.predict(bg, gg, summary, months * DAYS_PER_MONTH / UNIT_DAYS[art["unit"]])


def fit_clv(wh: Warehouse, *, table: str | None = None, customer: str | None = None,
            date_column: str | None = None, amount: str | None = None,
            calibration_end: str | date | None = None, unit: Unit = "weeks",
            horizon_months: int = 12, holdout: bool = True, top_n: int = 20,
            save: bool = True, reuse: bool = True, session: str = "", question: str = "",
            progress=None) -> ClvResult:
    """Fit, evaluate on the holdout, forecast per customer and (with `save`) store the run.

    With `reuse`, a run made in the last REUSE_DAYS on the same data with the same settings
    is returned instead of refitting (`reused` is then true)."""
    step = progress or (lambda _msg: None)
    if unit not in UNIT_DAYS:
        raise InvalidArgument(f"the time unit is weeks or days, not {unit!r}")
    if not 1 <= horizon_months <= 120:
        raise InvalidArgument(f"the horizon is 1 to 120 months, not {horizon_months}")
    source = resolve_source(wh, table, customer, date_column, amount)
    start, end = _period(wh, source)
    cal_end = _parse_date(calibration_end)
    data = _fingerprint(wh, source)
    if save and reuse:
        cached = _reusable(wh, source, data, unit, horizon_months, cal_end, holdout, top_n)
        if cached is not None:
            return cached
    sql = []
    calibration, report, by_freq = None, {}, pd.DataFrame()
    if holdout or cal_end is not None:
        cal_end = cal_end or default_calibration_end(start, end)
        if not start < cal_end < end:
            raise InvalidArgument(f"the calibration end must fall inside the data period "
                                  f"({start} to {end}), not {cal_end}")
        step(f"Fitting on purchases up to {cal_end}, testing on the {(end - cal_end).days} days "
             "after")
        q = summary_sql(source, cal_end, end, unit)
        sql.append(q)
        calibration = fit_summary(wh.df(q))
        report, by_freq = holdout_report(calibration, (end - cal_end).days / UNIT_DAYS[unit])
        report |= {"calibration_end": cal_end.isoformat(), "holdout_end": end.isoformat(),
                   "holdout_days": (end - cal_end).days}
    step(f"Fitting on every purchase up to {end} and forecasting {horizon_months} months")
    q = summary_sql(source, end, end, unit)
    sql.append(q)
    horizon = horizon_months * DAYS_PER_MONTH / UNIT_DAYS[unit]
    if at_scale.in_engine(wh):     # Spark: fit on a sample, every customer scored there
        forecast, s, pred = _forecast_in_engine(wh, q, horizon)
    else:
        forecast = fit_summary(wh.df(q))
        s = forecast.summary
        pred = cm.predict(forecast.bg, forecast.gg, s, horizon)
    scores = pd.DataFrame({
        "customer_id": s["customer_id"].to_numpy(),
        "frequency": s["frequency"].astype(int).to_numpy(),
        "recency_days": np.rint(s["recency"].to_numpy() * UNIT_DAYS[unit]).astype(int),
        "age_days": np.rint(s["T"].to_numpy() * UNIT_DAYS[unit]).astype(int),
        "monetary": s["monetary"].round(2).to_numpy(),
        "p_alive": pred["p_alive"].round(4).to_numpy(),
        "expected_purchases": pred["expected_purchases"].round(3).to_numpy(),
        "expected_spend": (pred["expected_spend"].round(2).to_numpy() if "expected_spend" in
                           pred else np.full(len(s), np.nan)),
    })
    scores["value_decile"] = _deciles(np.nan_to_num(scores["expected_spend"].to_numpy(),
                                                    nan=0.0))
    params = {"table": source.table, "customer": source.customer, "date": source.date,
              "amount": source.amount, "unit": unit, "horizon_months": horizon_months,
              "calibration_end": cal_end.isoformat() if cal_end else None,
              "data_start": start.isoformat(), "data_end": end.isoformat(), "data": data,
              "holdout": holdout or cal_end is not None}
    metrics = _metrics(calibration, report, forecast, scores, horizon_months)
    metrics["holdout_by_frequency"] = by_freq.to_dict(orient="records")
    run = Run(kind="clv", source_table=source.table or "customers", params=params,
              metrics=metrics, row_count=len(scores),
              as_of=datetime.combine(end, datetime.min.time()), session=session,
              question=question)
    if save:
        step("Saving the forecast and registering the model")
        _save(wh, run, scores, forecast, source, unit, horizon_months, metrics, start, end,
              actor=session or "assistant")
    stored = get_run(wh, run.run_id, kinds=("clv",)) if save else _run_dict(run)
    top = scores.sort_values(["expected_spend", "customer_id"], ascending=[False, True],
                             kind="stable").head(top_n).reset_index(drop=True)
    if not source.warehouse:
        top = top.rename(columns={"customer_id": source.customer})
    return ClvResult(stored, calibration, report, by_freq, forecast, scores, top, sql)


def _forecast_in_engine(wh, sql: str, horizon: float
                        ) -> tuple[Fit, pd.DataFrame, pd.DataFrame]:
    """The forecast fit and predictions with the summaries kept in the engine (Spark): the
    fit reads the seeded sample clv_model would draw (every customer up to its FIT_SAMPLE),
    the predictions are computed for every customer on the executors. Returns the fit, the
    summaries and the predictions of every customer (in customer order)."""
    rows = wh.rows_of(sql, key="customer_id")
    try:
        n = rows.count()
        if n == 0:
            raise EmptyResult("no customer purchased in the period, so there is nothing to fit")
        positions = cm._sample(n)
        fit = fit_summary(rows.to_pandas() if positions is None else rows.take(positions))
        bg, gg = fit.bg, fit.gg
        summary_cols = ["frequency", "recency", "T", "monetary"]
        predicted = ["p_alive", "expected_purchases", "expected_spend"]

        from tools import clv_model as model  # the real module: the closure is pickled

        def batch(frame: pd.DataFrame) -> pd.DataFrame:
            out = model.predict(bg, gg, frame, horizon)
            if "expected_spend" not in out:
                out["expected_spend"] = np.nan
            return pd.concat([frame[summary_cols].astype("float64").reset_index(drop=True),
                              out[predicted].reset_index(drop=True)], axis=1)

        out = rows.map(batch, dict.fromkeys(summary_cols + predicted, "float"))
    finally:
        rows.close()
    out["frequency"] = out["frequency"].astype(int)
    summary = out[["customer_id", *summary_cols]]
    pred = out[predicted] if gg is not None else out[predicted[:2]]
    return fit, summary, pred


REUSE_DAYS = 7


def _fingerprint(wh: Warehouse, source: Source) -> dict:
    table = "transactions" if source.warehouse else quote_ident(source.table)
    return {"rows": int(wh.scalar(f"SELECT count(*) FROM {table}"))}


def _reusable(wh: Warehouse, source: Source, data: dict, unit: str, horizon_months: int,
              cal_end: date | None, holdout: bool, top_n: int) -> ClvResult | None:
    """A recent run on the same data and settings, read back from the warehouse."""
    if not wh.has_table("clv_scores", S):
        return None
    since = datetime.now() - timedelta(days=REUSE_DAYS)
    rows = wh.rows(f"SELECT run_id, params FROM {S}.runs WHERE kind = 'clv' AND source_table = ? "
                   "AND created_at >= ? ORDER BY created_at DESC, run_id DESC",
                   [source.table or "customers", since])
    for run_id, stored in rows:
        p = json.loads(stored)
        same = (p.get("data") == data and p.get("unit") == unit and
                p.get("horizon_months") == horizon_months and p.get("customer") ==
                source.customer and p.get("date") == source.date and
                p.get("amount") == source.amount and
                (cal_end is None or p.get("calibration_end") == cal_end.isoformat()) and
                p.get("holdout") == (holdout or cal_end is not None))
        if not same:
            continue
        run = get_run(wh, run_id, kinds=("clv",))
        scores = wh.df(f"SELECT * EXCLUDE (run_id, record_key) FROM {S}.clv_scores "
                       "WHERE run_id = ? ORDER BY customer_id", [run_id])
        if not source.warehouse:
            keys = wh.df(f"SELECT record_key FROM {S}.clv_scores WHERE run_id = ? "
                         "ORDER BY customer_id", [run_id])
            scores["customer_id"] = keys["record_key"].to_numpy()
        top = scores.sort_values(["expected_spend", "customer_id"], ascending=[False, True],
                                 kind="stable").head(top_n).reset_index(drop=True)
        if not source.warehouse:
            top = top.rename(columns={"customer_id": source.customer})
        m = run["metrics"]
        fit = Fit(cm.BGNBD(**m["bgnbd"]), cm.GammaGamma(**m["gamma_gamma"]) if
                  m.get("gamma_gamma") else None, pd.DataFrame())
        by_freq = pd.DataFrame(m.get("holdout_by_frequency") or [])
        return ClvResult(run, None, m.get("holdout") or {}, by_freq, fit, scores, top, [],
                         reused=True)
    return None


def _run_dict(run: Run) -> dict:
    return {"run_id": run.run_id, "kind": run.kind, "params": run.params,
            "metrics": json.loads(to_json(run.metrics)), "row_count": run.row_count,
            "source_table": run.source_table}


def _metrics(calibration: Fit | None, report: dict, forecast: Fit, scores: pd.DataFrame,
             horizon_months: int) -> dict:
    spend = np.nan_to_num(scores["expected_spend"].to_numpy(), nan=0.0)
    top = np.sort(spend)[::-1][: max(len(spend) // 10, 1)]
    out = {
        "bgnbd": forecast.bg.to_dict(),
        "gamma_gamma": forecast.gg.to_dict() if forecast.gg else None,
        "calibration_bgnbd": calibration.bg.to_dict() if calibration else None,
        "calibration_gamma_gamma": (calibration.gg.to_dict() if calibration and calibration.gg
                                    else None),
        "holdout": report,
        "customers": len(scores),
        "repeat_customers": int((scores["frequency"] > 0).sum()),
        "probably_alive": int((scores["p_alive"] >= PROBABLY_ALIVE).sum()),
        "expected_alive": round(float(scores["p_alive"].sum()), 1),
        "expected_purchases": round(float(scores["expected_purchases"].sum()), 1),
        "expected_spend": round(float(spend.sum()), 2),
        "top_decile_spend_share": round(float(top.sum() / spend.sum()), 4) if spend.sum()
        else None,
        "horizon_months": horizon_months,
    }
    return out


def _save(wh: Warehouse, run: Run, scores: pd.DataFrame, forecast: Fit, source: Source,
          unit: Unit, horizon_months: int, metrics: dict, start: date, end: date,
          actor: str) -> None:
    from tools.runs import _insert_run

    ensure_tables(wh)
    name, columns, comment, col_comments = SCORES_TABLE
    with wh.transaction() as cur:
        cur.execute(f"CREATE TABLE IF NOT EXISTS {S}.{name} (\n    {columns}\n)")
        cur.execute(f"COMMENT ON TABLE {S}.{name} IS {_quote(comment)}")
        for col, text in col_comments.items():
            cur.execute(f"COMMENT ON COLUMN {S}.{name}.{col} IS {_quote(text)}")
    scope = "customers" if source.warehouse else f"table:{source.table}"
    staged = mr.stage(
        wh, "clv", artifact(forecast, unit, horizon_months), scope=scope, run_id=run.run_id,
        features=["frequency", "recency", "T", "monetary"],
        metrics={k: v for k, v in metrics.items() if k != "holdout"} | {
            "holdout": metrics.get("holdout")},
        params=run.params, train_from=datetime.combine(start, datetime.min.time()),
        train_to=datetime.combine(end, datetime.min.time()), as_of=run.as_of,
        status="champion", actor=actor, note="fitted on every purchase to the end of the data")
    run.metrics["model_id"] = staged.record.model_id
    rows = scores.copy()
    rows.insert(0, "run_id", run.run_id)
    rows.insert(2, "record_key", rows["customer_id"].astype(str))
    if not source.warehouse:
        rows["customer_id"] = pd.array([None] * len(rows), dtype="Int64")
    try:
        with wh.transaction() as cur:
            _insert_run(cur, run)
            cur.register("__clv", rows)
            try:
                cur.execute(f"INSERT INTO {S}.clv_scores BY NAME SELECT * FROM __clv")
            finally:
                cur.unregister("__clv")
            staged.write(cur)
    except BaseException:
        staged.discard()
        raise


def latest_clv_run(wh: Warehouse, source_table: str = "customers") -> str | None:
    """The latest CLV run of the warehouse customers (or a table), or None."""
    if not wh.has_table("clv_scores", S):
        return None
    rows = wh.rows(f"SELECT run_id FROM {S}.runs WHERE kind = 'clv' AND source_table = ? "
                   "ORDER BY created_at DESC, run_id DESC LIMIT 1", [source_table])
    return rows[0][0] if rows else None


def segment_value(wh: Warehouse, members: pd.DataFrame) -> tuple[str | None, dict]:
    """Predicted value per segment from the latest CLV run of the warehouse customers:
    (run id, {segment_id: {customers, expected_spend, p_alive, top_decile_share, ...}}).
    `members` has customer_id and segment_id; (None, {}) when there is no CLV run."""
    run_id = latest_clv_run(wh)
    if run_id is None or members.empty:
        return None, {}
    horizon = json.loads(wh.scalar(f"SELECT params FROM {S}.runs WHERE run_id = ?",
                                   [run_id]))["horizon_months"]
    wh.register("__seg_members", members[["customer_id", "segment_id"]])
    try:
        rows = wh.df(f"""SELECT m.segment_id, count(v.customer_id) AS customers,
                                avg(v.expected_spend) AS expected_spend,
                                avg(v.p_alive) AS p_alive,
                                avg((v.value_decile = 1)::INTEGER) AS top_decile_share
                         FROM __seg_members m
                         LEFT JOIN {S}.clv_scores v ON v.customer_id = m.customer_id
                              AND v.run_id = ?
                         GROUP BY m.segment_id""", [run_id])
        overall = wh.scalar(f"SELECT avg(expected_spend) FROM {S}.clv_scores WHERE run_id = ?",
                            [run_id])
    finally:
        wh.unregister("__seg_members")
    out = {}
    for r in rows.itertuples():
        if not r.customers:
            continue
        out[int(r.segment_id)] = {
            "customers": int(r.customers), "expected_spend": round(float(r.expected_spend), 2),
            "p_alive": round(float(r.p_alive), 4),
            "top_decile_share": round(float(r.top_decile_share), 4),
            "vs_average": round(float(r.expected_spend) / overall, 2) if overall else None,
            "horizon_months": horizon}
    return run_id, out


def _value_by_segment(wh: Warehouse, seg: tuple[str, dict[int, str]], segment_id: int | None,
                      months: int) -> tuple[str, pd.DataFrame]:
    """The latest CLV run per segment of the latest segmentation: words and a table."""
    seg_run, names = seg
    members = wh.df(f"SELECT customer_id, segment_id FROM {S}.segment_members WHERE run_id = ?",
                    [seg_run])
    _, values = segment_value(wh, members)
    table = pd.DataFrame([{"segment": sid, "segment_name": names.get(sid, ""),
                           "customers": v["customers"], "expected_spend": v["expected_spend"],
                           "vs_average": v["vs_average"],
                           "p_alive_pct": round(100 * v["p_alive"], 1),
                           "top_decile_pct": round(100 * v["top_decile_share"], 1)}
                          for sid, v in values.items()],
                         columns=["segment", "segment_name", "customers", "expected_spend",
                                  "vs_average", "p_alive_pct", "top_decile_pct"])
    table = table.sort_values(["expected_spend", "segment"], ascending=[False, True],
                              ignore_index=True)

    def said(sid: int) -> str:
        return f"segment {sid} ({names.get(sid, '')}): {value_words(values[sid])}"

    if segment_id is not None:
        if segment_id not in values:
            return (f"Segment {segment_id} ({names[segment_id]}) of {seg_run}: none of its "
                    "customers has a predicted value.", table)
        return (f"Predicted value over the next {months} months of segment {segment_id} "
                f"({names[segment_id]}, segmentation run {seg_run}): "
                + value_words(values[segment_id]), table)
    if table.empty:
        return f"None of the customers of segmentation {seg_run} has a predicted value.", table
    ids = list(table["segment"])
    text = (f"Predicted value by segment, next {months} months (segmentation run {seg_run}). "
            f"Highest: {said(ids[0])}")
    if len(ids) > 1:
        text += f" Lowest: {said(ids[-1])}"
    return text, table


def value_sentence(value: dict) -> str:
    """'Predicted value over the next 12 months: 1,234 spend per customer (1.8x the average),
    23% in the top 10%; 96% probably still active.'"""
    return f"Predicted value over the next {value['horizon_months']} months: {value_words(value)}"


def value_words(value: dict) -> str:
    """'1,234 spend per customer (1.8x the average), 23% in the top 10%; 96% probably still
    active.' (value_sentence without its lead)"""
    ratio = f" ({value['vs_average']:.1f}x the average)" if value.get("vs_average") else ""
    return (f"{_money(value['expected_spend'])} spend per customer{ratio}, "
            f"{value['top_decile_share']:.0%} in the top 10% by value; "
            f"{value['p_alive']:.0%} probably still active.")


# -- words and the agent tool ----------------------------------------------------------------------
def _money(x: float) -> str:
    return f"{x:,.0f}"


def summary(res: ClvResult, *, alive_first: bool = False) -> str:
    run, m = res.run, res.run["metrics"]
    p = run["params"]
    bg = m["bgnbd"]
    what = ("the warehouse" if not p["table"] else f"table {p['table']}")
    lines = [f"Lifetime value run {run['run_id']}{' (reused, same data)' if res.reused else ''}"
             ": BG/NBD (repeat purchases) and Gamma-Gamma "
             f"(spend per purchase) fitted on {m['customers']:,} customers of {what} "
             f"({m['repeat_customers']:,} with repeat purchases), a purchase being a day with "
             f"spend, time in {p['unit']}; data {p['data_start']} to {p['data_end']}."]
    h = m.get("holdout") or {}
    if h:
        cal = m["calibration_bgnbd"]
        line = (f"Checked on a holdout: fitted to {h['calibration_end']} (r={cal['r']:.3f}, "
                f"alpha={cal['alpha']:.3f}, a={cal['a']:.3f}, b={cal['b']:.3f}"
                + (f"; Gamma-Gamma p={m['calibration_gamma_gamma']['p']:.2f}, "
                   f"q={m['calibration_gamma_gamma']['q']:.2f}, "
                   f"gamma={m['calibration_gamma_gamma']['gamma']:.2f}"
                   if m.get("calibration_gamma_gamma") else "")
                + f"), it predicted {h['predicted_purchases']:,.0f} repeat purchases in the "
                f"{h['holdout_days']} days after vs {h['actual_purchases']:,.0f} actual "
                f"({h['purchases_error_pct']:+.1f}%), mean absolute error "
                f"{h['mae_purchases']:.2f} per customer")
        if "spend_error_pct" in h:
            line += (f"; spend {h['spend_error_pct']:+.1f}% vs actual, and the predicted top "
                     f"10% made {h['top_decile_spend_share']:.0%} of the holdout's spend")
        lines.append(line + ".")
    months = m["horizon_months"]
    alive = (f"{m['probably_alive']:,} of {m['customers']:,} customers "
             f"({m['probably_alive'] / max(m['customers'], 1):.0%}) are probably still active "
             f"(P(alive) >= {PROBABLY_ALIVE:.0%}); {m['expected_alive']:,.0f} are expected to be "
             "in all (the sum of P(alive)).")
    if alive_first:
        lines.insert(0, alive)
    lines.append(
        f"Next {months} months: {m['expected_purchases']:,.0f} purchases and "
        f"{_money(m['expected_spend'])} spend expected"
        + (f"; the top 10% by predicted value hold {m['top_decile_spend_share']:.0%} of it"
           if m.get("top_decile_spend_share") else "") + ".")
    if not alive_first:
        lines.append(alive)
    lines.append(f"Parameters on all data: r={bg['r']:.3f}, alpha={bg['alpha']:.3f}, "
                 f"a={bg['a']:.3f}, b={bg['b']:.3f}"
                 + (f"; p={m['gamma_gamma']['p']:.2f}, q={m['gamma_gamma']['q']:.2f}, "
                    f"gamma={m['gamma_gamma']['gamma']:.2f}" if m.get("gamma_gamma") else "")
                 + ".")
    return "\n".join(lines)


def predict_clv(ctx: ToolContext, horizon_months: int = 12, top_n: int = 20,
                table: str | None = None, customer_column: str | None = None,
                date_column: str | None = None, amount_column: str | None = None,
                calibration_end: str | None = None, time_unit: Unit = "weeks",
                by_segment: bool = False, segment_id: int | None = None) -> ToolResult:
    """Predict customer lifetime value: who is still active and who will spend most.

    Use this for "who are our most valuable customers next year?", "how many customers are
    probably still with us?", "predicted lifetime value", "expected spend next 6 months", or
    on a transaction log the user imported. Fits BG/NBD and Gamma-Gamma, checks them on a
    holdout period and saves per-customer P(alive), expected purchases and expected spend.

    Args:
        horizon_months: how far ahead to predict, in months (default 12).
        top_n: how many most valuable customers to list for the person (default 20).
        table: an imported transaction log (one row per purchase) instead of the warehouse.
        customer_column: the table's customer key column (found automatically if not given).
        date_column: the table's purchase date column.
        amount_column: the table's purchase amount column.
        calibration_end: last day (YYYY-MM-DD) of the fitting period for the holdout check;
            default the middle of the data.
        time_unit: "weeks" (default) or "days".
        by_segment: also give the predicted value per segment of the latest segmentation
            ("lifetime value by segment", "which segment is most valuable?").
        segment_id: the predicted value of one segment of the latest segmentation.
    """
    if not 1 <= top_n <= 1000:
        raise InvalidArgument(f"top_n must be between 1 and 1000, not {top_n}")
    per_segment = by_segment or segment_id is not None
    if per_segment and table is not None:
        raise InvalidArgument("value by segment is for the warehouse's customers, not an "
                              "imported table")
    if by_segment and segment_id is not None:
        raise InvalidArgument("give by_segment or segment_id, not both")
    seg = latest_segmentation(ctx.wh, segment_id) if per_segment else None
    res = fit_clv(ctx.wh, table=table, customer=customer_column, date_column=date_column,
                  amount=amount_column, calibration_end=calibration_end, unit=time_unit,
                  horizon_months=horizon_months, top_n=top_n, session=ctx.session,
                  question=ctx.question)
    ctx.state["last_clv_run"] = res.run["run_id"]
    tables = [TableResult(f"Top {len(res.top)} customers by expected spend over the next "
                          f"{horizon_months} months", res.top)]
    if not res.by_frequency.empty:
        tables.append(TableResult("Holdout check: mean repeat purchases per customer, actual vs "
                                  "predicted, by repeat purchases in the fitting period",
                                  res.by_frequency))
    alive_first = bool(re.search(r"still|alive|active|with us|around|retained",
                                 (ctx.question or "").lower()))
    text = summary(res, alive_first=alive_first) + f" The {len(res.top)} most valuable " \
        "customers are in the result table."
    chart = ChartSpec(kind="bar", x=res.top.columns[0], y=["expected_spend"],
                      title="Expected spend of the most valuable customers")
    if seg is not None:
        said, by_seg = _value_by_segment(ctx.wh, seg, segment_id, horizon_months)
        text = f"{said}\n\n{text}"
        if by_segment:
            tables.insert(0, TableResult("Predicted value by segment", by_seg))
            chart = ChartSpec(kind="bar", x="segment_name", y=["expected_spend"],
                              title=f"Expected spend per customer, next {horizon_months} months")
    return ToolResult(summary=text, tables=tables, sql=res.sql, chart=chart,
                      data={"run_id": res.run["run_id"], "metrics": res.run["metrics"]})
