"""The web page: for now a warehouse overview and a read-only query box.

The chat agent replaces the query box when it lands; `assistant serve` already opens this page.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no telemetry leaves the machine

import duckdb
import gradio as gr
import pandas as pd

from assistant.errors import AssistantError
from assistant.settings import Settings
from warehouse.connection import Warehouse

EXAMPLE_SQL = (
    "SELECT category, strftime(ts, '%Y-%m') AS month, round(sum(amount)) AS spend\n"
    "FROM transactions\n"
    "WHERE direction = 'debit' AND category NOT IN ('transfer', 'investment', 'fees')\n"
    "GROUP BY ALL ORDER BY month, category"
)


def overview(wh: Warehouse) -> tuple[str, pd.DataFrame]:
    """A short description of the data and a table of row counts."""
    counts = wh.table_counts()
    period = wh.reference_period()
    if period["data_start"] is None:
        text = "The warehouse has no transactions yet."
    else:
        start, end = period["data_start"], period["reference_date"]
        text = (f"Data from **{start:%d %b %Y}** to **{end:%d %b %Y}** (the reference date: "
                "'last 90 days' and ages count back from it).")
    table = pd.DataFrame({"table": list(counts), "rows": [f"{n:,}" for n in counts.values()]})
    return text, table


def run_query(wh: Warehouse, settings: Settings, query: str) -> tuple[pd.DataFrame, str]:
    """Run a read-only query; return the table and a status line for people."""
    if not query.strip():
        return pd.DataFrame(), "Type a query first."
    try:
        cur = wh.execute(query, timeout=settings.query_timeout)
        if cur.description is None:
            return pd.DataFrame(), "That statement returned no rows; only queries are allowed."
        columns = [d[0] for d in cur.description]
        rows = cur.fetchmany(settings.row_cap + 1)
    except AssistantError as exc:
        return pd.DataFrame(), f"⚠️ {exc}"
    except duckdb.Error as exc:
        return pd.DataFrame(), f"⚠️ The query failed: {str(exc).strip().splitlines()[0]}"
    note = f"{min(len(rows), settings.row_cap):,} rows"
    if len(rows) > settings.row_cap:
        note += f" (first {settings.row_cap:,} shown)"
    return pd.DataFrame(rows[: settings.row_cap], columns=columns), note


def build_app(settings: Settings, wh: Warehouse) -> gr.Blocks:
    mode = ("Offline planner (no API key)" if settings.uses_offline_planner
            else f"Model: {settings.model}")
    with gr.Blocks(title="Fintech marketing assistant") as demo:
        gr.Markdown(f"# Fintech marketing assistant\n`{mode}` · warehouse `{settings.warehouse}`")
        text, counts = overview(wh)
        with gr.Row():
            with gr.Column(scale=1):
                gr.Markdown("### Your data\n" + text)
                gr.Dataframe(counts, interactive=False, show_label=False)
            with gr.Column(scale=3):
                gr.Markdown("### Ask with SQL (read-only)\nThe chat assistant comes next; until "
                            "then, query the warehouse directly. Nothing can be changed from "
                            "here.")
                query = gr.Code(EXAMPLE_SQL, language="sql", label="Query")
                go = gr.Button("Run", variant="primary")
                status = gr.Markdown()
                result = gr.Dataframe(label="Result", interactive=False)
        go.click(lambda q: run_query(wh, settings, q), inputs=query, outputs=[result, status])
    return demo


def serve(settings: Settings) -> None:
    """Open the warehouse read-only and serve the page on settings.host:settings.port."""
    wh = Warehouse.open(settings.warehouse, read_only=True)
    demo = build_app(settings, wh)
    demo.queue(default_concurrency_limit=8).launch(
        server_name=settings.host, server_port=settings.port, share=False, inbrowser=False,
        show_error=True, theme=gr.themes.Soft(),
    )
