"""Champion and challenger: a new churn or propensity model replaces the one in use only when it
is better on the same held-out data, or when a person approves it.

The comparison: both models score the challenger's held-out customers (features as of the
latest cutoff, outcomes in the window after it), and the challenger is promoted when
- its ROC AUC is at least AUC_MARGIN higher than the champion's, and
- its Brier score is no more than BRIER_TOLERANCE higher, and
- its precision in the top decile is no more than PRECISION_TOLERANCE lower.
A small AUC gain is noise on a few thousand held-out customers, and a model that ranks better
but is worse calibrated, or finds fewer churners in the 10% a campaign would target, is not
better for a marketer. A challenger that loses stays a challenger (a person may still approve
it, `approve`); a newer challenger of the same scope retires it. Every comparison is recorded
in assistant.model_events with both sets of numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from tools import model_registry as mr
from tools import propensity
from warehouse.connection import Warehouse
from warehouse.errors import InvalidArgument

AUC_MARGIN = 0.005
BRIER_TOLERANCE = 0.002
PRECISION_TOLERANCE = 0.01
RULE = (f"ROC AUC at least {AUC_MARGIN} higher, Brier score at most {BRIER_TOLERANCE} higher, "
        f"top-decile precision at most {PRECISION_TOLERANCE:.0%} lower")


@dataclass
class Decision:
    """The outcome of champion vs challenger on the same rows."""

    champion: str
    challenger: str
    promote: bool
    rows: int
    champion_metrics: dict
    challenger_metrics: dict
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


def _fmt(m: dict) -> str:
    return (f"ROC AUC {m['roc_auc']:.3f}, Brier {m['brier']:.4f}, top-decile precision "
            f"{m['precision_top_decile']:.1%}")


def decide(champion: dict, challenger: dict) -> tuple[bool, list[str]]:
    """Whether challenger metrics beat champion metrics by the rule, and why not if not."""
    failed = []
    if not challenger["roc_auc"] >= champion["roc_auc"] + AUC_MARGIN:
        failed.append(f"ROC AUC {challenger['roc_auc']:.3f} is not {AUC_MARGIN} above "
                      f"{champion['roc_auc']:.3f}")
    if challenger["brier"] > champion["brier"] + BRIER_TOLERANCE:
        failed.append(f"Brier score {challenger['brier']:.4f} is worse than "
                      f"{champion['brier']:.4f}")
    if challenger["precision_top_decile"] < champion["precision_top_decile"] - \
            PRECISION_TOLERANCE:
        failed.append(f"top-decile precision {challenger['precision_top_decile']:.1%} is below "
                      f"{champion['precision_top_decile']:.1%}")
    return not failed, failed


def compare_on(champion_artifact: dict, challenger_artifact: dict, X, y: np.ndarray
               ) -> tuple[dict, dict]:
    """Both models' held-out metrics on the same rows `X` with outcomes `y`."""
    def metrics(artifact: dict) -> dict:
        missing = [c for c in artifact["features"] if c not in X.columns]
        if missing:
            raise InvalidArgument(f"model {artifact['model_id']} reads features the new data "
                                  f"does not have ({', '.join(missing)})")
        return propensity.evaluation(y, propensity.predict(mr.propensity_report(artifact), X))

    return metrics(champion_artifact), metrics(challenger_artifact)


def challenge(wh: Warehouse, champion: mr.ModelRecord, challenger: mr.ModelRecord, trained,
              *, actor: str = "champion rule") -> Decision:
    """Compare `challenger` (just trained, `trained` holds its held-out rows) with `champion`,
    promote it when it wins, and record the comparison either way."""
    X, y = trained.held_out
    champ_m, chall_m = compare_on(mr.load_artifact(wh, champion),
                                  mr.load_artifact(wh, challenger), X, y)
    promote, failed = decide(champ_m, chall_m)
    both = (f"on the same {len(y):,} held-out customers: new {_fmt(chall_m)} vs champion "
            f"{_fmt(champ_m)}")
    if promote:
        reason = f"beat the champion {champion.model_id} {both}"
    else:
        reason = f"did not beat the champion {champion.model_id} ({'; '.join(failed)}) {both}"
    decision = Decision(champion.model_id, challenger.model_id, promote, len(y), champ_m,
                        chall_m, reason)
    detail = decision.to_dict()
    if promote:
        mr.promote(wh, challenger.model_id, actor=actor, reason=reason, detail=detail)
    else:
        mr.record(wh, challenger, "compared", actor, reason, detail)
        for older in mr.models(wh, challenger.kind, challenger.scope, status="challenger"):
            if older.model_id != challenger.model_id:
                mr.reject(wh, older.model_id, actor=actor,
                          reason=f"superseded by the newer challenger {challenger.model_id}")
    return decision


def words(decision: Decision, version_of: dict[str, int] | None = None) -> str:
    """The decision in a sentence for the marketer."""
    if decision.promote:
        return (f"A new churn model ({decision.challenger}) replaced the champion: it "
                f"{decision.reason.split(' ', 1)[1]}.")
    return (f"The champion {decision.champion} stays: the new model {decision.challenger} "
            f"{decision.reason}. A person can still approve it (\"approve churn model "
            f"{decision.challenger} as <your name>\").")


def approve(wh: Warehouse, model_id: str, *, approver: str, reason: str = "") -> mr.ModelRecord:
    """A person promotes a challenger; recorded as approved, with their name."""
    approver = (approver or "").strip()
    if not approver or approver.startswith("["):
        raise InvalidArgument("say who approves the model (a name), e.g. \"approve churn model "
                              f"{model_id} as Jane Doe\"")
    rec = mr.get_model(wh, model_id)
    if rec.status != "challenger":
        raise InvalidArgument(f"{model_id} is the {rec.status} model; only a challenger can be "
                              "approved")
    return mr.promote(wh, model_id, actor=approver, approved=True,
                      reason=reason or f"approved by {approver}")
