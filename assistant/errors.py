"""One base error with narrow subclasses; every message is written for the marketer to act on."""

from __future__ import annotations


class AssistantError(Exception):
    """Base of every error the assistant reports to a person instead of crashing."""


class ConfigError(AssistantError):
    """A setting is missing or invalid."""


class WarehouseNotFound(AssistantError):
    """The warehouse file does not exist yet."""


class WarehouseBusy(AssistantError):
    """Another process holds the warehouse file open for writing."""


class QueryError(AssistantError):
    """A query failed: unknown table or column, bad syntax, type mismatch, time limit."""


class ImportFileError(AssistantError):
    """A file could not be imported; names the file and, where known, the column and row."""

    def __init__(self, message: str, *, file: str, column: str | None = None,
                 row: int | None = None) -> None:
        where = [f"file {file}"]
        if column is not None:
            where.append(f"column {column!r}")
        if row is not None:
            where.append(f"row {row}")
        super().__init__(f"{', '.join(where)}: {message}")
        self.file = file
        self.column = column
        self.row = row
