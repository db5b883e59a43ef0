"""`assistant events ...` and `assistant triggers ...`: the file door and trigger management.

DuckDB lets one process write a warehouse. When no server holds it, these commands open it
themselves; while `assistant serve` runs they go through its HTTP routes (the same token as the
server, ASSISTANT_INGEST_TOKEN), so the page's writer stays the one writer.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from assistant.cli import PathOption, app, err, friendly, out
from assistant.settings import Settings, get_settings
from warehouse.errors import AssistantError, WarehouseBusy

events_app = typer.Typer(help="Real-time events: ingest a JSONL file or a pipe, consume a "
                         "Redis stream, see what arrived.", no_args_is_help=True)
triggers_app = typer.Typer(help="Event-triggered campaigns: list, add from a TOML file, pause, "
                           "resume, history of what fired or was skipped and why.",
                           no_args_is_help=True)
app.add_typer(events_app, name="events")
app.add_typer(triggers_app, name="triggers")

CHUNK = 1_000


class Server:
    """The running app's /v1 routes."""

    def __init__(self, settings: Settings) -> None:
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
        self.base = f"http://{host}:{settings.port}"
        if settings.ingest_token is None:
            raise AssistantError(
                f"the warehouse {settings.warehouse} is held by the running app; to go through "
                "it, set ASSISTANT_INGEST_TOKEN to the token the app was started with")
        self.token = settings.ingest_token.get_secret_value()

    def call(self, method: str, path: str, body: bytes | None = None,
             params: dict | None = None) -> tuple[int, Any]:
        url = self.base + path + (f"?{urllib.parse.urlencode(params)}" if params else "")
        request = urllib.request.Request(url, data=body, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read())
            except ValueError:
                detail = {"error": exc.reason}
            if exc.code in (400, 404, 413) and "error" in detail:
                raise AssistantError(f"the app answered: {detail['error']}") from None
            return exc.code, detail
        except (urllib.error.URLError, OSError) as exc:
            raise AssistantError(f"the warehouse is held by another program, and no app answers "
                                 f"at {self.base} ({getattr(exc, 'reason', exc)}); stop that "
                                 "program or start `assistant serve`") from None


@contextmanager
def _warehouse_or_server(settings: Settings):
    """(warehouse, None) when the file is free, else (None, Server)."""
    from warehouse.connection import Warehouse

    try:
        wh = Warehouse.open(settings.warehouse)
    except WarehouseBusy:
        yield None, Server(settings)
        return
    try:
        yield wh, None
    finally:
        wh.close()


def _read_lines(file: str) -> list[tuple[int, Any]]:
    """(line number, event or the raw text when not JSON) for every non-blank line."""
    if file == "-":
        text = sys.stdin.read()
    else:
        path = Path(file)
        if not path.exists():
            raise AssistantError(f"no file {file}")
        text = path.read_text(encoding="utf-8", errors="replace")
    out_lines = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out_lines.append((number, json.loads(line)))
        except ValueError:
            out_lines.append((number, "\x00not json"))
    return out_lines


def _config(settings: Settings):
    from assistant.realtime_api import config_from

    return config_from(settings)


@events_app.command("ingest")
@friendly
def ingest(
    file: Annotated[str, typer.Argument(help="A JSONL file of track events (one JSON object "
                                        "per line), or - for standard input.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    path: PathOption = None,
) -> None:
    """Ingest events from a file or a pipe: the same checks, mapping and triggers as
    `POST /v1/events`, idempotent by messageId (re-running a file adds nothing)."""
    settings = get_settings(warehouse=path)
    lines = _read_lines(file)
    if not lines:
        raise AssistantError(f"{file} holds no events")
    totals = {"read": len(lines), "accepted": 0, "duplicates": 0, "rejected": []}

    def note(chunk, result: dict) -> None:
        totals["accepted"] += result["accepted"]
        totals["duplicates"] += result["duplicates"]
        for r in result["rejected"]:
            number, raw = chunk[r["index"]]
            reason = ("not valid JSON" if raw == "\x00not json" else r["reason"])
            totals["rejected"].append({"line": number, "messageId": r.get("messageId"),
                                       "reason": reason})

    with _warehouse_or_server(settings) as (wh, server):
        if wh is not None:
            from tools.realtime.service import RealTime

            realtime = RealTime(wh, _config(settings)).start(wait=True)
            try:
                for i in range(0, len(lines), CHUNK):
                    chunk = lines[i:i + CHUNK]
                    note(chunk, realtime.writer.ingest([e for _, e in chunk], "file")
                         .to_dict())
                deadline = time.monotonic() + 15    # let the outbox deliver what fired
                while realtime.delivery.due() and time.monotonic() < deadline:
                    time.sleep(0.1)
            finally:
                realtime.stop()
        else:
            for i in range(0, len(lines), CHUNK):
                chunk = lines[i:i + CHUNK]
                status, result = server.call("POST", "/v1/events",
                                             json.dumps([e for _, e in chunk]).encode())
                if status not in (200, 422):
                    raise AssistantError(f"the app could not store events from line "
                                         f"{chunk[0][0]} on ({status}: {result.get('error')}); "
                                         f"{totals['accepted']:,} were stored before; re-run "
                                         "the same file: repeats are skipped")
                note(chunk, result)
    if as_json:
        out.print_json(json.dumps(totals))
        return
    out.print(f"Read {totals['read']:,} events from {file}: {totals['accepted']:,} accepted, "
              f"{totals['duplicates']:,} duplicates (already in), {len(totals['rejected']):,} "
              f"rejected{' (via the running app)' if wh is None else ''}.", highlight=False)
    for r in totals["rejected"][:20]:
        err.print(f"  line {r['line']}" + (f" ({r['messageId']})" if r["messageId"] else "")
                  + f": {r['reason']}", highlight=False)
    if len(totals["rejected"]) > 20:
        err.print(f"  ... and {len(totals['rejected']) - 20:,} more (--json lists them all)")


@events_app.command("status")
@friendly
def status(path: PathOption = None) -> None:
    """What has arrived: events, rejections, the customer state, the outbox."""
    from tools.realtime import history, state

    settings = get_settings(warehouse=path)
    with _warehouse_or_server(settings) as (wh, server):
        if server is not None:
            _, body = server.call("GET", "/v1/events/status")
            out.print_json(json.dumps(body))
            return
        meta = state.meta(wh)
        fresh = state.current(wh) is not None
        counts = {name: wh.scalar(f"SELECT count(*) FROM assistant.{name}")
                  if wh.has_table(name, "assistant") else 0
                  for name in ("events", "event_rejects", "outbox", "trigger_log")}
        out.print(f"Events accepted: {counts['events']:,}; rejected: {counts['event_rejects']:,};"
                  f" trigger decisions: {counts['trigger_log']:,}; outbox rows: "
                  f"{counts['outbox']:,}.", highlight=False)
        if meta is None:
            out.print("Customer state: not built yet (the app builds it when it starts).")
        else:
            how = ("up to date" if fresh else "STALE (data changed outside the writer; it is "
                   "rebuilt when the app starts)")
            out.print(f"Customer state: as of {meta['reference_ts']}, {how}.", highlight=False)
        recent = history.recent_events(wh, 10)
        if len(recent):
            _print_frame(recent, "Latest events")


@events_app.command("consume")
@friendly
def consume(
    redis_url: Annotated[str | None, typer.Option("--redis", help="redis://host:port/db "
                                                  "[env: ASSISTANT_REDIS_URL].")] = None,
    stream: Annotated[str | None, typer.Option(help="Stream name [default events].")] = None,
    group: Annotated[str | None, typer.Option(help="Consumer group [default assistant].")] = None,
    seconds: Annotated[float, typer.Option(help="Stop after this many seconds (0 = until "
                                           "Ctrl-C).")] = 0,
    path: PathOption = None,
) -> None:
    """Consume events from a Redis stream (consumer group, acknowledged after each commit).

    `assistant serve` does this itself when ASSISTANT_REDIS_URL is set; this command is for a
    warehouse no server holds.
    """
    from tools.realtime.brokers import Consumer, RedisStreamSource
    from tools.realtime.service import RealTime

    settings = get_settings(warehouse=path, redis_url=redis_url, redis_stream=stream,
                            redis_group=group)
    if not settings.redis_url:
        raise AssistantError("say which Redis to read: --redis redis://127.0.0.1:6379/0 (or "
                             "ASSISTANT_REDIS_URL)")
    with _warehouse_or_server(settings) as (wh, server):
        if server is not None:
            raise AssistantError("the app holds the warehouse: start it with "
                                 "ASSISTANT_REDIS_URL set and it consumes the stream itself")
        realtime = RealTime(wh, _config(settings)).start(wait=True)
        try:
            import redis

            source = RedisStreamSource(settings.redis_url, settings.redis_stream,
                                       settings.redis_group)
        except redis.RedisError as exc:
            realtime.stop()
            raise AssistantError(f"cannot reach Redis at {settings.redis_url}: {exc}") from None
        consumer = Consumer(source, realtime.writer).start()
        err.print(f"Consuming {settings.redis_stream} (group {settings.redis_group}); Ctrl-C "
                  "to stop.", highlight=False)
        started = time.monotonic()
        try:
            while not seconds or time.monotonic() - started < seconds:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            consumer.stop()
            realtime.stop()
        stats = realtime.writer.stats
        out.print(f"Consumed {consumer.consumed:,} events ({consumer.acked:,} messages "
                  f"acknowledged) in {stats.batches:,} micro-batches; the last took "
                  f"{stats.last_batch_ms:.0f} ms ({json.dumps(stats.last_steps)}).",
                  highlight=False)


# -- triggers -------------------------------------------------------------------------------------
def _print_frame(df, title: str) -> None:
    table = Table(title=title, header_style="bold", title_justify="left")
    for c in df.columns:
        table.add_column(str(c), overflow="fold")
    for row in df.itertuples(index=False):
        table.add_row(*("" if v is None or v != v else str(v) for v in row))
    out.print(table)


@triggers_app.command("list")
@friendly
def list_(path: PathOption = None) -> None:
    """The trigger rules, their status and what they do."""
    from tools.realtime import rules

    settings = get_settings(warehouse=path)
    with _warehouse_or_server(settings) as (wh, server):
        if server is not None:
            _, found = server.call("GET", "/v1/triggers")
            items = [(t["trigger_id"], t["name"], t["status"], t["rule"]) for t in found]
        else:
            items = [(tid, name, st, rule.describe()) for tid, name, st, rule in rules.load(wh)]
    if not items:
        out.print("No triggers yet: add some with `assistant triggers add rules.toml`.")
        return
    table = Table(header_style="bold")
    for c in ("trigger", "name", "status", "rule"):
        table.add_column(c, overflow="fold")
    for row in items:
        table.add_row(*row)
    out.print(table)


@triggers_app.command("add")
@friendly
def add(file: Annotated[Path, typer.Argument(help="A TOML file of [[trigger]] rules (see "
                                             "README, Real time).")],
        path: PathOption = None) -> None:
    """Add (or replace, by name) the trigger rules declared in a TOML file."""
    from tools.realtime import rules, tables

    settings = get_settings(warehouse=path)
    parsed = rules.load_file(file)
    with _warehouse_or_server(settings) as (wh, server):
        if server is not None:
            _, body = server.call("POST", "/v1/triggers", file.read_bytes())
            added = [(a["trigger_id"], a["name"], a["rule"]) for a in body["added"]]
        else:
            with wh.transaction() as cur:
                tables.ensure(cur)
                ids = [rules.save(cur, r, created_by="cli") for r in parsed]
            added = [(i, r.name, r.describe()) for i, r in zip(ids, parsed, strict=True)]
    for tid, name, text in added:
        out.print(f"[bold]{name}[/] ({tid}): {text}", highlight=False)
    _warn_unapproved(settings, parsed)


def _warn_unapproved(settings: Settings, parsed) -> None:
    from warehouse.connection import Warehouse

    try:
        with Warehouse.open(settings.warehouse, read_only=True) as wh:
            from tools import drafts

            for r in parsed:
                try:
                    d = drafts.get(wh, r.draft)[0]
                except AssistantError:
                    err.print(f"Note: draft {r.draft} does not exist; '{r.name}' sends nothing "
                              "until it does and is approved.", highlight=False)
                    continue
                if d.status != "approved":
                    err.print(f"Note: draft {d.draft_id} is not approved; '{r.name}' sends "
                              f"nothing until `assistant drafts approve {d.draft_id} --by NAME`.",
                              highlight=False)
    except WarehouseBusy:
        return


def _set(ref: str, status: str, path) -> None:
    from tools.realtime import rules, tables

    settings = get_settings(warehouse=path)
    with _warehouse_or_server(settings) as (wh, server):
        if server is not None:
            action = "pause" if status == "paused" else "resume"
            _, body = server.call("POST", f"/v1/triggers/{urllib.parse.quote(ref)}/{action}")
            tid, name = body["trigger_id"], body["name"]
        else:
            with wh.transaction() as cur:
                tables.ensure(cur)
                tid, name = rules.set_status(cur, ref, status)
    out.print(f"{'Paused' if status == 'paused' else 'Resumed'} '{name}' ({tid}).",
              highlight=False)


@triggers_app.command("pause")
@friendly
def pause(name: Annotated[str, typer.Argument(help="Trigger id, name, or a word of it.")],
          path: PathOption = None) -> None:
    """Pause a trigger: nothing is sent (pending sends are skipped) until it is resumed."""
    _set(name, "paused", path)


@triggers_app.command("resume")
@friendly
def resume(name: Annotated[str, typer.Argument(help="Trigger id, name, or a word of it.")],
           path: PathOption = None) -> None:
    """Resume a paused trigger."""
    _set(name, "active", path)


@triggers_app.command("history")
@friendly
def history_(
    period: Annotated[str, typer.Option(help="today, yesterday, this week, last 7 days, this "
                                        "month, last 30 days or all (UTC).")] = "today",
    trigger: Annotated[str | None, typer.Option(help="A trigger's name or id.")] = None,
    decision: Annotated[str | None, typer.Option(help="fired, skipped, deferred, cancelled, "
                                                 "entered.")] = None,
    reason: Annotated[str | None, typer.Option(help="consent, kyc, account, cap, quiet hours, "
                                               "re-entry, conditions, ...")] = None,
    limit: Annotated[int, typer.Option(help="Latest decisions to list.")] = 20,
    path: PathOption = None,
) -> None:
    """What the triggers did: counts by trigger, decision and reason, and the latest ones."""
    import pandas as pd

    from tools.realtime import history

    settings = get_settings(warehouse=path)
    with _warehouse_or_server(settings) as (wh, server):
        if server is not None:
            _, body = server.call("GET", "/v1/triggers/history", params={
                k: v for k, v in {"period": period, "trigger": trigger, "decision": decision,
                                  "reason": reason, "limit": limit}.items() if v is not None})
            counts, latest = pd.DataFrame(body["counts"]), pd.DataFrame(body["latest"])
            label = body["period"]
        else:
            counts, latest, w = history.decisions(wh, period=period, trigger=trigger,
                                                  decision=decision, reason=reason, limit=limit)
            label = w.label
    if counts.empty:
        out.print(f"No trigger decisions {label}.", highlight=False)
        return
    _print_frame(counts, f"Trigger decisions {label}")
    _print_frame(latest, "Latest")
