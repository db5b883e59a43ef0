"""BG/NBD and Gamma-Gamma: parameters recovered from data simulated from the model, the classic
identities, and clear errors for summaries that cannot be right."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tools import clv_model as cm
from warehouse.errors import InvalidArgument

TRUE_BG = cm.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426)   # CDNOW's published values
TRUE_GG = cm.GammaGamma(p=6.25, q=3.74, gamma=15.44)


@pytest.fixture(scope="module")
def simulated():
    rng = np.random.default_rng(3)
    T = rng.uniform(26, 39, 20_000)       # customers who joined over three months, in weeks
    return cm.simulate(TRUE_BG, T, gg=TRUE_GG, seed=5)


def test_bgnbd_recovers_the_parameters_it_was_simulated_from(simulated):
    fit = cm.fit_bgnbd(simulated["frequency"], simulated["recency"], simulated["T"])
    for name in ("r", "alpha", "a", "b"):
        assert getattr(fit, name) == pytest.approx(getattr(TRUE_BG, name), rel=0.12), name
    # the fitted model is at least as likely as the truth on its own data (it is the maximum)
    truth = cm.bgnbd_log_likelihood((0.243, 4.414, 0.793, 2.426), simulated["frequency"],
                                    simulated["recency"], simulated["T"]).sum()
    assert fit.log_likelihood >= truth - 1e-6


def test_gamma_gamma_recovers_the_parameters(simulated):
    fit = cm.fit_gamma_gamma(simulated["frequency"], simulated["monetary"])
    assert fit.p == pytest.approx(TRUE_GG.p, rel=0.15)
    assert fit.q == pytest.approx(TRUE_GG.q, rel=0.15)
    assert fit.gamma == pytest.approx(TRUE_GG.gamma, rel=0.2)
    assert fit.mean_spend == pytest.approx(TRUE_GG.mean_spend, rel=0.05)


def test_no_repeat_purchase_means_alive_and_the_unconditional_expectation_shifted():
    # P(alive | x = 0) = 1: BG/NBD customers can only drop out right after a purchase
    assert cm.p_alive(TRUE_BG, [0], [0], [30.0])[0] == 1.0
    # E[Y(t) | x = 0, T] is E[X(t)] of a customer whose rate prior has seen T quiet units
    shifted = cm.BGNBD(TRUE_BG.r, TRUE_BG.alpha + 30.0, TRUE_BG.a, TRUE_BG.b)
    cond = cm.conditional_expected_purchases(TRUE_BG, 52.0, [0], [0], [30.0])[0]
    assert cond == pytest.approx(cm.expected_purchases(shifted, 52.0), rel=1e-10)
    # a brand-new customer (T = 0) expects exactly the population's E[X(t)]
    new = cm.conditional_expected_purchases(TRUE_BG, 39.0, [0], [0], [0.0])[0]
    assert new == pytest.approx(cm.expected_purchases(TRUE_BG, 39.0), rel=1e-10)


def test_the_probabilities_of_purchase_counts_sum_to_one_and_match_the_mean():
    probs = np.array([cm.probability_of_purchases(TRUE_BG, 39.0, n) for n in range(400)])
    assert probs.sum() == pytest.approx(1.0, abs=1e-9) and (probs >= 0).all()
    assert (probs * np.arange(400)).sum() == pytest.approx(
        cm.expected_purchases(TRUE_BG, 39.0), rel=1e-6)


def test_expected_purchases_match_a_simulation_of_the_future():
    # customers with the same history: simulate what follows and compare with eq. 10
    rng = np.random.default_rng(11)
    n, T, t = 40_000, 20.0, 30.0
    lam = rng.gamma(TRUE_BG.r, 1 / TRUE_BG.alpha, n)
    p = rng.beta(TRUE_BG.a, TRUE_BG.b, n)
    # whole lifetimes in [0, T + t]: count purchases before T and after it
    counts_before, last, after = np.zeros(n), np.zeros(n), np.zeros(n)
    for i in range(n):
        clock, alive = 0.0, True
        while alive:
            clock += rng.exponential(1 / lam[i])
            if clock > T + t:
                break
            if clock <= T:
                counts_before[i] += 1
                last[i] = clock
            else:
                after[i] += 1
            alive = rng.random() >= p[i]
    for x in (0, 1, 3):
        rows = counts_before == x
        if x:
            rows &= (last > 10) & (last <= 15)
        predicted = cm.conditional_expected_purchases(
            TRUE_BG, t, np.full(rows.sum(), x), last[rows], np.full(rows.sum(), T))
        assert predicted.mean() == pytest.approx(after[rows].mean(), rel=0.12), x


def test_spend_shrinks_towards_the_population_mean():
    per = cm.expected_spend_per_purchase(TRUE_GG, [0, 1, 50], [0.0, 100.0, 100.0])
    assert per[0] == pytest.approx(TRUE_GG.mean_spend)
    assert TRUE_GG.mean_spend < per[1] < per[2] < 100.0


def test_predict_per_customer():
    summary = pd.DataFrame({"frequency": [0, 2, 2], "recency": [0.0, 30.0, 5.0],
                            "T": [38.0, 38.0, 38.0], "monetary": [0.0, 20.0, 20.0]})
    out = cm.predict(TRUE_BG, TRUE_GG, summary, 52)
    assert out.loc[1, "p_alive"] > out.loc[2, "p_alive"]      # a recent buyer is likelier alive
    assert out.loc[1, "expected_purchases"] > out.loc[2, "expected_purchases"]
    assert np.allclose(out["expected_spend"],
                       out["expected_purchases"] * out["expected_spend_per_purchase"])


@pytest.mark.parametrize(("x", "t_x", "T", "message"), [
    ([1, 2], [1.0], [5.0, 5.0], "same length"),
    ([1], [6.0], [5.0], "recency <= T"),
    ([0], [2.0], [5.0], "recency 0 exactly"),
    ([-1], [0.0], [5.0], "frequency >= 0"),
    ([0] * 20, [0.0] * 20, [5.0] * 20, "too few customers with repeat purchases"),
])
def test_bad_summaries_are_refused(x, t_x, T, message):
    with pytest.raises(InvalidArgument, match=message):
        cm.fit_bgnbd(x, t_x, T)
