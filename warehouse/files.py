"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """A temporary path beside `target` to write to. When the block ends the file is flushed to
    disk and renamed over `target` in one step; if the block raises, it is removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(text: str, target: str | Path) -> Path:
    """Write `text` (UTF-8, newlines as given) to `target` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="")
    return Path(target)


def file_stem(text: str, default: str) -> str:
    """A safe file name stem from a title: 'Spend by category (EUR)' -> 'spend-by-category-eur'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or default


# -- spreadsheet-safe CSV ---------------------------------------------------------------------
# A cell that starts with one of these is run as a formula by Excel, LibreOffice and Google
# Sheets (OWASP "CSV injection"): =HYPERLINK(...), +SUM(...), @SUM(...), -2+3, a leading tab.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def spreadsheet_text(value):
    """`value` with a leading apostrophe when a spreadsheet would read it as a formula. A plain
    signed number (an E.164 phone such as +491590936287, -12.5) stays as it is: it cannot run
    anything, and email and SMS tools need phone numbers exactly as stored."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and \
            not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def spreadsheet_safe(df):
    """A copy of the DataFrame `df` whose text cells are safe to open in a spreadsheet."""
    import pandas as pd

    out = df.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series) or \
                pd.api.types.is_datetime64_any_dtype(series):
            continue
        out[column] = series.map(spreadsheet_text)
    out.columns = [spreadsheet_text(str(c)) for c in out.columns]
    return out
