"""The audit log: every question, tool call, SQL statement, answer and error, in the warehouse.

Rows go to `assistant.audit_log` (created on first use). Texts and arguments pass through the
privacy mask first, so no email address, phone number or customer name is ever written here.
Writing the log never breaks a conversation: a failed write is logged and skipped; a read-only
warehouse handle keeps no log.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime

import duckdb

from assistant.events import jsonable
from warehouse.contract import ASSISTANT_SCHEMA
from warehouse.privacy import NameIndex, mask_text, mask_value

log = logging.getLogger(__name__)

TABLE = f"{ASSISTANT_SCHEMA}.audit_log"
KINDS = ("question", "tool_call", "sql", "answer", "error", "export")

DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    ts TIMESTAMP NOT NULL,
    session VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    question VARCHAR,
    tool VARCHAR,
    arguments VARCHAR,
    sql VARCHAR,
    row_count BIGINT,
    model VARCHAR,
    duration_ms DOUBLE,
    detail VARCHAR,
    user_name VARCHAR
)"""
COMMENTS = {
    None: "What the assistant did: one row per question, tool call, SQL statement, answer and "
          "error. Never holds personal data.",
    "kind": f"One of {', '.join(KINDS)}.",
    "arguments": "Tool arguments as JSON, personal data masked.",
    "row_count": "Rows returned by the SQL statement or tool.",
    "duration_ms": "Wall time of the step in milliseconds.",
    "detail": "Answer text or error message, personal data masked.",
    "user_name": "Who asked, wrote or exported (the signed-in user; the local account for "
                 "commands; empty without sign-in).",
}


class AuditLog:
    """Append-only log for one warehouse handle; cheap to call from any thread."""

    def __init__(self, wh, names: NameIndex | None = None) -> None:
        self.wh = wh
        self.names = names
        self.enabled = not getattr(wh, "read_only", False)
        self._ready = False
        self._lock = threading.Lock()

    def _ensure(self) -> None:
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            self.wh.execute(f"CREATE SCHEMA IF NOT EXISTS {ASSISTANT_SCHEMA}")
            self.wh.execute(DDL)
            self.wh.execute(f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS user_name VARCHAR")
            for column, text in COMMENTS.items():
                target = f"TABLE {TABLE}" if column is None else f"COLUMN {TABLE}.{column}"
                self.wh.execute(f"COMMENT ON {target} IS '{text}'")
            self._ready = True

    def record(self, kind: str, *, session: str, model: str, question: str | None = None,
               tool: str | None = None, arguments: dict | None = None, sql: str | None = None,
               row_count: int | None = None, duration_ms: float | None = None,
               detail: str | None = None, user: str | None = None) -> None:
        """Write one row; personal data in texts and arguments is masked first."""
        if not self.enabled:
            return
        if kind not in KINDS:
            raise ValueError(f"unknown audit kind {kind!r}")

        def mask(text: str | None) -> str | None:
            return mask_text(text, self.names) if text else text

        args_json = (json.dumps(jsonable(mask_value(arguments, self.names)), ensure_ascii=False)
                     if arguments is not None else None)
        row = [datetime.now(), session, kind, mask(question), tool, args_json, mask(sql),
               row_count, model, duration_ms, mask(detail), user]
        try:
            self._ensure()
            self.wh.execute(f"INSERT INTO {TABLE} (ts, session, kind, question, tool, arguments, "
                            "sql, row_count, model, duration_ms, detail, user_name) VALUES "
                            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
        except duckdb.Error as exc:   # the log must never break the conversation
            log.warning("audit log write failed: %s", str(exc).splitlines()[0])
