"""Pure translators from conversation events to chat messages.

A tool call shows as a collapsible step (what ran, its arguments, the SQL, how long it took, or
the error); the final answer streams into one assistant message. No server needed to test these.
"""

from __future__ import annotations

import json

import gradio as gr

from assistant.events import Answer, ToolFinished, ToolStarted
from tools.registry import spec

MAX_ARG_CHARS = 400


MAX_SQL_CHARS = 20_000
FENCE = "`" * 3


def _args(args) -> dict:
    """Tool arguments as a dict whatever the model sent (a list, a number, a string)."""
    return args if isinstance(args, dict) else ({} if args is None else {"arguments": args})


def _text(value, limit: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                           default=str)
    return text if len(text) <= limit else text[:limit] + "…"


def tool_title(name: str, args: dict) -> str:
    args = _args(args)
    tool = spec(name)
    icon, label = (tool.icon, tool.label) if tool else (
        "🔧", _text(str(name or "tool").replace("_", " ").capitalize(), 60))
    detail = {k: v for k, v in args.items() if k != "sql" and v not in (None, [], "")}
    if name == "run_sql" and args.get("title"):
        return f"{icon} {label}: {_text(args['title'], 80)}"
    if detail:
        inline = ", ".join(f"{k}={_text(v, 60)}" for k, v in list(detail.items())[:3])
        if len(inline) <= 60:
            return f"{icon} {label} ({inline})"
    return f"{icon} {label}"


def _args_block(args: dict) -> str:
    args = _args(args)
    shown = {k: v for k, v in args.items() if k not in ("sql", "title")}
    parts = []
    if shown:
        parts.append(f"Arguments: `{_text(shown, MAX_ARG_CHARS)}`")
    if args.get("sql"):
        sql = _text(args["sql"], MAX_SQL_CHARS).strip().replace(FENCE, "'" * 3)
        parts.append(f"{FENCE}sql\n{sql}\n{FENCE}")
    return "\n\n".join(parts)


def started_message(event: ToolStarted) -> gr.ChatMessage:
    """The step as it starts: pending, with its arguments and SQL."""
    return gr.ChatMessage(
        role="assistant",
        content=_args_block(event.args) or "Working…",
        metadata={"title": tool_title(event.name, event.args), "id": event.call_id,
                  "status": "pending"},
    )


def finished_message(event: ToolFinished) -> gr.ChatMessage:
    """The same step when done: duration, SQL that ran, rows, or the error in plain words."""
    parts = [_args_block(event.args)]
    if event.error:
        parts.append(f"⚠️ {event.error}")
    elif event.result is not None:
        asked = _args(event.args).get("sql", "")
        asked = asked.strip() if isinstance(asked, str) else ""
        ran = [s for s in event.result.sql if s.strip() != asked]
        for sql in ran[:3]:
            parts.append(f"```sql\n{sql.strip()}\n```")
        tables = event.result.tables
        rows = sum(len(t.df) for t in tables)
        if tables:
            parts.append(f"{rows:,} row{'s' if rows != 1 else ''} in {len(tables)} "
                         f"table{'s' if len(tables) > 1 else ''}")
        if event.result.files:
            parts.append("Files: " + ", ".join(f.name for f in event.result.files))
    title = tool_title(event.name, event.args)
    if event.error:
        title = f"{title} · failed"
    return gr.ChatMessage(
        role="assistant",
        content="\n\n".join(p for p in parts if p) or "Done.",
        metadata={"title": title, "id": event.call_id, "status": "done",
                  "duration": round(event.seconds, 2)},
    )


def answer_message(text: str) -> gr.ChatMessage:
    return gr.ChatMessage(role="assistant", content=text)


def error_message(answer: Answer) -> gr.ChatMessage | None:
    """A visible note when the turn ended in an error that the answer text does not already say."""
    if answer.error and answer.error not in (answer.answer or ""):
        return gr.ChatMessage(role="assistant", content=f"⚠️ {answer.error}")
    return None
