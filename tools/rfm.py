"""RFM scoring: recency, frequency and monetary scores and the usual named segments.

Scores run 1..5, 5 the best, over a window (default: all history; `window_days` keeps the last
N days for F and M): R from days since the last purchase (fewer is better), F from the number
of purchases and M from spend in the window (spend as the contract defines it: debits outside
transfer, investment and fees). Every customer who ever bought is scored, lapsed ones too
(they are the Hibernating and the Lost): with a window, a customer who last bought before it
has F and M of 0 and the lowest scores.

Ties as analysts break them: scores are quintiles of the rank where tied customers share the
LOWEST rank of their group, so equal values share a score and the lowest score is always
reachable (a plain percentile rank gives a 38% block of one-time buyers F = 2, and F = 1 to
nobody). When most customers bought once, quintiles of frequency mean nothing, so F uses fixed
bins instead: 1 purchase -> 1, 2 -> 2, 3 -> 3, 4-5 -> 4, 6 or more -> 5 (and 0 in the window ->
1). Segments follow the classic R x FM grid (FM = F and M averaged, rounded up):

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

except that a customer with F = 1 (one purchase; it cannot be "pay often" or "loyal") is a New
customer (R 5), Promising (R 4), About to sleep (R 3), Hibernating (R 2) or Lost (R 1).

Segment ids are fixed (Champions is always 1), so RFM runs compare segment by segment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from warehouse.contract import NON_SPEND_CATEGORIES
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
RECENCY, FREQUENCY, MONETARY = "recency_days", "frequency", "monetary"


ONE_TIME_SHARE = 0.5      # above this share of one-time buyers, F uses FIXED_F_BINS
FIXED_F_BINS = (1, 2, 3, 4, 6)   # lower edges of F = 1..5 (purchases in the window)


def quintile_score(values: pd.Series, *, higher_is_better: bool = True) -> pd.Series:
    """1..5 by rank: quintiles of the rank, ties sharing the lowest rank of their group (so
    equal values share a score and the lowest score is reachable)."""
    n = max(len(values), 1)
    position = (values.rank(method="min") - 1) / n          # 0 for the lowest value
    score = (np.floor(position * 5) + 1).clip(1, 5).astype(int)
    return score if higher_is_better else 6 - score


def frequency_score(frequency: pd.Series) -> tuple[pd.Series, str]:
    """F scores and how they were made ('quintiles' or 'fixed bins')."""
    buyers = frequency[frequency > 0]
    if len(buyers) and (buyers == 1).mean() > ONE_TIME_SHARE:
        edges = np.asarray(FIXED_F_BINS)
        score = pd.Series(np.searchsorted(edges, frequency.to_numpy(), side="right"),
                          index=frequency.index).clip(1, 5).astype(int)
        return score, "fixed bins"
    return quintile_score(frequency), "quintiles"


def segment_of(r: int, fm: int, f: int | None = None) -> str:
    """The named RFM segment of an R score and an FM score (see the module table); with F = 1
    (one purchase) the names for one-time buyers."""
    if f == 1:
        return {5: "New customers", 4: "Promising", 3: "About to sleep",
                2: "Hibernating"}.get(r, "Lost")
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


def rfm_inputs_sql(reference: str, window_days: int | None) -> str:
    """Per customer who ever made a purchase (a spend payment) up to the reference timestamp
    (a SQL literal): recency_days (since the last purchase, ever), frequency and monetary (in
    the window; all history without one)."""
    non_spend = ", ".join(f"'{c}'" for c in NON_SPEND_CATEGORIES)
    inside = "true" if window_days is None else \
        f"ts > {reference} - INTERVAL {int(window_days)} DAY"
    return f"""SELECT customer_id,
       date_diff('day', max(ts), {reference}) AS {RECENCY},
       count(*) FILTER (WHERE {inside}) AS {FREQUENCY},
       coalesce(sum(amount) FILTER (WHERE {inside}), 0) AS {MONETARY}
FROM transactions
WHERE direction = 'debit' AND coalesce(category, '') NOT IN ({non_spend}) AND ts <= {reference}
GROUP BY customer_id"""


def rfm_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """R, F, M, FM scores, the RFM code ("545"), segment name and segment id per customer.

    `frame` needs the columns recency_days, frequency and monetary (`rfm_inputs_sql`); rows
    without a recency (never bought) are left out. `attrs["frequency_scoring"]` says how F
    was made.
    """
    data = frame[frame[RECENCY].notna()]
    if data.empty:
        raise EmptyResult("no customer selected has made a purchase; RFM needs transactions")
    out = pd.DataFrame(index=data.index)
    out["r"] = quintile_score(data[RECENCY].astype(float), higher_is_better=False)
    out["f"], how = frequency_score(data[FREQUENCY].astype(float))
    out["m"] = quintile_score(data[MONETARY].astype(float))
    out["fm"] = (out["f"] + out["m"] + 1) // 2
    out["rfm"] = out["r"].astype(str) + out["f"].astype(str) + out["m"].astype(str)
    out["segment"] = [segment_of(r, fm, f) for r, fm, f in
                      zip(out["r"], out["fm"], out["f"], strict=True)]
    out["segment_id"] = out["segment"].map(SEGMENT_IDS).astype(int)
    out.attrs["frequency_scoring"] = how
    return out
