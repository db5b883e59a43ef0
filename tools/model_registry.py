"""The model registry: every segmentation, churn, propensity and CLV model, its fitted artifact,
its status (champion, challenger, retired) and what replaced it.

Tables (schema `assistant`): `models` has one row per model: kind, scope (the population it
describes: `customers` for the whole warehouse, `customers where ...` for a filtered run,
`table:NAME` for a user table), version (1, 2, ... per kind and scope), the training window,
features, metrics, status, `replaces` / `replaced_by`, the run it came from and its artifact
(file name and SHA-256). `model_events` has one row per change of status (registered,
promoted, approved, rejected, retired) with who made it and why. One champion per kind and
scope at any time: the first model registered for a scope is its champion; later ones are
challengers until `promote` (a rule that they beat the champion, or a person's approval) makes
one champion and retires the one it replaces, in one transaction.

Artifacts: a dict of plain values, numpy arrays and scikit-learn estimators, written with
skops (`skops.io`: a zip of JSON and .npy files, no pickle) atomically (warehouse.files) to
`<warehouse>.models/<model_id>.skops` beside the warehouse file, before the registry row that
names it is committed. `load_artifact` checks the file's SHA-256 against the row and refuses
any type outside `TRUSTED`, so a swapped or damaged file is a clear error, never code that runs.

Stable API for real-time scoring (issue 11) and Spark (issue 13); the scoring functions are
pure (feature rows in, results out) and can be mapped over partitions:

    from tools import model_registry as mr

    rec = mr.champion(wh, "segmentation")            # ModelRecord, or None when there is none
    art = mr.load_artifact(wh, rec)                  # dict; hash-checked, cached by hash
    mr.assign_segments(art, features)                # -> DataFrame: segment_id, distance
    mr.score_propensity(art, features)               # -> DataFrame: score, decile, reasons
    mr.score_with_champion(wh, "churn", features)    # champion + load + score in one call

`features` is a DataFrame with one row per customer and the raw feature columns of
`tools.features.FEATURES` (as `compute_features` returns them); `art["features"]` lists the
columns a model reads (missing values are imputed as in training). Results keep the index
of `features`. A champion changes only through `promote`; `champion()` is one small query,
so calling it once per micro-batch picks up a promotion without a restart.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import skops.io as sio
from sklearn.metrics import pairwise_distances_argmin_min

from tools.clustering import Column, preprocessor_from_state, transform_state
from tools.features import Feature
from tools.runs import code_version, to_json
from warehouse.connection import Warehouse
from warehouse.contract import ASSISTANT_SCHEMA
from warehouse.errors import AssistantError, InvalidArgument, ModelArtifactError, ModelNotFound
from warehouse.files import atomic_path

S = ASSISTANT_SCHEMA
KINDS = ("segmentation", "churn", "propensity", "clv")
STATUSES = ("champion", "challenger", "retired")
EVENTS = ("registered", "compared", "promoted", "approved", "rejected", "retired")
CUSTOMERS = "customers"
FORMAT = 1
_PREFIX = {"segmentation": "seg", "churn": "churn", "propensity": "prop", "clv": "clv"}
# Types skops does not trust by default that our artifacts hold; anything else is refused.
TRUSTED = frozenset({
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "numpy.dtype",
})

TABLES: tuple[tuple[str, str, str, dict[str, str]], ...] = (
    ("models", """model_id VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    scope VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    status VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    run_id VARCHAR,
    train_from TIMESTAMP,
    train_to TIMESTAMP,
    as_of TIMESTAMP,
    features JSON,
    params JSON,
    metrics JSON,
    artifact_file VARCHAR,
    artifact_sha256 VARCHAR,
    replaces VARCHAR,
    replaced_by VARCHAR,
    promoted_at TIMESTAMP,
    promoted_by VARCHAR,
    code_version VARCHAR,
    note VARCHAR""",
     "The model registry: one row per segmentation, churn, propensity or CLV model, with its "
     "version, training window, features, metrics and status. One champion per kind and scope.",
     {"model_id": "Model key, e.g. churn-v2-ab12.",
      "kind": "segmentation, churn, propensity (a model on a user table) or clv (predicted "
              "lifetime value).",
      "scope": "The population the model describes: customers (the whole warehouse), "
               "'customers where ...' (a filtered run) or table:NAME (a user table).",
      "version": "1, 2, ... within the kind and scope.",
      "status": "champion (in use), challenger (trained, not in use) or retired.",
      "created_at": "When the model was registered (wall clock).",
      "run_id": "The run that trained it, references assistant.runs.run_id.",
      "train_from": "Start of the data window the model learned from.",
      "train_to": "End of that window (for churn: the cutoff; outcomes come after it).",
      "as_of": "Reference timestamp of the data when the model was trained.",
      "features": "The feature columns the model reads, as a JSON list.",
      "params": "Training parameters as JSON.",
      "metrics": "Quality on held-out data as JSON (ROC AUC, Brier, top-decile precision; "
                 "stability for segmentations; holdout error for CLV).",
      "artifact_file": "File of the fitted model (skops format) in the models folder beside "
                       "the warehouse.",
      "artifact_sha256": "SHA-256 of that file, checked whenever it is loaded.",
      "replaces": "The champion this model replaced when it was promoted.",
      "replaced_by": "The model that replaced this one as champion.",
      "promoted_at": "When it became champion.",
      "promoted_by": "Who or what promoted it: a person's name, or the rule that decided.",
      "code_version": "Package version + hash of the feature and model code.",
      "note": "Why it has its status, in words."}),
    ("model_events", """event_at TIMESTAMP NOT NULL,
    model_id VARCHAR NOT NULL,
    kind VARCHAR,
    scope VARCHAR,
    event VARCHAR NOT NULL,
    actor VARCHAR,
    reason VARCHAR,
    detail JSON""",
     "History of the model registry: every registration, promotion, approval, rejection and "
     "retirement, with who made it and why.",
     {"event_at": "When it happened (wall clock).",
      "model_id": "Model, references assistant.models.model_id.",
      "kind": "The model's kind.",
      "scope": "The model's scope.",
      "event": "registered, compared (with the champion, nothing changed), promoted, approved "
               "(promoted by a person), rejected or retired.",
      "actor": "Who made the change: a person's name, 'refresh', or the rule's name.",
      "reason": "Why, in words (e.g. the metrics that decided a promotion).",
      "detail": "Numbers behind the decision as JSON."}),
)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def has_registry(wh: Warehouse) -> bool:
    return wh.has_table("models", S)


def ensure_registry(wh: Warehouse) -> None:
    """Create the registry tables and their comments if missing (idempotent)."""
    if wh.read_only:
        raise AssistantError(f"the warehouse {wh.path} is open read-only; the assistant needs "
                             "write access to register models")
    if has_registry(wh) and wh.has_table("model_events", S):
        return
    with wh.transaction() as cur:
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {S}")
        for name, columns, comment, col_comments in TABLES:
            cur.execute(f"CREATE TABLE IF NOT EXISTS {S}.{name} (\n    {columns}\n)")
            cur.execute(f"COMMENT ON TABLE {S}.{name} IS {_quote(comment)}")
            for col, text in col_comments.items():
                cur.execute(f"COMMENT ON COLUMN {S}.{name}.{col} IS {_quote(text)}")


# -- records ---------------------------------------------------------------------------------------
@dataclass
class ModelRecord:
    """One row of assistant.models (features, params, metrics parsed)."""

    model_id: str
    kind: str
    scope: str
    version: int
    status: str
    created_at: datetime
    run_id: str | None = None
    train_from: datetime | None = None
    train_to: datetime | None = None
    as_of: datetime | None = None
    features: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    artifact_file: str = ""
    artifact_sha256: str = ""
    replaces: str | None = None
    replaced_by: str | None = None
    promoted_at: datetime | None = None
    promoted_by: str | None = None
    code_version: str = ""
    note: str = ""

    def describe(self) -> str:
        """'churn model churn-v2-ab12 (version 2, champion since 2026-11-01)'."""
        since = (f" since {self.promoted_at:%Y-%m-%d}" if self.status == "champion" and
                 self.promoted_at else "")
        return (f"{self.kind} model {self.model_id} (version {self.version}, "
                f"{self.status}{since})")


_COLUMNS = tuple(f.name for f in fields(ModelRecord))
_JSON = ("features", "params", "metrics")


def _record(row: dict) -> ModelRecord:
    values = {}
    for name in _COLUMNS:
        value = row.get(name)
        if isinstance(value, float) and np.isnan(value):
            value = None
        if isinstance(value, pd.Timestamp):
            value = value.to_pydatetime()
        if name in _JSON:
            value = json.loads(value) if isinstance(value, str) else (value or
                                                                       ([] if name == "features"
                                                                        else {}))
        values[name] = value
    values["version"] = int(values["version"])
    values["note"] = values["note"] or ""
    return ModelRecord(**values)


def _rows(wh: Warehouse, where: str, params: list, order: str = "created_at DESC, model_id DESC",
          limit: int | None = None) -> list[ModelRecord]:
    if not has_registry(wh):
        return []
    sql = f"SELECT * FROM {S}.models WHERE {where} ORDER BY {order}"
    if limit:
        sql += f" LIMIT {int(limit)}"
    df = wh.df(sql, params)
    return [_record(r) for r in df.to_dict("records")]


def get_model(wh: Warehouse, model_id: str) -> ModelRecord:
    """One model by id; ModelNotFound (with recent ids) when there is none."""
    found = _rows(wh, "model_id = ?", [model_id])
    if not found:
        recent = [r.model_id for r in _rows(wh, "true", [], limit=3)]
        hint = f"; recent models: {', '.join(recent)}" if recent else ""
        raise ModelNotFound(f"no model {model_id!r}{hint}")
    return found[0]


def champion(wh: Warehouse, kind: str, scope: str = CUSTOMERS) -> ModelRecord | None:
    """The champion of `kind` for `scope`, or None (no registry yet, or no model)."""
    _check_kind(kind)
    found = _rows(wh, "kind = ? AND scope = ? AND status = 'champion'", [kind, scope], limit=1)
    return found[0] if found else None


def require_champion(wh: Warehouse, kind: str, scope: str = CUSTOMERS) -> ModelRecord:
    """The champion, or ModelNotFound saying how to make one."""
    rec = champion(wh, kind, scope)
    if rec is None:
        how = {"segmentation": "segment the customers", "churn": "predict churn",
               "propensity": "train a propensity model on the table",
               "clv": "predict lifetime value"}[kind]
        raise ModelNotFound(f"there is no {kind} model for {scope} yet; {how} first")
    return rec


def models(wh: Warehouse, kind: str | None = None, scope: str | None = None, *,
           status: str | None = None, limit: int = 50) -> list[ModelRecord]:
    """Registered models, newest first, optionally of one kind, scope and status."""
    where, params = ["true"], []
    for col, value in (("kind", kind), ("scope", scope), ("status", status)):
        if value is not None:
            where.append(f"{col} = ?")
            params.append(value)
    return _rows(wh, " AND ".join(where), params, limit=limit)


def list_models(wh: Warehouse, kind: str | None = None, scope: str | None = None, *,
                limit: int = 50) -> pd.DataFrame:
    """The registry as a table for a person: newest first."""
    recs = models(wh, kind, scope, limit=limit)
    cols = ["model_id", "kind", "scope", "version", "status", "created_at", "train_to",
            "replaces", "replaced_by", "promoted_by", "note"]
    return pd.DataFrame([{c: getattr(r, c) for c in cols} for r in recs], columns=cols)


def history(wh: Warehouse, kind: str | None = None, scope: str | None = None, *,
            limit: int = 50) -> pd.DataFrame:
    """The registry's events, newest first."""
    cols = ["event_at", "model_id", "kind", "scope", "event", "actor", "reason"]
    if not wh.has_table("model_events", S):
        return pd.DataFrame(columns=cols)
    where, params = ["true"], []
    for col, value in (("kind", kind), ("scope", scope)):
        if value is not None:
            where.append(f"{col} = ?")
            params.append(value)
    return wh.df(f"SELECT {', '.join(cols)} FROM {S}.model_events WHERE {' AND '.join(where)} "
                 f"ORDER BY event_at DESC LIMIT {int(limit)}", params)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise InvalidArgument(f"unknown model kind {kind!r}; the kinds are {', '.join(KINDS)}")


def _event(cur, rec: ModelRecord, event: str, actor: str, reason: str,
           detail: dict | None = None, at: datetime | None = None) -> None:
    cur.execute(f"INSERT INTO {S}.model_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [at or datetime.now(), rec.model_id, rec.kind, rec.scope, event, actor, reason,
                 to_json(detail or {})])


# -- artifacts -------------------------------------------------------------------------------------
def models_dir(wh: Warehouse) -> Path:
    """Where artifacts live: `<warehouse stem>.models/` beside the warehouse file (a private
    temporary folder for an in-memory warehouse)."""
    if wh.path == ":memory:":
        return Path(tempfile.gettempdir()) / f"assistant-models-{os.getpid()}-{id(wh)}"
    path = Path(wh.path)
    return path.with_name(path.stem + ".models")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_artifact(wh: Warehouse, model_id: str, artifact: dict) -> tuple[str, str]:
    data = sio.dumps(artifact)
    name = f"{model_id}.skops"
    with atomic_path(models_dir(wh) / name) as tmp:
        tmp.write_bytes(data)
    return name, _sha256(data)


_CACHE: OrderedDict[str, dict] = OrderedDict()
_CACHE_SIZE = 8
_CACHE_LOCK = threading.Lock()


def load_artifact(wh: Warehouse, model: ModelRecord | str) -> dict:
    """The fitted artifact of a model (a dict), after checking its SHA-256 and its types.

    Loaded artifacts are cached by hash, so repeated calls cost one dictionary look-up. Raises
    ModelArtifactError when the file is missing, altered or holds types outside TRUSTED.
    """
    rec = get_model(wh, model) if isinstance(model, str) else model
    with _CACHE_LOCK:
        if rec.artifact_sha256 in _CACHE:
            _CACHE.move_to_end(rec.artifact_sha256)
            return _CACHE[rec.artifact_sha256]
    path = models_dir(wh) / rec.artifact_file
    try:
        data = path.read_bytes()
    except OSError:
        raise ModelArtifactError(
            f"the file of model {rec.model_id} ({path}) is missing; refit it with "
            "`assistant refresh` (or copy the models folder along with the warehouse)") from None
    if _sha256(data) != rec.artifact_sha256:
        raise ModelArtifactError(
            f"the file of model {rec.model_id} ({path}) does not match the hash recorded when "
            "it was saved (changed or damaged); it was not loaded. Refit with `assistant "
            "refresh`")
    try:
        untrusted = set(sio.get_untrusted_types(data=data))
        if untrusted - TRUSTED:
            raise ModelArtifactError(
                f"the file of model {rec.model_id} holds types that are not trusted "
                f"({', '.join(sorted(untrusted - TRUSTED))}); it was not loaded")
        artifact = sio.loads(data, trusted=sorted(untrusted))
    except ModelArtifactError:
        raise
    except Exception as exc:
        raise ModelArtifactError(f"the file of model {rec.model_id} could not be read "
                                 f"({type(exc).__name__}); refit it") from None
    with _CACHE_LOCK:
        _CACHE[rec.artifact_sha256] = artifact
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return artifact


# -- writing ---------------------------------------------------------------------------------------
def _new_id(kind: str, version: int) -> str:
    return f"{_PREFIX[kind]}-v{version}-{secrets.token_hex(2)}"


@dataclass
class Staged:
    """A model whose artifact is written and whose registry rows wait for a transaction, so a
    run and its model are saved together (`write(cur)` inside the run's transaction)."""

    record: ModelRecord
    current: ModelRecord | None
    actor: str
    path: Path

    def write(self, cur) -> None:
        rec, current = self.record, self.current
        if rec.status == "champion" and current:
            _retire(cur, current, rec.model_id, self.actor,
                    rec.note or "replaced by a new model")
        cur.execute(f"INSERT INTO {S}.models ({', '.join(_COLUMNS)}) VALUES "
                    f"({', '.join('?' * len(_COLUMNS))})",
                    [to_json(getattr(rec, c)) if c in _JSON else getattr(rec, c)
                     for c in _COLUMNS])
        _event(cur, rec, "registered", self.actor, rec.note or f"registered as {rec.status}",
               {"status": rec.status}, at=rec.created_at)
        if rec.status == "champion":
            _event(cur, rec, "promoted", self.actor, rec.note or "first model for this scope",
                   {"replaces": rec.replaces}, at=rec.created_at)

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def stage(wh: Warehouse, kind: str, artifact: dict, *, scope: str = CUSTOMERS,
          run_id: str | None = None, features: list[str] | tuple[str, ...] = (),
          metrics: dict | None = None, params: dict | None = None,
          train_from: datetime | None = None, train_to: datetime | None = None,
          as_of: datetime | None = None, status: str | None = None,
          actor: str = "assistant", note: str = "") -> Staged:
    """Write a model's artifact and prepare its registry rows (see `register`)."""
    _check_kind(kind)
    if status not in (None, "champion", "challenger"):
        raise InvalidArgument(f"a new model is a champion or a challenger, not {status!r}")
    ensure_registry(wh)
    version = int(wh.scalar(f"SELECT coalesce(max(version), 0) + 1 FROM {S}.models "
                            "WHERE kind = ? AND scope = ?", [kind, scope]))
    model_id = _new_id(kind, version)
    current = champion(wh, kind, scope)
    status = status or ("challenger" if current else "champion")
    now = datetime.now()
    rec = ModelRecord(
        model_id=model_id, kind=kind, scope=scope, version=version, status=status,
        created_at=now, run_id=run_id, train_from=train_from, train_to=train_to, as_of=as_of,
        features=list(features), params=params or {}, metrics=metrics or {},
        code_version=code_version(),
        note=note or ("" if current else "first model for this scope"))
    if status == "champion":
        rec.promoted_at, rec.promoted_by = now, actor
        rec.replaces = current.model_id if current else None
    artifact = {"format": FORMAT, "kind": kind, "model_id": model_id, **artifact}
    rec.artifact_file, rec.artifact_sha256 = _write_artifact(wh, model_id, artifact)
    return Staged(rec, current, actor, models_dir(wh) / rec.artifact_file)


def register(wh: Warehouse, kind: str, artifact: dict, **kwargs) -> ModelRecord:
    """Save a fitted model: its artifact file, then its registry row and events, atomically.

    Keyword arguments: scope, run_id, features, metrics, params, train_from, train_to, as_of,
    actor, note, and `status`: None makes it the champion when the scope has none yet, else
    a challenger; "champion" makes it the champion at once (the previous one is retired and
    points to it), e.g. a segmentation a person asked for.
    """
    staged = stage(wh, kind, artifact, **kwargs)
    try:
        with wh.transaction() as cur:
            staged.write(cur)
    except BaseException:
        staged.discard()
        raise
    return staged.record


def record(wh: Warehouse, rec: ModelRecord, event: str, actor: str, reason: str,
           detail: dict | None = None) -> None:
    """Add an event to a model's history (e.g. a comparison that changed nothing)."""
    if event not in EVENTS:
        raise InvalidArgument(f"unknown model event {event!r}")
    ensure_registry(wh)
    with wh.transaction() as cur:
        _event(cur, rec, event, actor, reason, detail)


def _retire(cur, old: ModelRecord, replaced_by: str | None, actor: str, reason: str) -> None:
    cur.execute(f"UPDATE {S}.models SET status = 'retired', replaced_by = ? WHERE model_id = ?",
                [replaced_by, old.model_id])
    _event(cur, old, "retired", actor, reason, {"replaced_by": replaced_by})


def promote(wh: Warehouse, model_id: str, *, actor: str, reason: str,
            detail: dict | None = None, approved: bool = False) -> ModelRecord:
    """Make a challenger the champion of its scope; the champion it replaces is retired.

    `approved` records that a person decided (event "approved") rather than a rule.
    """
    rec = get_model(wh, model_id)
    if rec.status == "champion":
        return rec
    if rec.status == "retired":
        raise InvalidArgument(f"{rec.model_id} is retired; only a challenger can be promoted")
    ensure_registry(wh)
    current = champion(wh, rec.kind, rec.scope)
    now = datetime.now()
    with wh.transaction() as cur:
        if current:
            _retire(cur, current, rec.model_id, actor, f"replaced by {rec.model_id}: {reason}")
        cur.execute(f"UPDATE {S}.models SET status = 'champion', promoted_at = ?, "
                    "promoted_by = ?, replaces = ?, note = ? WHERE model_id = ?",
                    [now, actor, current.model_id if current else None, reason, rec.model_id])
        _event(cur, rec, "approved" if approved else "promoted", actor, reason,
               {**(detail or {}), "replaces": current.model_id if current else None})
    return get_model(wh, model_id)


def reject(wh: Warehouse, model_id: str, *, actor: str, reason: str,
           detail: dict | None = None) -> ModelRecord:
    """Keep the champion: the challenger is retired without replacing anyone, and why."""
    rec = get_model(wh, model_id)
    if rec.status != "challenger":
        raise InvalidArgument(f"{rec.model_id} is {rec.status}; only a challenger can be "
                              "rejected")
    with wh.transaction() as cur:
        cur.execute(f"UPDATE {S}.models SET status = 'retired', note = ? WHERE model_id = ?",
                    [reason, rec.model_id])
        _event(cur, rec, "rejected", actor, reason, detail)
    return get_model(wh, model_id)


# -- artifacts of each kind ------------------------------------------------------------------------
def segmentation_artifact(clustering, names: dict[int, str] | None = None,
                          segment_ids: np.ndarray | None = None,
                          reference: dict | None = None) -> dict:
    """What assigning a customer to a segment needs: the transform, the centres, the ids.

    `clustering` is a tools.clustering.Clustering; `segment_ids[i]` is the id of the centre
    `clustering.centers[i]` (default 1..k); `names` maps ids to segment names; `reference` is
    the training population's summary for drift (tools.psi.profile).
    """
    ids = np.arange(1, len(clustering.centers) + 1) if segment_ids is None else segment_ids
    cols = clustering.columns
    return {
        "features": [c.name for c in cols],
        "scales": [c.scale for c in cols],
        "weights": [float(c.weight) for c in cols],
        "transform": {k: np.asarray(v, dtype=np.float64)
                      for k, v in transform_state(clustering.prep).items()},
        "centers": np.asarray(clustering.centers, dtype=np.float64),
        "segment_ids": np.asarray(ids, dtype=np.int64),
        "names": {str(int(i)): str(n) for i, n in (names or {}).items()},
        "reference": reference or {},
    }


def propensity_artifact(report, scores: np.ndarray | None = None,
                        reference: dict | None = None) -> dict:
    """What scoring needs: the fitted model, its feature treatment, drivers and typical values,
    and the decile edges of the population scored when it was trained (`scores`); `reference`
    summarises the training population for drift (tools.psi.profile)."""
    from tools.propensity import decile_edges

    feats = report.features
    return {
        "model": report.model,
        "model_name": report.model_name,
        "features": [f.name for f in feats],
        "scales": [f.scale for f in feats],
        "labels": [f.label for f in feats],
        "units": [f.unit for f in feats],
        "drivers": [{"feature": d.feature, "label": d.label, "importance": float(d.importance),
                     "direction": d.direction} for d in report.drivers],
        "medians": {k: float(v) for k, v in report.medians.items()},
        "edges": (decile_edges(scores) if scores is not None and len(scores) else
                  np.array([], dtype=np.float64)),
        "reference": reference or {},
    }


def _check_columns(artifact: dict, features: pd.DataFrame) -> None:
    missing = [c for c in artifact["features"] if c not in features.columns]
    if missing:
        raise InvalidArgument(f"the feature rows lack the columns {', '.join(missing)} that "
                              f"model {artifact.get('model_id', '')} reads")


def assign_segments(artifact: dict, features: pd.DataFrame) -> pd.DataFrame:
    """The segment of each row: the nearest centre in the model's scaled space (pure).

    Returns a DataFrame with the index of `features`: `segment_id` and `distance` (to the
    centre; large values mean a customer unlike any segment).
    """
    if artifact.get("kind") != "segmentation":
        raise InvalidArgument("assign_segments needs a segmentation model's artifact")
    _check_columns(artifact, features)
    if features.empty:
        return pd.DataFrame({"segment_id": pd.Series(dtype="int64"),
                             "distance": pd.Series(dtype="float64")}, index=features.index)
    cols = [Column(n, s, w) for n, s, w in zip(artifact["features"], artifact["scales"],
                                                artifact["weights"], strict=True)]
    prep = preprocessor_from_state(cols, artifact["transform"])
    raw = features[artifact["features"]].to_numpy(dtype=np.float64, na_value=np.nan)
    X = prep.transform(raw)
    centers = np.asarray(artifact["centers"], dtype=X.dtype)
    nearest, dist = pairwise_distances_argmin_min(X, centers)
    return pd.DataFrame({"segment_id": np.asarray(artifact["segment_ids"])[nearest],
                         "distance": dist.astype(np.float64)}, index=features.index)


def propensity_report(artifact: dict):
    """A tools.propensity.ModelReport rebuilt from a churn or propensity artifact."""
    from tools.propensity import Driver, ModelReport

    feats = [Feature(n, "", label, unit, scale) for n, scale, label, unit in
             zip(artifact["features"], artifact["scales"], artifact["labels"],
                 artifact["units"], strict=True)]
    return ModelReport(model=artifact["model"], model_name=artifact["model_name"],
                       validation_auc={}, metrics={}, calibration=pd.DataFrame(),
                       drivers=[Driver(**d) for d in artifact["drivers"]], features=feats,
                       medians=dict(artifact["medians"]))


def score_propensity(artifact: dict, features: pd.DataFrame, *, reasons: int = 3
                     ) -> pd.DataFrame:
    """Churn or propensity scores of each row (pure): score (0-1), decile against the
    population scored at training (1 = the top 10%), and reasons for high scores in words."""
    from tools.propensity import score

    if artifact.get("kind") not in ("churn", "propensity"):
        raise InvalidArgument("score_propensity needs a churn or propensity model's artifact")
    _check_columns(artifact, features)
    if features.empty:
        return pd.DataFrame({"score": pd.Series(dtype="float64"),
                             "decile": pd.Series(dtype="int64"),
                             "reasons": pd.Series(dtype="object")}, index=features.index)
    edges = artifact["edges"] if len(artifact["edges"]) else None
    return score(propensity_report(artifact), features, reasons=reasons, edges=edges)


def score_with_champion(wh: Warehouse, kind: str, features: pd.DataFrame,
                        scope: str = CUSTOMERS) -> pd.DataFrame:
    """Score or assign `features` with the champion of `kind` (ModelNotFound if none).

    The result carries the champion's id in `attrs["model_id"]`.
    """
    rec = require_champion(wh, kind, scope)
    artifact = load_artifact(wh, rec)
    if kind == "segmentation":
        out = assign_segments(artifact, features)
    elif kind in ("churn", "propensity"):
        out = score_propensity(artifact, features)
    else:
        from tools import clv  # CLV predictions (tools/clv.py)

        out = clv.predict_from_artifact(artifact, features)
    out.attrs["model_id"] = rec.model_id
    return out
