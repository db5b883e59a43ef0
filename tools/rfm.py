"""RFM scoring: recency, frequency and monetary quintile scores and the usual named segments.

Scores run 1..5, 5 the best: R from days since the last transaction (fewer is better), F from
the number of payments and M from spend over the last 12 months (spend as the contract defines
it). Ties share a score (percentile ranks), so two customers with the same recency never get
different R scores. Segments follow the classic R x FM grid (FM = F and M averaged, rounded up):

| segment              | R     | FM    |
|----------------------|-------|-------|
| Champions            | 5     | 4-5   |
| Loyal customers      | 3-4   | 4-5   |
| Potential loyalists  | 4-5   | 2-3   |
| New customers        | 5     | 1     |
| Promising            | 4     | 1     |
| Need attention       | 3     | 3     |
| About to sleep       | 3     | 1-2   |
| At risk              | 1-2   | 3-4   |
| Can't lose them      | 1-2   | 5     |
| Hibernating          | 1-2   | 1-2   | (except R 1 with FM 1: Lost)
| Lost                 | 1     | 1     |

Segment ids are fixed (Champions is always 1), so RFM runs compare segment by segment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from warehouse.errors import EmptyResult

SEGMENTS: tuple[tuple[str, str], ...] = (
    ("Champions", "Transacted very recently, pay often and spend the most."),
    ("Loyal customers", "Pay often and spend well, and were active recently."),
    ("Potential loyalists", "Recent customers with average frequency and spend: nurture them."),
    ("New customers", "Transacted very recently but rarely so far."),
    ("Promising", "Recent but infrequent, low spenders."),
    ("Need attention", "Average recency, frequency and spend: slipping towards inactivity."),
    ("About to sleep", "Below-average recency, frequency and spend."),
    ("At risk", "Used to pay often and spend well, but not recently."),
    ("Can't lose them", "Were among the most frequent and biggest spenders but have not "
                        "transacted for a long time."),
    ("Hibernating", "Last transacted long ago, with low frequency and spend."),
    ("Lost", "The lowest recency, frequency and spend."),
)
SEGMENT_IDS = {name: i + 1 for i, (name, _) in enumerate(SEGMENTS)}
RECENCY, FREQUENCY, MONETARY = "days_since_last_transaction", "payments_12m", "spend_12m"


def quintile_score(values: pd.Series, *, higher_is_better: bool = True) -> pd.Series:
    """1..5 by percentile rank; ties share the score."""
    pct = values.rank(method="max", pct=True)
    score = np.ceil(pct * 5).clip(1, 5).astype(int)
    return score if higher_is_better else 6 - score


def segment_of(r: int, fm: int) -> str:
    """The named RFM segment of an R score and an FM score (see the module table)."""
    if r == 5:
        return "Champions" if fm >= 4 else "Potential loyalists" if fm >= 2 else "New customers"
    if r == 4:
        return "Loyal customers" if fm >= 4 else "Potential loyalists" if fm >= 2 else "Promising"
    if r == 3:
        if fm >= 4:
            return "Loyal customers"
        return "Need attention" if fm == 3 else "About to sleep"
    if fm == 5:
        return "Can't lose them"
    if fm >= 3:
        return "At risk"
    return "Lost" if r == 1 and fm == 1 else "Hibernating"


def rfm_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """R, F, M, FM scores, the RFM code ("545"), segment name and segment id per customer.

    `frame` needs the columns days_since_last_transaction, payments_12m and spend_12m (from
    tools.features); customers who never transacted are left out.
    """
    data = frame[frame[RECENCY].notna()]
    if data.empty:
        raise EmptyResult("no customer has transacted in the last 12 months; RFM needs "
                          "transactions")
    out = pd.DataFrame(index=data.index)
    out["r"] = quintile_score(data[RECENCY].astype(float), higher_is_better=False)
    out["f"] = quintile_score(data[FREQUENCY].astype(float))
    out["m"] = quintile_score(data[MONETARY].astype(float))
    out["fm"] = (out["f"] + out["m"] + 1) // 2
    out["rfm"] = out["r"].astype(str) + out["f"].astype(str) + out["m"].astype(str)
    grid = {(r, fm): segment_of(r, fm) for r in range(1, 6) for fm in range(1, 6)}
    out["segment"] = [grid[(r, fm)] for r, fm in zip(out["r"], out["fm"], strict=True)]
    out["segment_id"] = out["segment"].map(SEGMENT_IDS).astype(int)
    return out
