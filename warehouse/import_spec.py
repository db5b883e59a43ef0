"""What an import is asked to do and what it did: ImportSpec, FileReport, ImportReport."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warehouse.contract import TABLES, TABLES_BY_NAME
from warehouse.errors import ConfigError, ImportFileError


@dataclass
class ImportSpec:
    """One file to import and how to read it.

    `table=None` infers the table from the file name (`customers.csv`, `accounts_2024.parquet`).
    `mapping` renames file columns to contract columns (`{"cust_id": "customer_id"}`).
    `delimiter=None` detects it from the header line. `ignore_extra` skips file columns the
    contract does not know instead of failing.
    """

    path: Path
    table: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    delimiter: str | None = None
    ignore_extra: bool = False

    def __post_init__(self) -> None:
        self.path = Path(self.path)


@dataclass
class FileReport:
    """What happened to one file."""

    path: Path
    table: str
    format: str  # "csv" or "parquet"
    delimiter: str | None  # CSV only
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rejected_reasons: dict[str, int] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    null_columns: list[str] = field(default_factory=list)  # optional columns absent: NULL
    rejects_file: Path | None = None
    source: str | None = None      # a mapping's load ("client.asc -> customers"); else the file
    skipped: dict[str, int] = field(default_factory=dict)   # rows a mapping skipped, by reason
    added_columns: list[str] = field(default_factory=list)  # columns of the user's own added
    grouped_from: int | None = None   # a grouped mapping load: the source rows grouped

    @property
    def name(self) -> str:
        return self.source or self.path.name

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "source": self.source,
            "table": self.table,
            "format": self.format,
            "delimiter": self.delimiter,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "rejected_reasons": dict(self.rejected_reasons),
            "ignored_columns": list(self.ignored_columns),
            "null_columns": list(self.null_columns),
            "rejects_file": None if self.rejects_file is None else str(self.rejects_file),
            "rows_skipped": sum(self.skipped.values()),
            "skipped_reasons": dict(self.skipped),
            "added_columns": list(self.added_columns),
            "grouped_from": self.grouped_from,
        }


@dataclass
class ImportReport:
    """What an import did: one FileReport per file (in load order) plus totals."""

    mode: str
    files: list[FileReport] = field(default_factory=list)
    replaced: dict[str, int] = field(default_factory=dict)  # table -> rows removed (replace)
    emptied: dict[str, int] = field(default_factory=dict)   # dependents emptied by a replace
    removed_demo: dict[str, int] = field(default_factory=dict)  # demo rows deleted first
    cleared: dict[str, int] = field(default_factory=dict)   # assistant rows built on old data
    own_tables: list[Any] = field(default_factory=list)     # tables of the user's own made
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)

    @property
    def tables(self) -> dict[str, int]:
        """Rows loaded per table."""
        out: dict[str, int] = {}
        for f in self.files:
            out[f.table] = out.get(f.table, 0) + f.rows_loaded
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "files": [f.to_dict() for f in self.files],
            "replaced": dict(self.replaced),
            "emptied": dict(self.emptied),
            "removed_demo": dict(self.removed_demo),
            "cleared": dict(self.cleared),
            "own_tables": [t.to_dict() for t in self.own_tables],
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "tables": self.tables,
        }

    def to_text(self) -> str:
        n = len(self.files)
        what = "load" if any(f.source for f in self.files) else "file"
        lines = [
            f"Imported {n} {what}{'s' if n != 1 else ''} ({self.mode}): {self.rows_loaded:,} rows "
            f"loaded, {self.rows_rejected:,} rejected, of {self.rows_read:,} read."
        ]
        if self.removed_demo:
            lines.append("  removed the demo data first: " + ", ".join(
                f"{n:,} {t}" for t, n in self.removed_demo.items()))
        for table, removed in self.replaced.items():
            lines.append(f"  replaced {table}: removed the {removed:,} rows it had")
        if self.emptied:
            lines.append("  also emptied, as they refer to the replaced rows: " + ", ".join(
                f"{t} ({n:,} rows)" for t, n in self.emptied.items()))
        if self.cleared:
            lines.append("  cleared what the assistant had built on the old data: " + ", ".join(
                f"{n:,} {t}" for t, n in self.cleared.items()))
        for f in self.files:
            grouped = (f" (made from {f.grouped_from:,} source rows)"
                       if f.grouped_from is not None else "")
            lines.append(
                f"  {f.name} -> {f.table}: {f.rows_loaded:,} loaded, "
                f"{f.rows_rejected:,} rejected of {f.rows_read:,}{grouped}"
            )
            for reason, count in f.skipped.items():
                lines.append(f"      {count:,} skipped: {reason}")
            for reason, count in f.rejected_reasons.items():
                lines.append(f"      {count:,} x {reason}")
            if f.added_columns:
                lines.append(f"      columns of your own: {', '.join(f.added_columns)}")
            if f.rejects_file is not None:
                lines.append(f"      rejected rows written to {f.rejects_file}")
            if f.ignored_columns:
                lines.append(f"      ignored columns: {', '.join(f.ignored_columns)}")
            if f.null_columns:
                lines.append(f"      not in the file, left empty: {', '.join(f.null_columns)}")
        for t in self.own_tables:
            lines.append(f"  {t.to_text()}")
        lines.extend(f"  note: {w}" for w in self.notes)
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)


# -- small public helpers ------------------------------------------------------------------------
def parse_mapping(text: str) -> dict[str, str]:
    """Parse `"cust_id=customer_id,mail=email"` into `{"cust_id": "customer_id", ...}`.

    Entries are separated by commas (repeated `--map` values joined with commas work too); spaces
    around names are ignored, empty entries are skipped. Raises ConfigError for an entry that is
    not `file_col=contract_col` or for a file column mapped to two different contract columns.
    """
    mapping: dict[str, str] = {}
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        parts = entry.split("=")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise ConfigError(
                f"column mapping {entry!r} is not of the form file_col=contract_col "
                "(for example --map cust_id=customer_id,mail=email)"
            )
        src, dst = parts[0].strip(), parts[1].strip()
        if src in mapping and mapping[src] != dst:
            raise ConfigError(
                f"column mapping names file column {src!r} twice ({src}={mapping[src]} and "
                f"{src}={dst}); map each file column once"
            )
        mapping[src] = dst
    targets: dict[str, str] = {}
    for src, dst in mapping.items():
        key = dst.lower()
        if key in targets:
            raise ConfigError(
                f"column mapping sends both {targets[key]!r} and {src!r} to {dst!r}; "
                "a contract column can come from one file column only"
            )
        targets[key] = src
    return mapping


def infer_table(path: str | Path) -> str:
    """The contract table a file is for, from its name: `customers.csv`, `accounts_2024.parquet`.

    The file name (without its extensions, case ignored) must be a table name or start with one
    followed by something other than a letter. Raises ImportFileError otherwise.
    """
    path = Path(path)
    stem = path.name.split(".", 1)[0].strip().lower()
    matches = [t.name for t in TABLES if re.match(rf"{re.escape(t.name)}(?![a-z])", stem)]
    if not matches:
        raise ImportFileError(
            f"cannot tell which table the file is for from its name; name it after a table "
            f"(for example customers.csv or accounts_2024.parquet) or pass the table explicitly "
            f"(--table); the tables are {', '.join(TABLES_BY_NAME)}",
            file=str(path),
        )
    return max(matches, key=len)
