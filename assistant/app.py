"""Serve the chat page (and the MCP server) on settings.host:settings.port."""

from __future__ import annotations

import os
import signal

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no telemetry leaves the machine

import gradio as gr

from assistant.settings import Settings
from warehouse.connection import Warehouse


def make_assistant_factory(wh):
    """settings -> Assistant, sharing the warehouse handle (one per process).

    The same chat model answers questions and writes campaign copy (structured output); with
    the offline planner the copy comes from the template library.
    """
    from assistant.agent import Assistant
    from assistant.llm import chat_model
    from assistant.writer import writer_for

    def make(settings: Settings):
        model = chat_model(settings, wh)
        return Assistant(settings, wh, model=model, writer=writer_for(model, settings.model))

    return make


def create(settings: Settings, wh: Warehouse) -> gr.Blocks:
    from assistant.ui import mcp
    from assistant.ui.page import build_app

    demo = build_app(settings, wh, make_assistant_factory(wh))
    mcp.register(demo, wh, settings)
    return demo


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt  # Gradio's own clean shutdown, then the exit handlers run


def serve(settings: Settings) -> None:
    """Open the warehouse (read-write, sandboxed) and serve the page until interrupted
    (Ctrl-C or SIGTERM: both stop it cleanly and remove the sessions' result files)."""
    from assistant.ui.page import CSS
    from assistant.ui.session import downloads_root

    signal.signal(signal.SIGTERM, _stop)
    # Gradio keeps its own copy of every file it serves; unless told otherwise, keep those in
    # the private folder that goes when the server stops.
    if not os.environ.get("GRADIO_TEMP_DIR"):
        os.environ["GRADIO_TEMP_DIR"] = str(downloads_root() / "gradio")
    wh = Warehouse.open(settings.warehouse)
    demo = create(settings, wh)
    exports = (settings.warehouse.parent / "exports").resolve()
    exports.mkdir(parents=True, exist_ok=True)
    demo.queue(default_concurrency_limit=settings.concurrency).launch(
        server_name=settings.host, server_port=settings.port, share=False, inbrowser=False,
        show_error=True, theme=gr.themes.Soft(primary_hue="indigo"), css=CSS,
        allowed_paths=[str(exports)], mcp_server=settings.mcp,
    )
