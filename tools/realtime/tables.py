"""The tables of the real-time path (schema `assistant`), created on first use, with comments."""

from __future__ import annotations

from warehouse.contract import ASSISTANT_SCHEMA

S = ASSISTANT_SCHEMA
EVENTS = f"{S}.events"
REJECTS = f"{S}.event_rejects"
TRIGGERS = f"{S}.triggers"
ENTRIES = f"{S}.trigger_entries"
DECISIONS = f"{S}.trigger_log"
OUTBOX = f"{S}.outbox"
LIVE = f"{S}.live_scores"
CHANGES = f"{S}.segment_changes"

# name, columns, comment, column comments
TABLES: tuple[tuple[str, str, str, dict[str, str]], ...] = (
    (EVENTS, """message_id VARCHAR PRIMARY KEY, received_at TIMESTAMP NOT NULL,
        committed_at TIMESTAMP NOT NULL, ts TIMESTAMP, customer_id BIGINT, event VARCHAR,
        target VARCHAR, source VARCHAR, properties JSON""",
     "Every event accepted by the event writer, once per messageId (re-deliveries are "
     "dropped): when it was received and committed (UTC), its event time (customer's local "
     "time), the contract table it went to and its properties.",
     {
      "message_id": "The event's messageId (idempotency key).",
      "received_at": "When the writer received it (UTC).",
      "committed_at": "When its micro-batch committed (UTC).",
      "ts": "Event time in the customer's local time.",
      "customer_id": "Customer, references customers.customer_id.",
      "event": "Event name, e.g. Transaction, Login, Consent Changed.",
      "target": "Contract table the event was written to.",
      "source": "Door it came through: http, file, redis.",
      "properties": "The event's properties as JSON (may hold personal data; the model "
                    "cannot read this table).",
     }),
    (REJECTS, """received_at TIMESTAMP NOT NULL, source VARCHAR, message_id VARCHAR,
        event VARCHAR, reason VARCHAR""",
     "Events the writer refused, with the reason (no payload: it may hold personal data).",
     {
      "received_at": "When it was received (UTC).",
      "source": "Door it came through.",
      "message_id": "Its messageId, when it had one.",
      "event": "Event name, when readable.",
      "reason": "Why it was refused.",
     }),
    (TRIGGERS, """trigger_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, status VARCHAR NOT NULL,
        definition JSON NOT NULL, created_at TIMESTAMP NOT NULL, created_by VARCHAR,
        updated_at TIMESTAMP NOT NULL""",
     "Event-triggered campaign rules: trigger event and conditions, the approved draft to "
     "send, delay, exceptions, caps, quiet hours; status active or paused.",
     {
      "trigger_id": "Trigger key.",
      "name": "Trigger name.",
      "status": "active or paused.",
      "definition": "The rule as JSON (event, conditions, draft, delay, caps, quiet hours).",
      "created_at": "When it was created.",
      "created_by": "Who or what created it.",
      "updated_at": "When it last changed.",
     }),
    (ENTRIES, """entry_id VARCHAR PRIMARY KEY, trigger_id VARCHAR NOT NULL,
        customer_id BIGINT NOT NULL, message_id VARCHAR, entered_at TIMESTAMP NOT NULL,
        due_at TIMESTAMP NOT NULL, status VARCHAR NOT NULL, decided_at TIMESTAMP,
        reason VARCHAR""",
     "Customers who entered a trigger: pending sends (due_at, UTC) and what became of them "
     "(fired, skipped, cancelled).",
     {
      "entry_id": "Entry key (the cause's messageId and the trigger).",
      "trigger_id": "Trigger, references assistant.triggers.",
      "customer_id": "Customer who entered.",
      "message_id": "Event that made them enter.",
      "entered_at": "When they entered (UTC).",
      "due_at": "When the send is due (UTC).",
      "status": "pending, fired, skipped or cancelled.",
      "decided_at": "When it was decided (UTC).",
      "reason": "Why it was skipped or cancelled.",
     }),
    (DECISIONS, """ts TIMESTAMP NOT NULL, trigger_id VARCHAR, trigger_name VARCHAR,
        customer_id BIGINT, entry_id VARCHAR, decision VARCHAR NOT NULL, reason VARCHAR,
        detail VARCHAR, message_id VARCHAR, channel VARCHAR""",
     "Every trigger decision with its reason (UTC): entered, fired, skipped (consent, KYC, "
     "account, cap, re-entry gap, quiet hours, conditions), deferred, cancelled.",
     {
      "ts": "When (UTC).",
      "trigger_id": "Trigger.",
      "trigger_name": "Trigger name at the time.",
      "customer_id": "Customer concerned.",
      "entry_id": "Entry concerned.",
      "decision": "entered, fired, skipped, deferred or cancelled.",
      "reason": "Reason code (consent, cap, quiet hours, ...).",
      "detail": "The reason in words.",
      "message_id": "Event that caused it.",
      "channel": "Channel of the send.",
     }),
    (OUTBOX, """outbox_id VARCHAR PRIMARY KEY, created_at TIMESTAMP NOT NULL,
        trigger_id VARCHAR, entry_id VARCHAR, customer_id BIGINT, channel VARCHAR,
        draft_id VARCHAR, payload JSON, status VARCHAR NOT NULL, attempts INTEGER NOT NULL,
        next_attempt_at TIMESTAMP, last_error VARCHAR, delivered_at TIMESTAMP""",
     "Sends decided by triggers, waiting for or done by delivery (webhook, JSONL file). "
     "outbox_id is the idempotency key; status pending, delivered or dead (gave up).",
     {
      "outbox_id": "Outbox key and idempotency key of the send.",
      "created_at": "When the send was decided (UTC).",
      "trigger_id": "Trigger that fired.",
      "entry_id": "Entry that fired.",
      "customer_id": "Recipient (the receiving system resolves the address).",
      "channel": "email, sms or push.",
      "draft_id": "Approved draft sent.",
      "payload": "What is delivered, as JSON (no personal data).",
      "status": "pending, delivered or dead.",
      "attempts": "Delivery attempts so far.",
      "next_attempt_at": "When the next attempt is due (UTC).",
      "last_error": "The last delivery error.",
      "delivered_at": "When it was delivered (UTC).",
     }),
    (LIVE, """customer_id BIGINT PRIMARY KEY, segment_run VARCHAR, segment_id INTEGER,
        churn_run VARCHAR, churn_score DOUBLE, updated_at TIMESTAMP NOT NULL,
        cause VARCHAR""",
     "Each customer's segment and churn score re-computed the moment an event touched them, "
     "with the persisted latest models (no retraining).",
     {
      "customer_id": "Customer.",
      "segment_run": "Segmentation run of the champion model used.",
      "segment_id": "Segment assigned now.",
      "churn_run": "Churn run of the champion model used.",
      "churn_score": "Churn probability now (0-1).",
      "updated_at": "When it was computed (UTC).",
      "cause": "Event (messageId) that triggered it.",
     }),
    (CHANGES, """ts TIMESTAMP NOT NULL, customer_id BIGINT NOT NULL, run_id VARCHAR,
        from_segment INTEGER, to_segment INTEGER, cause VARCHAR""",
     "Segment membership changes made by events: when (UTC), who, from which segment to "
     "which, and the event (messageId) that caused it.",
     {
      "ts": "When (UTC).",
      "customer_id": "Customer.",
      "run_id": "Segmentation run.",
      "from_segment": "Segment before.",
      "to_segment": "Segment after.",
      "cause": "Event (messageId) that moved them.",
     }),
)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ensure(cur) -> None:
    """Create the real-time tables if missing (idempotent)."""
    cur.execute(f"CREATE SCHEMA IF NOT EXISTS {S}")
    for name, columns, comment, col_comments in TABLES:
        cur.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")
        cur.execute(f"COMMENT ON TABLE {name} IS {_quote(comment)}")
        for col, text in col_comments.items():
            cur.execute(f"COMMENT ON COLUMN {name}.{col} IS {_quote(text)}")


def insert_rows(cur, table: str, rows: list[list], columns: list[str] | None = None, *,
                ignore_conflicts: bool = False) -> None:
    """Insert many rows in one statement (DuckDB's executemany runs one statement per row)."""
    if not rows:
        return
    import pandas as pd

    names = columns or [f"c{i}" for i in range(len(rows[0]))]
    frame = pd.DataFrame(rows, columns=names)
    cur.register("__rows_in", frame)
    try:
        cur.execute(f"INSERT INTO {table} SELECT * FROM __rows_in"
                    + (" ON CONFLICT DO NOTHING" if ignore_conflicts else ""))
    finally:
        cur.unregister("__rows_in")
