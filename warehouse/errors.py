"""One base error with narrow subclasses; every message is written for the marketer to act on."""

from __future__ import annotations

import logging

# Every catch-all (CLI, page, agent turn, tool call, MCP) reports a bug it caught here, by type
# only (an exception's text may quote a data value). The tests fail on any such report unless the
# test injected the bug on purpose (tests/conftest.py): a catch-all must never hide a bug in CI.
unexpected_log = logging.getLogger("assistant.unexpected")


def log_unexpected(where: str, exc: BaseException) -> None:
    """Record that `where` caught an exception it did not expect (a bug)."""
    unexpected_log.error("%s failed unexpectedly (%s)", where, type(exc).__name__)


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


class DemoDataPresent(AssistantError):
    """An import into a warehouse holding generated demo data, which would mix the two."""


class InvalidArgument(AssistantError):
    """An argument is out of range or names something that does not exist (column, product)."""


class EmptyResult(AssistantError):
    """A filter or selection matched nothing, so there is nothing to compute."""


class RunNotFound(AssistantError):
    """A saved segmentation or scoring run does not exist (or there is none yet)."""


class ModelNotFound(RunNotFound):
    """No model of that kind is registered (or no champion yet); says how to make one."""


class ModelArtifactError(AssistantError):
    """A model's saved file is missing, altered (hash mismatch) or holds untrusted types."""


class SqlRefused(QueryError):
    """The SQL guard refused a query (not one read-only SELECT over known tables); says why."""


class ModelUnavailable(AssistantError):
    """The language model could not be reached or refused the request; names the endpoint."""


class ModelReplyInvalid(AssistantError):
    """The model's structured reply still broke its schema after a retry; `last_reply` holds
    what it last sent (field -> text), when there was anything to read."""

    def __init__(self, message: str, last_reply: dict | None = None) -> None:
        super().__init__(message)
        self.last_reply = last_reply
