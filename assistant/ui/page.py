"""The chat page: the conversation on the left, the result (table, chart, cards, files) right.

`build_app(settings, wh, make_assistant)` only wires components to handlers; everything that
decides what to show lives in the pure modules `translate`, `charts` and `render`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from assistant.auth import Access, permissions
from assistant.events import Answer, Done, TextDelta, ToolFinished, ToolStarted
from assistant.settings import Settings
from assistant.ui import charts, live, render, translate
from assistant.ui.downloads import DownloadStore, links_html
from assistant.ui.session import Overrides, Session
from tools.result import TableResult
from warehouse.errors import log_unexpected
from warehouse.files import file_stem, spreadsheet_safe

log = logging.getLogger(__name__)

LIVE_REFRESH = 2.0   # seconds between refreshes of the live panel
EXAMPLES = [
    "How many active customers do we have?",
    "Spend by category last month",
    "Monthly spend on travel",
    "Segment my customers",
    "Who is likely to churn?",
    "Email opt-in rate by country",
    "Write an email for segment 1 about our savings account",
    "What can you do?",
]

CSS = """
.mode-badge {display:inline-block;padding:2px 10px;border-radius:999px;font-size:13px;
             background:#eef2ff;color:#3730a3;border:1px solid #c7d2fe;}
.mode-badge.model {background:#ecfdf5;color:#065f46;border-color:#a7f3d0;}
#answer-panel .prose table {font-size: 13px;}
#result-details {max-height: 620px; overflow-y: auto; padding-right: 8px;}
#result-details th, #result-details td:not(:first-child) {white-space: nowrap;}
#turn-status {color: #64748b; font-size: 13px;}
footer {display:none !important;}
"""


def mode_badge(mode: str, settings: Settings) -> str:
    if mode == "offline":
        return ('<span class="mode-badge">Offline planner · no API key: questions are mapped '
                'to queries and tools without a language model</span>')
    where = settings.base_url or "api.openai.com"
    return f'<span class="mode-badge model">Model: {mode} · {where}</span>'


def warehouse_markdown(wh) -> str:
    counts = wh.table_counts()
    period = wh.reference_period()
    lines = []
    if period["data_start"] is not None:
        from warehouse.schema import reference_note

        lines.append(f"Data from **{period['data_start']:%d %b %Y}** to "
                     f"**{period['reference_date']:%d %b %Y}** (the reference date: 'last 90 "
                     f"days' and ages count back from it). {reference_note(period)}".rstrip())
    else:
        lines.append("No dated data yet.")
    lines += ["", "| table | rows |", "|---|---:|"]
    lines += [f"| {name} | {n:,} |" for name, n in counts.items()]
    return "\n".join(lines)


EMPTY_TABLE = pd.DataFrame()
STREAM_EVERY = 0.05     # seconds between two updates of a streaming answer


def _first(answer: Answer | None) -> int:
    return answer.first_shown if answer is not None else 0


def _result_views(answer: Answer | None, index: int, session: Session,
                  downloads: DownloadStore) -> tuple:
    """(table, figure, details markdown, download links, dropdown update, tab) for one table of
    an answer. Files are offered through the session's own expiring links, never by path. The
    tab shown is the chart when there is one, else the table (one number draws no chart)."""
    details = _details(answer) if answer is not None else ""
    files = [Path(f) for f in answer.files if Path(f).exists()] if answer else []
    if answer is None or not answer.tables:
        return (EMPTY_TABLE, None, details, _links(files, session, downloads),
                gr.update(choices=[], value=None, visible=False),
                gr.update())
    index = max(0, min(index, len(answer.tables) - 1))
    table = _for_role(answer.tables[index], session)
    spec = next((c for c in answer.charts if charts._spec_fits(c, table.df)), None)
    fig = charts.figure(table, spec)
    csv = session.downloads / f"{file_stem(table.title, 'result')}.csv"
    spreadsheet_safe(table.df).to_csv(csv, index=False)
    titles = [f"{i + 1}. {t.title or 'Result'}" for i, t in enumerate(answer.tables)]
    return (render.styled(table.df), fig, details, _links([csv, *files], session, downloads),
            gr.update(choices=titles, value=titles[index], visible=len(titles) > 1),
            gr.Tabs(selected="chart" if fig is not None else "table"))


def _for_role(table: TableResult, session: Session) -> TableResult:
    """The table as this person may see it: personal columns only for those who may export
    personal data (analysts), when the app has sign-in."""
    personal = [c for c in table.personal if c in table.df.columns]
    if not personal or "export" in permissions(session.roles):
        return table
    return TableResult(title=table.title, df=table.df.drop(columns=personal))


def _links(paths: list[Path], session: Session, downloads: DownloadStore) -> str:
    links = [(downloads.offer(p, session=session.id, user=session.user), p.name) for p in paths]
    return links_html(links, downloads.ttl)


def status_line(turn: int, answer: Answer | None, seconds: float) -> str:
    """Under the chat: which answer this is, how long it took, what ran."""
    if answer is None:
        return f"Answer {turn} · working…"
    tools = len(answer.tool_calls)
    parts = [f"Answer {turn}", f"{seconds:.1f} s"]
    if tools:
        parts.append(f"{tools} tool call{'s' if tools != 1 else ''}")
    if answer.sql:
        parts.append(f"{len(answer.sql)} quer{'ies' if len(answer.sql) != 1 else 'y'}")
    return " · ".join(parts)


def _details(answer: Answer) -> str:
    return getattr(answer, "details_markdown", "") or ""


def _close_session(session: Session | None) -> None:
    if session is not None:
        session.close()


def build_app(settings: Settings, wh, make_assistant: Callable[[Settings], Any], *,
              downloads: DownloadStore | None = None, access: Access | None = None
              ) -> gr.Blocks:
    """The page. `make_assistant(settings)` returns an `assistant.agent.Assistant`; files are
    offered through `downloads` (one store per server); `access` says who is signed in and what
    their roles allow (default: no sign-in)."""
    default_assistant = make_assistant(settings)
    default_mode = default_assistant.mode
    downloads = downloads if downloads is not None else DownloadStore(settings.download_ttl)
    access = access if access is not None else Access()

    def new_session(request: gr.Request | None = None) -> Session:
        user = getattr(request, "username", None) if request is not None else None
        roles = access.roles(user, request)
        return Session(assistant=default_assistant,
                       conversation=default_assistant.conversation(user=user, roles=roles),
                       user=user, roles=roles, on_close=downloads.revoke_session)

    def respond(message: str, session: Session | None,
                request: gr.Request = None) -> Iterator[tuple]:
        session = session or new_session(request)
        message = (message or "").strip()
        keep = (gr.update(),) * 6
        if not message:
            yield (gr.update(), session.history, session, *keep, gr.update())
            return
        session.turns += 1
        started = time.perf_counter()
        history = session.history
        limit = settings.max_question_chars
        shown = message if len(message) <= limit else message[:limit] + "…"
        history.append(gr.ChatMessage(role="user", content=shown))
        steps: dict[str, int] = {}
        answer_at: int | None = None
        details: list[str] = []
        working = status_line(session.turns, None, 0)
        last_yield = 0.0
        yield ("", history, session, *_result_views(None, 0, session, downloads), working)
        try:
            for event in session.conversation.stream(message):
                if isinstance(event, ToolStarted):
                    history.append(translate.started_message(event))
                    steps[event.call_id] = len(history) - 1
                elif isinstance(event, ToolFinished):
                    msg = translate.finished_message(event)
                    if event.call_id in steps:
                        history[steps[event.call_id]] = msg
                    else:
                        history.append(msg)
                    if event.result is not None and event.result.data is not None:
                        text = render.data_markdown(event.result.data)
                        if text:
                            details.append(text)
                elif isinstance(event, TextDelta):
                    if answer_at is None:
                        history.append(translate.answer_message(""))
                        answer_at = len(history) - 1
                    current = history[answer_at]
                    history[answer_at] = translate.answer_message(current.content + event.text)
                    if time.perf_counter() - last_yield < STREAM_EVERY:
                        continue     # a long reply streams in a few updates, not thousands
                elif isinstance(event, Done):
                    answer = event.answer
                    answer.details_markdown = "\n\n---\n\n".join(details)  # type: ignore[attr-defined]
                    session.last = answer
                    note = translate.error_message(answer)
                    if note is not None:
                        history.append(note)
                    done = status_line(session.turns, answer, time.perf_counter() - started)
                    shown = _result_views(answer, answer.first_shown, session, downloads)
                    yield ("", history, session, *shown, done)
                    return
                last_yield = time.perf_counter()
                yield ("", history, session, *keep, working)
        except Exception as exc:  # the page must keep working whatever happens
            log.exception("turn failed")
            log_unexpected("page turn", exc)
            history.append(gr.ChatMessage(
                role="assistant", content=f"⚠️ Something went wrong ({type(exc).__name__}). "
                "The conversation is kept; try again or rephrase."))
            shown = _result_views(session.last, _first(session.last), session, downloads)
            yield ("", history, session, *shown, f"Answer {session.turns} · failed")

    def pick_table(choice: str | None, session: Session | None):
        if session is None or session.last is None or not choice:
            return (gr.update(),) * 6
        index = int(choice.split(".", 1)[0]) - 1
        return _result_views(session.last, index, session, downloads)

    def reset(session: Session | None, request: gr.Request = None):
        session = session or new_session(request)
        downloads.revoke_session(session.id)
        session.new_conversation()
        return ([], session, *_result_views(None, 0, session, downloads), "")

    def apply_settings(model: str, base_url: str, api_key: str, offline: bool,
                       session: Session | None, request: gr.Request = None):
        session = session or new_session(request)
        overrides = Overrides(model=(model or "").strip() or None,
                              base_url=(base_url or "").strip() or None,
                              api_key=(api_key or "").strip() or None, offline=offline)
        try:
            session_settings = overrides.apply(settings)
            session.assistant = make_assistant(session_settings)
        except Exception as exc:
            return (session, mode_badge(session.assistant.mode, settings),
                    f"⚠️ Could not use these settings: {exc}", "")
        session.overrides = overrides
        session.new_conversation()
        return (session, mode_badge(session.assistant.mode, session_settings),
                "Settings applied to this browser session only (not saved).", "")

    # Result files hold customer data: Gradio's copies are pruned after an hour, and a
    # session's own folder goes when Gradio drops the session (an hour after the tab closed).
    with gr.Blocks(title="Fintech marketing assistant", delete_cache=(3600, 3600)) as demo:
        session_state = gr.State(None, delete_callback=_close_session)
        with gr.Row(equal_height=False):
            gr.Markdown("## Fintech marketing assistant")
            badge = gr.HTML(mode_badge(default_mode, settings), elem_id="mode-badge")
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=420):
                chatbot = gr.Chatbot(
                    show_label=False, height=560, elem_id="chat", layout="panel",
                    placeholder="Ask about your customers: counts, spend, trends, segments, "
                                "churn risk, audiences and campaign copy.",
                    buttons=["copy"])
                with gr.Row():
                    msg = gr.Textbox(placeholder="e.g. How many customers in Germany hold a "
                                     "credit card?", show_label=False, scale=8, autofocus=True,
                                     elem_id="question")
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                with gr.Row():
                    status = gr.Markdown("", elem_id="turn-status")
                    new = gr.Button("New conversation", size="sm", elem_id="new-conversation",
                                    scale=0, min_width=160)
                gr.Examples(EXAMPLES, inputs=msg, label="Try asking")
            with gr.Column(scale=6, min_width=420, elem_id="answer-panel"):
                table_pick = gr.Dropdown(label="Result", choices=[], visible=False,
                                         interactive=True, elem_id="table-pick")
                with gr.Tabs(elem_id="result-tabs") as tabs:
                    with gr.Tab("Chart", id="chart"):
                        plot = gr.Plot(show_label=False, elem_id="result-chart")
                    with gr.Tab("Table", id="table"):
                        table = gr.Dataframe(interactive=False, show_label=False, wrap=True,
                                             max_height=420, elem_id="result-table")
                    with gr.Tab("Details", id="details"):
                        details = gr.Markdown(elem_id="result-details")
                    with gr.Tab("Downloads", id="downloads"):
                        files = gr.HTML(elem_id="result-files")
                with gr.Accordion("Your data", open=False):
                    gr.Markdown(warehouse_markdown(wh), elem_id="warehouse-panel")
                ingest_on = bool(settings.ingest_token or settings.redis_url)
                with gr.Accordion("Live: events, fires and skips", open=live.live(wh)):
                    live_panel = gr.Markdown(live.markdown(wh, ingest_on=ingest_on),
                                             elem_id="live-panel")
                    # (nothing arrives on Spark: the panel says so once and is not refreshed)
                    live_timer = gr.Timer(LIVE_REFRESH, active=live.live(wh))
                with gr.Accordion("Model settings (this session only)", open=False):
                    model_in = gr.Textbox(label="Model", placeholder=settings.model)
                    base_in = gr.Textbox(label="Base URL (OpenAI-compatible endpoint)",
                                         placeholder="https://api.openai.com/v1 or "
                                                     "http://localhost:11434/v1")
                    key_in = gr.Textbox(label="API key", type="password",
                                        placeholder="kept in memory for this session only")
                    offline_in = gr.Checkbox(label="Use the offline planner", value=False)
                    apply = gr.Button("Apply to this session", size="sm")
                    settings_note = gr.Markdown()

        outputs = [msg, chatbot, session_state, table, plot, details, files, table_pick, tabs,
                   status]
        # "chat" stays callable by gradio_client (tests, scripts) but is not an MCP tool.
        msg.submit(respond, inputs=[msg, session_state], outputs=outputs, api_name="chat",
                   api_visibility="undocumented")
        send.click(respond, inputs=[msg, session_state], outputs=outputs,
                   api_visibility="private")
        table_pick.change(pick_table, inputs=[table_pick, session_state],
                          outputs=[table, plot, details, files, table_pick, tabs],
                          api_visibility="private")
        new.click(reset, inputs=[session_state],
                  outputs=[chatbot, session_state, table, plot, details, files, table_pick,
                           tabs, status],
                  api_visibility="private")
        apply.click(apply_settings, inputs=[model_in, base_in, key_in, offline_in, session_state],
                    outputs=[session_state, badge, settings_note, key_in],
                    api_visibility="private")
        live_timer.tick(lambda: live.markdown(wh, ingest_on=ingest_on), outputs=live_panel,
                        api_visibility="private", show_progress="hidden", queue=False)
    return demo


__all__ = ["CSS", "TableResult", "build_app"]
