"""Export a DuckDB warehouse as one Parquet dataset per table, for Spark (or any lakehouse).

    assistant export --format parquet DIR

writes `DIR/<table>/data.parquet` for every contract and user table of schema `main` (views are
not exported: the Spark engine recreates them from their definitions) and `DIR/_catalog.json`
with each table's and column's comment and DuckDB type. The assistant's own tables (runs,
drafts, audit log) are not customer data and stay where they are. Each table is written to a
temporary folder first and moved into place when complete, so a crash never leaves a half-written
dataset under a table's name; tables already in DIR that are exported again are replaced.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from warehouse.connection import Warehouse
from warehouse.errors import InvalidArgument
from warehouse.files import write_text_atomic
from warehouse.spark.tables import CATALOG_FILE

FORMATS = ("parquet",)


@dataclass
class ExportReport:
    folder: Path
    tables: dict[str, int] = field(default_factory=dict)   # table -> rows
    seconds: float = 0.0

    def to_text(self) -> str:
        listed = ", ".join(f"{t} ({n:,})" for t, n in self.tables.items())
        return (f"Exported {len(self.tables)} tables to {self.folder} in {self.seconds:.1f} s: "
                f"{listed}.")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def export_parquet(source: str | Path, folder: str | Path, *,
                   progress: Callable[[str], None] | None = None,
                   memory_limit: str | None = None) -> ExportReport:
    """Write every table of the warehouse at `source` to `folder` (see the module docstring);
    `memory_limit` bounds DuckDB's memory while it writes (e.g. "4GB")."""
    step = progress or (lambda _msg: None)
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InvalidArgument(f"{folder} is a file; give a folder to export into")
    started = time.perf_counter()
    report = ExportReport(folder)
    with Warehouse.open(source, read_only=True, sandboxed=False,
                        memory_limit=memory_limit) as wh:
        tables = [t for t in wh.catalog() if t.schema == "main" and t.kind == "table"]
        if not tables:
            raise InvalidArgument(f"the warehouse {source} has no tables to export")
        folder.mkdir(parents=True, exist_ok=True)
        staging = folder / f".export-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
        try:
            for t in tables:
                step(f"Writing {t.name}")
                (staging / t.name).mkdir()
                target = staging / t.name / "data.parquet"
                wh.execute(f'COPY (SELECT * FROM "{t.name}") TO {_quote(str(target))} '
                           "(FORMAT parquet, COMPRESSION zstd)")
                report.tables[t.name] = int(wh.scalar(f'SELECT count(*) FROM "{t.name}"'))
            for t in tables:
                final = folder / t.name
                old = folder / f".old-{t.name}-{uuid.uuid4().hex[:8]}"
                if final.exists():
                    final.rename(old)
                (staging / t.name).rename(final)
                shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    catalog = {"source": str(source), "tables": {
        t.name: {"comment": t.comment, "rows": report.tables[t.name],
                 "columns": {c.name: c.comment for c in t.columns},
                 "types": {c.name: c.type for c in t.columns}} for t in tables}}
    write_text_atomic(json.dumps(catalog, indent=1), folder / CATALOG_FILE)
    report.seconds = time.perf_counter() - started
    return report
