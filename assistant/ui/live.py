"""The page's live panel: the latest events, trigger fires and skips, and the outbox, as
Markdown (a pure function of the warehouse, refreshed by a timer on the page)."""

from __future__ import annotations

from datetime import UTC, datetime

from tools.realtime import history


def _time(value) -> str:
    try:
        return f"{value:%H:%M:%S}"
    except (TypeError, ValueError):
        return ""


def markdown(wh, limit: int = 8) -> str:
    """Counters for today (UTC), then the latest events and trigger decisions."""
    try:
        events = history.recent_events(wh, limit)
        counts, latest, _ = history.decisions(wh, period="today", limit=limit * 3)
        outbox = history.outbox(wh, 200)
        refused = history.rejects(wh, 3)
    except Exception as exc:   # the panel must never break the page
        return f"Live panel unavailable: {str(exc).splitlines()[0][:120]}"
    if events.empty and latest.empty:
        return ("No events yet. Post some to `/v1/events` (see the README, *Real time*) and "
                "they appear here as they arrive.")
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
