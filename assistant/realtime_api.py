"""The HTTP door: `POST /v1/events` and the trigger routes on the running app.

- Authentication: `Authorization: Bearer <ASSISTANT_INGEST_TOKEN>`. With no token configured
  every route here answers 404 (the endpoint is off); a missing or wrong token gets 401.
- `POST /v1/events` takes one event (Segment's track call), a JSON list, or Segment's batch
  shape `{"batch": [...]}`. It answers after the events are COMMITTED: 200 with
  `{"accepted", "duplicates", "rejected": [{"index", "messageId", "reason"}]}` (bad events are
  refused one by one while good ones land), 422 when every event was refused, 400 for a body
  that is not JSON of that shape, 413 for a body over `ASSISTANT_INGEST_MAX_BYTES` or more than
  `ASSISTANT_INGEST_MAX_EVENTS` events, 503 (with Retry-After) when nothing could be stored:
  retry, re-sending is safe (idempotent by messageId).
- `GET /v1/events/status`, `GET /v1/triggers`, `POST /v1/triggers` (TOML text or JSON rules),
  `POST /v1/triggers/{name}/pause|resume`, `GET /v1/triggers/history`: what the command line
  uses while the server holds the warehouse.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import tomllib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from assistant.events import jsonable
from tools.realtime import history, rules
from tools.realtime.mapping import loads
from tools.realtime.service import Config, RealTime
from tools.realtime.writer import WriterUnavailable
from warehouse.errors import AssistantError


def config_from(settings) -> Config:
    return Config(outbox_webhook=settings.outbox_webhook, outbox_file=settings.outbox_file,
                  outbox_max_attempts=settings.outbox_max_attempts,
                  redis_url=settings.redis_url, redis_stream=settings.redis_stream,
                  redis_group=settings.redis_group)


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


class _TooLarge(Exception):
    pass


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _events(payload: Any) -> list | None:
    if isinstance(payload, dict) and "batch" in payload:
        return payload["batch"] if isinstance(payload["batch"], list) else None
    if isinstance(payload, dict):
        return [payload]
    if isinstance(payload, list):
        return payload
    return None


def router(realtime: RealTime | None, settings) -> APIRouter:
    api = APIRouter()
    token = settings.ingest_token.get_secret_value() if settings.ingest_token else None

    def refuse(request: Request) -> JSONResponse | None:
        if not token or realtime is None:
            return _error(404, "event ingestion is off: set ASSISTANT_INGEST_TOKEN to a secret "
                               "and restart `assistant serve`")
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not value:
            return _error(401, "missing bearer token: send 'Authorization: Bearer <token>'",
                          **{"WWW-Authenticate": "Bearer"})
        if not secrets.compare_digest(value.strip().encode(), token.encode()):
            return _error(401, "wrong token", **{"WWW-Authenticate": "Bearer"})
        return None

    @api.post("/v1/events", include_in_schema=False)
    async def post_events(request: Request):
        refused = refuse(request)
        if refused is not None:
            return refused
        try:
            body = await _body(request, settings.ingest_max_bytes)
        except _TooLarge:
            return _error(413, f"the request is larger than {settings.ingest_max_bytes:,} "
                               "bytes; send smaller batches")

        def parse_and_submit():
            """Off the event loop (a 1,000-event body takes milliseconds to read and check):
            an error response, or the writer's future."""
            try:
                payload = loads(body)
            except (ValueError, UnicodeDecodeError) as exc:
                return _error(400, "the body is not valid JSON "
                                   f"({str(exc).splitlines()[0][:80]})")
            events = _events(payload)
            if events is None:
                return _error(400, "send one event (a JSON object), a JSON list of events, or "
                                   "{\"batch\": [...]}")
            if not events:
                return _error(400, "the batch is empty")
            if len(events) > settings.ingest_max_events:
                return _error(413, f"{len(events):,} events in one request; at most "
                                   f"{settings.ingest_max_events:,}")
            return realtime.writer.submit(events, "http")

        try:
            future = await asyncio.to_thread(parse_and_submit)
            if isinstance(future, JSONResponse):
                return future
            result = await asyncio.wait_for(asyncio.wrap_future(future), timeout=60)
        except (WriterUnavailable, TimeoutError) as exc:
            return _error(503, f"{exc or 'the writer is busy'}; nothing was stored, retry "
                               "(re-sending is safe)", **{"Retry-After": "1"})
        body = result.to_dict()
        status = 422 if not result.accepted and not result.duplicates else 200
        return JSONResponse(body, status_code=status)

    @api.get("/v1/events/status", include_in_schema=False)
    def status(request: Request):
        return refuse(request) or JSONResponse(jsonable(realtime.status()))

    @api.get("/v1/triggers", include_in_schema=False)
    def list_rules(request: Request):
        refused = refuse(request)
        if refused is not None:
            return refused
        out = [{"trigger_id": tid, "name": name, "status": st, "rule": rule.describe(),
                "definition": rule.model_dump(exclude_none=True)}
               for tid, name, st, rule in rules.load(realtime.wh)]
        return JSONResponse(jsonable(out))

    @api.post("/v1/triggers", include_in_schema=False)
    async def add_rules(request: Request):
        refused = refuse(request)
        if refused is not None:
            return refused
        try:
            text = (await _body(request, 200_000)).decode("utf-8")
            try:
                data = json.loads(text)
                items = data if isinstance(data, list) else data.get("trigger", [data])
            except ValueError:
                items = tomllib.loads(text).get("trigger", [])
            parsed = [rules.parse_rule(item) for item in items]
            if not parsed:
                return _error(400, "no [[trigger]] rules in the request")
            ids = await asyncio.to_thread(realtime.add_rules, parsed, "api")
        except _TooLarge:
            return _error(413, "the rules file is too large")
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            return _error(400, f"not valid TOML or JSON: {exc}")
        except AssistantError as exc:
            return _error(400, str(exc))
        return JSONResponse({"added": [{"trigger_id": i, "name": r.name, "rule": r.describe()}
                                       for i, r in zip(ids, parsed, strict=True)]})

    @api.post("/v1/triggers/{ref}/{action}", include_in_schema=False)
    def change(ref: str, action: str, request: Request):
        refused = refuse(request)
        if refused is not None:
            return refused
        if action not in ("pause", "resume"):
            return _error(404, "use /pause or /resume")
        try:
            tid, name = realtime.set_status(ref, "paused" if action == "pause" else "active")
        except AssistantError as exc:
            return _error(404, str(exc))
        return JSONResponse({"trigger_id": tid, "name": name,
                             "status": "paused" if action == "pause" else "active"})

    @api.get("/v1/triggers/history", include_in_schema=False)
    def trigger_history(request: Request, period: str = "today", trigger: str | None = None,
                        decision: str | None = None, reason: str | None = None,
                        limit: int = 50):
        refused = refuse(request)
        if refused is not None:
            return refused
        try:
            counts, latest, w = history.decisions(realtime.wh, period=period, trigger=trigger,
                                                  decision=decision, reason=reason,
                                                  limit=min(max(limit, 1), 1000))
        except AssistantError as exc:
            return _error(400, str(exc))
        return JSONResponse(jsonable({"period": w.label,
                                      "counts": counts.to_dict("records"),
                                      "latest": latest.to_dict("records")}))

    return api


def attach(app, settings, wh) -> RealTime:
    """Start the real-time path on the server's warehouse and add its routes to `app`."""
    realtime = RealTime(wh, config_from(settings)).start()
    app.state.realtime = realtime
    app.include_router(router(realtime, settings))
    return realtime
