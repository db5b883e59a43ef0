"""Persistence of segmentation and scoring runs in the warehouse schema `assistant`.

Every run (segmentation, rfm, churn, propensity) is one row in `assistant.runs` with its
parameters, metrics, code version and timestamp, plus its rows in `assistant.segments`,
`assistant.segment_members` or `assistant.scores`, all written in ONE transaction. Audiences
go to `assistant.audiences`. Memberships and scores carry `customer_id`, so a model (or a person)
can answer "how many customers in segment 3 live in Germany?" with a join on `customers`.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tools.segment_card import SegmentCard
from warehouse.connection import Warehouse
from warehouse.contract import ASSISTANT_SCHEMA
from warehouse.errors import AssistantError, InvalidArgument, RunNotFound
from warehouse.semantic.models import LATEST_SEGMENTATION_SQL

S = ASSISTANT_SCHEMA
KINDS = ("segmentation", "rfm", "churn", "propensity", "clv")
SEGMENT_KINDS = ("segmentation", "rfm")
SCORE_KINDS = ("churn", "propensity")
_PREFIX = {"segmentation": "seg", "rfm": "rfm", "churn": "churn", "propensity": "prop",
           "clv": "clv"}

# (table, columns DDL, table comment, {column: comment})
TABLES: tuple[tuple[str, str, str, dict[str, str]], ...] = (
    ("runs", """run_id VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    source_table VARCHAR,
    as_of TIMESTAMP,
    params JSON,
    metrics JSON,
    code_version VARCHAR,
    protected_attributes_used BOOLEAN,
    row_count BIGINT,
    session VARCHAR,
    question VARCHAR""",
     "One row per segmentation or scoring run made by the assistant. Join segments, "
     "segment_members and scores on run_id.",
     {"run_id": "Run key, e.g. seg-20261031-120000-ab12.",
      "kind": "segmentation (behavioural clusters), rfm (recency-frequency-monetary "
              "segments), churn (churn risk on the warehouse), propensity (a model on a user "
              "table with a target column), clv (predicted lifetime value).",
      "created_at": "When the run was made (wall clock).",
      "source_table": "What was segmented or scored: customers, or a user table's name.",
      "as_of": "Reference timestamp the features were computed at.",
      "params": "Parameters as JSON (k, filters, columns, seed, ...).",
      "metrics": "Results as JSON (k and how it was chosen, stability, silhouette; ROC AUC, "
                 "precision at top decile, Brier score for models).",
      "code_version": "Package version + hash of the feature and model code.",
      "protected_attributes_used": "True when gender/age (or a user table's protected "
                                   "columns) were used as features, on explicit request.",
      "row_count": "Customers (rows) segmented or scored.",
      "session": "Conversation that made the run.",
      "question": "The marketer's question that led to the run."}),
    ("segments", """run_id VARCHAR NOT NULL,
    segment_id INTEGER NOT NULL,
    name VARCHAR,
    description VARCHAR,
    size BIGINT,
    share DOUBLE,
    card JSON""",
     "One row per segment of a segmentation run: its name, description, size and the full "
     "segment card (traits with effect sizes, products, consented reach) as JSON.",
     {"run_id": "Run, references assistant.runs.run_id.",
      "segment_id": "Segment number within the run (1 = the largest for behavioural runs).",
      "name": "Plain-language segment name.",
      "description": "Two or three sentences describing the segment with numbers.",
      "size": "Customers in the segment.",
      "share": "Share of the customers segmented in the run (0-1).",
      "card": "The segment card as JSON."}),
    ("segment_members", """run_id VARCHAR NOT NULL,
    customer_id BIGINT,
    record_key VARCHAR,
    segment_id INTEGER NOT NULL""",
     "Which segment each customer is in, per run. Join customers on customer_id, e.g. "
     "SELECT count(*) FROM assistant.segment_members m JOIN customers c USING "
     "(customer_id) WHERE m.run_id = '...' AND m.segment_id = 3 AND c.country = 'DE'.",
     {"run_id": "Run, references assistant.runs.run_id.",
      "customer_id": "Customer, references customers.customer_id; NULL for runs on a user "
                     "table (see record_key).",
      "record_key": "Key of the row in the segmented table, as text (the customer_id for "
                    "warehouse runs).",
      "segment_id": "Segment, references assistant.segments(run_id, segment_id)."}),
    ("scores", """run_id VARCHAR NOT NULL,
    customer_id BIGINT,
    record_key VARCHAR,
    score DOUBLE,
    decile INTEGER,
    reasons VARCHAR""",
     "Churn or propensity score per customer (or user-table row) and run. Higher score = more "
     "likely (to churn, or to have the target). Join customers on customer_id.",
     {"run_id": "Run, references assistant.runs.run_id.",
      "customer_id": "Customer, references customers.customer_id; NULL for user tables.",
      "record_key": "Key of the scored row, as text.",
      "score": "Predicted probability (0-1).",
      "decile": "1 = the 10% highest scores, 10 = the lowest.",
      "reasons": "The main reasons for a high score, in words, separated by '; '."}),
    ("audiences", """audience_id VARCHAR PRIMARY KEY,
    created_at TIMESTAMP NOT NULL,
    name VARCHAR,
    run_id VARCHAR,
    segment_id INTEGER,
    channel VARCHAR,
    filters JSON,
    size BIGINT,
    exclusions JSON,
    file_path VARCHAR,
    selection_sql VARCHAR,
    session VARCHAR,
    question VARCHAR""",
     "Campaign audiences exported by the assistant: only customers who consented to the "
     "channel, did not object to profiling, are KYC-verified and hold an open account.",
     {"audience_id": "Audience key.",
      "created_at": "When the audience was built.",
      "name": "Audience name.",
      "run_id": "Segmentation run the segment came from (NULL for a plain filter).",
      "segment_id": "Segment of that run (NULL for a plain filter).",
      "channel": "email, sms or push.",
      "filters": "Other filters as JSON (country, minimum churn risk).",
      "size": "Customers in the exported audience.",
      "exclusions": "Customers left out, by reason, as JSON.",
      "file_path": "Where the CSV export was written.",
      "selection_sql": "The SQL that selected the audience.",
      "session": "Conversation that built it.",
      "question": "The marketer's question that led to it."}),
)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ensure_tables(wh: Warehouse) -> None:
    """Create the assistant tables and their comments if missing (idempotent)."""
    if wh.read_only:
        raise AssistantError(f"the warehouse {wh.path} is open read-only; the assistant needs "
                             "write access to save runs")
    with wh.transaction() as cur:
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {S}")
        for name, columns, comment, col_comments in TABLES:
            cur.execute(f"CREATE TABLE IF NOT EXISTS {S}.{name} (\n    {columns}\n)")
            cur.execute(f"COMMENT ON TABLE {S}.{name} IS {_quote(comment)}")
            for col, text in col_comments.items():
                cur.execute(f"COMMENT ON COLUMN {S}.{name}.{col} IS {_quote(text)}")


def has_tables(wh: Warehouse) -> bool:
    return wh.has_table("runs", S)


# -- code version ----------------------------------------------------------------------------------
_CODE_FILES = ("features.py", "clustering.py", "naming.py", "cards.py", "rfm.py",
               "table_features.py", "propensity.py", "churn.py", "segments.py")


@cache
def code_version() -> str:
    """Package version + 10 hex digits of the SHA-256 of the feature and model code."""
    try:
        version = metadata.version("fintech-marketing-assistant")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        version = "0+unknown"
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for name in _CODE_FILES:
        path = here / name
        if path.exists():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return f"{version}+{digest.hexdigest()[:10]}"


# -- records ---------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | tuple):
        return list(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def to_json(value: Any) -> str:
    return json.dumps(value, default=_plain)


def new_id(prefix: str) -> str:
    return f"{prefix}-{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


@dataclass
class Run:
    """One row of assistant.runs."""

    kind: str
    source_table: str
    params: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    protected_attributes_used: bool = False
    row_count: int = 0
    as_of: datetime | None = None
    session: str = ""
    question: str = ""
    run_id: str = ""
    created_at: datetime | None = None
    code_version: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown run kind {self.kind!r}")
        self.run_id = self.run_id or new_id(_PREFIX[self.kind])
        self.created_at = self.created_at or datetime.now()
        self.code_version = self.code_version or code_version()


def _insert_run(cur, run: Run) -> None:
    cur.execute(
        f"INSERT INTO {S}.runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [run.run_id, run.kind, run.created_at, run.source_table, run.as_of, to_json(run.params),
         to_json(run.metrics), run.code_version, run.protected_attributes_used, run.row_count,
         run.session, run.question],
    )


def _keyed(frame: pd.DataFrame, key: str, warehouse_ids: bool) -> pd.DataFrame:
    out = pd.DataFrame({"record_key": frame[key].astype(str).to_numpy()})
    out["customer_id"] = (frame[key].astype("int64").to_numpy() if warehouse_ids
                          else pd.array([None] * len(frame), dtype="Int64"))
    return out


def save_segmentation(wh: Warehouse, run: Run, cards: list[SegmentCard],
                      members: pd.DataFrame, *, key: str = "customer_id",
                      warehouse_ids: bool = True, also: Callable | None = None) -> None:
    """Store a segmentation run, its cards and memberships (`key`, segment_id) atomically;
    `also(cursor)` writes more in the same transaction (the run's model in the registry)."""
    ensure_tables(wh)
    rows = _keyed(members, key, warehouse_ids)
    rows["segment_id"] = members["segment_id"].astype("int32").to_numpy()
    rows.insert(0, "run_id", run.run_id)
    with wh.transaction() as cur:
        _insert_run(cur, run)
        if cards:
            cur.executemany(
                f"INSERT INTO {S}.segments VALUES (?, ?, ?, ?, ?, ?, ?)",
                [[run.run_id, c.segment_id, c.name, c.description, c.size, c.share,
                  to_json(c.to_dict())] for c in cards],
            )
        cur.register("__members", rows)
        try:
            cur.execute(f"INSERT INTO {S}.segment_members (run_id, customer_id, record_key, "
                        "segment_id) SELECT run_id, customer_id, record_key, segment_id "
                        "FROM __members")
        finally:
            cur.unregister("__members")
        if also is not None:
            also(cur)


def save_scores(wh: Warehouse, run: Run, scores: pd.DataFrame, *, key: str = "customer_id",
                warehouse_ids: bool = True) -> None:
    """Store a scoring run and its scores (`key`, score, decile, reasons) atomically."""
    ensure_tables(wh)
    rows = _keyed(scores, key, warehouse_ids)
    rows.insert(0, "run_id", run.run_id)
    rows["score"] = scores["score"].astype(float).to_numpy()
    rows["decile"] = scores["decile"].astype("int32").to_numpy()
    rows["reasons"] = scores["reasons"].astype(str).to_numpy()
    with wh.transaction() as cur:
        _insert_run(cur, run)
        cur.register("__scores", rows)
        try:
            cur.execute(f"INSERT INTO {S}.scores (run_id, customer_id, record_key, score, decile, "
                        "reasons) SELECT run_id, customer_id, record_key, score, decile, reasons "
                        "FROM __scores")
        finally:
            cur.unregister("__scores")


def save_audience(wh: Warehouse, record: dict[str, Any]) -> None:
    """Store one audience row (keys = the assistant.audiences columns)."""
    ensure_tables(wh)
    cols = [c.split()[0] for c in TABLES[4][1].split(",\n")]
    values = [to_json(record[c]) if c in ("filters", "exclusions") else record.get(c)
              for c in cols]
    with wh.transaction() as cur:
        cur.execute(f"INSERT INTO {S}.audiences VALUES ({', '.join('?' * len(cols))})", values)


# -- reading ---------------------------------------------------------------------------------------
def list_runs(wh: Warehouse, *, kinds: tuple[str, ...] = KINDS, limit: int = 10
              ) -> pd.DataFrame:
    """The latest runs, newest first (empty frame when none)."""
    columns = ["run_id", "kind", "created_at", "source_table", "row_count", "segments",
               "protected_attributes_used", "params", "metrics"]
    if not has_tables(wh):
        return pd.DataFrame(columns=columns)
    kinds_sql = ", ".join(_quote(k) for k in kinds)
    return wh.df(
        f"""SELECT r.run_id, r.kind, r.created_at, r.source_table, r.row_count,
                  (SELECT count(*) FROM {S}.segments s WHERE s.run_id = r.run_id) AS segments,
                  r.protected_attributes_used, r.params, r.metrics
           FROM {S}.runs r WHERE r.kind IN ({kinds_sql})
           ORDER BY r.created_at DESC, r.run_id DESC LIMIT ?""", [int(limit)])


def get_run(wh: Warehouse, run_id: str | None, *, kinds: tuple[str, ...] = KINDS) -> dict:
    """One run as a dict (params and metrics parsed); None = the latest of `kinds`."""
    if not has_tables(wh):
        raise RunNotFound("no runs saved yet; segment the customers or score churn first")
    kinds_sql = ", ".join(_quote(k) for k in kinds)
    if run_id is None:
        rows = wh.df(f"SELECT * FROM {S}.runs WHERE kind IN ({kinds_sql}) "
                     "ORDER BY created_at DESC, run_id DESC LIMIT 1")
        if rows.empty:
            what = " or ".join(kinds)
            raise RunNotFound(f"no {what} run saved yet")
    else:
        rows = wh.df(f"SELECT * FROM {S}.runs WHERE run_id = ?", [run_id])
        if rows.empty:
            recent = list_runs(wh, kinds=kinds, limit=3)["run_id"].tolist()
            hint = f"; recent runs: {', '.join(recent)}" if recent else ""
            raise RunNotFound(f"no run {run_id!r}{hint}")
        if rows.iloc[0]["kind"] not in kinds:
            raise InvalidArgument(f"run {run_id} is a {rows.iloc[0]['kind']} run, not "
                                  f"{' or '.join(kinds)}")
    run = rows.iloc[0].to_dict()
    for k in ("params", "metrics"):
        run[k] = json.loads(run[k]) if run.get(k) else {}
    return run


def load_cards(wh: Warehouse, run_id: str | None) -> list[SegmentCard]:
    """The segment cards of a run (None: the latest segmentation or RFM run)."""
    run = get_run(wh, run_id, kinds=SEGMENT_KINDS)
    rows = wh.rows(f"SELECT card FROM {S}.segments WHERE run_id = ? ORDER BY segment_id",
                   [run["run_id"]])
    return [SegmentCard.from_dict(json.loads(r[0])) for r in rows]


@dataclass
class Comparison:
    """How segments moved between two runs."""

    run_a: dict
    run_b: dict
    sizes: pd.DataFrame        # run, segment_id, name, size, share
    migration: pd.DataFrame    # rows: segment in A, columns: segment in B, values: customers
    common: int                # customers segmented in both runs
    stayed: float | None       # share of common customers in their best-matching segment
    moves: list[tuple[str, str, int]]  # biggest flows between differently named segments


def compare_runs(wh: Warehouse, run_a: str | None = None, run_b: str | None = None
                 ) -> Comparison:
    """Compare two segmentation runs (default: B the latest, A the one before it that segmented
    the same table)."""
    if run_b is None:
        run_b = get_run(wh, None, kinds=SEGMENT_KINDS)["run_id"]
    if run_a is None:
        b = get_run(wh, run_b, kinds=SEGMENT_KINDS)
        earlier = wh.rows(
            f"SELECT run_id FROM {S}.runs WHERE kind IN ('segmentation', 'rfm') "
            "AND source_table = ? AND run_id <> ? AND created_at <= ? "
            "ORDER BY created_at DESC, run_id DESC LIMIT 1",
            [b["source_table"], b["run_id"], b["created_at"]])
        if not earlier:
            raise RunNotFound(f"comparing needs two segmentation runs of {b['source_table']}; "
                              f"only {b['run_id']} is saved")
        run_a = earlier[0][0]
    a, b = get_run(wh, run_a, kinds=SEGMENT_KINDS), get_run(wh, run_b, kinds=SEGMENT_KINDS)
    sizes = wh.df(f"""SELECT CASE WHEN run_id = ? THEN 'A' ELSE 'B' END AS run, run_id,
                             segment_id, name, size, share
                      FROM {S}.segments WHERE run_id IN (?, ?)
                      ORDER BY run, segment_id""", [a["run_id"], a["run_id"], b["run_id"]])
    flows = wh.df(f"""SELECT ma.segment_id AS segment_a, mb.segment_id AS segment_b,
                             count(*) AS customers
                      FROM {S}.segment_members ma
                      JOIN {S}.segment_members mb ON ma.record_key = mb.record_key
                      WHERE ma.run_id = ? AND mb.run_id = ?
                      GROUP BY ALL ORDER BY ALL""", [a["run_id"], b["run_id"]])
    names = {(r.run, r.segment_id): r.name for r in sizes.itertuples()}
    if flows.empty:
        migration = pd.DataFrame()
        common, stayed, moves = 0, None, []
    else:
        migration = flows.pivot_table(index="segment_a", columns="segment_b",
                                      values="customers", fill_value=0, aggfunc="sum")
        common = int(flows["customers"].sum())
        stayed = float(migration.max(axis=1).sum() / common)
        moves = []
        for r in flows.sort_values("customers", ascending=False).itertuples():
            na, nb = names.get(("A", r.segment_a)), names.get(("B", r.segment_b))
            if na != nb and migration.loc[r.segment_a].max() != r.customers:
                moves.append((f"{r.segment_a}: {na}", f"{r.segment_b}: {nb}", int(r.customers)))
            if len(moves) == 3:
                break
        migration.index = [f"A{i}" for i in migration.index]     # names: see `sizes`
        migration.columns = [f"B{j}" for j in migration.columns]
    return Comparison(run_a=a, run_b=b, sizes=sizes, migration=migration, common=common,
                      stayed=stayed, moves=moves)


# -- the latest segmentation of the customers (churn risk and value per segment) --------------
def latest_segmentation_cte() -> str:
    """A CTE `latest_segmentation`: the run id of the newest segmentation of the customers."""
    return f"latest_segmentation AS (\n    {LATEST_SEGMENTATION_SQL}\n)"


def _segmentation(wh: Warehouse) -> tuple[str, dict[int, str]] | None:
    """The latest segmentation of the customers: its run id and segment names."""
    if not has_tables(wh):
        return None
    rows = wh.rows(f"""WITH {latest_segmentation_cte()}
SELECT l.run_id, seg.segment_id, seg.name FROM latest_segmentation l
JOIN {S}.segments seg ON seg.run_id = l.run_id ORDER BY seg.segment_id""")
    return (rows[0][0], {int(r[1]): r[2] for r in rows}) if rows else None


def latest_segmentation(wh: Warehouse, segment_id: int | None) -> tuple[str, dict[int, str]]:
    """The latest segmentation of the customers (run id, segment names), checked before any
    scoring: it exists and has `segment_id`."""
    seg = _segmentation(wh)
    if seg is None:
        raise InvalidArgument("there is no segmentation of the customers yet; segment them "
                              "first (\"segment my customers\"), then ask again")
    if segment_id is not None and segment_id not in seg[1]:
        raise InvalidArgument(f"segment {segment_id} is not in the latest segmentation "
                              f"{seg[0]} (it has segments {min(seg[1])}-{max(seg[1])})")
    return seg
