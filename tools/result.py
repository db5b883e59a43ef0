"""What every agent-facing tool takes and returns.

A tool is a plain function `fn(ctx: ToolContext, **args) -> ToolResult`. Its docstring is written
for the model (imperative first line, when to use it, what each argument means) and becomes the
tool description. The model only ever sees `ToolResult.summary`, a short PII-free text; the person
sees the full `tables`, `chart`, `files` and `data`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

import pandas as pd
from pydantic import BaseModel

from warehouse.connection import Warehouse

M = TypeVar("M", bound=BaseModel)


class StructuredWriter(Protocol):
    """A language model that answers with a validated pydantic object (for copywriting).

    Implemented in `assistant/` over the configured chat model; None in a ToolContext means
    offline: tools fall back to their templates.
    """

    name: str  # model name, for receipts

    def generate(self, system: str, prompt: str, schema: type[M]) -> M: ...


@dataclass
class ToolContext:
    """What a tool may use besides its arguments: the warehouse, settings, the conversation."""

    wh: Warehouse
    settings: Any  # assistant.settings.Settings (kept untyped: tools do not import assistant)
    question: str = ""           # the marketer's question that led to this call (for receipts)
    session: str = "default"     # conversation id
    model: str = "offline"       # model name, for receipts and the audit log
    output_dir: Path = Path("data/exports")  # where files for the user are written
    writer: StructuredWriter | None = None   # None: offline, tools use their templates
    state: dict[str, Any] = field(default_factory=dict)  # per-conversation memory (last run, ...)
    names: Any = None            # warehouse.privacy.NameIndex: personal values to mask in text
    user: str | None = None      # the signed-in person, for the audit log and roles
    roles: tuple[str, ...] | None = None  # their roles; None: no sign-in (may do everything)


@dataclass
class ChartSpec:
    """A hint for the UI on how to draw a result table; the UI picks the rendering."""

    kind: Literal["line", "bar", "radar", "none"]
    x: str
    y: list[str]
    series: str | None = None
    title: str = ""


@dataclass
class TableResult:
    """A full result table for the person (never sent to the model as such)."""

    title: str
    df: pd.DataFrame
    personal: list[str] = field(default_factory=list)  # columns with personal data in df


@dataclass
class ToolResult:
    summary: str                                   # for the model: short, rounded, PII-free
    tables: list[TableResult] = field(default_factory=list)
    sql: list[str] = field(default_factory=list)   # every statement that ran, for the user
    chart: ChartSpec | None = None
    files: list[Path] = field(default_factory=list)  # downloads: audience CSVs, drafts
    data: Any = None                               # structured payload (cards, drafts, ...)
