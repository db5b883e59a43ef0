"""Predicted lifetime value: the BG/NBD model of repeat purchases and the Gamma-Gamma model of
spend per purchase, fitted by maximum likelihood (scipy). Pure functions on per-customer
summaries; no warehouse here (tools/clv.py builds the summaries and stores the results).

Summaries follow the published convention (Fader, Hardie & Lee 2005, "Counting your customers
the easy way"): per customer, `frequency` x = the number of repeat purchase days in the
calibration period (several purchases on one day count once; the first purchase is not a
repeat), `recency` t_x = the time from the first to the last purchase, and `T` = the time from
the first purchase to the end of the calibration period, in one time unit (days or weeks);
`monetary` = the mean value of the repeat purchase days (the Gamma-Gamma input).

BG/NBD: while alive, a customer buys at a Poisson rate lambda ~ Gamma(r, alpha); after every
purchase they drop out with probability p ~ Beta(a, b). Gamma-Gamma: spend per purchase is
Gamma(p, nu) around a customer's mean, nu ~ Gamma(q, gamma), independent of the purchase
process. No maintained CLV library installs on Python 3.11 here (pymc-marketing needs 3.12;
lifetimes and btyd are archived), and each likelihood is a few lines, so they are written here.

Fitting: the negative log-likelihood and its analytic gradient (digamma terms), on log
parameters so every parameter stays positive, by L-BFGS-B from two starts (a third when neither
converges; the best is kept); identical summaries are computed once and weighted. Above
FIT_SAMPLE customers the parameters are estimated on a seeded sample of that many (at a
million customers the sampling error of the parameters is far below the differences that
matter, and the fit stays a few seconds); predictions are then made for every customer. Checked by
recovering the parameters of data simulated from the model, by the classic identities
(tests/test_clv.py), and on the CDNOW sample against the published parameters
(bench/cdnow_check.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, hyp2f1

from warehouse.errors import InvalidArgument

_STARTS = ((1.0, 1.0, 1.0, 1.0), (0.5, 5.0, 0.8, 2.5), (2.0, 20.0, 0.3, 5.0))
FIT_SAMPLE = 250_000   # customers the likelihood is maximised on (a seeded sample above it)


@dataclass(frozen=True)
class BGNBD:
    """Fitted BG/NBD parameters (rates per time unit of the summaries it was fitted on)."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float = float("nan")
    customers: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class GammaGamma:
    """Fitted Gamma-Gamma parameters of spend per repeat purchase."""

    p: float
    q: float
    gamma: float
    log_likelihood: float = float("nan")
    customers: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def mean_spend(self) -> float:
        """The population mean of spend per purchase, p * gamma / (q - 1) (inf for q <= 1)."""
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else float("inf")


# -- checks ----------------------------------------------------------------------------------------
def _arrays(x, t_x, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    if not (x.shape == t_x.shape == T.shape):
        raise InvalidArgument("frequency, recency and T must have the same length")
    if len(x) and (np.isnan(x).any() or np.isnan(t_x).any() or np.isnan(T).any()):
        raise InvalidArgument("frequency, recency and T must not have missing values")
    if len(x) and ((x < 0).any() or (t_x < 0).any() or (t_x > T + 1e-9).any()
                   or ((x == 0) & (t_x > 0)).any() or ((x > 0) & (t_x <= 0)).any()):
        raise InvalidArgument("summaries must satisfy 0 <= recency <= T, recency 0 exactly when "
                              "frequency is 0, and frequency >= 0")
    return x, t_x, T


def _compress(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows and how often each occurs (the likelihood of a row is computed once)."""
    stacked = np.column_stack(columns)
    unique, counts = np.unique(stacked, axis=0, return_counts=True)
    return [unique[:, j] for j in range(unique.shape[1])], counts.astype(np.float64)


def _best(objective, starts, args) -> tuple[np.ndarray, float]:
    """Minimise `objective` (value and gradient in log parameters) from each start in turn;
    the first start that converges is kept unless a later one is better (all are tried when
    none converges)."""
    best = None
    for i, start in enumerate(starts):
        res = minimize(objective, np.log(start), args=args, jac=True, method="L-BFGS-B",
                       options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-8})
        if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
            best = res
        if i >= 1 and best is not None and best.success:
            break
    if best is None:
        raise InvalidArgument("the model could not be fitted to these summaries (the "
                              "likelihood is not finite); check the data")
    return np.exp(best.x), float(best.fun)


def _sample(n: int, seed: int = 0) -> np.ndarray | None:
    """Row positions of a seeded sample of FIT_SAMPLE customers, or None for all of them."""
    if n <= FIT_SAMPLE:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, FIT_SAMPLE, replace=False))


# -- BG/NBD ----------------------------------------------------------------------------------------
def bgnbd_log_likelihood(params, x, t_x, T) -> np.ndarray:
    """Each customer's log-likelihood under BG/NBD (Fader, Hardie & Lee 2005, eq. 6)."""
    r, alpha, a, b = params
    base = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    stay = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        drop = np.where(x > 0, betaln(a + 1, np.maximum(b + x - 1, 1e-300)) - betaln(a, b)
                        - (r + x) * np.log(alpha + t_x), -np.inf)
    return base + np.logaddexp(stay, drop)


def _bgnbd_nll(log_params, x, t_x, T, w, scale):
    """Negative mean log-likelihood and its gradient in log parameters."""
    r, alpha, a, b = np.exp(log_params)
    base = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    l_T, l_t = np.log(alpha + T), np.log(alpha + t_x)
    stay = betaln(a, b + x) - betaln(a, b) - (r + x) * l_T
    repeat = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        drop = np.where(repeat, betaln(a + 1, np.maximum(b + x - 1, 1e-300)) - betaln(a, b)
                        - (r + x) * l_t, -np.inf)
    both = np.logaddexp(stay, drop)
    value = -(w * (base + both)).sum() / scale
    if not np.isfinite(value):
        return 1e300, np.zeros(4)
    w_stay = np.exp(stay - both)
    w_drop = np.where(repeat, np.exp(drop - both), 0.0)
    psi_ab, psi_abx = digamma(a + b), digamma(a + b + x)
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w_stay * l_T - w_drop * l_t
    d_alpha = r / alpha - (r + x) * (w_stay / (alpha + T) + w_drop / (alpha + t_x))
    d_a = w_stay * (psi_ab - psi_abx) + w_drop * (digamma(a + 1) - digamma(a) + psi_ab - psi_abx)
    with np.errstate(invalid="ignore"):
        d_b_drop = np.where(repeat, digamma(np.maximum(b + x - 1, 1e-300)), 0.0)
    d_b = (w_stay * (digamma(b + x) - psi_abx - digamma(b) + psi_ab)
           + w_drop * (d_b_drop - psi_abx - digamma(b) + psi_ab))
    grad = -np.array([(w * g).sum() for g in (d_r, d_alpha, d_a, d_b)]) / scale
    return value, grad * np.array([r, alpha, a, b])


def fit_bgnbd(x, t_x, T) -> BGNBD:
    """Maximum-likelihood BG/NBD parameters for summaries (frequency, recency, T)."""
    x, t_x, T = _arrays(x, t_x, T)
    if len(x) < 10 or (x > 0).sum() < 2:
        raise InvalidArgument(f"too few customers with repeat purchases to fit the model "
                              f"({int((x > 0).sum())} of {len(x)}; at least 2 of 10 needed)")
    n = len(x)
    rows = _sample(n)
    if rows is not None:
        x, t_x, T = x[rows], t_x[rows], T[rows]
    (ux, ut, uT), w = _compress(x, t_x, T)
    scale = w.sum()
    span = float(np.mean(T)) or 1.0
    starts = [(s[0], s[1] * span / 40, s[2], s[3]) for s in _STARTS]
    params, nll = _best(_bgnbd_nll, starts, (ux, ut, uT, w, scale))
    r, alpha, a, b = (float(v) for v in params)
    return BGNBD(r, alpha, a, b, log_likelihood=-nll * scale, customers=n)



def p_alive(m: BGNBD, x, t_x, T) -> np.ndarray:
    """P(still active at T | x, t_x, T); 1 for customers with no repeat purchase."""
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_ratio = np.log(m.a) - np.log(np.maximum(m.b + x - 1, 1e-300)) + (m.r + x) * (
            np.log(m.alpha + T) - np.log(m.alpha + t_x))
        return np.where(x > 0, 1.0 / (1.0 + np.exp(log_ratio)), 1.0)


def _hyp_term(m: BGNBD, x, T, t):
    """1 - ((alpha+T)/(alpha+T+t))^(r+x) * 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))."""
    z = t / (m.alpha + T + t)
    hyp = hyp2f1(m.r + x, m.b + x, m.a + m.b + x - 1, z)
    return 1.0 - np.exp((m.r + x) * (np.log(m.alpha + T) - np.log(m.alpha + T + t))) * hyp


def expected_purchases(m: BGNBD, t) -> np.ndarray:
    """E[X(t)]: expected repeat purchases of a new customer in their first t time units."""
    t = np.asarray(t, dtype=np.float64)
    return (m.a + m.b - 1) / (m.a - 1) * _hyp_term(m, 0.0, 0.0, t)


def conditional_expected_purchases(m: BGNBD, t, x, t_x, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected purchases in the next t time units (eq. 10)."""
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    t = np.asarray(t, dtype=np.float64)
    value = (m.a + m.b + x - 1) / (m.a - 1) * _hyp_term(m, x, T, t)
    return np.maximum(value * p_alive(m, x, t_x, T), 0.0)


def probability_of_purchases(m: BGNBD, t: float, n: int) -> float:
    """P(X(t) = n) for a new customer (eq. 8): the model's histogram of repeat purchases."""
    r, alpha, a, b = m.r, m.alpha, m.a, m.b
    first = np.exp(betaln(a, b + n) - betaln(a, b) + gammaln(r + n) - gammaln(r)
                   - gammaln(n + 1) + r * np.log(alpha / (alpha + t))
                   + n * np.log(t / (alpha + t)))
    if n == 0:
        return float(first)
    js = np.arange(n)
    terms = np.exp(gammaln(r + js) - gammaln(r) - gammaln(js + 1)
                   + js * np.log(t / (alpha + t)))
    tail = 1.0 - np.exp(r * np.log(alpha / (alpha + t))) * terms.sum()
    second = np.exp(betaln(a + 1, b + n - 1) - betaln(a, b)) * tail
    return float(first + second)


# -- Gamma-Gamma -----------------------------------------------------------------------------------
def _gg_arrays(x, m) -> tuple[np.ndarray, np.ndarray]:
    x, m = np.asarray(x, dtype=np.float64), np.asarray(m, dtype=np.float64)
    keep = x > 0
    x, m = x[keep], m[keep]
    if len(x) and (np.isnan(m).any() or (m <= 0).any()):
        raise InvalidArgument("spend per repeat purchase must be positive for customers with "
                              "repeat purchases")
    return x, m


def gamma_gamma_log_likelihood(params, x, m) -> np.ndarray:
    """Each repeat customer's log-likelihood of mean spend `m` over `x` purchases (Fader &
    Hardie, "The Gamma-Gamma model of monetary value", 2013)."""
    p, q, g = params
    px = p * x
    return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g)
            + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(g + x * m))


def _gg_nll(log_params, x, m, w, scale):
    p, q, g = np.exp(log_params)
    px = p * x
    l_gm = np.log(g + x * m)
    ll = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g) + (px - 1) * np.log(m)
          + px * np.log(x) - (px + q) * l_gm)
    value = -(w * ll).sum() / scale
    if not np.isfinite(value):
        return 1e300, np.zeros(3)
    psi = digamma(px + q)
    d_p = x * (psi - digamma(px) + np.log(m) + np.log(x) - l_gm)
    d_q = psi - digamma(q) + np.log(g) - l_gm
    d_g = q / g - (px + q) / (g + x * m)
    grad = -np.array([(w * d).sum() for d in (d_p, d_q, d_g)]) / scale
    return value, grad * np.array([p, q, g])


def fit_gamma_gamma(x, monetary) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma parameters on the customers with repeat purchases."""
    x, m = _gg_arrays(x, monetary)
    if len(x) < 10:
        raise InvalidArgument(f"too few customers with repeat purchases to fit spend per "
                              f"purchase ({len(x)}; at least 10 needed)")
    n = len(x)
    rows = _sample(n)
    if rows is not None:
        x, m = x[rows], m[rows]
    (ux, um), w = _compress(x, m)
    scale = w.sum()
    level = float(np.mean(m))
    starts = [(1.0, 1.0, level), (5.0, 3.0, level * 2), (10.0, 5.0, level * 4)]
    params, nll = _best(_gg_nll, starts, (ux, um, w, scale))
    p, q, g = (float(v) for v in params)
    return GammaGamma(p, q, g, log_likelihood=-nll * scale, customers=n)


def expected_spend_per_purchase(m: GammaGamma, x, monetary) -> np.ndarray:
    """E[M | x, mean spend]: the customer's mean shrunk towards the population mean; the
    population mean for customers without repeat purchases."""
    x = np.asarray(x, dtype=np.float64)
    mon = np.nan_to_num(np.asarray(monetary, dtype=np.float64))
    px = m.p * x
    return np.where(x > 0, m.p * (m.gamma + x * mon) / (px + m.q - 1), m.mean_spend)


# -- per customer ----------------------------------------------------------------------------------
def predict(bg: BGNBD, gg: GammaGamma | None, summary: pd.DataFrame, horizon: float
            ) -> pd.DataFrame:
    """Per customer: p_alive, expected purchases and, with `gg`, expected spend over the next
    `horizon` time units. `summary` has columns frequency, recency, T (and monetary)."""
    x, t_x, T = _arrays(summary["frequency"], summary["recency"], summary["T"])
    out = pd.DataFrame(index=summary.index)
    out["p_alive"] = p_alive(bg, x, t_x, T)
    out["expected_purchases"] = conditional_expected_purchases(bg, horizon, x, t_x, T)
    if gg is not None:
        per = expected_spend_per_purchase(gg, x, summary.get("monetary", np.zeros(len(x))))
        out["expected_spend_per_purchase"] = per
        out["expected_spend"] = out["expected_purchases"] * per
    return out


# -- simulation (tests, benchmarks) ----------------------------------------------------------------
def simulate(bg: BGNBD, T, *, gg: GammaGamma | None = None, seed: int = 0) -> pd.DataFrame:
    """Summaries drawn from the model for customers observed for T time units each."""
    rng = np.random.default_rng(seed)
    T = np.asarray(T, dtype=np.float64)
    n = len(T)
    lam = rng.gamma(bg.r, 1.0 / bg.alpha, n)
    p = rng.beta(bg.a, bg.b, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    for i in range(n):
        t, k = 0.0, 0
        while True:
            t += rng.exponential(1.0 / lam[i])
            if t > T[i]:
                break
            k += 1
            t_x[i] = t
            if rng.random() < p[i]:
                break
        x[i] = k
    out = pd.DataFrame({"frequency": x, "recency": t_x, "T": T})
    if gg is not None:
        nu = rng.gamma(gg.q, 1.0 / gg.gamma, n)
        mon = np.zeros(n)
        for i in np.nonzero(x > 0)[0]:
            mon[i] = rng.gamma(gg.p, 1.0 / nu[i], int(x[i])).mean()
        out["monetary"] = mon
    return out
