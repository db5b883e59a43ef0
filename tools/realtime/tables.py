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

# name, columns, comment
TABLES: tuple[tuple[str, str, str], ...] = (
    (EVENTS, """message_id VARCHAR PRIMARY KEY, received_at TIMESTAMP NOT NULL,
        committed_at TIMESTAMP NOT NULL, ts TIMESTAMP, customer_id BIGINT, event VARCHAR,
        target VARCHAR, source VARCHAR, properties JSON""",
     "Every event accepted by the event writer, once per messageId (re-deliveries are "
     "dropped): when it was received and committed (UTC), its event time (customer's local "
     "time), the contract table it went to and its properties."),
    (REJECTS, """received_at TIMESTAMP NOT NULL, source VARCHAR, message_id VARCHAR,
        event VARCHAR, reason VARCHAR""",
     "Events the writer refused, with the reason (no payload: it may hold personal data)."),
    (TRIGGERS, """trigger_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, status VARCHAR NOT NULL,
        definition JSON NOT NULL, created_at TIMESTAMP NOT NULL, created_by VARCHAR,
        updated_at TIMESTAMP NOT NULL""",
     "Event-triggered campaign rules: trigger event and conditions, the approved draft to "
     "send, delay, exceptions, caps, quiet hours; status active or paused."),
    (ENTRIES, """entry_id VARCHAR PRIMARY KEY, trigger_id VARCHAR NOT NULL,
        customer_id BIGINT NOT NULL, message_id VARCHAR, entered_at TIMESTAMP NOT NULL,
        due_at TIMESTAMP NOT NULL, status VARCHAR NOT NULL, decided_at TIMESTAMP,
        reason VARCHAR""",
     "Customers who entered a trigger: pending sends (due_at, UTC) and what became of them "
     "(fired, skipped, cancelled)."),
    (DECISIONS, """ts TIMESTAMP NOT NULL, trigger_id VARCHAR, trigger_name VARCHAR,
        customer_id BIGINT, entry_id VARCHAR, decision VARCHAR NOT NULL, reason VARCHAR,
        detail VARCHAR, message_id VARCHAR, channel VARCHAR""",
     "Every trigger decision with its reason (UTC): entered, fired, skipped (consent, KYC, "
     "account, cap, re-entry gap, quiet hours, conditions), deferred, cancelled."),
    (OUTBOX, """outbox_id VARCHAR PRIMARY KEY, created_at TIMESTAMP NOT NULL,
        trigger_id VARCHAR, entry_id VARCHAR, customer_id BIGINT, channel VARCHAR,
        draft_id VARCHAR, payload JSON, status VARCHAR NOT NULL, attempts INTEGER NOT NULL,
        next_attempt_at TIMESTAMP, last_error VARCHAR, delivered_at TIMESTAMP""",
     "Sends decided by triggers, waiting for or done by delivery (webhook, JSONL file). "
     "outbox_id is the idempotency key; status pending, delivered or dead (gave up)."),
    (LIVE, """customer_id BIGINT PRIMARY KEY, segment_run VARCHAR, segment_id INTEGER,
        churn_run VARCHAR, churn_score DOUBLE, updated_at TIMESTAMP NOT NULL,
        cause VARCHAR""",
     "Each customer's segment and churn score re-computed the moment an event touched them, "
     "with the persisted latest models (no retraining)."),
    (CHANGES, """ts TIMESTAMP NOT NULL, customer_id BIGINT NOT NULL, run_id VARCHAR,
        from_segment INTEGER, to_segment INTEGER, cause VARCHAR""",
     "Segment membership changes made by events: when (UTC), who, from which segment to "
     "which, and the event (messageId) that caused it."),
)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ensure(cur) -> None:
    """Create the real-time tables if missing (idempotent)."""
    cur.execute(f"CREATE SCHEMA IF NOT EXISTS {S}")
    for name, columns, comment in TABLES:
        cur.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")
        cur.execute(f"COMMENT ON TABLE {name} IS {_quote(comment)}")
