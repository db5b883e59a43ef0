"""Population stability index: how far a feature's distribution has moved from a reference.

The reference population (a model's training rows) is summarised once, when the model is
trained, as decile bin edges per feature and the share of rows in each bin (missing values are a
bin of their own), and kept in the model's artifact. Later populations are binned on the same
edges; PSI = sum over bins of (now - then) * ln(now / then), with shares floored at EPS so an
empty bin stays finite. Bands (the industry's usual reading): < 0.1 stable, 0.1-0.25 moderate
shift, > 0.25 significant shift.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BINS = 10
EPS = 1e-4
MODERATE = 0.1
SIGNIFICANT = 0.25


def band(value: float) -> str:
    """'stable', 'moderate' or 'significant'."""
    if value > SIGNIFICANT:
        return "significant"
    return "moderate" if value >= MODERATE else "stable"


def _edges(values: np.ndarray) -> np.ndarray:
    finite = values[np.isfinite(values)]
    if not len(finite):
        return np.array([], dtype=np.float64)
    return np.unique(np.quantile(finite, np.arange(1, BINS) / BINS))


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Shares of rows per bin: (-inf, e1], (e1, e2], ..., (e_last, inf), then missing."""
    values = np.asarray(values, dtype=np.float64)
    missing = ~np.isfinite(values)
    idx = np.searchsorted(edges, values[~missing], side="left")
    counts = np.bincount(idx, minlength=len(edges) + 1).astype(np.float64)
    counts = np.append(counts, missing.sum())
    return counts / max(len(values), 1)


def profile(frame: pd.DataFrame, features: list[str], *, max_rows: int = 200_000,
            seed: int = 0) -> dict[str, dict[str, list[float]]]:
    """The reference summary of `features` in `frame` (a seeded sample of at most `max_rows`
    rows is enough for decile shares)."""
    if len(frame) > max_rows:
        frame = frame.sample(max_rows, random_state=seed)
    out = {}
    for name in features:
        if name not in frame.columns:
            continue
        values = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
        edges = _edges(values)
        out[name] = {"edges": edges.tolist(), "shares": _shares(values, edges).tolist()}
    return out


def psi(reference: dict[str, list[float]], values) -> float:
    """PSI of `values` against one feature's reference summary."""
    edges = np.asarray(reference["edges"], dtype=np.float64)
    expected = np.maximum(np.asarray(reference["shares"], dtype=np.float64), EPS)
    actual = np.maximum(_shares(np.asarray(values, dtype=np.float64), edges), EPS)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def psi_table(reference: dict[str, dict], frame: pd.DataFrame,
              labels: dict[str, str] | None = None) -> pd.DataFrame:
    """PSI and band per feature of `reference` present in `frame`, largest first."""
    rows = []
    for name, ref in reference.items():
        if name not in frame.columns:
            continue
        value = psi(ref, frame[name].to_numpy(dtype=np.float64, na_value=np.nan))
        rows.append({"feature": name, "label": (labels or {}).get(name, name),
                     "psi": round(value, 4), "band": band(value)})
    table = pd.DataFrame(rows, columns=["feature", "label", "psi", "band"])
    return table.sort_values("psi", ascending=False, kind="stable").reset_index(drop=True)
