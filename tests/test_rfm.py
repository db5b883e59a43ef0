"""RFM done right (issue 10, item 4): ties, fixed frequency bins when most bought once, names
that fit one-time buyers."""

from __future__ import annotations

import pandas as pd
import pytest

from tools import rfm


def test_a_block_of_tied_lowest_values_gets_the_lowest_score():
    # 38% bought once: a percentile rank would give them all F = 2 and nobody F = 1
    values = pd.Series([1] * 38 + list(range(2, 64)))
    scores = rfm.quintile_score(values)
    assert set(scores.iloc[:38]) == {1}
    assert sorted(set(scores)) == [1, 2, 3, 4, 5]
    assert scores.groupby(values).nunique().max() == 1       # equal values, equal scores


def test_recency_scores_fewer_days_higher():
    assert list(rfm.quintile_score(pd.Series(range(10)), higher_is_better=False)) == \
        [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_fixed_frequency_bins_when_most_customers_bought_once():
    freq = pd.Series([1] * 60 + [2] * 15 + [3] * 10 + [5] * 10 + [12] * 5 + [0] * 7)
    scores, how = rfm.frequency_score(freq)
    assert how == "fixed bins"
    assert scores.groupby(freq).first().to_dict() == {0: 1, 1: 1, 2: 2, 3: 3, 5: 4, 12: 5}
    _, how = rfm.frequency_score(pd.Series(range(1, 50)))
    assert how == "quintiles"


@pytest.mark.parametrize("fm", [1, 2, 3, 4, 5])
def test_one_time_buyers_are_never_called_frequent_or_loyal(fm):
    names = {rfm.segment_of(r, fm, f=1) for r in range(1, 6)}
    assert names <= {"New customers", "Promising", "About to sleep", "Hibernating", "Lost"}
    assert rfm.segment_of(1, fm, f=1) == "Lost" and rfm.segment_of(5, fm, f=1) == "New customers"


def test_scores_carry_how_frequency_was_scored():
    frame = pd.DataFrame({rfm.RECENCY: [1, 30, 400, 700, 20, 5],
                          rfm.FREQUENCY: [1, 1, 1, 1, 4, 9],
                          rfm.MONETARY: [10.0, 900.0, 50.0, 0.0, 300.0, 800.0]})
    out = rfm.rfm_scores(frame)
    assert out.attrs["frequency_scoring"] == "fixed bins"
    assert "At risk" not in set(out.loc[out["f"] == 1, "segment"])
    assert out.loc[3, "segment"] == "Lost"
