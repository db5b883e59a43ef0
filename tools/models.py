"""The model registry for the agent: which models are in use, and a person's approval of a
challenger (tools/model_registry.py stores them; tools/champions.py decides)."""

from __future__ import annotations

from tools.result import TableResult, ToolContext, ToolResult
from warehouse.errors import InvalidArgument
from warehouse.lazy import lazy

champions = lazy("tools.champions")    # scikit-learn, skops: on first use
mr = lazy("tools.model_registry")


def _line(rec: mr.ModelRecord) -> str:
    m = rec.metrics
    if rec.kind in ("churn", "propensity") and "roc_auc" in m:
        quality = (f"held-out ROC AUC {m['roc_auc']:.3f}, top-decile precision "
                   f"{m['precision_top_decile']:.0%}")
    elif rec.kind == "segmentation":
        quality = f"{m.get('k')} segments"
    elif rec.kind == "clv":
        h = m.get("holdout") or {}
        quality = (f"holdout error {h['purchases_error_pct']:+.1f}% on repeat purchases"
                   if h else "no holdout check")
    else:
        quality = ""
    trained = f"data to {rec.train_to:%Y-%m-%d}" if rec.train_to else "no training window"
    return f"- {rec.describe()} for {rec.scope}: {trained}; {quality}."


def show_models(ctx: ToolContext, kind: str | None = None) -> ToolResult:
    """Show the models in use (champions), challengers waiting, and what replaced what.

    Use this for "which models do we use?", "show the model registry", "which churn model is
    the champion?", "is there a challenger?".

    Args:
        kind: only segmentation, churn, propensity or clv models.
    """
    if kind is not None and kind not in mr.KINDS:
        raise InvalidArgument(f"kind is one of {', '.join(mr.KINDS)}, not {kind!r}")
    recs = mr.models(ctx.wh, kind, limit=200)
    if not recs:
        return ToolResult(summary="No models are registered yet: segmenting the customers, "
                          "predicting churn or lifetime value trains the first ones.")
    lines = ["Champions (in use):"]
    lines += [_line(r) for r in recs if r.status == "champion"]
    waiting = [r for r in recs if r.status == "challenger"]
    if waiting:
        lines.append("Challengers (trained, not in use; a person may approve one):")
        lines += [_line(r) + (f" {r.note}" if r.note else "") for r in waiting]
    retired = sum(r.status == "retired" for r in recs)
    lines.append(f"{retired} retired model{'s' if retired != 1 else ''} in the history.")
    return ToolResult(summary="\n".join(lines),
                      tables=[TableResult("Model registry", mr.list_models(ctx.wh, kind,
                                                                           limit=200))])


def approve_model(ctx: ToolContext, model_id: str, approver: str) -> ToolResult:
    """Promote a challenger model to champion because a person approves it.

    Use this only when the marketer explicitly approves a model ("approve churn model
    churn-v3-ab12 as Jane Doe"). The approval is recorded with their name.

    Args:
        model_id: the challenger's id, e.g. churn-v3-ab12.
        approver: the name of the person approving.
    """
    rec = champions.approve(ctx.wh, model_id, approver=approver)
    return ToolResult(summary=f"{rec.model_id} is now the {rec.kind} model in use for "
                      f"{rec.scope}, replacing {rec.replaces or 'none'}; approved by "
                      f"{approver} and recorded in the model history.")
