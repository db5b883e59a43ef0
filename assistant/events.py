"""What a conversation turn produces, as small dataclasses the UI can use without LangChain.

`Conversation.stream(question)` yields ToolStarted / ToolFinished while tools run, TextDelta while
the final answer is written, and Done with the complete `Answer` last. `Answer.to_json()` is the
`assistant ask --json` contract: exactly the keys question, mode, answer, tool_calls, sql, tables,
error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np
import pandas as pd

from tools.result import ChartSpec, TableResult, ToolResult


def jsonable(value: Any) -> Any:
    """A JSON-safe copy of `value`: Decimal -> float, dates -> ISO text, NaN/NaT -> None."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating | Decimal):
        f = float(value)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(value, np.bool_):
        return bool(value)
    if value is pd.NaT:
        return None
    if isinstance(value, datetime | date | time | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, timedelta | pd.Timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | np.ndarray):
        return [jsonable(v) for v in value]
    if isinstance(value, Path | UUID):
        return str(value)
    return str(value)


def table_json(table: TableResult) -> dict:
    """{title, columns, rows} with every row and JSON-safe values."""
    df = table.df
    return {
        "title": table.title,
        "columns": [str(c) for c in df.columns],
        "rows": [[jsonable(v) for v in row] for row in df.itertuples(index=False, name=None)],
    }


@dataclass
class Answer:
    """One answered question: the text, what ran to produce it, and what the person sees."""

    question: str
    mode: str                                   # "offline" or the model name
    answer: str = ""
    tool_calls: list[dict] = field(default_factory=list)   # [{name, args}]
    sql: list[str] = field(default_factory=list)
    tables: list[TableResult] = field(default_factory=list)
    first_shown: int = 0        # the table the page opens on: the last tool call's first
    charts: list[ChartSpec] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "mode": self.mode,
            "answer": self.answer,
            "tool_calls": [{"name": c["name"], "args": jsonable(c.get("args", {}))}
                           for c in self.tool_calls],
            "sql": list(self.sql),
            "tables": [table_json(t) for t in self.tables],
            "error": self.error,
        }


@dataclass(frozen=True)
class ToolStarted:
    call_id: str
    name: str
    args: dict


@dataclass(frozen=True)
class ToolFinished:
    call_id: str
    name: str
    args: dict
    result: ToolResult | None
    error: str | None
    seconds: float


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class Done:
    answer: Answer


Event = ToolStarted | ToolFinished | TextDelta | Done
