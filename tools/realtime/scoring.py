"""Instant scoring: the customers a micro-batch touched get their segment and churn score again
at once, with the persisted champion models (tools/model_registry.py), without retraining.

Runs inside the writer's transaction, after the customer state took the batch: the features of
just those customers are read from the state (`feature_sql(state=..., only=...)`, the
population priors from the state's totals), assigned to
the nearest centre of the champion segmentation and scored by the champion churn model. Results
go to `assistant.live_scores` (one row per customer: what the triggers' segment and score
conditions read); a customer whose segment changed gets a row in `assistant.segment_changes`
with the time and the event that caused it. Before a live score exists, the customer's segment is
the one of the champion's run (assistant.segment_members).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

import pandas as pd
from threadpoolctl import threadpool_limits

from tools import model_registry as mr
from tools.features import feature_sql
from tools.realtime import state as state_mod
from tools.realtime import tables
from tools.realtime.clock import naive_utc
from tools.realtime.mapping import Event
from warehouse.connection import Warehouse
from warehouse.contract import ASSISTANT_SCHEMA

log = logging.getLogger(__name__)


class LiveScoring:
    """The BatchHook that re-assigns and re-scores touched customers."""

    def __init__(self, wh: Warehouse) -> None:
        self.wh = wh
        self.last: dict[str, str | None] = {"segmentation": None, "churn": None}
        self.scored = 0
        self.changes = 0
        self.timings: dict[str, float] = {}   # seconds per step of the last batch

    def _models(self) -> dict[str, tuple[mr.ModelRecord, dict]]:
        found = {}
        for kind in ("segmentation", "churn"):
            rec = mr.champion(self.wh, kind)
            self.last[kind] = rec.model_id if rec else None
            if rec is not None:
                try:
                    found[kind] = (rec, mr.load_artifact(self.wh, rec))
                except Exception:     # a damaged artifact: say so, keep ingesting
                    log.exception("cannot load the %s champion %s", kind, rec.model_id)
        return found

    def on_batch(self, cur, events: list[Event], now: datetime) -> dict[str, int]:
        clock = time.perf_counter
        marks = [clock()]
        self.timings = {}

        def lap(name: str) -> None:
            marks.append(clock())
            self.timings[name] = round(marks[-1] - marks[-2], 4)

        models = self._models()
        meta = state_mod.meta(self.wh, cur) if models else None
        ref = meta["reference_ts"] if meta else None
        if not models or ref is None:
            return {}
        touched = sorted({e.customer_id for e in events})
        cause = {}
        for e in events:
            cause[e.customer_id] = e.message_id
        cur.register("__touched", pd.DataFrame({"customer_id": touched}))
        try:
            # the touched customers' state read once (the feature query reads it twice: the
            # transaction and the app-event counters; each read scanned every customer's row)
            cur.execute("CREATE OR REPLACE TEMP TABLE __touched_state AS SELECT * FROM "
                        f"{state_mod.rows_of('__touched')}")
            features = cur.execute(feature_sql(
                ref, current=True, state="__touched_state", only="__touched",
                totals=state_mod.TOTALS)).df()
            cur.execute("DROP TABLE __touched_state")
            lap("features")
            if features.empty:
                return {}
            out = pd.DataFrame({"customer_id": features["customer_id"].to_numpy()})
            out["segment_run"], out["segment_id"] = None, pd.NA
            out["churn_run"], out["churn_score"] = None, float("nan")
            # one thread: OpenMP threads for a few thousand rows cost 10-30x the work on 2
            # loaded cores (segment assignment); the churn model's trees (9,000 rows at 1M,
            # quiet machine) took 51-55 ms on one thread against 51-73 ms on two
            with threadpool_limits(1):
                if "segmentation" in models:
                    rec, art = models["segmentation"]
                    seg = mr.assign_segments(art, features)
                    out["segment_run"] = rec.run_id or rec.model_id
                    out["segment_id"] = seg["segment_id"].to_numpy()
                if "churn" in models:
                    rec, art = models["churn"]
                    scores = mr.score_propensity(art, features, reasons=0)
                    out["churn_run"] = rec.run_id or rec.model_id
                    out["churn_score"] = scores["score"].to_numpy()
            lap("models")
            stamp = naive_utc(now)
            out["updated_at"] = stamp
            out["cause"] = [cause.get(int(c)) for c in out["customer_id"]]
            out["segment_id"] = out["segment_id"].astype("Int64")
            cur.register("__live", out)
            if "segmentation" in models:
                self._record_changes(cur, stamp, str(out["segment_run"].iloc[0]))
            lap("changes")
            # an UPDATE of the customers scored before and an INSERT of the others:
            # INSERT OR REPLACE deletes and re-inserts every row in the key's index (0.6-1.0 s
            # for 8,000 rows that were there already, against 0.1 s)
            cur.execute(f"""UPDATE {tables.LIVE} l SET segment_run = n.segment_run,
                                segment_id = n.segment_id, churn_run = n.churn_run,
                                churn_score = n.churn_score, updated_at = n.updated_at,
                                cause = n.cause
                            FROM __live n WHERE l.customer_id = n.customer_id""")
            cur.execute(f"""INSERT INTO {tables.LIVE}
                SELECT customer_id, segment_run, segment_id, churn_run, churn_score,
                       updated_at, cause FROM __live n
                WHERE NOT EXISTS (SELECT 1 FROM {tables.LIVE} l
                                  WHERE l.customer_id = n.customer_id)""")
            cur.unregister("__live")
            lap("write")
            self.scored += len(out)
            return {}
        finally:
            cur.unregister("__touched")

    def _record_changes(self, cur, stamp: datetime, run: str) -> None:
        # in SQL (no row comes to Python); the run as a constant: DuckDB then skips the other
        # runs' row groups of the members
        rows = cur.execute(f"""
            INSERT INTO {tables.CHANGES} (ts, customer_id, run_id, from_segment, to_segment,
                                          cause)
            SELECT ?, customer_id, segment_run, before, segment_id, cause FROM (
                SELECT n.customer_id, n.segment_run,
                       coalesce(CASE WHEN l.segment_run = n.segment_run THEN l.segment_id END,
                                m.segment_id) AS before, n.segment_id, n.cause
                FROM __live n
                LEFT JOIN {tables.LIVE} l ON l.customer_id = n.customer_id
                LEFT JOIN (SELECT customer_id, segment_id
                           FROM {ASSISTANT_SCHEMA}.segment_members WHERE run_id = ?) m
                       ON m.customer_id = n.customer_id
                WHERE n.segment_id IS NOT NULL)
            WHERE before IS NOT NULL AND before <> segment_id
            RETURNING 1""", [stamp, run]).fetchall()
        self.changes += len(rows)
