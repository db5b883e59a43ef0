"""The page's live panel: the latest events, trigger fires and skips, and the outbox, as
Markdown (a pure function of the warehouse, refreshed by a timer on the page).

On an engine other than DuckDB (Spark) nothing is ingested in real time: the panel says so,
in the same words as `POST /v1/events` answers there (501), with what works instead."""

from __future__ import annotations

from datetime import UTC, datetime

from tools.realtime import history
from warehouse.errors import AssistantError, log_unexpected


def engine_of(wh) -> str:
    return getattr(wh, "engine", "duckdb")


def live(wh) -> bool:
    """True when events can arrive on this warehouse's engine (DuckDB only)."""
    return engine_of(wh) == "duckdb"


def events_elsewhere(engine: str) -> str:
    """Why real-time events are not taken on `engine`, and what works there instead (the
    panel's text and the 501 answer of POST /v1/events)."""
    return (f"Real-time events are not taken on the {engine} engine: `POST /v1/events` answers "
            "501 and no event stream is read, so no trigger fires here. The customer data is "
            "the lakehouse's: new transactions and events reach it through its own pipelines, "
            "and the assistant reads them when it starts again. Questions, segments, churn and "
            "lifetime-value scores, audiences and drafts work on this engine; events, triggers "
            "and the outbox need the DuckDB engine (`ASSISTANT_ENGINE=duckdb`).")


def _no_events(ingest_on: bool | None) -> str:
    if ingest_on is False:
        return ("No events yet, and `POST /v1/events` is off: set `ASSISTANT_INGEST_TOKEN` "
                "(or `ASSISTANT_REDIS_URL`) and restart, or run `assistant events ingest "
                "FILE.jsonl` (see the README, *Real time*); events appear here as they arrive.")
    return ("No events yet. Post some to `/v1/events` (see the README, *Real time*) and "
            "they appear here as they arrive.")


def _time(value) -> str:
    try:
        return f"{value:%H:%M:%S}"
    except (TypeError, ValueError):
        return ""


def markdown(wh, limit: int = 8, *, ingest_on: bool | None = None) -> str:
    """Counters for today (UTC), then the latest events and trigger decisions; `ingest_on`
    says whether the app takes events over HTTP or Redis (None: not known)."""
    if not live(wh):
        return events_elsewhere(engine_of(wh))
    try:
        events = history.recent_events(wh, limit)
        counts, latest, _ = history.decisions(wh, period="today", limit=limit * 3)
        outbox = history.outbox(wh, 200)
        refused = history.rejects(wh, 3)
    except Exception as exc:   # the panel must never break the page
        if not isinstance(exc, AssistantError):
            log_unexpected("live panel", exc)
        return f"Live panel unavailable: {str(exc).splitlines()[0][:120]}"
    if events.empty and latest.empty:
        return _no_events(ingest_on)
    by = counts.groupby("decision")["decisions"].sum().to_dict() if len(counts) else {}
    pending = int((outbox["status"] == "pending").sum()) if len(outbox) else 0
    dead = int((outbox["status"] == "dead").sum()) if len(outbox) else 0
    lines = [f"**Today (UTC):** {by.get('fired', 0):,} fired · {by.get('skipped', 0):,} "
             f"skipped · {by.get('deferred', 0):,} deferred · outbox {pending:,} waiting"
             + (f", {dead:,} dead-lettered" if dead else "")
             + f" · updated {datetime.now(UTC):%H:%M:%S}"]
    if len(events):
        lines += ["", "| received | event | customer | source |", "|---|---|---:|---|"]
        lines += [f"| {_time(r[0])} | {r[1]} | {r[2]} | {r[4]} |"
                  for r in events.itertuples(index=False)]
    decided = latest[latest["decision"] != "entered"].head(limit) if len(latest) else latest
    if len(decided):
        lines += ["", "| time | trigger | decision | why |", "|---|---|---|---|"]
        for r in decided.itertuples(index=False):
            why = history.words(r.reason) if isinstance(r.reason, str) and \
                r.reason != "fired" else ""
            lines.append(f"| {_time(r[0])} | {r.trigger} | {r.decision} | {why} |")
    if len(refused):
        last = refused.iloc[0]
        lines += ["", f"Last rejected event: {last['reason']}"]
    return "\n".join(lines)
