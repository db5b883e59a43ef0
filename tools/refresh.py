"""Refresh: the models learn from the data that arrived since they were trained.

- Segmentation (every scope with a champion): the champion is refitted on today's customers,
  warm-started from its centres, and the new segments are matched to its own
  (tools.identity), so segment 3 stays segment 3 with its name unless it really changed; the
  refit becomes the champion and what changed is said in words.
- Churn: a challenger is trained on the latest time split and promoted only when it beats the
  champion on the same held-out customers (tools.champions); the active customers are scored
  with whichever is champion.
- CLV: refitted on every purchase to the end of the data.

`refresh(wh)` does all three and returns what happened; `assistant refresh` and the schedule
inside the running app call it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tools.result import ToolContext, ToolResult
from warehouse.connection import Warehouse
from warehouse.errors import AssistantError, InvalidArgument
from warehouse.lazy import lazy

mr = lazy("tools.model_registry")      # scikit-learn, skops: on first use

KINDS = ("segmentation", "churn", "clv")


@dataclass
class Refreshed:
    kind: str
    scope: str
    model_id: str | None          # the champion after the refresh
    previous: str | None
    sentences: list[str] = field(default_factory=list)
    run_id: str | None = None
    error: str | None = None


def refresh_segmentation(wh: Warehouse, scope: str = "customers", *, session: str = "",
                         progress=None) -> Refreshed:
    """Refit the segmentation champion of `scope` keeping segment identities."""
    from tools.identity import Identity, Match
    from tools.segments import run_segmentation

    champ = mr.require_champion(wh, "segmentation", scope)
    p = champ.params
    seg = run_segmentation(
        wh, active_only=bool(p.get("active_only")), country=p.get("country"),
        product=p.get("product"), table=p.get("table"), columns=p.get("columns"),
        include_protected=bool(p.get("include_protected")), seed=int(p.get("seed", 42)),
        session=session, question="refresh", progress=progress, continues=champ.model_id)
    ident = seg.run.metrics["identity"]
    identity = Identity([Match(**m) for m in ident["matches"]], ident["vanished"],
                        {int(k): v for k, v in ident["splits"].items()},
                        {int(k): v for k, v in ident["merged"].items()}, ident["common"])
    art = mr.load_artifact(wh, champ)
    old_names = {int(k): v for k, v in art["names"].items()}
    new_names = {c.segment_id: c.name for c in seg.cards}
    head = (f"Segmentation {champ.model_id} refitted on {seg.run.row_count:,} customers as of "
            f"{seg.run.as_of:%Y-%m-%d} (run {seg.run.run_id}), warm-started from its centres.")
    sentences = [head, *identity.sentences(old_names, new_names)]
    return Refreshed("segmentation", scope, seg.run.metrics["model_id"], champ.model_id,
                     sentences, seg.run.run_id)


def refresh_churn(wh: Warehouse, *, include_protected: bool = False, session: str = "",
                  progress=None) -> Refreshed:
    """Train a churn challenger on the latest split; promoted only if it beats the champion."""
    from tools.champions import Decision, words
    from tools.churn import churn_scope, score_churn

    before = mr.champion(wh, "churn", churn_scope(include_protected))
    res = score_churn(wh, include_protected=include_protected, retrain=True, session=session,
                      question="refresh", progress=progress)
    m = res.run["metrics"]
    if m.get("challenge"):
        sentence = words(Decision(**m["challenge"]))
    else:
        sentence = f"First churn model {m['model_id']} trained (ROC AUC {m['roc_auc']:.3f})."
    return Refreshed("churn", churn_scope(include_protected), m["model_id"],
                     before.model_id if before else None, [sentence], res.run["run_id"])


def refresh_clv(wh: Warehouse, *, session: str = "", progress=None) -> Refreshed:
    from tools.clv import fit_clv

    before = mr.champion(wh, "clv")
    p = before.params if before else {}
    res = fit_clv(wh, horizon_months=int(p.get("horizon_months", 12)),
                  unit=p.get("unit", "weeks"), session=session, question="refresh",
                  progress=progress)
    m = res.run["metrics"]
    h = m.get("holdout") or {}
    sentence = (f"Lifetime value refitted ({m['model_id']}): {m['probably_alive']:,} customers "
                f"probably still active; holdout error {h.get('purchases_error_pct', 0):+.1f}% "
                "on repeat purchases.")
    return Refreshed("clv", "customers", m["model_id"], before.model_id if before else None,
                     [sentence], res.run["run_id"])


def refresh(wh: Warehouse, kinds: tuple[str, ...] = KINDS, *, session: str = "refresh",
            progress=None) -> list[Refreshed]:
    """Refresh every model that has a champion (churn and CLV also when they have none yet,
    if asked for by name); an error in one kind is reported and the others go on."""
    done = []
    for kind in kinds:
        try:
            if kind == "segmentation":
                scopes = [r.scope for r in mr.models(wh, "segmentation", status="champion")]
                if not scopes:
                    done.append(Refreshed(kind, "customers", None, None,
                                          ["No segmentation to refresh yet: segment the "
                                           "customers first."]))
                for scope in scopes:
                    try:
                        done.append(refresh_segmentation(wh, scope, session=session,
                                                         progress=progress))
                    except AssistantError as exc:
                        done.append(Refreshed(kind, scope, None, None, [], error=str(exc)))
            elif kind == "churn":
                done.append(refresh_churn(wh, session=session, progress=progress))
            elif kind == "clv":
                done.append(refresh_clv(wh, session=session, progress=progress))
        except AssistantError as exc:
            done.append(Refreshed(kind, "customers", None, None, [], error=str(exc)))
    return done


def refresh_models(ctx: ToolContext, models: list[str] | None = None) -> ToolResult:
    """Refresh the models on the latest data: segments keep their ids, churn is challenged.

    Use this for "refresh the models", "retrain the churn model", "update the segmentation
    with the new data". Segmentations are refitted from their centres and matched to the
    segments in use (ids and names kept where membership mostly stayed); a churn challenger is
    promoted only if it beats the champion on the same held-out customers; lifetime value is
    refitted.

    Args:
        models: which to refresh: any of "segmentation", "churn", "clv" (default all).
    """
    kinds = tuple(models) if models else KINDS
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise InvalidArgument(f"models are {', '.join(KINDS)}, not {', '.join(unknown)}")
    done = refresh(ctx.wh, kinds, session=ctx.session)
    lines = []
    for r in done:
        lines += [f"{r.kind}: not refreshed ({r.error})"] if r.error else r.sentences
    return ToolResult(summary="\n".join(lines),
                      data=[{"kind": r.kind, "scope": r.scope, "model_id": r.model_id,
                             "previous": r.previous, "run_id": r.run_id, "error": r.error}
                            for r in done])
