"""Serve the chat page (and the MCP server) on settings.host:settings.port.

The server is a FastAPI app: our own routes first (downloads through expiring per-session
links, a health check), then the Gradio page mounted at "/". Gradio serves no folder of ours
(`allowed_paths` is empty), so a file with customer data is only ever reachable through a link
the download store handed to the session that made it.
"""

from __future__ import annotations

import os
import signal

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no telemetry leaves the machine

import gradio as gr

from assistant.factory import make_assistant_factory
from assistant.settings import Settings
from warehouse.connection import Warehouse


def create(settings: Settings, wh: Warehouse, downloads=None, access=None) -> gr.Blocks:
    from assistant.auth import Access
    from assistant.ui import mcp
    from assistant.ui.downloads import DownloadStore
    from assistant.ui.page import build_app

    access = access if access is not None else Access.from_settings(settings)
    downloads = downloads if downloads is not None else DownloadStore(settings.download_ttl)
    demo = build_app(settings, wh, make_assistant_factory(wh), downloads=downloads,
                     access=access)
    mcp.register(demo, wh, settings, roles=access.mcp_roles)
    return demo


def _gradio_app(app):
    from starlette.routing import Mount

    return next(r.app for r in app.routes if isinstance(r, Mount))


def create_server(settings: Settings, wh: Warehouse):
    """The FastAPI app: download and health routes, then the page (and MCP) mounted at "/"."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    from assistant.audit import AuditLog
    from assistant.auth import Access
    from assistant.ui import downloads as dl
    from assistant.ui.page import CSS

    access = Access.from_settings(settings)
    audit = AuditLog(wh)
    store = dl.DownloadStore(settings.download_ttl, audit=audit)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.downloads = store

    @app.middleware("http")
    async def mcp_needs_its_token(request, call_next):
        """Gradio does not put its sign-in in front of the MCP server: without the bearer token
        (ASSISTANT_MCP_TOKEN) an app with sign-in refuses MCP requests."""
        if request.url.path.startswith("/gradio_api/mcp") and \
                not access.mcp_allowed(request.headers):
            return JSONResponse({"error": "Not authenticated: MCP clients need the bearer "
                                 "token (ASSISTANT_MCP_TOKEN)"}, status_code=401)
        return await call_next(request)

    async def current_user(request):
        """The signed-in user as Gradio knows them (None when the app has no authentication)."""
        gradio_app = _gradio_app(app)
        if gradio_app.auth_dependency is not None:
            user = gradio_app.auth_dependency(request)
            return await user if hasattr(user, "__await__") else user
        cookie = (request.cookies.get(f"access-token-{gradio_app.cookie_id}")
                  or request.cookies.get(f"access-token-unsecure-{gradio_app.cookie_id}"))
        return gradio_app.tokens.get(cookie)

    app.include_router(dl.router(store, current_user))
    if getattr(wh, "engine", "duckdb") == "duckdb":
        from assistant.realtime_api import attach  # POST /v1/events, triggers; the writer

        attach(app, settings, wh)
    else:
        _no_events_on(app, wh.engine)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"status": "ok"}

    demo = create(settings, wh, downloads=store, access=access)
    demo.queue(default_concurrency_limit=settings.concurrency)
    return gr.mount_gradio_app(
        app, demo, path="", server_name=settings.host, server_port=settings.port,
        show_error=True, theme=gr.themes.Soft(primary_hue="indigo"), css=CSS,
        allowed_paths=[], mcp_server=settings.mcp, ssr_mode=False,
        auth=access.login if access.mode == "users" else None,
        auth_dependency=access.proxy_user if access.mode == "proxy" else None,
        auth_message="Sign in to the marketing assistant" if access.mode == "users" else None,
    )


def _no_events_on(app, engine: str) -> None:
    """On Spark the customer data is the lakehouse's: events reach it through its own
    pipelines, not through the assistant's DuckDB writer. Say so instead of a 404."""
    from fastapi.responses import JSONResponse

    from assistant.ui.live import events_elsewhere  # the page's live panel says the same

    @app.post("/v1/events", include_in_schema=False)
    def no_events() -> JSONResponse:
        return JSONResponse(status_code=501, content={"error": events_elsewhere(engine)})


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(0)   # so the exit handlers run (the sessions' result files go)


def serve(settings: Settings) -> None:
    """Open the warehouse (read-write, sandboxed) and serve the page until interrupted
    (Ctrl-C or SIGTERM: both stop it cleanly and remove the sessions' result files)."""
    import uvicorn

    from assistant import schedule
    from assistant.ui.session import downloads_root

    # Gradio keeps its own copy of every file it serves; unless told otherwise, keep those in
    # the private folder that goes when the server stops.
    if not os.environ.get("GRADIO_TEMP_DIR"):
        os.environ["GRADIO_TEMP_DIR"] = str(downloads_root() / "gradio")
    # uvicorn stops gracefully on SIGTERM, then re-raises it to the handler that was there
    # before: ours, so the process exits through its exit handlers instead of dying.
    from assistant.auth import Access

    Access.from_settings(settings).check_listen(settings.host)   # no open door beyond loopback
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    wh = settings.open_warehouse()
    app = None
    refresh = schedule.start(settings, wh)     # the models' refresh, in the background
    try:
        app = create_server(settings, wh)
        print(f"Serving the chat page on http://{settings.host}:{settings.port}/ "
              "(Ctrl-C to stop)", flush=True)
        # open streams (a browser tab, an SSE client) get 5 s to finish when stopping
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning",
                    access_log=False, timeout_graceful_shutdown=5)
    finally:
        if refresh is not None:
            refresh.stop()
        realtime = getattr(getattr(app, "state", None), "realtime", None)
        if realtime is not None:
            realtime.stop()     # commits what is queued, then stops the writer
        wh.close()
