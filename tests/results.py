"""Compare query results by value: a result must contain a reference result."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal

import pandas as pd


def _norm(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, Decimal | float | int) and not isinstance(value, bool):
        return round(float(value), 1)
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()[:10]
    return str(value)


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= max(0.11, 1e-6 * abs(a))
    return a == b


def contains(reference: pd.DataFrame, got: pd.DataFrame) -> bool:
    """Every reference column matches a column of `got`, row for row (order-insensitive)."""
    if len(reference) != len(got):
        return False
    ref_cols = [[_norm(v) for v in reference.iloc[:, j]] for j in range(reference.shape[1])]
    got_cols = {c: [_norm(v) for v in got[c]] for c in got.columns}
    chosen = []
    for values in ref_cols:
        match = next((c for c, g in got_cols.items() if c not in chosen and
                      all(_same(x, y) for x, y in zip(sorted(values, key=str),
                                                      sorted(g, key=str), strict=True))), None)
        if match is None:
            return False
        chosen.append(match)
    ref_rows = sorted(zip(*ref_cols, strict=True), key=str)
    got_rows = sorted(zip(*(got_cols[c] for c in chosen), strict=True), key=str)
    return all(all(_same(x, y) for x, y in zip(r, g, strict=True))
               for r, g in zip(ref_rows, got_rows, strict=True))
